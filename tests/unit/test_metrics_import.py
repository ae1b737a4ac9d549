"""`catalyst metrics import`: CSV files into performance rows, with the file's line numbers on every
problem, through the real CLI on a SQLite file."""

from __future__ import annotations

import asyncio
import io
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from catalyst_adapters.security import PasslibHasher
from catalyst_api import cli
from catalyst_api.container import build_container, start_storage, stop_storage
from catalyst_api.metrics_import import SHOWN_BAD_LINES
from catalyst_api.settings import Settings
from catalyst_core.auth.model import Actor, GlobalRole
from catalyst_core.ids import ClientId
from catalyst_core.metrics.model import MAX_ROWS_PER_BATCH, PerformanceRow
from catalyst_core.metrics.service import RowFilters
from catalyst_core.paging import Order, PageRequest, SortSpec

HEADER = "date,platform,campaign_id,campaign_name,adset_id,ad_id,ad_name,spend,impressions,clicks\n"


async def _in_container(work: Any) -> Any:
    container = build_container(Settings.from_env())
    container.hasher.override(providers.Object(PasslibHasher.fast_for_tests()))
    await start_storage(container)
    try:
        return await work(container)
    finally:
        await stop_storage(container)


def make_client() -> tuple[Actor, ClientId]:
    """A platform admin and a client of theirs, made through the services."""

    async def work(c: Any) -> tuple[Actor, ClientId]:
        user = await c.auth().register(f"admin-{uuid.uuid4().hex[:8]}@example.com", "long password",
                                       "Admin", role=GlobalRole.ADMIN)
        actor = Actor(user.id, GlobalRole.ADMIN)
        view = await c.clients().create(actor, "Acme")
        return actor, view.client.id

    return asyncio.run(_in_container(work))


def stored(actor: Actor, client_id: ClientId) -> list[PerformanceRow]:
    async def work(c: Any) -> list[PerformanceRow]:
        rows: list[PerformanceRow] = []
        page = 1
        while True:
            found = await c.metrics().list(actor, client_id, RowFilters(), PageRequest(page, 100),
                                           SortSpec("date", Order.ASC))
            rows += found.items
            if page >= found.total_pages:
                return rows
            page += 1

    return asyncio.run(_in_container(work))


def stored_count(actor: Actor, client_id: ClientId) -> int:
    async def work(c: Any) -> int:
        page = await c.metrics().list(actor, client_id, RowFilters(), PageRequest(1, 1), SortSpec("date"))
        return page.total_items

    return asyncio.run(_in_container(work))


def run(argv: list[str]) -> int:
    return cli.main(argv)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


GOOD = (HEADER
        + '2026-01-01,facebook,c1,"Spring, launch",s1,a1,"Video ad\nwith a second line",12.50,1000,20\n'
        + "2026-01-01,Facebook,c1,,s1,a2,,3,200,4\n"
        + "2026-01-02,google,c2,Search,s2,a3,Text ad,0.123456,10,1\n")


