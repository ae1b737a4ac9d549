"""The creatives machine: submissions (a media link or an uploaded file), the one decision on each
and the review task it completes, driven through CreativesService and TasksService and compared with
a plain model; the BlobStore must hold exactly the files of the stored submissions.

Client `acme`: admin and admin2 (admins), member, viewer. Client `globex`: outsider (admin). root
is a platform admin. Uploads are tiny PNGs made here, or bytes each use case must refuse."""

from __future__ import annotations

import struct
import uuid
import zlib
from collections.abc import AsyncIterator, Sequence

from attrs import define
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from catalyst_adapters.blobs import MemoryBlobStore
from catalyst_adapters.media import HeaderMediaProbe
from catalyst_adapters.notifier import RecordingNotifier
from catalyst_contracts.state_machines.common import ServiceMachine
from catalyst_core.clients.model import ClientRole
from catalyst_core.creatives.model import SubmissionId, SubmissionStatus, upload_filename
from catalyst_core.creatives.service import CreativesService, Upload
from catalyst_core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooLarge,
    UnsupportedMedia,
)
from catalyst_core.events import CreativeReviewed
from catalyst_core.ids import ClientId, TaskId, UserId
from catalyst_core.paging import PageRequest, SortSpec
from catalyst_core.tasks.model import TaskStatus, TaskType
from catalyst_core.tasks.service import TaskFilters, TasksService

CAST = ("admin", "admin2", "member", "viewer", "outsider", "root")
# Small enough that an "oversized" upload costs nothing, large enough for the PNGs made here.
MAX_UPLOAD = 4_096
ALL = PageRequest(1, 100)
FILENAMES = (None, "ad.png", "C:\\Users\\me\\Desktop\\summer ad.png", "../../etc/passwd",
             "bad\x00name\n.png", "/", "  ")


