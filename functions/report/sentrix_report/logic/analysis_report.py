"""GET /analyses/{id}/report and /export: one analysis as PDF, JSON or CSV."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sentrix.adapters.storage import ImageStore, S3ImageStore
from sentrix.db.engine import session_scope
from sentrix.domain.risk import analysis_recommendations
from sentrix.errors import Conflict, DependencyUnavailable, NotFound
from sentrix.http.identity import Principal
from sentrix.observability import logger
from sentrix_report.data.analysis import AnalysisRow, language_of, load

LANGUAGES = ("es", "en", "pt")


@dataclass(frozen=True)
class AnalysisDocument:
    """Everything the per-analysis report shows, read once."""

    analysis: AnalysisRow
    language: str
    recommendations: tuple[str, ...]
    image: bytes | None
    generated_at: datetime
    generated_by: str


def _language(requested: str | None, stored: str | None) -> str:
    for candidate in (requested, stored):
        primary = (candidate or "").replace("_", "-").split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return "es"


def _image(store: ImageStore, key: str | None, analysis_id: uuid.UUID) -> bytes | None:
    """The annotated image, or None when it is missing or storage is down (the report says so)."""
    if not key:
        return None
    try:
        return store.get(key)
    except (NotFound, DependencyUnavailable) as exc:
        logger.warning("annotated image unavailable", extra={"analysis_id": str(analysis_id), "error": exc.code})
        return None


def read_document(
    principal: Principal,
    analysis_id: str,
    *,
    language: str | None = None,
    with_image: bool = True,
    store: ImageStore | None = None,
) -> AnalysisDocument:
    """The analysis if the caller may see it and it is finished (409 while it is still processing)."""
    with session_scope() as session:
        row = load(session, analysis_id, principal)
        stored_language = None if language else language_of(session, principal.user_id)
    if row.status != "completed":
        raise Conflict(f"Analysis is {row.status}; reports exist for completed analyses only")
    chosen = _language(language, stored_language)
    image = _image(store or S3ImageStore(), row.processed_image_key, row.id) if with_image else None
    return AnalysisDocument(
        analysis=row,
        language=chosen,
        recommendations=analysis_recommendations(row, chosen),
        image=image,
        generated_at=datetime.now(UTC),
        generated_by=principal.email or str(principal.user_id),
    )


def pdf(principal: Principal, analysis_id: str, *, language: str | None = None, store: ImageStore | None = None):
    """(PDF bytes, the document it shows)."""
    document = read_document(principal, analysis_id, language=language, store=store)
    from sentrix_report.render.analysis_pdf import render

    return render(document), document


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def as_json(
    principal: Principal,
    analysis_id: str,
    *,
    include_detections: bool = True,
    include_images: bool = False,
    language: str | None = None,
    store: ImageStore | None = None,
) -> dict[str, Any]:
    """The analysis, its detections and recommendations as JSON; images only as short-lived URLs."""
    document = read_document(principal, analysis_id, language=language, with_image=False)
    row = document.analysis
    analysis = {k: _iso(v) for k, v in asdict(row).items() if k not in ("detections", "processed_image_key")}
    result: dict[str, Any] = {
        "format_version": 1,
        "analysis": analysis,
        "recommendations": list(document.recommendations),
        "language": document.language,
        "generated_at": document.generated_at.isoformat(),
    }
    if include_detections:
        result["detections"] = [{k: _iso(v) for k, v in asdict(d).items()} for d in row.detections]
    if include_images and row.processed_image_key:
        store = store or S3ImageStore()
        result["processed_image_url"] = store.presigned_get(row.processed_image_key)
    return result


CSV_COLUMNS = (
    "analysis_id", "analysis_created_at", "latitude", "longitude", "location_source", "analysis_risk_level",
    "risk_score", "total_detections", "detection_id", "class_name", "breeding_site_type", "confidence",
    "risk_level", "mask_area", "validation_status", "expires_at",
)  # fmt: skip


def as_csv(principal: Principal, analysis_id: str) -> tuple[str, AnalysisRow]:
    """One row per detection, each repeating its analysis; an analysis without detections is one row."""
    row = read_document(principal, analysis_id, with_image=False).analysis
    head = [str(row.id), _iso(row.created_at), row.latitude, row.longitude, row.location_source, row.risk_level,
            row.risk_score, row.total_detections]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for d in row.detections or (None,):
        tail: list = [""] * 8
        if d is not None:
            tail = [str(d.id), d.class_name, d.breeding_site_type, d.confidence, d.risk_level, d.mask_area,
                    d.validation_status, _iso(d.expires_at)]  # fmt: skip
        writer.writerow(["" if v is None else v for v in head + tail])
    return out.getvalue(), row
