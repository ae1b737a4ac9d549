"""The ports: everything the core needs from the outside world, as Protocols. Storage is here;
the rest (time, events, passwords, tokens, scoring, files, rate limits) is in `outside.py`,
re-exported here.

Adapters do not inherit from these; they fit them. Each port's contract suite lives in
`catalyst_contracts` and every adapter passes it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime
from typing import Protocol

from catalyst_core.alerts.model import Alert, AlertId, AlertInstance, InstanceId, InstanceQuery
from catalyst_core.auth.model import User
from catalyst_core.clients.model import Client, ClientRole, ClientView, Membership, MemberView
from catalyst_core.creatives.model import Submission, SubmissionId, SubmissionQuery
from catalyst_core.events import Delivery
from catalyst_core.ids import ClientId, CommentId, TaskId, UserId
from catalyst_core.leads.model import (
    HistoryEntry,
    LeadId,
    LeadQuery,
    LeadResult,
    ScoringSettings,
)
from catalyst_core.metrics.breakdown import Breakdown
from catalyst_core.metrics.levels import LevelFilter, LevelTotals
from catalyst_core.metrics.model import (
    DayTotals,
    EntityTotals,
    IngestResult,
    Level,
    PerformanceQuery,
    PerformanceRow,
)
from catalyst_core.metrics.registry import Totals

# The other ports, kept importable from here (`from catalyst_core.ports import Clock`).
from catalyst_core.outside import (  # noqa: F401
    BlobStore,
    Clock,
    MediaInfo,
    MediaProbe,
    Notifier,
    PasswordHasher,
    RateLimiter,
    Scorer,
    ScoreResult,
    StoredBlob,
    TokenIssuer,
)
from catalyst_core.paging import OffsetPage, OffsetRequest, Order, Page, PageRequest, SortSpec
from catalyst_core.tasks.model import Comment, CommentView, Task, TaskQuery

# ---------------------------------------------------------------------------------------------
# Storage: one transaction at a time hands out one repository per aggregate.
# ---------------------------------------------------------------------------------------------


class UserRepo(Protocol):
    """Users. `add`/`save` raise Conflict when the email belongs to another user; `get*` return None
    when absent. Emails are stored as given (the core normalises them)."""

    async def add(self, user: User) -> None: ...
    async def get(self, user_id: UserId) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def save(self, user: User) -> None: ...


class ClientRepo(Protocol):
    """Clients. `get(for_update=True)` locks the row until the transaction ends where the database
    can (PostgreSQL), so rules spanning a client's members hold under concurrency.
    `list_visible(None)` lists every client (platform admins); with a user id it lists the clients
    that user belongs to, each with the user's role. Sort fields: created_at, updated_at, name."""

    async def add(self, client: Client) -> None: ...
    async def get(self, client_id: ClientId, *, for_update: bool = False) -> Client | None: ...
    async def save(self, client: Client) -> None: ...
    async def list_visible(
        self, user_id: UserId | None, page: PageRequest, sort: SortSpec, *, default_role: ClientRole
    ) -> Page[ClientView]: ...


class MemberRepo(Protocol):
    """Memberships of users in clients. `add` raises Conflict when the user is already a member;
    `save` and `remove` raise NotFound when the membership does not exist.
    Sort fields of `list`: added_at, name, email."""

    async def add(self, membership: Membership) -> None: ...
    async def get(self, client_id: ClientId, user_id: UserId) -> Membership | None: ...
    async def save(self, membership: Membership) -> None: ...
    async def remove(self, client_id: ClientId, user_id: UserId) -> None: ...
    async def count_admins(self, client_id: ClientId) -> int: ...
    async def admins(self, client_id: ClientId) -> list[UserId]:
        """The ids of the client's admins, oldest membership first (ties by user id)."""
        ...
    async def non_members(self, client_id: ClientId, user_ids: Sequence[UserId]) -> list[UserId]:
        """The ids among `user_ids` that are not members of the client, in the given order."""
        ...

    async def list(self, client_id: ClientId, page: PageRequest, sort: SortSpec) -> Page[MemberView]: ...


