"""Test data for the contract suites and state machines: plain builders and hypothesis strategies.

Builders (`make_user(**overrides)` and friends) give a valid entity with fresh ids and FIXED
timestamps (`at(i)` is `BASE_TIME + i seconds`), so ordering assertions mean something. The
strategies generate the values a caller may send through the services."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from attrs import evolve
from hypothesis import strategies as st

from catalyst_core.auth.model import GlobalRole, User
from catalyst_core.clients.model import Client, ClientRole, Membership
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId
from catalyst_core.metrics.model import MAX_COUNT, MAX_MONEY, PerformanceRow
from catalyst_core.tasks.model import Comment, Priority, Task, TaskStatus, TaskType

BASE_TIME = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
_serial = itertools.count(1)


def at(seconds: float) -> datetime:
    """A fixed instant: BASE_TIME plus `seconds` (distinct inputs give distinct, ordered instants)."""
    return BASE_TIME + timedelta(seconds=seconds)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


# -- builders ---------------------------------------------------------------------------------------

def make_user(**overrides: Any) -> User:
    n = next(_serial)
    user = User(id=UserId(new_id()), email=f"user{n}-{uuid.uuid4().hex[:8]}@example.com",
                name=f"User {n}", password_hash="argon2$not-a-real-hash", role=GlobalRole.MEMBER,
                is_active=True, created_at=at(0), updated_at=at(0))
    return evolve(user, **overrides)


def make_client(**overrides: Any) -> Client:
    n = next(_serial)
    client = Client(id=ClientId(new_id()), name=f"Client {n}", logo=None, is_active=True,
                    created_at=at(0), updated_at=at(0))
    return evolve(client, **overrides)


def make_membership(client: Client | ClientId, user: User | UserId, role: ClientRole = ClientRole.MEMBER,
                    added_at: datetime | None = None) -> Membership:
    client_id = client.id if isinstance(client, Client) else client
    user_id = user.id if isinstance(user, User) else user
    return Membership(client_id, user_id, role, added_at or at(0))


def make_task(client: Client | ClientId, created_by: User | UserId, **overrides: Any) -> Task:
    n = next(_serial)
    task = Task(
        id=TaskId(new_id()),
        client_id=client.id if isinstance(client, Client) else client,
        name=f"Task {n}", task_type=TaskType.OTHER, status=TaskStatus.PENDING, priority=Priority.MEDIUM,
        created_by=created_by.id if isinstance(created_by, User) else created_by,
        assignees=[], due_date=None, description=None, related_object_id=None,
        related_object_type=None, created_at=at(0), updated_at=at(0),
    )
    return evolve(task, **overrides)


def make_comment(task: Task | TaskId, author: User | UserId, **overrides: Any) -> Comment:
    n = next(_serial)
    comment = Comment(id=CommentId(new_id()), task_id=task.id if isinstance(task, Task) else task,
                      user_id=author.id if isinstance(author, User) else author, comment=f"Comment {n}",
                      created_at=at(0), updated_at=at(0))
    return evolve(comment, **overrides)


PERFORMANCE_DAY = date(2024, 3, 1)  # the default date of make_row
MICRO = Decimal("0.000001")


def money(value: str | int | Decimal) -> Decimal:
    """Money as the core hands it to storage: a Decimal with exactly six places."""
    return Decimal(value).quantize(MICRO)


def make_row(client: Client | ClientId, **overrides: Any) -> PerformanceRow:
    """A performance row of a fresh ad on PERFORMANCE_DAY with small non-zero metrics; `spend` and
    `revenue` may be given as text, int or Decimal (kept to six places, as the core keeps them)."""
    n = next(_serial)
    for name in ("spend", "revenue"):
        if name in overrides:
            overrides[name] = money(overrides[name])
    row = PerformanceRow(
        client_id=client.id if isinstance(client, Client) else client, date=PERFORMANCE_DAY,
        platform="facebook", campaign_id="campaign-1", campaign_name=None, adset_id="adset-1",
        adset_name=None, ad_id=f"ad-{n}", ad_name=None, spend=money("1.5"), impressions=100,
        clicks=3, landing_page_views=2, leads=1, conversions=1, revenue=money("4.25"))
    return evolve(row, **overrides)


# -- hypothesis strategies --------------------------------------------------------------------------

# Every code point a caller may send: all of Unicode but U+0000 (refused) and lone surrogates
# (not text). Controls, combining marks, right-to-left scripts and emoji are all in, so every
# storage is held to the same answers for any text a caller can store.
UNICODE = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")


def unicode_texts(min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(UNICODE, min_size=min_size, max_size=max_size)


def names(max_size: int = 40) -> st.SearchStrategy[str]:
    """Human names: not blank, no surrounding whitespace (the core trims them)."""
    return unicode_texts(1, max_size).map(str.strip).filter(bool)


# What an email's parts may hold (the core's check: no "@", no whitespace).
_EMAIL_PART = st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"),
                            blacklist_characters="@\x00\x1c\x1d\x1e\x1f\x85")


def emails() -> st.SearchStrategy[str]:
    """Valid, already normalised (trimmed, lower-case) emails, from all of Unicode."""
    def part(max_size: int) -> st.SearchStrategy[str]:
        return st.text(_EMAIL_PART, min_size=1, max_size=max_size).filter(
            lambda t: t == t.lower() and not any(c.isspace() for c in t))
    return st.builds(lambda a, b, tld: f"{a}@{b}.{tld}", part(12), part(8),
                     st.sampled_from(["com", "io", "org", "рф"]))


def passwords() -> st.SearchStrategy[str]:
    return unicode_texts(8, 24)


def client_roles() -> st.SearchStrategy[ClientRole]:
    return st.sampled_from(list(ClientRole))


def task_types() -> st.SearchStrategy[TaskType]:
    return st.sampled_from(list(TaskType))


def priorities() -> st.SearchStrategy[Priority]:
    return st.sampled_from(list(Priority))


def open_statuses() -> st.SearchStrategy[TaskStatus]:
    """The statuses an edit may set (completing and cancelling are their own actions)."""
    return st.sampled_from([TaskStatus.PENDING, TaskStatus.IN_PROGRESS])


def due_dates() -> st.SearchStrategy[datetime | None]:
    """Optional due dates on whole seconds around BASE_TIME, timezone-aware UTC."""
    return st.none() | st.integers(-30 * 86400, 30 * 86400).map(at)


def descriptions() -> st.SearchStrategy[str | None]:
    return st.none() | unicode_texts(0, 60)


MOMENTS = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                       timezones=st.just(UTC))


@st.composite
def any_task(draw: st.DrawFn, client: Client, users: list[User]) -> Task:
    """A task of `client` holding anything a task may hold (texts in any script, microseconds,
    NULLs, every enum value), created by the first of `users` and assigned among them."""
    ids = [u.id for u in users]
    return make_task(
        client, users[0], name=draw(names(255)), description=draw(descriptions()),
        task_type=draw(task_types()), priority=draw(priorities()),
        status=draw(st.sampled_from(list(TaskStatus))),
        assignees=draw(st.lists(st.sampled_from(ids), unique=True)),
        due_date=draw(st.none() | MOMENTS), created_at=draw(MOMENTS), updated_at=draw(MOMENTS),
        completed_at=draw(st.none() | MOMENTS), completed_by=draw(st.none() | st.sampled_from(ids)),
        related_object_id=draw(st.none() | names(255)), related_object_type=draw(st.none() | names(64)),
        version=draw(st.integers(1, 2**31 - 1)))  # PostgreSQL's INTEGER



def comment_texts() -> st.SearchStrategy[str]:
    return unicode_texts(1, 80).map(str.strip).filter(bool)


# -- performance data ------------------------------------------------------------------------------

MICROS_PER_UNIT = 10**6
MAX_MONEY_MICROS = int(MAX_MONEY) * MICROS_PER_UNIT

# Days where buckets and rollups turn: month and year ends, ISO week boundaries (2024-12-30 is the
# Monday of ISO week 1 of 2025; 2021-01-03 a Sunday of ISO week 53 of 2020), leap days.
EDGE_DATES = tuple(date.fromisoformat(d) for d in (
    "2020-02-29", "2021-01-03", "2021-01-04", "2023-12-31", "2024-01-01", "2024-01-07", "2024-01-08",
    "2024-01-31", "2024-02-01", "2024-02-28", "2024-02-29", "2024-03-01", "2024-03-31", "2024-04-01",
    "2024-06-30", "2024-07-01", "2024-12-29", "2024-12-30", "2024-12-31", "2025-01-01", "2025-02-28",
    "2025-03-01"))


def entity_ids(max_size: int = 10) -> st.SearchStrategy[str]:
    """Platform, campaign, ad set and ad ids as the core keeps them: any code point but U+0000, no
    surrounding whitespace (the core trims it), never empty."""
    return unicode_texts(1, max_size).map(str.strip).filter(bool)


def entity_names(max_size: int = 16) -> st.SearchStrategy[str | None]:
    return st.none() | entity_ids(max_size)


def performance_dates() -> st.SearchStrategy[date]:
    """Mostly the days where periods turn, otherwise any day from late 2023 to early 2025."""
    return st.sampled_from(EDGE_DATES) | st.dates(date(2023, 11, 1), date(2025, 3, 31))


def money_micros() -> st.SearchStrategy[int]:
    """An amount of money in micros: mostly everyday amounts, sometimes up to the per-row maximum."""
    return st.one_of(st.integers(0, 5_000 * MICROS_PER_UNIT), st.integers(0, MAX_MONEY_MICROS),
                     st.sampled_from([0, 1, 999_999, MAX_MONEY_MICROS]))


def money_text(micros: int) -> str:
    """`12.345678`-style text for an amount in micros, trailing zeros dropped."""
    whole, fraction = divmod(micros, MICROS_PER_UNIT)
    return f"{whole}.{fraction:06d}".rstrip("0").rstrip(".")


def money_inputs(micros: int) -> st.SearchStrategy[Any]:
    """The ways a caller may send an amount: decimal text (padded or not), a Decimal, an int when
    whole, and a JSON float when it has at most 15 significant digits (so it reads back exactly)."""
    text = money_text(micros)
    forms: list[Any] = [text, f" {text}\t", Decimal(text)]
    if micros % MICROS_PER_UNIT == 0:
        forms.append(micros // MICROS_PER_UNIT)
    if len(text.replace(".", "").lstrip("0")) <= 15:
        forms.append(float(text))
    return st.sampled_from(forms)


def metric_counts() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(0, 2_000), st.integers(0, MAX_COUNT), st.just(0))
