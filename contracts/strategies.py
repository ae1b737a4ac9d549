"""Test data for the contract suites and state machines: plain builders and hypothesis strategies.

Builders (`make_user(**overrides)` and friends) give a valid entity with fresh ids and FIXED
timestamps (`at(i)` is `BASE_TIME + i seconds`), so ordering assertions mean something. The
strategies generate the values a caller may send through the services."""

from __future__ import annotations

import itertools
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from attrs import evolve
from hypothesis import strategies as st

from catalyst_core.auth.model import GlobalRole, User
from catalyst_core.clients.model import Client, ClientRole, Membership
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId
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


# -- hypothesis strategies --------------------------------------------------------------------------

_NAME_ALPHABET = string.ascii_letters + string.digits + " -_%'éÉß"


def names(max_size: int = 40) -> st.SearchStrategy[str]:
    """Human names: not blank, no surrounding whitespace (the core trims them)."""
    return (st.text(_NAME_ALPHABET, min_size=1, max_size=max_size)
            .map(str.strip).filter(bool))


def emails() -> st.SearchStrategy[str]:
    """Valid, already normalised (lower-case) emails."""
    local = st.text(string.ascii_lowercase + string.digits + "._+", min_size=1, max_size=12)
    domain = st.text(string.ascii_lowercase, min_size=1, max_size=8)
    return st.builds(lambda a, b, tld: f"{a}@{b}.{tld}", local, domain, st.sampled_from(["com", "io", "org"]))


def passwords() -> st.SearchStrategy[str]:
    return st.text(string.ascii_letters + string.digits + " !?", min_size=8, max_size=24)


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
    return st.none() | st.text(_NAME_ALPHABET, max_size=60)


def comment_texts() -> st.SearchStrategy[str]:
    return st.text(_NAME_ALPHABET + "\n.!?", min_size=1, max_size=80).map(str.strip).filter(bool)
