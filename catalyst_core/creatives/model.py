"""Creative submissions: an ad creative (its copy, and its media as a link or an uploaded file)
that a member of a client submits and the client's admins approve or reject.

A submission starts `pending` with a `review_creative` task for the client's admins; the one
decision on it (approve or reject, with a reason) is final and completes that task."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NewType
from urllib.parse import urlsplit

from attrs import define, frozen

from catalyst_core.errors import Conflict, InvalidInput
from catalyst_core.ids import ClientId, TaskId, UserId
from catalyst_core.validation import Bad, Problems, choice, object_of, text

SubmissionId = NewType("SubmissionId", uuid.UUID)

MAX_NAME = 255
MAX_HEADLINE = 255
MAX_PRIMARY_TEXT = 5_000
MAX_AD_SCRIPT = 10_000
MAX_MEDIA_URL = 2_048
MAX_FILENAME = 255
MAX_REASON = 2_000
SUBMISSION_SORT_FIELDS = ("created_at", "updated_at", "name", "status")


class AdType(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    CAROUSEL = "carousel"
    TEXT = "text"


class SubmissionStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@frozen
class Media:
    """A submission's media: a link the submitter gave (`url`), or a file kept in the BlobStore
    under `key` with what its bytes said it is (`content_type`, and `width`/`height` of images)."""

    url: str | None = None
    key: str | None = None
    filename: str | None = None
    size: int | None = None
    content_type: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def is_file(self) -> bool:
        return self.key is not None


NO_MEDIA = Media()


@define
class Submission:
    id: SubmissionId
    client_id: ClientId
    name: str
    ad_type: AdType
    media: Media
    ad_script: str | None
    headline: str | None
    primary_text: str | None
    status: SubmissionStatus
    submitted_by: UserId
    created_at: datetime
    updated_at: datetime
    task_id: TaskId | None = None
    reviewed_by: UserId | None = None
    reviewed_at: datetime | None = None
    rejection_reason: str | None = None

    def decide(self, status: SubmissionStatus, *, by: UserId, now: datetime,
               reason: str | None = None) -> None:
        """Approve or reject. Only a pending submission can be decided: the decision is final."""
        if self.status is not SubmissionStatus.PENDING:
            raise Conflict(f"this submission is already {self.status.value}; only a pending one "
                           "can be approved or rejected")
        self.status = status
        self.reviewed_by, self.reviewed_at = by, now
        self.rejection_reason = reason if status is SubmissionStatus.REJECTED else None
        self.updated_at = now


@frozen
class Draft:
    """A new submission as checked from the caller's fields (before any media is stored)."""

    client_id: ClientId
    name: str
    ad_type: AdType
    media_url: str | None
    ad_script: str | None
    headline: str | None
    primary_text: str | None


DRAFT_FIELDS = frozenset({"client_id", "name", "ad_type", "media_url", "ad_script", "headline",
                          "primary_text"})


def _client_id(raw: Any) -> ClientId:
    if isinstance(raw, uuid.UUID):
        return ClientId(raw)
    if not isinstance(raw, str):
        raise Bad("must be a UUID")
    try:
        return ClientId(uuid.UUID(raw.strip()))
    except ValueError:
        raise Bad("must be a UUID") from None


def _media_url(raw: Any) -> str | None:
    url = text(MAX_MEDIA_URL, required=False)(raw)
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        raise Bad("must be an http or https URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(
            c.isspace() for c in url):
        raise Bad("must be an http or https URL")
    return url


def parse_draft(raw: Mapping[str, Any], *, with_file: bool) -> Draft:
    """The caller's fields checked in one pass: one InvalidInput names every bad field. A
    submission carries its media either as `media_url` or as an uploaded file, not both."""
    problems = Problems()
    fields = object_of(problems, "", raw, DRAFT_FIELDS)
    client_id = problems.take("client_id", _client_id, fields.get("client_id")) \
        if fields.get("client_id") is not None else None
    if client_id is None and "client_id" not in problems.fields:
        problems.add("client_id", "is required (in the body or as a query parameter)")
    name = problems.take("name", text(MAX_NAME, required=True), fields.get("name"))
    ad_type = problems.take("ad_type", _ad_type, fields.get("ad_type"))
    media_url = problems.take("media_url", _media_url, fields.get("media_url"))
    if media_url is not None and with_file:
        problems.add("media_url", "send either media_url or a file, not both")
    ad_script = problems.take("ad_script", text(MAX_AD_SCRIPT, required=False), fields.get("ad_script"))
    headline = problems.take("headline", text(MAX_HEADLINE, required=False), fields.get("headline"))
    primary_text = problems.take("primary_text", text(MAX_PRIMARY_TEXT, required=False),
                                 fields.get("primary_text"))
    if problems.fields:
        raise InvalidInput(problems.fields)
    return Draft(client_id=client_id, name=name, ad_type=ad_type, media_url=media_url,
                 ad_script=ad_script, headline=headline, primary_text=primary_text)


def _ad_type(raw: Any) -> AdType:
    if raw is None:
        raise Bad("is required")
    return choice(AdType)(raw)  # type: ignore[no-any-return]


def rejection_reason(raw: Any) -> str:
    """A rejection's reason: required, not blank."""
    problems = Problems()
    reason = problems.take("reason", text(MAX_REASON, required=True), raw)
    if problems.fields:
        raise InvalidInput(problems.fields)
    return reason  # type: ignore[no-any-return]


def upload_filename(raw: str | None) -> str | None:
    """The name a file was uploaded under, as kept: its last path segment, without control
    characters, at most MAX_FILENAME characters (a browser may send a full Windows path)."""
    if not raw:
        return None
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip()
    return name[:MAX_FILENAME] or None


@frozen
class SubmissionQuery:
    """Filters of the list. `visible_to` limits to the clients a user belongs to (None: all)."""

    visible_to: UserId | None = None
    client_id: ClientId | None = None
    status: SubmissionStatus | None = None