class TaskRepo(Protocol):
    """Tasks. `get(for_update=True)` locks the task until the transaction ends where the database
    can, so changes to one task take turns. `save` raises Conflict when the stored version differs
    from `task.version` (someone else saved first) and bumps the version on success; `add` and
    `save` raise NotFound when the client, the creator, an assignee or completed_by is not stored
    (a user id must name a user; membership is the use case's rule, not storage's); `delete`
    removes the task's comments too. `list` filters by every field of TaskQuery and sorts by
    created_at, updated_at, name, due_date (nulls last) or priority (Backlog < Low < Medium < High),
    ties broken by id."""

    async def add(self, task: Task) -> None: ...
    async def add_many(self, tasks: Sequence[Task]) -> None: ...
    async def get(self, task_id: TaskId, *, for_update: bool = False) -> Task | None: ...
    async def save(self, task: Task) -> None: ...
    async def delete(self, task_id: TaskId) -> None: ...
    async def list(self, query: TaskQuery, page: PageRequest, sort: SortSpec) -> Page[Task]: ...


class CommentRepo(Protocol):
    """Comments. `list` is oldest first (ties by id) and joins each author's name and email."""

    async def add(self, comment: Comment) -> None: ...
    async def get(self, comment_id: CommentId) -> Comment | None: ...
    async def save(self, comment: Comment) -> None: ...
    async def delete(self, comment_id: CommentId) -> None: ...
    async def view(self, comment_id: CommentId) -> CommentView | None: ...
    async def list(self, task_id: TaskId, page: PageRequest) -> Page[CommentView]: ...


class PerformanceRepo(Protocol):
    """Daily performance rows, one per (client, date, platform, ad_id), and exact sums of them.

    `upsert` inserts the rows whose key is new and replaces the stored ones, answering how many of
    each; it also keeps the newest name of each campaign, ad set and ad (per client, platform and
    id: the name on the row with the latest date that carries one; among rows of one date, the one
    written last). Concurrent upserts for one client must take turns: callers lock the client first
    (`ClientRepo.get(for_update=True)`). Sums are exact (money in micros) on every adapter, whatever
    the data size; adapters keep them fast by aggregating in the database, and statements whose
    cost grows with the data never hold the event loop.
    - `list` pages a client's rows filtered by PerformanceQuery, by date in `order`, ties by
      platform then ad_id in the same order (code point order).
    - `daily_totals` sums each day of the inclusive range that has rows, in date order.
    - `entity_totals` sums each (platform, campaign_id, adset_id, ad_id) with rows in the range,
      optionally only one platform or campaign, with the newest names; in no particular order.
    - `breakdown` is the performance report's aggregate: totals over the range and, per platform,
      campaign and ad, at most `limit` lines highest spend first (catalyst_core.metrics.breakdown;
      `breakdown_of(entity_totals(...), limit)` is the definition, adapters with a database
      compute it there).
    - `level_totals` sums each entity of a level (None: the whole account, one line when the
      range has rows) over the range: `level_totals_of(entity_totals(...), level)` is the
      definition (catalyst_core.metrics.levels), ordered by the level's ids. With `where`, lines
      failing that coarse filter may be left out (LevelFilter says how; never one that passes).
    - `client_totals` sums every row the client has."""

    async def upsert(self, client_id: ClientId, rows: Sequence[PerformanceRow]) -> IngestResult: ...
    async def list(self, query: PerformanceQuery, page: PageRequest, order: Order
                   ) -> Page[PerformanceRow]: ...
    async def daily_totals(self, client_id: ClientId, start: date, end: date) -> list[DayTotals]: ...
    async def entity_totals(self, client_id: ClientId, start: date, end: date, *,
                            platform: str | None = None, campaign_id: str | None = None
                            ) -> list[EntityTotals]: ...
    async def breakdown(self, client_id: ClientId, start: date, end: date, *,
                        platform: str | None = None, campaign_id: str | None = None,
                        limit: int) -> Breakdown: ...
    async def level_totals(self, client_id: ClientId, start: date, end: date,
                           level: Level | None, *, where: LevelFilter | None = None
                           ) -> list[LevelTotals]: ...
    async def client_totals(self, client_id: ClientId) -> Totals: ...


