"""Batches: up to 50 uploads in one call, each its own analysis; one item's error leaves the others alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from sentrix.adapters.storage import ImageStore
from sentrix.db.engine import session_scope
from sentrix.errors import SentrixError, ValidationFailed
from sentrix.http.envelope import validation_details
from sentrix.http.identity import Principal
from sentrix_upload.logic import quota
from sentrix_upload.logic.intake import Accepted, IncomingFile, accept_file, start_presigned_upload
from sentrix_upload.schemas.intake import PresignedUploadRequest, UploadOptions
from sentrix_upload.settings import UploadSettings


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    index: int
    filename: str | None
    accepted: Accepted | None = None
    error: SentrixError | None = None


def _validation_error(exc: ValidationError) -> ValidationFailed:
    # The same details as the 422 envelope's (without echoing the input back), the same words.
    return ValidationFailed("Validation error", details=validation_details(exc.errors()), key="error.validation_error")


def _run(index: int, filename: str | None, action: Callable[[], Accepted]) -> ItemOutcome:
    try:
        return ItemOutcome(index, filename, accepted=action())
    except ValidationError as exc:
        return ItemOutcome(index, filename, error=_validation_error(exc))
    except SentrixError as exc:  # bad item, quota reached, storage down: this item only
        return ItemOutcome(index, filename, error=exc)


def _check_size(count: int, settings: UploadSettings) -> None:
    if count > settings.batch_max_items:
        most = settings.batch_max_items
        raise ValidationFailed(key="err.batch_too_large", details={"max_items": most}, most=most, count=count)


def _refuse_shared_key(key: str | None) -> None:
    if key:
        raise ValidationFailed(key="err.batch_idempotency")


def presigned_batch(
    principal: Principal, items: list[Any], settings: UploadSettings, *, shared_key: str | None
) -> list[ItemOutcome]:
    """One presigned upload per item (each may name its own idempotency_key; `shared_key`, the request's
    Idempotency-Key header, would name them all: 422); the call counts once against the per-minute limit."""
    _refuse_shared_key(shared_key)
    _check_size(len(items), settings)
    with session_scope() as session:
        quota.count_upload_request(session, principal.user_id, settings)

    def one(raw: dict[str, Any]) -> Callable[[], Accepted]:
        def action() -> Accepted:
            request = PresignedUploadRequest.model_validate(raw)
            return start_presigned_upload(principal, request, settings, count_request=False)

        return action

    outcomes = []
    for index, raw in enumerate(items):
        filename = raw.get("filename") if isinstance(raw, dict) and isinstance(raw.get("filename"), str) else None
        outcomes.append(_run(index, filename, one(raw)))
    return outcomes


def multipart_batch(
    principal: Principal,
    files: list[IncomingFile],
    options: UploadOptions,
    settings: UploadSettings,
    *,
    store: ImageStore | None = None,
) -> list[ItemOutcome]:
    """One stored analysis per file, with the same options for all (no idempotency key: it names one item)."""
    _refuse_shared_key(options.idempotency_key)
    _check_size(len(files), settings)
    with session_scope() as session:
        quota.count_upload_request(session, principal.user_id, settings)
    return [
        _run(
            index,
            file.filename,
            lambda file=file: accept_file(principal, file, options, settings, store=store, count_request=False),
        )
        for index, file in enumerate(files)
    ]
