"""Use cases of creative submissions: submit (with a media link or an uploaded file), read, list,
serve the file, and the one decision (approve or reject) that completes the review task.

A file and its row live and die together. The file is stored first, under the submission's id,
and the row second; when the row's transaction fails or is cancelled the file is deleted again,
and a file whose row never committed (the process died in between) is swept later
(`sweep_orphans`). So a row never points at a missing file, and a stray file does not outlive
the sweep."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from attrs import frozen

from catalyst_core.access import require, role_in, role_over
from catalyst_core.auth.model import Actor
from catalyst_core.clients.model import ClientRole
from catalyst_core.creatives.model import (
    DRAFT_FIELDS,
    SUBMISSION_SORT_FIELDS,
    AdType,
    Draft,
    Media,
    Submission,
    SubmissionId,
    SubmissionQuery,
    SubmissionStatus,
    parse_draft,
    rejection_reason,
    upload_filename,
)
from catalyst_core.errors import InvalidInput, NotFound, TooLarge, UnsupportedMedia
from catalyst_core.events import CreativeReviewed, CreativeSubmitted, Event, TaskAssigned, TaskCompleted
from catalyst_core.ids import ClientId, IdFactory, TaskId
from catalyst_core.notifications import Publisher
from catalyst_core.paging import Page, PageRequest, SortSpec
from catalyst_core.ports import BlobStore, Clock, MediaProbe, Notifier, Storage, Transaction
from catalyst_core.tasks.model import (
    MAX_TASK_NAME,
    RELATED_CREATIVE_SUBMISSION,
    Priority,
    Task,
    TaskStatus,
    TaskType,
)

# A file written this long ago without a row is an orphan, not an upload still in flight.
ORPHAN_AGE = timedelta(hours=1)


@frozen
class Upload:
    """A file as it arrives: its bytes in chunks (read once, as they come) and the name the
    sender gave it. Its type is judged from the bytes, never from the name or a header.
    `later_fields` reads the fields a form sends after the file (called once the file is stored;
    it raises InvalidInput for a field it refuses); None when nothing can follow."""

    chunks: AsyncIterable[bytes]
    filename: str | None = None
    later_fields: Callable[[], Awaitable[Mapping[str, Any]]] | None = None


@frozen
class MediaFile:
    """Where a submission's uploaded file is kept and how to serve it."""

    key: str
    size: int
    content_type: str
    filename: str | None


def media_key(submission_id: SubmissionId) -> str:
    return submission_id.hex