def test_a_good_file_is_stored_and_a_rerun_replaces_it(cli_db: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    actor, client_id = make_client()
    path = write(cli_db / "rows.csv", GOOD)

    assert run(["metrics", "import", str(path), "--client", str(client_id)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: inserted 3, updated 0"
    rows = {row.ad_id: row for row in stored(actor, client_id)}
    assert set(rows) == {"a1", "a2", "a3"}
    first = rows["a1"]
    assert (first.campaign_name, first.ad_name) == ("Spring, launch", "Video ad\nwith a second line")
    assert (first.spend, first.impressions, first.clicks) == (Decimal("12.5"), 1000, 20)
    # Columns the file leaves out are zero; empty optional cells are no name.
    assert (first.landing_page_views, first.leads, first.revenue) == (0, 0, Decimal(0))
    assert rows["a2"].platform == "facebook" and rows["a2"].campaign_name is None
    assert rows["a3"].spend == Decimal("0.123456")

    # The same file again, with a new spend on one line: every row replaced, none added.
    write(path, GOOD.replace(",12.50,", ",99.99,"))
    assert run(["metrics", "import", str(path), "--client", str(client_id), "--no-progress"]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: inserted 0, updated 3"
    again = stored(actor, client_id)
    assert len(again) == 3
    assert {row.ad_id: row.spend for row in again}["a1"] == Decimal("99.99")


BAD = (HEADER
       + '2026-01-01,facebook,c1,"Two\nlines",s1,a1,ad,1,10,1\n'  # lines 2-3
       + "2026-01-01,facebook,c1,,s1,a2,,2,20,2\n"  # line 4
       + "2026-13-01,facebook,c1,,s1,a3,,-1,20,x\n"  # line 5: three problems
       + "2026-01-02,google,c2,,s2,a4,,1,10,1\n"  # line 6
       + "2026-01-02,google,c2\n"  # line 7: too few cells
       + "\n"  # line 8: blank, skipped
       + "2026-01-02,google,c2,,s2,a4,,1,10,1\n"  # line 9: repeats line 6
       + "2026-01-03,google,c2,,s2,a5,,1,10,\n")  # line 10: fine (an empty count is 0)


def test_bad_lines_are_named_by_line_and_nothing_is_written(cli_db: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    actor, client_id = make_client()
    path = write(cli_db / "bad.csv", BAD)

    assert run(["metrics", "import", str(path), "--client", str(client_id)]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith(f"{path}: line")]
    assert len(lines) == 3, err
    assert lines[0].startswith(f"{path}: line 5: ")
    assert "date: must be a valid date" in lines[0]
    assert "spend: must be a non-negative decimal number" in lines[0]
    assert "clicks: must be an integer" in lines[0]
    assert lines[1] == f"{path}: line 7: has 3 cells, the header names 10 columns"
    assert lines[2] == f"{path}: line 9: repeats line 6 (the same date, platform and ad_id)"
    assert "error: " in err and "3 bad lines; nothing was imported" in err
    assert "Traceback" not in err
    assert stored(actor, client_id) == []


def test_skip_invalid_loads_the_good_lines(cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    actor, client_id = make_client()
    path = write(cli_db / "bad.csv", BAD)

    assert run(["metrics", "import", str(path), "--client", str(client_id), "--skip-invalid"]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == f"{path}: inserted 4, updated 0; skipped 3 bad lines"
    assert "line 5: " in err and "line 7: " in err and "line 9: " in err
    rows = stored(actor, client_id)
    assert sorted(row.ad_id for row in rows) == ["a1", "a2", "a4", "a5"]
    assert {row.ad_id: row.clicks for row in rows}["a5"] == 0


def test_line_numbers_hold_across_batches_and_the_list_is_cut(cli_db: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    actor, client_id = make_client()
    total = MAX_ROWS_PER_BATCH + 70
    bad_from = MAX_ROWS_PER_BATCH - 5  # the bad rows straddle the first batch's end
    body = []
    for i in range(total):
        clicks = "many" if bad_from <= i < bad_from + SHOWN_BAD_LINES + 10 else "1"
        body.append(f"2026-02-01,tiktok,c,,s,ad{i},,1.5,10,{clicks}\n")
    path = write(cli_db / "big.csv", HEADER + "".join(body))

    assert run(["metrics", "import", str(path), "--client", str(client_id)]) == 1
    err = capsys.readouterr().err
    reported = [line for line in err.splitlines() if line.startswith(f"{path}: line")]
    assert len(reported) == SHOWN_BAD_LINES
    # Row i is on line i + 2 (the header is line 1).
    assert reported[0] == f"{path}: line {bad_from + 2}: clicks: must be an integer"
    assert reported[-1].startswith(f"{path}: line {bad_from + 2 + SHOWN_BAD_LINES - 1}: ")
    assert "... and 10 more bad lines" in err
    assert stored_count(actor, client_id) == 0

    assert run(["metrics", "import", str(path), "--client", str(client_id), "--skip-invalid",
                "--no-progress"]) == 1
    good = total - SHOWN_BAD_LINES - 10
    assert capsys.readouterr().out.strip() == (
        f"{path}: inserted {good}, updated 0; skipped {SHOWN_BAD_LINES + 10} bad lines")
    assert stored_count(actor, client_id) == good


@pytest.mark.parametrize(("content", "message"), [
    (b"", "has no header"),
    (b"\n2026-01-01,facebook,c,s,a\n", "has no header"),
    (b"date,platform,campaign_id,adset_id,ad_id,cost,Notes\n", "line 1: unknown columns cost, notes"),
    (b"date,platform,campaign_id,adset_id\n", "line 1: required column ad_id is missing"),
    (b"date,platform,campaign_id,adset_id,ad_id,spend,Spend\n", "column spend appears more than once"),
    (b"date,platform,campaign_id,adset_id,ad_id\n2026-01-01,facebook,c,s,a\n2026-01-01,facebook,c,s,\xe9\n",
     "line 3: is not UTF-8 text"),
])
def test_a_file_that_cannot_be_imported_is_one_error_line(
        cli_db: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str) -> None:
    actor, client_id = make_client()
    path = cli_db / "file.csv"
    path.write_bytes(content)
    assert run(["metrics", "import", str(path), "--client", str(client_id)]) == 1
    out, err = capsys.readouterr()
    assert err.strip().splitlines() == [err.strip()], err  # one line
    assert err.startswith(f"error: {path}") and message in err, err
    assert out == ""
    assert stored(actor, client_id) == []


def test_a_missing_file_and_an_unknown_client(cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, client_id = make_client()
    assert run(["metrics", "import", str(cli_db / "nowhere.csv"), "--client", str(client_id)]) == 1
    assert capsys.readouterr().err.strip() == f"error: {cli_db / 'nowhere.csv'}: no such file"

    path = write(cli_db / "rows.csv", GOOD)
    stranger = uuid.UUID(int=12345)
    assert run(["metrics", "import", str(path), "--client", str(stranger)]) == 1
    assert capsys.readouterr().err.strip() == f"error: no client has the id {stranger}"

    with pytest.raises(SystemExit) as exit_:
        run(["metrics", "import", str(path), "--client", "not-a-uuid"])
    assert exit_.value.code == 2
    assert "must be a client id" in capsys.readouterr().err


def test_a_header_only_file_and_a_byte_order_mark(cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    actor, client_id = make_client()
    path = write(cli_db / "empty.csv", HEADER)
    assert run(["metrics", "import", str(path), "--client", str(client_id)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: inserted 0, updated 0"

    # Spreadsheet exports: a byte-order mark, CRLF line ends, capitalised column names.
    path.write_bytes("\ufeffDate,Platform,Campaign_ID,Adset_ID,Ad_ID,Spend\r\n"
                     "2026-03-01,LinkedIn,c,s,a,7\r\n".encode())
    assert run(["metrics", "import", str(path), "--client", str(client_id)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: inserted 1, updated 0"
    [row] = stored(actor, client_id)
    assert (row.platform, row.spend) == ("linkedin", Decimal(7))


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_drawn_on_a_terminal_only(cli_db: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _, client_id = make_client()
    path = write(cli_db / "rows.csv", GOOD)
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert run(["metrics", "import", str(path), "--client", str(client_id)]) == 0
    assert "checking" in terminal.getvalue() and "importing" in terminal.getvalue()
    assert "3/3" in terminal.getvalue()

    terminal.seek(0)
    terminal.truncate()
    assert run(["metrics", "import", str(path), "--client", str(client_id), "--no-progress"]) == 0
    assert terminal.getvalue() == ""
    assert capsys.readouterr().out.count("inserted") == 2


def test_a_batch_the_core_refuses_whole_stops_the_import_and_says_what_is_stored(
        cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Every line is fine alone, but the second batch would take the client's total spend past
    # what Catalyst can sum exactly (10**12): the first batch stays stored, and the error says so.
    actor, client_id = make_client()
    body = [f"2026-04-01,google,c,,s,first{i},,190000000,1,0\n" for i in range(MAX_ROWS_PER_BATCH)]
    body += [f"2026-04-02,google,c,,s,second{i},,1000000000,1,0\n" for i in range(60)]
    path = write(cli_db / "huge.csv", HEADER + "".join(body))

    assert run(["metrics", "import", str(path), "--client", str(client_id)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.strip().splitlines()
    second = MAX_ROWS_PER_BATCH + 2
    assert line.startswith(f"error: lines {second}-{second + 59}: rows.spend: would take")
    assert line.endswith(f"stopped at line {second}, the lines before it were stored "
                         f"(inserted {MAX_ROWS_PER_BATCH}, updated 0)")
    assert stored_count(actor, client_id) == MAX_ROWS_PER_BATCH
