"""Aggregate reports as CSV: '#' lines state the provenance, then one table (tidy rows for summary and
statistics, one row per analysis for detailed, one row per cell for map)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sentrix_report.logic.aggregate_report import Report

PROVENANCE_PREFIX = "# "


def _value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _provenance(meta: dict[str, Any]) -> list[str]:
    filters = "; ".join(f"{k}={v}" for k, v in meta["filters"].items()) or "none"
    lines = [
        f"sentrix {meta['type']} report",
        f"generated_at: {meta['generated_at']}",
        f"generated_by: {meta['generated_by']}",
        f"scope: {meta['scope']}",
        f"filters: {filters}",
        f"counted: {meta['counted']}; {meta['active']}",
        f"data_span: {meta['data_span']['from'] or ''} .. {meta['data_span']['to'] or ''}",
        f"rows: analyses={meta['rows']['analyses']} detections={meta['rows']['detections']}",
        f"fingerprint_sha256: {meta['fingerprint']['value']} (version {meta['fingerprint']['version']})",
    ]
    # A '#' line never holds a newline, whatever a filter value contains.
    return [PROVENANCE_PREFIX + " ".join(line.split()) + "\r\n" for line in lines]


def _tidy(data: dict[str, Any]) -> list[list[Any]]:
    """section, item, value, percent, denominator."""
    summary = data["summary"]
    rows: list[list[Any]] = [["section", "item", "value", "percent", "denominator"]]
    for key in ("analyses", "located_analyses", "detections", "high_risk_detections", "medium_risk_detections",
                "low_risk_detections", "active_detections"):  # fmt: skip
        rows.append(["totals", key, summary[key], "", ""])
    for key in ("detections_per_analysis", "active_share", "located_share"):
        r = summary[key]
        rows.append(["ratios", key, r["value"], "", f"{r['numerator']}/{r['denominator']}"])
    for r in summary["analyses_by_risk"]:
        rows.append(["analyses_by_risk", r["level"], r["analyses"], r["percent_of_analyses"], "analyses"])
    for r in summary["detections_by_type"]:
        rows.append(["detections_by_type", r["type"], r["detections"], r["percent_of_detections"], "detections"])
    stats = data.get("statistics")
    if stats:
        for r in stats["detections_by_validation"]:
            rows.append(["detections_by_validation", r["status"], r["detections"], r["percent_of_detections"],
                         "detections"])  # fmt: skip
        for r in stats["analyses_by_location_source"]:
            rows.append(["analyses_by_location_source", r["source"], r["analyses"], r["percent_of_analyses"],
                         "analyses"])  # fmt: skip
        for r in stats["mean_confidence_by_type"]:
            rows.append(["mean_confidence_by_type", r["type"], r["mean_confidence"], "", ""])
        for r in stats["monthly"]:
            rows.append(["monthly_analyses", r["month"], r["analyses"], "", ""])
            rows.append(["monthly_detections", r["month"], r["detections"], "", ""])
    return rows


DETAILED_COLUMNS = ("id", "created_at", "filename", "risk_level", "risk_score", "total_detections",
                    "high_risk_count", "medium_risk_count", "active_detections", "confidence_threshold",
                    "latitude", "longitude", "location_source")  # fmt: skip
MAP_COLUMNS = ("west", "south", "east", "north", "analyses", "detections", "high_risk", "active", "dominant_type")


def render(report: Report) -> str:
    """The CSV text of an aggregate report."""
    out = io.StringIO()
    out.writelines(_provenance(report.meta))
    writer = csv.writer(out, lineterminator="\r\n")
    data = report.data
    if "analyses" in data:
        writer.writerow(DETAILED_COLUMNS)
        writer.writerows([[_value(r[c]) for c in DETAILED_COLUMNS] for r in data["analyses"]])
    elif "map" in data:
        writer.writerow(MAP_COLUMNS)
        writer.writerows([[_value(r[c]) for c in MAP_COLUMNS] for r in data["map"]["cells"]])
    else:
        writer.writerows([[_value(v) for v in row] for row in _tidy(data)])
    return out.getvalue()
