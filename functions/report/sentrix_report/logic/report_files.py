"""POST /reports/generate as a file: the report or the weekly bulletin, rendered in the asked format and named."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix_report.logic.aggregate_report import Report, generate
from sentrix_report.logic.filenames import stamp
from sentrix_report.schemas.reports import ReportFormat, ReportRequest, ReportType


@dataclass(frozen=True)
class ReportFile:
    """A generated report, its bytes in the asked format, and the name it is downloaded under."""

    report: Report
    body: bytes
    filename: str


def report_file(principal: Principal, request: ReportRequest, locale: Locale) -> ReportFile:
    """The report the request asks for, rendered (PDF, CSV, or JSON with words beside the provenance values)."""
    if request.type is ReportType.WEEKLY:
        return _bulletin(principal, request, locale)
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
    return ReportFile(report, body, filename)


def _bulletin(principal: Principal, request: ReportRequest, locale: Locale) -> ReportFile:
    """The weekly bulletin of a territory (logic/bulletin.py) in the requested format."""
    from sentrix_report.logic.bulletin import generate as bulletin

    fmt = request.format
    report = bulletin(principal, request.territory or "", request.week, fmt.value, locale)
    if fmt is ReportFormat.PDF:
        from sentrix_report.render.bulletin import render_pdf

        body = render_pdf(report)
    elif fmt is ReportFormat.CSV:
        from sentrix_report.render.bulletin import render_csv

        body = render_csv(report).encode()
    else:
        body = json.dumps({"report": report.meta, "data": report.data}, ensure_ascii=False, default=str).encode()
    code = re.sub(r"[^A-Za-z0-9_-]", "_", request.territory or "")[:40]
    filename = f"sentrix_bulletin_{code}_{report.meta['week']['label']}_{stamp()}.{fmt.value}"
    return ReportFile(report, body, filename)