class AlertRepo(Protocol):
    """Alert configurations. `add`/`add_many` raise NotFound when the client or the creator is not
    stored; `save` and `delete` raise NotFound for an unknown alert; `delete` removes the alert's
    instances too. `list` is oldest first (ties by id): one client's alerts, or with `visible_to`
    those of the clients that user belongs to, or every alert when both are None.
    Scheduling: `due` lists enabled alerts whose `next_run_at` is at or before `now`, earliest
    first (ties by id), at most `limit`; `claim` moves one alert's `next_run_at` from `expected`
    to `next_run_at` and sets `last_run_at` to `now` only if it still is `expected`, answering
    whether it did. The compare-and-set is atomic, so of any number of schedulers over one
    database exactly one claims each slot."""

    async def add(self, alert: Alert) -> None: ...
    async def add_many(self, alerts: Sequence[Alert]) -> None: ...
    async def get(self, alert_id: AlertId, *, for_update: bool = False) -> Alert | None: ...
    async def save(self, alert: Alert) -> None: ...
    async def delete(self, alert_id: AlertId) -> None: ...
    async def count(self, client_id: ClientId) -> int: ...
    async def list(self, client_id: ClientId | None, visible_to: UserId | None) -> list[Alert]: ...
    async def due(self, now: datetime, limit: int) -> list[Alert]: ...
    async def claim(self, alert_id: AlertId, expected: datetime, next_run_at: datetime,
                    now: datetime) -> bool: ...


class AlertInstanceRepo(Protocol):
    """Alert instances. At most one `triggered` instance exists per (alert_id, entity_key): `add`
    raises Conflict for a second (also under concurrency). `save` raises Conflict when the stored
    version differs from `instance.version` and bumps it on success; NotFound when absent.
    `add_many` is `add` for many at once (one statement where the database allows).
    `get(for_update=True)` locks the instance until the transaction ends where the database can.
    `triggered` answers the triggered instances of an alert among `entity_keys`, by key.
    `list` filters by InstanceQuery, newest `triggered_at` first (ties by id, descending)."""

    async def add(self, instance: AlertInstance) -> None: ...
    async def add_many(self, instances: Sequence[AlertInstance]) -> None: ...
    async def get(self, instance_id: InstanceId, *, for_update: bool = False) -> AlertInstance | None: ...
    async def save_seen(self, instances: Sequence[AlertInstance]) -> None:
        """Store `alert_name`, `alert_data`, `last_seen_at` and `trigger_count` of each instance
        that is still triggered (others are left as they are), bumping their stored versions and
        those of the given objects (so a later `save` of one in the same transaction holds); callers
        hold the alert's lock (`AlertRepo.get(for_update=True)`), so firings of one alert take
        turns."""
        ...

    async def save(self, instance: AlertInstance) -> None: ...
    async def triggered(self, alert_id: AlertId, entity_keys: Sequence[str]
                        ) -> dict[str, AlertInstance]: ...
    async def list(self, query: InstanceQuery, page: OffsetRequest) -> OffsetPage[AlertInstance]: ...


class OutboxRepo(Protocol):
    """Deliveries waiting for a durable notifier (an outbox): `add` writes them with the change
    that caused them; `due` lists those whose `next_attempt_at` is at or before `now` and that
    have not failed for good, oldest first (ties by id), at most `limit`; `delivered` removes them;
    `retry_later` records a failed attempt and when to try again; `give_up` keeps a delivery that
    failed too often out of `due` (it stays stored for operators). `claim` is `due` and a lease in
    one atomic step: it moves each delivery it answers (in no particular order) to `lease_until`
    (recording `note` as the last error), so concurrent claims, from any number of processes,
    never answer the same one."""

    async def add(self, deliveries: Sequence[Delivery]) -> None: ...
    async def due(self, now: datetime, limit: int) -> list[Delivery]: ...
    async def claim(self, now: datetime, limit: int, lease_until: datetime,
                    note: str) -> list[Delivery]: ...
    async def delivered(self, ids: Sequence[uuid.UUID]) -> None: ...
    async def retry_later(self, delivery_id: uuid.UUID, attempts: int, next_attempt_at: datetime,
                          error: str) -> None: ...
    async def give_up(self, delivery_id: uuid.UUID, attempts: int, error: str) -> None: ...


