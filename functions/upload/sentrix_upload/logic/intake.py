"""Creating analyses: a presigned POST for the client, or the small file stored by us, plus idempotency."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sentrix.adapters.storage import ImageStore, S3ImageStore
from sentrix.config import get_settings
from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from sentrix.domain.filetypes import ImageType, sniff
from sentrix.domain.naming import sanitize_filename
from sentrix.domain.status import AnalysisStatus
from sentrix.errors import Conflict, InvalidImage, PayloadTooLarge
from sentrix.http.identity import Principal
from sentrix.observability import logger, metrics
from sentrix.presign import PresignedPost, presigned_post
from sentrix.repositories.analyses import find_by_idempotency_key
from sentrix_upload.logic import quota
from sentrix_upload.logic.options import ACCEPTED, check_location, declared_image_type, resolve_options
from sentrix_upload.logic.preferences import load_preferences
from sentrix_upload.schemas.intake import PresignedUploadRequest, UploadOptions
from sentrix_upload.settings import UploadSettings

SNIFF_BYTES = 64
MAX_FILENAME = 255


def stored_filename(filename: str) -> str:
    """The client's file name as kept for display: control characters dropped (PostgreSQL text cannot even
    hold NUL, which made a presigned request named "foto\x00.jpg" a 500), at most MAX_FILENAME characters."""
    return "".join(ch for ch in filename if unicodedata.category(ch) != "Cc")[:MAX_FILENAME]


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A photo as a multipart request carried it (routes/multipart.py reads it)."""

    filename: str
    declared_type: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class Accepted:
    analysis_id: uuid.UUID
    status: AnalysisStatus
    replayed: bool
    upload: PresignedPost | None = None


def incoming_key(user_id: uuid.UUID, analysis_id: uuid.UUID, filename: str) -> str:
    """`incoming/<user_id>/<analysis_id>/<sanitised name>`: the prefix the bucket notifies the queue about."""
    return f"incoming/{user_id}/{analysis_id}/{sanitize_filename(filename)}"


def _replay(existing: Analysis, filename: str, content_type: str | None) -> None:
    """A reused idempotency key must describe the same upload; anything else is the client's mistake."""
    if existing.original_filename != stored_filename(filename) or (
        content_type is not None and existing.content_type not in (None, content_type)
    ):
        raise Conflict(key="err.idempotency_reused", details={"analysis_id": str(existing.id)})


def _new_analysis(
    session: Session,
    principal: Principal,
    options: UploadOptions,
    settings: UploadSettings,
    *,
    filename: str,
    image_type: ImageType,
    status: AnalysisStatus,
    count_request: bool,
    size_bytes: int | None = None,
) -> Analysis:
    if count_request:
        quota.count_upload_request(session, principal.user_id, settings)
    quota.count_new_analysis(session, principal.user_id, settings)
    resolved = resolve_options(
        options, load_preferences(session, principal.user_id), settings.default_confidence_threshold
    )
    analysis_id = uuid.uuid4()
    analysis = Analysis(
        id=analysis_id,
        user_id=principal.user_id,
        status=status,
        idempotency_key=options.idempotency_key,
        image_bucket=get_settings().images_bucket,
        image_key=incoming_key(principal.user_id, analysis_id, filename),
        original_filename=stored_filename(filename),
        content_type=image_type.content_type,
        image_format=image_type.name if size_bytes is not None else None,
        size_bytes=size_bytes,
        confidence_threshold=resolved.confidence_threshold,
        include_gps=resolved.include_gps,
        manual_latitude=resolved.latitude,
        manual_longitude=resolved.longitude,
    )
    session.add(analysis)
    session.flush()  # the idempotency index speaks here, inside the transaction
    return analysis


def _with_idempotency(
    create: Callable[[Session], Analysis], principal: Principal, key: str | None, check: Callable[[Analysis], None]
) -> tuple[Analysis, bool]:
    """Run `create(session)` unless `key` already names an analysis; a concurrent twin wins the race once."""
    for attempt in range(2):
        try:
            with session_scope() as session:
                if key:
                    existing = find_by_idempotency_key(session, principal.user_id, key)
                    if existing is not None:
                        check(existing)
                        return existing, True
                return create(session), False
        except IntegrityError:
            # Another request with the same key committed between our read and our insert.
            if attempt or not key:
                raise
    raise AssertionError("unreachable")