def png(width: int, height: int) -> bytes:
    """A valid PNG of `width` x `height` red pixels, built with the standard library only."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


async def stream(parts: Sequence[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@define
class ModelSubmission:
    id: SubmissionId
    client_id: ClientId
    submitted_by: UserId
    task_id: TaskId | None
    media_url: str | None = None
    data: bytes | None = None  # the uploaded file's bytes
    size: tuple[int, int] | None = None
    filename: str | None = None
    status: SubmissionStatus = SubmissionStatus.PENDING
    reviewed_by: UserId | None = None
    reason: str | None = None
    # What its review task should be: PENDING until decided or finished by hand; None once deleted.
    task_status: TaskStatus | None = TaskStatus.PENDING


class CreativesMachine(ServiceMachine):
    def __init__(self) -> None:
        super().__init__()
        self.notifier = RecordingNotifier()
        self.blobs = MemoryBlobStore(self.clock)
        self.creatives = CreativesService(self.storage, self.clock, self.notifier, self.ids, self.blobs,
                                          HeaderMediaProbe(), max_upload_bytes=MAX_UPLOAD)
        self.tasks = TasksService(self.storage, self.clock, self.notifier, self.ids)
        self.roles: dict[tuple[ClientId, UserId], ClientRole] = {}
        self.model: dict[SubmissionId, ModelSubmission] = {}
        self.reviewed: list[tuple[SubmissionId, str, str | None, UserId, UserId]] = []

    @initialize()
    def cast(self) -> None:
        self.register_cast(CAST)
        admin = self.actors[self.people["admin"]]
        self.acme = self.run(self.clients.create(admin, "Acme")).client.id
        self.globex = self.run(self.clients.create(self.actors[self.people["outsider"]], "Globex")
                               ).client.id
        for who, role in (("admin2", ClientRole.ADMIN), ("member", ClientRole.MEMBER),
                          ("viewer", ClientRole.VIEWER)):
            self.run(self.clients.add_member(admin, self.acme, f"{who}@example.com", role))
        p = self.people
        self.roles = {(self.acme, p["admin"]): ClientRole.ADMIN, (self.acme, p["admin2"]): ClientRole.ADMIN,
                      (self.acme, p["member"]): ClientRole.MEMBER,
                      (self.acme, p["viewer"]): ClientRole.VIEWER,
                      (self.globex, p["outsider"]): ClientRole.ADMIN}
        self.notifier.clear()

    # -- helpers -------------------------------------------------------------------------------------

    def _role(self, client_id: ClientId, user: UserId) -> ClientRole | None:
        if self.actors[user].is_platform_admin:
            return ClientRole.ADMIN
        return self.roles.get((client_id, user))

    def _needs(self, client_id: ClientId, user: UserId, role: ClientRole) -> type[DomainError] | None:
        mine = self._role(client_id, user)
        return NotFound if mine is None else None if mine.at_least(role) else Forbidden

    def _admins(self, client_id: ClientId) -> set[UserId]:
        return {u for (c, u), r in self.roles.items() if c == client_id and r is ClientRole.ADMIN}

    def _who(self, data: st.DataObject, *favoured: str) -> UserId:
        """Anyone of the cast; `favoured` people twice as often (so decisions do succeed)."""
        return self.people[data.draw(st.sampled_from([*CAST, *favoured]), label="actor")]

    def _client(self, data: st.DataObject) -> ClientId:
        return data.draw(st.sampled_from([self.acme, self.acme, self.acme, self.globex]), label="client")

    def _draw_submission(self, data: st.DataObject) -> SubmissionId:
        known = sorted(self.model)
        return data.draw(st.sampled_from([*known, *known, *known, SubmissionId(uuid.uuid4())]),
                         label="submission")

    def _submitted(self, client_id: ClientId, actor: UserId, expected: type[DomainError] | None,
                   body: dict[str, object], upload: Upload | None) -> None:
        created = self.attempt(self.creatives.submit(self.actors[actor], body, upload), expected)
        if created is None:
            return
        assert created.id not in self.model
        assert (created.client_id, created.submitted_by, created.status) == (
            client_id, actor, SubmissionStatus.PENDING)
        assert created.task_id is not None
        self.model[created.id] = ModelSubmission(created.id, client_id, actor, created.task_id)

    # -- rules ---------------------------------------------------------------------------------------

    @precondition(lambda self: len(self.model) < 40)
    @rule(data=st.data(), ad_type=st.sampled_from(["image", "video", "carousel", "text"]))
    def submit_link(self, data: st.DataObject, ad_type: str) -> None:
        client_id, actor = self._client(data), self._who(data)
        url = f"https://cdn.example.com/{len(self.model)}.png"
        body = {"client_id": str(client_id), "name": f"Ad {len(self.model)}", "ad_type": ad_type,
                "media_url": url}
        expected = self._needs(client_id, actor, ClientRole.MEMBER)
        before = set(self.model)
        self._submitted(client_id, actor, expected, body, None)
        for new in set(self.model) - before:
            self.model[new].media_url = url

    @precondition(lambda self: len(self.model) < 40)
    @rule(data=st.data(), kind=st.sampled_from(["png", "png", "png", "text", "empty", "huge"]),
          ad_type=st.sampled_from(["image", "carousel", "text", "video"]),
          width=st.integers(1, 9), height=st.integers(1, 9), chunk=st.sampled_from([1, 7, 64, 5000]),
          filename=st.sampled_from(FILENAMES))
    def submit_file(self, data: st.DataObject, kind: str, ad_type: str, width: int, height: int,
                    chunk: int, filename: str | None) -> None:
        client_id, actor = self._client(data), self._who(data)
        content = {"png": png(width, height), "text": b"just some words, named ad.png\n", "empty": b"",
                   "huge": png(width, height) + b"\x00" * MAX_UPLOAD}[kind]
        body = {"client_id": str(client_id), "name": f"File ad {len(self.model)}", "ad_type": ad_type}
        # The role is checked before a byte is read; then what the bytes are.
        expected = self._needs(client_id, actor, ClientRole.MEMBER) or {
            "png": InvalidInput if ad_type == "video" else None, "text": UnsupportedMedia,
            "empty": InvalidInput, "huge": TooLarge}[kind]
        before = set(self.model)
        self._submitted(client_id, actor, expected, body,
                        Upload(stream(pieces(content, chunk)), filename=filename))
        for new in set(self.model) - before:
            submission = self.model[new]
            submission.data, submission.size = content, (width, height)
            submission.filename = upload_filename(filename)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), approve=st.booleans(),
          reason=st.sampled_from(["Off brand", "  too dark  ", "wrong logo", " \t ", None]))
    def decide(self, data: st.DataObject, approve: bool, reason: str | None) -> None:
        submission_id = self._draw_submission(data)
        actor = self._who(data, "admin", "admin2", "root", "outsider")
        submission = self.model.get(submission_id)
        expected: type[DomainError] | None
        if not approve and not (reason or "").strip():
            expected = InvalidInput  # the reason is checked before anything is read
        elif submission is None:
            expected = NotFound
        else:
            expected = self._needs(submission.client_id, actor, ClientRole.ADMIN)
            if expected is None and submission.status is not SubmissionStatus.PENDING:
                expected = Conflict
        use_case = (self.creatives.approve(self.actors[actor], submission_id) if approve
                    else self.creatives.reject(self.actors[actor], submission_id, reason))
        decided = self.attempt(use_case, expected)
        if decided is None or submission is None:
            return
        submission.status = SubmissionStatus.APPROVED if approve else SubmissionStatus.REJECTED
        submission.reviewed_by = actor
        submission.reason = None if approve else (reason or "").strip()
        assert (decided.status, decided.reviewed_by, decided.rejection_reason) == (
            submission.status, actor, submission.reason)
        assert decided.reviewed_at == self.clock.now()
        if submission.task_status is TaskStatus.PENDING:
            submission.task_status = TaskStatus.COMPLETED
        self.reviewed.append((submission_id, submission.status.value, submission.reason,
                              submission.submitted_by, actor))

    @precondition(lambda self: any(s.task_id is not None for s in self.model.values()))
    @rule(data=st.data(), action=st.sampled_from(["complete", "cancel", "delete"]))
    def touch_task(self, data: st.DataObject, action: str) -> None:
        """Someone completes, cancels or deletes a review task itself. A later decision leaves a
        finished task alone, and one whose task is gone (the link dropped) still works."""
        linked = sorted((s for s in self.model.values() if s.task_id is not None), key=lambda s: s.id)
        submission = data.draw(st.sampled_from(linked), label="task of")
        assert submission.task_id is not None
        acme = submission.client_id == self.acme
        if action == "delete":
            who = self.people["admin2" if acme else "outsider"]
            self.run(self.tasks.delete(self.actors[who], submission.task_id))
            submission.task_id, submission.task_status = None, None
            return
        who = self.actors[self.people["member" if acme else "outsider"]]
        finish = self.tasks.cancel if action == "cancel" else self.tasks.complete
        expected = Conflict if submission.task_status is not TaskStatus.PENDING else None
        if self.attempt(finish(who, submission.task_id), expected) is not None:
            submission.task_status = TaskStatus.CANCELLED if action == "cancel" else TaskStatus.COMPLETED

    @rule(data=st.data(), status=st.sampled_from([None, *SubmissionStatus]),
          by_client=st.sampled_from([None, "acme", "globex"]))
    def list_submissions(self, data: st.DataObject, status: SubmissionStatus | None,
                         by_client: str | None) -> None:
        actor = self._who(data)
        client_id = None if by_client is None else self.acme if by_client == "acme" else self.globex
        expected = None if client_id is None else self._needs(client_id, actor, ClientRole.VIEWER)
        page = self.attempt(self.creatives.list(self.actors[actor], client_id, status, ALL, SortSpec()),
                            expected)
        if page is None:
            return
        wanted = {s.id for s in self.model.values()
                  if self._role(s.client_id, actor) is not None
                  and (client_id is None or s.client_id == client_id)
                  and (status is None or s.status is status)}
        assert {s.id for s in page.items} == wanted and page.total_items == len(wanted)
        stamps = [(s.created_at, s.id) for s in page.items]
        assert stamps == sorted(stamps, reverse=True)

    @rule(data=st.data())
    def read_media(self, data: st.DataObject) -> None:
        submission_id, actor = self._draw_submission(data), self._who(data)
        submission = self.model.get(submission_id)
        expected = NotFound if submission is None else self._needs(submission.client_id, actor,
                                                                    ClientRole.VIEWER)
        if expected is None and submission is not None and submission.data is None:
            expected = NotFound  # a link, not a file
        media = self.attempt(self.creatives.media(self.actors[actor], submission_id), expected)
        if media is None or submission is None:
            return
        assert submission.data is not None
        assert (media.size, media.content_type, media.filename) == (
            len(submission.data), "image/png", submission.filename)

        async def read() -> bytes:
            return b"".join([part async for part in self.blobs.read(media.key)])
        assert self.run(read()) == submission.data
        stored = self.run(self.creatives.get(self.actors[actor], submission_id))
        assert (stored.media.width, stored.media.height) == submission.size

    @rule()
    def sweep(self) -> None:
        """The orphan sweep, long after every upload: a file with a row is never an orphan."""
        self.clock.advance(hours=2)
        assert self.run(self.creatives.sweep_orphans()) == 0

    # -- invariants ----------------------------------------------------------------------------------

    @invariant()
    def submissions_match_the_model(self) -> None:
        if not self.people:
            return
        root = self.actors[self.people["root"]]
        stored = self.run(self.creatives.list(root, None, None, ALL, SortSpec())).items
        assert {s.id: (s.client_id, s.submitted_by, s.status, s.reviewed_by, s.rejection_reason,
                       s.task_id, s.media.url, s.media.key is not None) for s in stored} == {
            s.id: (s.client_id, s.submitted_by, s.status, s.reviewed_by, s.reason, s.task_id,
                   s.media_url, s.data is not None) for s in self.model.values()}
        for s in stored:
            assert (s.reviewed_at is None) == (s.status is SubmissionStatus.PENDING)

    @invariant()
    def review_tasks_follow_their_submissions(self) -> None:
        if not self.people:
            return
        root = self.actors[self.people["root"]]
        tasks = self.run(self.tasks.list(root, TaskFilters(task_type=TaskType.REVIEW_CREATIVE), ALL,
                                         SortSpec())).items
        assert {t.id: (t.status, t.related_object_type, t.related_object_id, t.client_id,
                       frozenset(t.assignees)) for t in tasks} == {
            s.task_id: (s.task_status, "creative_submission", str(s.id), s.client_id,
                        frozenset(self._admins(s.client_id)))
            for s in self.model.values() if s.task_id is not None}

    @invariant()
    def the_blob_store_holds_exactly_the_files(self) -> None:
        keys = self.run(self.blobs.keys())
        assert sorted(keys) == sorted(s.id.hex for s in self.model.values() if s.data is not None)

    @invariant()
    def each_decision_was_told_to_its_submitter(self) -> None:
        told = [(e.submission_id, e.status, e.reason, e.submitted_by, e.by)
                for e in self.notifier.of_type(CreativeReviewed)]
        assert told == self.reviewed
