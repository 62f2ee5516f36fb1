"""GET /analyses/{id}/report and /export: one analysis as PDF, JSON or CSV."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sentrix.adapters.storage import ImageStore, S3ImageStore
from sentrix.db.engine import session_scope
from sentrix.domain.risk import analysis_recommendations
from sentrix.errors import Conflict, DependencyUnavailable, NotFound
from sentrix.http.identity import Principal
from sentrix.i18n import Locale, class_word, risk_word, verdict_word
from sentrix.observability import logger
from sentrix_report.dal.analysis import AnalysisRow, load
from sentrix_report.logic.analysis_document import AnalysisDocument


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
    locale: Locale | None = None,
    with_image: bool = True,
    store: ImageStore | None = None,
) -> AnalysisDocument:
    """The analysis if the caller may see it and it is finished (409 while it is still processing)."""
    locale = locale or Locale()
    with session_scope() as session:
        row = load(session, analysis_id, principal)
    if row.status != "completed":
        raise Conflict(
            f"Analysis is {row.status}; reports exist for completed analyses only",
            details={"status": str(row.status)},
            key="err.not_completed",
        )
    image = _image(store or S3ImageStore(), row.processed_image_key, row.id) if with_image else None
    return AnalysisDocument(
        analysis=row,
        locale=locale,
        recommendations=analysis_recommendations(row, locale.language),
        image=image,
        generated_at=datetime.now(UTC),
        generated_by=principal.email or str(principal.user_id),
    )


def pdf(principal: Principal, analysis_id: str, *, locale: Locale | None = None, store: ImageStore | None = None):
    """(PDF bytes, the document it shows)."""
    document = read_document(principal, analysis_id, locale=locale, store=store)
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
    locale: Locale | None = None,
    store: ImageStore | None = None,
) -> dict[str, Any]:
    """The analysis, its detections and recommendations as JSON; images only as short-lived URLs.

    Keys and enum values are the stored ones; `*_label` fields beside them are words for a person, in the
    caller's language."""
    document = read_document(principal, analysis_id, locale=locale, with_image=False)
    row, language = document.analysis, document.language
    analysis = {k: _iso(v) for k, v in asdict(row).items() if k not in ("detections", "processed_image_key")}
    analysis["risk_label"] = risk_word(row.risk_level, language)
    result: dict[str, Any] = {
        "format_version": 1,
        "analysis": analysis,
        "recommendations": list(document.recommendations),
        "language": document.language,
        "generated_at": document.generated_at.isoformat(),
    }
    if include_detections:
        result["detections"] = [
            {k: _iso(v) for k, v in asdict(d).items() if k != "polygon"}
            | {
                "number": i,
                "type_label": class_word(d.breeding_site_type or d.class_name, language),
                "risk_label": risk_word(d.risk_level, language),
                "validation_label": verdict_word(d.validation_status, language),
            }
            for i, d in enumerate(row.detections, start=1)
        ]
    if include_images and row.processed_image_key:
        store = store or S3ImageStore()
        result["processed_image_url"] = store.presigned_get(row.processed_image_key)
    return result


CSV_COLUMNS = (
    "analysis_id", "analysis_created_at", "latitude", "longitude", "location_source", "analysis_risk_level",
    "risk_score", "total_detections", "detection_id", "class_name", "breeding_site_type", "confidence",
    "risk_level", "mask_area", "validation_status", "expires_at",
    # Words for a person, in the caller's language (the columns above keep the stored values).
    "number", "type_label", "risk_label", "validation_label",
)  # fmt: skip


def as_csv(principal: Principal, analysis_id: str, *, locale: Locale | None = None) -> tuple[str, AnalysisRow]:
    """One row per detection, each repeating its analysis; an analysis without detections is one row."""
    document = read_document(principal, analysis_id, locale=locale, with_image=False)
    row, language = document.analysis, document.language
    head = [str(row.id), _iso(row.created_at), row.latitude, row.longitude, row.location_source, row.risk_level,
            row.risk_score, row.total_detections]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for number, d in enumerate(row.detections or (None,), start=1):
        tail: list = [""] * 12
        if d is not None:
            tail = [str(d.id), d.class_name, d.breeding_site_type, d.confidence, d.risk_level, d.mask_area,
                    d.validation_status, _iso(d.expires_at), number,
                    class_word(d.breeding_site_type or d.class_name, language), risk_word(d.risk_level, language),
                    verdict_word(d.validation_status, language)]  # fmt: skip
        writer.writerow(["" if v is None else v for v in head + tail])
    return out.getvalue(), row
