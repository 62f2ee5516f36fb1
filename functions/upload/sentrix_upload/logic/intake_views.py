"""The answers of the intake routes: an accepted upload and a batch's items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sentrix.http.envelope import item_error
from sentrix_upload.logic.views import status_url

if TYPE_CHECKING:
    from sentrix_upload.logic.batch import ItemOutcome
    from sentrix_upload.logic.intake import Accepted


def accepted_view(accepted: Accepted) -> dict[str, Any]:
    """The answer to an accepted upload: where to poll it, and the presigned POST when the photo is still to come."""
    upload = accepted.upload
    return {
        "analysis_id": accepted.analysis_id,
        "status": accepted.status,
        "status_url": status_url(accepted.analysis_id),
        "replayed": accepted.replayed,
        "upload": None
        if upload is None
        else {
            "url": upload.url,
            "fields": upload.fields,
            "key": upload.key,
            "content_type": upload.content_type,
            "max_bytes": upload.max_bytes,
            "expires_at": upload.expires_at,
        },
    }


def batch_view(outcomes: list[ItemOutcome], language: str | None) -> dict[str, Any]:
    """The answer to a batch: one item per file, accepted or refused with its error (in the stated `language`,
    like the error envelope), and the counts."""
    items = []
    for outcome in outcomes:
        item: dict[str, Any] = {"index": outcome.index, "filename": outcome.filename, "ok": outcome.error is None}
        if outcome.accepted is not None:
            item["analysis"] = accepted_view(outcome.accepted)
        if outcome.error is not None:
            item["error"] = item_error(outcome.error, language)
        items.append(item)
    accepted = sum(1 for item in items if item["ok"])
    return {"total": len(items), "accepted": accepted, "failed": len(items) - accepted, "items": items}