class CreativesService:
    def __init__(self, storage: Storage, clock: Clock, notifier: Notifier, ids: IdFactory,
                 blobs: BlobStore, probe: MediaProbe, *, max_upload_bytes: int) -> None:
        self.storage, self.clock, self.ids = storage, clock, ids
        self.blobs, self.probe, self.max_upload_bytes = blobs, probe, max_upload_bytes
        self.publisher = Publisher(notifier, ids)

    # -- submitting ----------------------------------------------------------------------------

    async def submit(self, actor: Actor, fields: Mapping[str, Any],
                     upload: Upload | None = None) -> Submission:
        """Check the fields (one 422 names them all) and the actor's role (a member at least),
        store the file, then the row and its review task for the client's admins.

        The fields known before the file (all of them, in a form that sends the file last) are
        checked before a byte of it is stored: a bad value or a role too small refuses the upload
        at once. Fields that follow the file (`Upload.later_fields`) can only be checked once it
        is stored; when they or the role refuse it, the file is deleted again."""
        early = self._early_draft(fields, upload)
        if early is not None:
            await self._check_role(actor, early.client_id)
        submission_id = SubmissionId(self.ids())
        if upload is None:
            assert early is not None
            draft, media = early, Media(url=early.media_url)
        else:
            media = await self._store_file(upload, media_key(submission_id))
        try:
            if upload is not None:
                later = await upload.later_fields() if upload.later_fields is not None else {}
                draft = early if early is not None and not later else parse_draft(
                    _merged(fields, later), with_file=True)
                _check_kind(draft.ad_type, media)
                if early is None or draft.client_id != early.client_id:
                    await self._check_role(actor, draft.client_id)
            submission, events = await self._record(actor, submission_id, draft, media)
        except BaseException:
            if media.key is not None:
                await asyncio.shield(self._forget_file(submission_id, media.key))
            raise
        await self.publisher.publish(events)
        return submission

    @staticmethod
    def _early_draft(fields: Mapping[str, Any], upload: Upload | None) -> Draft | None:
        """The draft from the fields known before the file, or None when it lacks only fields
        that may still follow the file. A present field that is wrong refuses at once."""
        try:
            return parse_draft(fields, with_file=upload is not None)
        except InvalidInput as e:
            if upload is None or upload.later_fields is None or any(
                    name in fields or name not in DRAFT_FIELDS for name in e.fields):
                raise
            return None

    async def _check_role(self, actor: Actor, client_id: ClientId) -> None:
        async with self.storage.transaction(write=False) as tx:
            require(await role_in(tx, actor, client_id), ClientRole.MEMBER, "submitting creatives")

    async def _store_file(self, upload: Upload, key: str) -> Media:
        chunks = aiter(upload.chunks)
        head = await _read_head(chunks, self.probe.head_bytes, self.max_upload_bytes)
        if not head:
            raise InvalidInput({"file": "must not be empty"})
        info = self.probe.probe(head)
        if info is None:
            raise UnsupportedMedia("the file is not an image or a video of a known type "
                                   "(judged from its content, not its name)")
        blob = await self.blobs.put(key, _chain(head, chunks), max_bytes=self.max_upload_bytes)
        return Media(key=blob.key, filename=upload_filename(upload.filename), size=blob.size,
                     content_type=info.content_type, width=info.width, height=info.height)

    async def _record(self, actor: Actor, submission_id: SubmissionId, draft: Draft,
                      media: Media) -> tuple[Submission, list[Event]]:
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            # Again inside the write: the actor may have left the client while the file uploaded.
            require(await role_in(tx, actor, draft.client_id), ClientRole.MEMBER,
                    "submitting creatives")
            admins = await tx.members.admins(draft.client_id)
            task = _review_task(TaskId(self.ids()), submission_id, draft, actor, admins, now)
            submission = Submission(
                id=submission_id, client_id=draft.client_id, name=draft.name, ad_type=draft.ad_type,
                media=media, ad_script=draft.ad_script, headline=draft.headline,
                primary_text=draft.primary_text, status=SubmissionStatus.PENDING,
                submitted_by=actor.user_id, created_at=now, updated_at=now, task_id=task.id)
            await tx.tasks.add(task)
            await tx.creatives.add(submission)
            events: list[Event] = [CreativeSubmitted(
                occurred_at=now, submission_id=submission.id, client_id=submission.client_id,
                name=submission.name, task_id=task.id, by=actor.user_id)]
            if admins:
                events.append(TaskAssigned(occurred_at=now, task_id=task.id, client_id=task.client_id,
                                           assignees=tuple(admins), by=actor.user_id))
            await self.publisher.stage(tx, events)
        return submission, events

    async def _forget_file(self, submission_id: SubmissionId, key: str) -> None:
        """Delete the file of a submission whose row did not commit. A failure or cancellation
        may strike after the commit itself succeeded: the row decides, not the exception."""
        try:
            async with self.storage.transaction(write=False) as tx:
                if await tx.creatives.get(submission_id) is not None:
                    return
        except Exception:  # the storage is down: the sweep decides later, the file stays
            return
        await self.blobs.delete(key)

    async def sweep_orphans(self, *, min_age: timedelta = ORPHAN_AGE) -> int:
        """Delete files older than `min_age` that no submission refers to (left by a crash
        between storing a file and committing its row); returns how many went."""
        cutoff = self.clock.now() - min_age
        candidates = []
        for key in await self.blobs.keys():
            blob = await self.blobs.stat(key)
            if blob is not None and blob.created_at <= cutoff:
                candidates.append(key)
        if not candidates:
            return 0
        async with self.storage.transaction(write=False) as tx:
            kept = await tx.creatives.referenced_keys(candidates)
        orphans = [key for key in candidates if key not in kept]
        for key in orphans:
            await self.blobs.delete(key)
        return len(orphans)

    # -- reading -------------------------------------------------------------------------------

    async def get(self, actor: Actor, submission_id: SubmissionId) -> Submission:
        async with self.storage.transaction(write=False) as tx:
            submission, _ = await _visible(tx, actor, submission_id)
            return submission

    async def list(self, actor: Actor, client_id: ClientId | None, status: SubmissionStatus | None,
                   page: PageRequest, sort: SortSpec) -> Page[Submission]:
        sort = sort.checked(SUBMISSION_SORT_FIELDS)
        async with self.storage.transaction(write=False) as tx:
            if client_id is not None:
                await role_in(tx, actor, client_id)
            visible_to = None if actor.is_platform_admin or client_id else actor.user_id
            query = SubmissionQuery(visible_to=visible_to, client_id=client_id, status=status)
            return await tx.creatives.list(query, page, sort)

    async def media(self, actor: Actor, submission_id: SubmissionId) -> MediaFile:
        """The uploaded file of a submission the actor can see (any role)."""
        async with self.storage.transaction(write=False) as tx:
            submission, _ = await _visible(tx, actor, submission_id)
        m = submission.media
        if m.key is None or m.size is None or m.content_type is None:
            raise NotFound("this submission has no uploaded file" + (
                f"; its media is at {m.url}" if m.url else ""))
        return MediaFile(key=m.key, size=m.size, content_type=m.content_type, filename=m.filename)

    # -- deciding ------------------------------------------------------------------------------

    async def approve(self, actor: Actor, submission_id: SubmissionId) -> Submission:
        return await self._decide(actor, submission_id, SubmissionStatus.APPROVED, None)

    async def reject(self, actor: Actor, submission_id: SubmissionId, reason: Any) -> Submission:
        """Reject with a reason (required, not blank)."""
        return await self._decide(actor, submission_id, SubmissionStatus.REJECTED,
                                  rejection_reason(reason))

    async def _decide(self, actor: Actor, submission_id: SubmissionId, status: SubmissionStatus,
                      reason: str | None) -> Submission:
        now = self.clock.now()
        async with self.storage.transaction() as tx:
            # Locked: of two decisions at once, the second sees the first's and is a Conflict.
            submission, role = await _visible(tx, actor, submission_id, for_update=True)
            require(role, ClientRole.ADMIN, "approving or rejecting creatives")
            submission.decide(status, by=actor.user_id, now=now, reason=reason)
            await tx.creatives.save(submission)
            events: list[Event] = []
            if submission.task_id is not None:
                task = await tx.tasks.get(submission.task_id, for_update=True)
                if task is not None and not task.status.is_final:
                    task.finish(TaskStatus.COMPLETED, by=actor.user_id, now=now)
                    await tx.tasks.save(task)
                    events.append(TaskCompleted(occurred_at=now, task_id=task.id,
                                                client_id=task.client_id, by=actor.user_id))
            events.append(CreativeReviewed(
                occurred_at=now, submission_id=submission.id, client_id=submission.client_id,
                name=submission.name, status=status.value, reason=reason,
                submitted_by=submission.submitted_by, by=actor.user_id))
            await self.publisher.stage(tx, events)
        await self.publisher.publish(events)
        return submission


