"""Creative submissions on the wire: the list's query and how a submission is presented."""

from __future__ import annotations

import uuid
from typing import Any

from attrs import frozen

from catalyst_api.middleware import API_PREFIX
from catalyst_core.creatives.model import Submission, SubmissionStatus

MEDIA_PATH = API_PREFIX + "/creative-submissions/{id}/media"


@frozen(kw_only=True)
class SubmissionFilters:
    """`?client_id=&status=` of the list."""

    client_id: uuid.UUID | None = None
    status: SubmissionStatus | None = None


def present_submission(s: Submission) -> dict[str, Any]:
    m = s.media
    # An uploaded file is served by the API itself: media_url points there, so every submission
    # with media has one URL to fetch it from.
    url = MEDIA_PATH.format(id=s.id) if m.is_file else m.url
    return {
        "id": s.id, "client_id": s.client_id, "name": s.name, "ad_type": s.ad_type,
        "media_url": url, "media_filename": m.filename, "media_size": m.size,
        "media_content_type": m.content_type, "media_width": m.width, "media_height": m.height,
        "ad_script": s.ad_script, "headline": s.headline, "primary_text": s.primary_text,
        "status": s.status, "submitted_by": s.submitted_by, "task_id": s.task_id,
        "reviewed_by": s.reviewed_by, "reviewed_at": s.reviewed_at,
        "rejection_reason": s.rejection_reason, "created_at": s.created_at,
        "updated_at": s.updated_at,
    }
