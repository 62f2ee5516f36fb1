"""POST /reports/generate: summary, detailed, statistics or map report as PDF, CSV or JSON."""

from __future__ import annotations

import base64
import json

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from sentrix.http.identity import Principal, current_principal
from sentrix.i18n import Locale, requested_language
from sentrix_report.caller import caller_locale
from sentrix_report.logic.aggregate_report import ReportFormat, ReportRequest, generate
from sentrix_report.logic.delivery import provenance_headers, store_report, too_big
from sentrix_report.routes.files import MEDIA_TYPES, file_response, stamp

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


@router.post(
    "/generate",
    summary="Generate an aggregate report (filters, data span, row count and SHA-256 fingerprint stated)",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {}, "text/csv": {}, "application/json": {}},
            "description": "the report; or, when larger than the inline limit, JSON with a presigned download_url",
        }
    },
)
def post_generate(
    request: ReportRequest,
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> Response:
    if request.language:  # the body's `language` (as the original client sends it) wins over the rest
        locale = Locale(requested_language(request.language) or locale.language, locale.timezone)
    report = generate(principal, request, locale)
    fmt = request.format
    if fmt is ReportFormat.PDF:
        from sentrix_report.render.aggregate_pdf import render

        body = render(report)
    elif fmt is ReportFormat.CSV:
        from sentrix_report.render.report_csv import render

        body = render(report).encode()
    else:
        data = dict(report.data)
        if report.map_png is not None:
            data["map"] = {**data["map"], "image_png_base64": base64.b64encode(report.map_png).decode()}
        from sentrix_report.render.provenance import active_text, coverage_pairs, filters_text, scope_text

        # Words for a person beside the provenance values, in the report's language.
        meta = report.meta | {
            "scope_label": scope_text(report.meta, report.locale),
            "filters_label": filters_text(report.meta["filters"], report.locale),
            "counted_label": f"{report.locale.t('report.counted_note')}; {active_text(report.meta, report.locale)}",
            "coverage_label": "; ".join(f"{k}: {v}" for k, v in coverage_pairs(report.meta, report.locale)) or None,
        }
        body = json.dumps({"report": meta, "data": data}, ensure_ascii=False, default=str).encode()
    filename = f"sentrix_report_{request.type.value}_{stamp()}.{fmt.value}"
    headers = provenance_headers(report.meta)
    if too_big(body, fmt.value):
        stored = store_report(principal, body, filename, MEDIA_TYPES[fmt.value])
        content = {
            "delivery": "s3",
            "download_url": stored.url,
            "expires_in_s": stored.expires_in_s,
            "size_bytes": stored.size_bytes,
            "content_type": MEDIA_TYPES[fmt.value],
            "filename": filename,
            "report": report.meta,
        }
        return JSONResponse(content, headers=headers)
    return file_response(body, fmt.value, filename, headers)