async def _visible(tx: Transaction, actor: Actor, submission_id: SubmissionId, *,
                   for_update: bool = False) -> tuple[Submission, ClientRole]:
    submission = await tx.creatives.get(submission_id, for_update=for_update)
    if submission is None:
        raise NotFound("creative submission not found")
    return submission, await role_over(tx, actor, submission.client_id,
                                       "creative submission not found")


def _review_task(task_id: TaskId, submission_id: SubmissionId, draft: Draft, actor: Actor,
                 admins: list[Any], now: Any) -> Task:
    name = f"Review creative: {draft.name}"
    if len(name) > MAX_TASK_NAME:
        name = name[:MAX_TASK_NAME - 1] + "…"
    return Task(id=task_id, client_id=draft.client_id, name=name,
                task_type=TaskType.REVIEW_CREATIVE, status=TaskStatus.PENDING,
                priority=Priority.MEDIUM, created_by=actor.user_id, assignees=list(admins),
                due_date=None, description=f"Approve or reject the {draft.ad_type.value} creative "
                f"\u201c{draft.name}\u201d.",
                related_object_id=str(submission_id),
                related_object_type=RELATED_CREATIVE_SUBMISSION, created_at=now, updated_at=now)


def _check_kind(ad_type: AdType, media: Media) -> None:
    """An image ad carries an image and a video ad a video; carousels and text ads take either."""
    kind = (media.content_type or "").partition("/")[0]
    if media.key is not None and ad_type in (AdType.IMAGE, AdType.VIDEO) and kind != ad_type.value:
        article = "an" if ad_type is AdType.IMAGE else "a"
        raise InvalidInput({"file": f"{article} {ad_type.value} ad needs {article} {ad_type.value} "
                                    f"file, not {media.content_type}"})


def _merged(early: Mapping[str, Any], later: Mapping[str, Any]) -> dict[str, Any]:
    """The fields before the file and after it; a field in both must say the same (the client
    may be named in the query and the form alike)."""
    clashes = {name: "the form and the query name different clients" if name == "client_id"
               else "is sent more than once"
               for name in set(early) & set(later) if str(early[name]) != str(later[name])}
    if clashes:
        raise InvalidInput(clashes)
    return {**early, **later}


async def _read_head(chunks: AsyncIterator[bytes], wanted: int, max_bytes: int) -> bytes:
    """The file's first bytes, at least `wanted` of them unless the file is shorter."""
    head = bytearray()
    while len(head) < wanted:
        chunk = await anext(chunks, None)
        if chunk is None:
            break
        head += chunk
        if len(head) > max_bytes:
            raise TooLarge(f"the file is larger than {max_bytes:,} bytes")
    return bytes(head)


async def _chain(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for chunk in rest:
        yield chunk