def start_presigned_upload(
    principal: Principal,
    request: PresignedUploadRequest,
    settings: UploadSettings,
    *,
    count_request: bool = True,
) -> Accepted:
    """A `pending_upload` analysis and the presigned POST its photo must be sent with."""
    image_type = declared_image_type(request.filename, request.content_type)
    max_bytes = get_settings().max_upload_bytes
    if request.size_bytes is not None and request.size_bytes > max_bytes:
        raise PayloadTooLarge(key="err.photo_too_large", details={"max_bytes": max_bytes}, max_bytes=max_bytes)
    check_location(request)  # before any database work

    def sign(analysis: Analysis) -> PresignedPost:
        return presigned_post(
            analysis.image_key,
            analysis.content_type or image_type.content_type,
            max_bytes=max_bytes,
            ttl_s=settings.presigned_post_ttl_s,
            bucket=analysis.image_bucket,
        )

    signed: list[PresignedPost] = []

    def create(session: Session) -> Analysis:
        analysis = _new_analysis(
            session,
            principal,
            request,
            settings,
            filename=request.filename,
            image_type=image_type,
            status=AnalysisStatus.PENDING_UPLOAD,
            count_request=count_request,
        )
        # Signed inside the transaction: without credentials there is no row waiting for an upload forever.
        signed.append(sign(analysis))
        return analysis

    analysis, replayed = _with_idempotency(
        create,
        principal,
        request.idempotency_key,
        lambda existing: _replay(existing, request.filename, image_type.content_type),
    )
    upload = signed[-1] if signed and not replayed else None
    if replayed and analysis.status is AnalysisStatus.PENDING_UPLOAD:
        upload = sign(analysis)  # the client may have lost the first form: same key, fresh signature
    if not replayed:
        logger.info("presigned upload started", extra={"analysis_id": str(analysis.id), "key": analysis.image_key})
        metrics.add_metric(name="PresignedUploadsStarted", unit=MetricUnit.Count, value=1)
    return Accepted(analysis.id, analysis.status, replayed, upload)


def checked_image(file: IncomingFile) -> ImageType:
    """The accepted image type the bytes start with; empty and non-image content are refused (422)."""
    if not file.data:
        raise InvalidImage(key="err.file_empty", details={"filename": file.filename})
    image_type = sniff(file.data[:SNIFF_BYTES])
    if image_type is None:
        raise InvalidImage(key="err.file_not_image", details={"filename": file.filename, "accepted": ACCEPTED})
    return image_type


def accept_file(
    principal: Principal,
    file: IncomingFile,
    options: UploadOptions,
    settings: UploadSettings,
    *,
    store: ImageStore | None = None,
    count_request: bool = True,
) -> Accepted:
    """Store a small photo under the incoming/ key of a new `queued` analysis (the bucket notifies detect)."""
    image_type = checked_image(file)
    check_location(options)
    filename = file.filename or f"photo.{image_type.extension}"

    def create(session: Session) -> Analysis:
        # Queued before the object exists: the notification that follows the put finds a row to take.
        return _new_analysis(
            session,
            principal,
            options,
            settings,
            filename=filename,
            image_type=image_type,
            status=AnalysisStatus.QUEUED,
            count_request=count_request,
            size_bytes=len(file.data),
        )

    analysis, replayed = _with_idempotency(
        create, principal, options.idempotency_key, lambda existing: _replay(existing, filename, None)
    )
    if replayed:
        return Accepted(analysis.id, analysis.status, True)
    store = store or S3ImageStore(analysis.image_bucket)
    try:
        store.put(analysis.image_key, file.data, image_type.content_type)
    except Exception:
        # Without its object the row would wait forever: take it back. The quota hit stays counted,
        # which errs on the side of the limit.
        with session_scope() as session:
            session.query(Analysis).filter(Analysis.id == analysis.id).delete()
        raise
    logger.info("multipart upload stored", extra={"analysis_id": str(analysis.id), "bytes": len(file.data)})
    metrics.add_metric(name="MultipartUploadsStored", unit=MetricUnit.Count, value=1)
    return Accepted(analysis.id, analysis.status, False)
