"""`catalyst metrics import`: performance rows from a CSV file, streamed through MetricsService.ingest
in batches, every problem named by the file's own line number.

The file is read twice, each time streaming one batch at a time: a first pass checks every line (and
counts them for the progress bar), the second stores the batches. So a bad line, a file that is not
UTF-8 or a broken quote anywhere stops the import before anything is written, unless
`--skip-invalid` asks for the good lines to be loaded anyway."""

from __future__ import annotations

import csv
import re
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from attrs import Factory, define, frozen
from tqdm import tqdm

from catalyst_core.auth.model import Actor, GlobalRole
from catalyst_core.errors import DomainError, InvalidInput, NotFound
from catalyst_core.ids import ClientId, UserId
from catalyst_core.metrics.model import MAX_ROWS_PER_BATCH
from catalyst_core.metrics.parsing import REQUIRED_FIELDS, ROW_FIELDS, parse_rows
from catalyst_core.metrics.registry import BASE_METRICS, Unit
from catalyst_core.metrics.service import MetricsService

# The person at the console. The CLI acts with platform-admin authority (as `users create --admin`
# does); this actor's id names no user, so it serves only use cases that record no actor, such as
# ingesting performance rows.
OPERATOR = Actor(UserId(uuid.UUID(int=0)), GlobalRole.ADMIN)

SHOWN_BAD_LINES = 50
COUNT_FIELDS = frozenset(m.name for m in BASE_METRICS if m.unit is Unit.COUNT)
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
_ROW_KEY = re.compile(r"rows\.(\d+)(?:\.(.+))?")
_ROW_REFERENCE = re.compile(r"rows\.(\d+)")


class ImportFailed(Exception):
    """A problem with the whole import (the file, the client, the database): one line for the
    operator, no traceback."""


@define
class Batch:
    """Up to MAX_ROWS_PER_BATCH rows for the core, each with the line its record starts on, and
    the lines refused before the core saw them (a wrong number of cells)."""

    rows: list[dict[str, Any]] = Factory(list)
    lines: list[int] = Factory(list)
    refused: dict[int, list[str]] = Factory(dict)
    records: int = 0


@define
class BadLines:
    """The bad lines found so far: all counted, the first SHOWN_BAD_LINES kept for the report."""

    count: int = 0
    shown: list[str] = Factory(list)

    def add(self, problems: Mapping[int, Sequence[str]]) -> None:
        for line in sorted(problems):
            self.count += 1
            if len(self.shown) < SHOWN_BAD_LINES:
                self.shown.append(f"line {line}: " + "; ".join(problems[line]))

    def report(self, path: Path) -> None:
        for entry in self.shown:
            print(f"{path}: {entry}", file=sys.stderr)
        if self.count > len(self.shown):
            print(f"{path}: ... and {self.count - len(self.shown)} more bad lines", file=sys.stderr)


@frozen
class Outcome:
    inserted: int
    updated: int
    bad: int


# -- reading -------------------------------------------------------------------------------------