class LeadRepo(Protocol):
    """Lead scoring settings and results. `settings` is None until a client's are saved;
    `save_settings` inserts or replaces them. (client_id, email) is unique among results: `add_many`
    raises Conflict for an email the client already has (or twice in one call) and NotFound for an
    unknown client. `replace_many` stores each result's new current scoring and `scored_count` (by
    id; NotFound when absent; id, client, email and created_at never change) and appends the
    superseded scorings to their leads' history. `by_emails` answers the
    client's results among `emails`, by email. `list` filters by LeadQuery (scores inclusive) and
    sorts by score, created_at, updated_at (the current scoring's time) or email, ties by id in the
    same order. `history` is a lead's earlier scorings, newest first (ties by id, descending: the
    scorings of one email repeated in one batch share their time)."""

    async def settings(self, client_id: ClientId) -> ScoringSettings | None: ...
    async def save_settings(self, settings: ScoringSettings) -> None: ...
    async def get(self, lead_id: LeadId) -> LeadResult | None: ...
    async def by_emails(self, client_id: ClientId, emails: Sequence[str]) -> dict[str, LeadResult]: ...
    async def add_many(self, results: Sequence[LeadResult]) -> None: ...
    async def replace_many(self, results: Sequence[LeadResult],
                           superseded: Sequence[HistoryEntry]) -> None: ...
    async def list(self, query: LeadQuery, page: OffsetRequest, sort: SortSpec
                   ) -> OffsetPage[LeadResult]: ...
    async def history(self, lead_id: LeadId) -> list[HistoryEntry]: ...


class CreativeRepo(Protocol):
    """Creative submissions. `add` raises Conflict for a taken id and NotFound for an unknown
    client, submitter or task; `save` stores a decision (status, reviewer, time, reason,
    updated_at; NotFound when absent). `get(for_update=True)` locks the row until the transaction
    ends (two decisions on one submission take turns). `list` filters by SubmissionQuery and sorts
    by created_at, updated_at, name or status, ties by id in the same order. `referenced_keys`
    answers which of `keys` are the media key of a stored submission."""

    async def add(self, submission: Submission) -> None: ...
    async def get(self, submission_id: SubmissionId, *, for_update: bool = False
                  ) -> Submission | None: ...
    async def save(self, submission: Submission) -> None: ...
    async def list(self, query: SubmissionQuery, page: PageRequest, sort: SortSpec
                   ) -> Page[Submission]: ...
    async def referenced_keys(self, keys: Sequence[str]) -> set[str]: ...


class Transaction(Protocol):
    """One unit of work. Everything done through it commits together when the `async with` block
    exits normally and is rolled back when it raises; repositories never alias the caller's objects."""

    users: UserRepo
    clients: ClientRepo
    members: MemberRepo
    tasks: TaskRepo
    comments: CommentRepo
    performance: PerformanceRepo
    alerts: AlertRepo
    alert_instances: AlertInstanceRepo
    outbox: OutboxRepo
    leads: LeadRepo
    creatives: CreativeRepo


class Storage(Protocol):
    """The source of transactions. `transaction(write=False)` promises not to write, which lets
    adapters skip write locks; such a read may see each statement at the newest committed state (as
    PostgreSQL's READ COMMITTED does) rather than one snapshot. Concurrent writers are serialised or
    fail with Conflict, never corrupt. A repository error ends the transaction: do not keep using it.
    `brief=True` promises that the transaction's work is bounded by the request, not by the data
    (a handful of rows by key): an adapter may run it without leaving the caller's thread (SQLite,
    on the event loop), so it must not scan, cascade or write batches.
    `ping` raises when the storage is unreachable; `close` releases connections."""

    def transaction(self, *, write: bool = True, brief: bool = False
                    ) -> AbstractAsyncContextManager[Transaction]: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...
