"""Per-analysis documents: the PDF report and the export in JSON, CSV or PDF."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Path, Query, Response

from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix.i18n import Locale
from sentrix_report.logic import analysis_report
from sentrix_report.logic.filenames import stamp
from sentrix_report.routes.deps import caller_locale
from sentrix_report.routes.files import file_response
from sentrix_report.schemas.analyses import ExportFormat

router = APIRouter(prefix="/api/v1/analyses", tags=["analysis reports"])


def _pdf(principal: Principal, analysis_id: str, locale: Locale) -> Response:
    body, document = analysis_report.pdf(principal, analysis_id, locale=locale)
    name = f"sentrix_analysis_{str(document.analysis.id)[:8]}_{stamp(document.generated_at)}.pdf"
    return file_response(body, "pdf", name)


@router.get(
    "/{id}/report",
    summary="PDF report of one analysis (annotated image, risk, recommendations, detections)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **error_responses(404, 409, s409="not completed yet")},
)
def get_report(
    analysis_id: str = Path(alias="id", description="analysis id"),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> Response:
    return _pdf(principal, analysis_id, locale)


@router.get(
    "/{id}/export",
    summary="One analysis as JSON, CSV (a row per detection) or PDF",
    response_class=Response,
    responses={
        200: {"content": {"application/json": {}, "text/csv": {}, "application/pdf": {}}},
        **error_responses(404, 409, s409="not completed yet"),
    },
)
def get_export(
    analysis_id: str = Path(alias="id", description="analysis id"),
    format: ExportFormat = Query(ExportFormat.JSON),
    include_detections: bool = Query(True, description="JSON: include the detections"),
    include_images: bool = Query(False, description="JSON: add a short-lived URL of the annotated image"),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> Response:
    if format is ExportFormat.PDF:
        return _pdf(principal, analysis_id, locale)
    if format is ExportFormat.CSV:
        body, row = analysis_report.as_csv(principal, analysis_id, locale=locale)
        return file_response(body, "csv", f"sentrix_analysis_{str(row.id)[:8]}_{stamp()}.csv")
    data = analysis_report.as_json(
        principal, analysis_id, include_detections=include_detections, include_images=include_images, locale=locale
    )
    name = f"sentrix_analysis_{data['analysis']['id'][:8]}_{stamp()}.json"
    return file_response(json.dumps(data, ensure_ascii=False), "json", name)