def _open(path: Path) -> TextIO:
    try:
        # utf-8-sig: spreadsheet programs often start their CSV exports with a byte-order mark.
        return path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise ImportFailed(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFailed(f"{path}: is a folder, not a CSV file") from None
    except OSError as e:
        raise ImportFailed(f"{path}: cannot be read ({e.strerror or e})") from None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _columns(names: Sequence[str]) -> str:
    return f"column{'s' if len(names) > 1 else ''} {', '.join(names)}"


def _has(names: Sequence[str]) -> str:
    return "have" if len(names) > 1 else "has"


def _check_header(path: Path, cells: list[str] | None) -> tuple[str, ...]:
    if not cells or not any(cell.strip() for cell in cells):
        raise ImportFailed(f"{path}: has no header; its first line must name the columns "
                           f"({', '.join(ROW_FIELDS)})")
    columns = tuple(cell.strip().lower() for cell in cells)
    problems = []
    unnamed = [str(i) for i, name in enumerate(columns, 1) if not name]
    if unnamed:
        problems.append(f"{_columns(unnamed)} of the header {_has(unnamed)} no name")
    unknown = [name for name in dict.fromkeys(columns) if name and name not in ROW_FIELDS]
    if unknown:
        problems.append(f"unknown {_columns(unknown)} (the columns are {', '.join(ROW_FIELDS)})")
    twice = [name for name in dict.fromkeys(columns) if name and columns.count(name) > 1]
    if twice:
        problems.append(f"{_columns(twice)} appear{'s' if len(twice) == 1 else ''} more than once")
    missing = [name for name in REQUIRED_FIELDS if name not in columns]
    if missing:
        problems.append(f"required {_columns(missing)} {'are' if len(missing) > 1 else 'is'} missing")
    if problems:
        raise ImportFailed(f"{path}, line 1: " + "; ".join(problems))
    return columns


def read_header(path: Path) -> tuple[str, ...]:
    """The file's columns (lower case); ImportFailed when the file or its header will not do."""
    with _open(path) as f:
        reader = csv.reader(f)
        with _file_errors(path, reader):
            return _check_header(path, next(reader, None))


def _convert(columns: Sequence[str], cells: Sequence[str]) -> dict[str, Any]:
    """A record's cells as parse_rows takes them: counts that are whole numbers as int, anything
    else as its text, so the core names what is wrong; empty cells are left out."""
    row: dict[str, Any] = {}
    for name, cell in zip(columns, cells, strict=True):
        text = cell.strip()
        if not text:
            continue
        if name in COUNT_FIELDS and _INTEGER.fullmatch(text):
            try:
                row[name] = int(text)
                continue
            except ValueError:  # more digits than Python converts; the text is refused below
                pass
        row[name] = text
    return row


def _first_line_not_utf8(path: Path) -> int | None:
    # The text reader decodes in chunks, so it cannot say which line held the bad bytes; lines
    # split on the newline byte, which never occurs inside a UTF-8 sequence, so each decodes alone.
    with path.open("rb") as f:
        for number, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


@contextmanager
def _file_errors(path: Path, reader: Any) -> Iterator[None]:
    """Turns the reader's failures into one ImportFailed naming the line."""
    try:
        yield
    except UnicodeDecodeError:
        line = _first_line_not_utf8(path)
        raise ImportFailed(f"{path}{f', line {line}' if line else ''}: is not UTF-8 text") from None
    except csv.Error as e:
        raise ImportFailed(f"{path}, line {reader.line_num}: {e}") from None


def batches(path: Path, size: int = MAX_ROWS_PER_BATCH) -> Iterator[Batch]:
    """The file's records in batches of up to `size` rows, streaming."""
    with _open(path) as f:
        reader = csv.reader(f)
        with _file_errors(path, reader):
            columns = _check_header(path, next(reader, None))
            last_line = reader.line_num
            batch = Batch()
            for cells in reader:
                # A quoted cell may hold line breaks: the record starts right after the previous one.
                first_line, last_line = last_line + 1, reader.line_num
                if not cells:
                    continue  # a blank line
                batch.records += 1
                if len(cells) != len(columns):
                    batch.refused[first_line] = [f"has {_count(len(cells), 'cell')}, the header "
                                                 f"names {_count(len(columns), 'column')}"]
                    continue
                batch.rows.append(_convert(columns, cells))
                batch.lines.append(first_line)
                if len(batch.rows) >= size:
                    yield batch
                    batch = Batch()
            if batch.records:
                yield batch


def problems_by_index(error: InvalidInput, lines: Sequence[int]) -> dict[int, list[str]]:
    """The core's `rows.<index>.<field>` problems by the batch index of their row, references to
    other rows turned into line numbers. ImportFailed for a problem of no single row."""
    found: dict[int, list[str]] = {}
    for key, message in error.fields.items():
        match = _ROW_KEY.fullmatch(key)
        if match is None or int(match[1]) >= len(lines):
            span = f"lines {lines[0]}-{lines[-1]}" if lines else "the file"
            raise ImportFailed(f"{span}: {key}: {message}")
        message = _ROW_REFERENCE.sub(
            lambda m: f"line {lines[int(m[1])]}" if int(m[1]) < len(lines) else m[0], message)
        found.setdefault(int(match[1]), []).append(f"{match[2]}: {message}" if match[2] else message)
    return found


def _by_line(problems: Mapping[int, list[str]], lines: Sequence[int]) -> dict[int, list[str]]:
    return {lines[index]: messages for index, messages in problems.items()}


# -- the command ----------------------------------------------------------------------------------

def _bar(progress: bool, description: str, total: int | None = None) -> tqdm:
    # disable=None: tqdm draws only on a terminal, so logs and pipes get no carriage-return noise.
    return tqdm(total=total, desc=description, unit=" rows", file=sys.stderr,
                disable=None if progress else True, dynamic_ncols=True)


def check_file(path: Path, client_id: ClientId, progress: bool) -> tuple[BadLines, int]:
    """The first pass: every line checked, nothing written. Answers the bad lines and how many
    rows the second pass hands to the core."""
    bad, rows = BadLines(), 0
    with _bar(progress, "checking") as bar:
        for batch in batches(path):
            problems = dict(batch.refused)
            rows += len(batch.rows)
            if batch.rows:
                try:
                    parse_rows(client_id, batch.rows)
                except InvalidInput as e:
                    problems.update(_by_line(problems_by_index(e, batch.lines), batch.lines))
            bad.add(problems)
            bar.update(batch.records)
    return bad, rows


async def _ingest(metrics: MetricsService, client_id: ClientId, batch: Batch,
                  skip_invalid: bool) -> tuple[int, int]:
    try:
        result = await metrics.ingest(OPERATOR, client_id, batch.rows)
    except InvalidInput as e:
        problems = problems_by_index(e, batch.lines)
        if not skip_invalid:
            raise ImportFailed(f"line {batch.lines[min(problems)]} changed since it was checked"
                               ) from None
        rows = [row for i, row in enumerate(batch.rows) if i not in problems]
        if not rows:
            return 0, 0
        result = await metrics.ingest(OPERATOR, client_id, rows)
    return result.inserted, result.updated


async def import_csv(container: Any, path: Path, client_id: ClientId, *, skip_invalid: bool = False,
                     progress: bool = True) -> Outcome:
    """Check the file, then store its good rows batch by batch (each batch all or nothing).
    Raises ImportFailed for a problem with the whole file, the client or the storage."""
    read_header(path)
    try:
        await container.clients().get(OPERATOR, client_id)
    except NotFound:
        raise ImportFailed(f"no client has the id {client_id}") from None

    bad, rows = check_file(path, client_id, progress)
    bad.report(path)
    if bad.count and not skip_invalid:
        raise ImportFailed(f"{path}: {_count(bad.count, 'bad line')}; nothing was imported (fix "
                           "them, or use --skip-invalid to load the good lines)")

    metrics: MetricsService = container.metrics()
    inserted = updated = 0
    with _bar(progress, "importing", total=rows) as bar:
        for batch in batches(path):
            if not batch.rows:
                continue
            try:
                added, replaced = await _ingest(metrics, client_id, batch, skip_invalid)
            except (ImportFailed, DomainError) as e:
                # Each batch is its own transaction: say exactly what is stored, so a re-run
                # (which replaces rows, never doubles them) can finish the job.
                stored = (f"the lines before it were stored (inserted {inserted}, updated {updated})"
                          if inserted or updated else "nothing was stored")
                raise ImportFailed(f"{getattr(e, 'message', e)}; stopped at line {batch.lines[0]}, "
                                   f"{stored}") from None
            inserted, updated = inserted + added, updated + replaced
            bar.update(len(batch.rows))
    return Outcome(inserted, updated, bad.count)
