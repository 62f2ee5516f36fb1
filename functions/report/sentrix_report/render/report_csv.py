"""Aggregate reports as CSV: '#' lines state the provenance, then one table (tidy rows for summary and
statistics, one row per analysis for detailed, one row per cell for map).

Column names and the stored values stay machine-readable (the same in every language); the words for a
person are the '#' lines and the `*label` columns, in the report's language."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sentrix.i18n import Locale, source_word
from sentrix_report.logic.aggregate_report import Report
from sentrix_report.render.provenance import active_text, coverage_pairs, filters_text, scope_text

PROVENANCE_PREFIX = "# "


def _value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _site_rows(rows: dict[str, Any]) -> str:
    return f" sites={rows['sites']} site_actions={rows['site_actions']}" if "sites" in rows else ""


def _provenance(meta: dict[str, Any], locale: Locale) -> list[str]:
    filters = "; ".join(f"{k}={v}" for k, v in meta["filters"].items()) or "-"
    say = locale.t
    active = active_text(meta, locale)
    lines = [
        say(f"report.{meta['type']}_title"),
        f"generated_at: {meta['generated_at']}",
        f"generated_by: {meta['generated_by']}",
        f"language: {meta['language']}; timezone: {meta.get('timezone', '')}",
        f"scope: {scope_text(meta, locale)}",
        f"filters: {filters}",
        f"{say('report.filters')}: {filters_text(meta['filters'], locale)}",
        f"counted: {say('report.counted_note')}; {active}",
        *(f"{label}: {value}" for label, value in coverage_pairs(meta, locale)),
        f"data_span: {meta['data_span']['from'] or ''} .. {meta['data_span']['to'] or ''}",
        f"rows: analyses={meta['rows']['analyses']} detections={meta['rows']['detections']}" + _site_rows(meta["rows"]),
        f"fingerprint_sha256: {meta['fingerprint']['value']} (version {meta['fingerprint']['version']})",
    ]
    # A '#' line never holds a newline, whatever a filter value contains.
    return [PROVENANCE_PREFIX + " ".join(line.split()) + "\r\n" for line in lines]


def _tidy(data: dict[str, Any], locale: Locale) -> list[list[Any]]:
    """section, item, value, percent, denominator, label."""
    summary, say = data["summary"], locale.t
    rows: list[list[Any]] = [["section", "item", "value", "percent", "denominator", "label"]]
    for key in ("analyses", "located_analyses", "detections", "high_risk_detections", "medium_risk_detections",
                "low_risk_detections", "active_detections", "rejected_detections"):  # fmt: skip
        if key in summary:
            rows.append(["totals", key, summary[key], "", "", say(f"metric.{key}")])
    for key, split in (summary.get("detections_by_verdict") or {}).items():
        for verdict, count in split.items():
            rows.append([f"{key}_by_verdict", verdict, count, "", key,
                         f"{say(f'metric.{key}')}: {say(f'verdicts.{verdict}')}"])  # fmt: skip
    for state, count in (summary.get("analyses_by_review") or {}).items():
        rows.append(["analyses_by_review", state, count, "", "analyses", say(f"review.{state}")])
    for key in ("detections_per_analysis", "active_share", "located_share"):
        r = summary[key]
        rows.append(["ratios", key, r["value"], "", f"{r['numerator']}/{r['denominator']}", say(f"metric.{key}")])
    for r in summary["analyses_by_risk"]:
        rows.append(["analyses_by_risk", r["level"], r["analyses"], r["percent_of_analyses"], "analyses",
                     locale.risk(r["level"])])  # fmt: skip
    for r in summary["detections_by_type"]:
        rows.append(["detections_by_type", r["type"], r["detections"], r["percent_of_detections"], "detections",
                     locale.site_type(r["type"])])  # fmt: skip
    stats = data.get("statistics")
    if stats:
        for r in stats["detections_by_validation"]:
            rows.append(["detections_by_validation", r["status"], r["detections"], r["percent_of_detections"],
                         "detections", locale.verdict(r["status"])])  # fmt: skip
        for r in stats["analyses_by_location_source"]:
            rows.append(["analyses_by_location_source", r["source"], r["analyses"], r["percent_of_analyses"],
                         "analyses", source_word(r["source"], locale.language)])  # fmt: skip
        for r in stats["mean_confidence_by_type"]:
            rows.append(["mean_confidence_by_type", r["type"], r["mean_confidence"], "", "",
                         locale.site_type(r["type"])])  # fmt: skip
        for r in stats["monthly"]:
            year, _, month = r["month"].partition("-")
            label = locale.month_name(int(month), int(year))
            rows.append(["monthly_analyses", r["month"], r["analyses"], "", "", label])
            rows.append(["monthly_detections", r["month"], r["detections"], "", "", label])
    rows.extend(_sites(data.get("sites"), locale))
    rows.extend(_remediation(data.get("remediation"), locale))
    return rows


def _sites(block: dict[str, Any] | None, locale: Locale) -> list[list[Any]]:
    """`unit=sites`: rows `sites` (total, needing_work, confirmed), `sites_by_status`, `sites_by_family`."""
    if not block:
        return []
    say = locale.t
    out: list[list[Any]] = [["sites", key, block[key], "", "sites", say(f"report.sites_{key}")]
                            for key in ("total", "needing_work", "confirmed")]  # fmt: skip
    statuses = block["by_status"].items()
    out += [["sites_by_status", k, v, "", "sites", say(f"report.site_status.{k}")] for k, v in statuses]
    out += [["sites_by_family", k, v, "", "sites", say(f"site.family.{k}")] for k, v in block["by_family"].items()]
    return [row for row in out if row[2] is not None]  # a user's own sites: no statuses (docs/sites.md)


REMEDIATION_FIGURES = ("opened", "closed", "reopened", "open_at_end")


def _remediation(section: dict[str, Any] | None, locale: Locale) -> list[list[Any]]:
    """Rows `remediation_<figure>`, item `<territory>|<week start>` (the territory empty outside every one; the
    week `window` for the whole window's totals)."""
    if not section:
        return []
    say, out = locale.t, []
    for group in section["territories"]:
        code = group["territory"] or ""
        for week in [*group["weeks"], {**group["window"], "week_start": "window"}]:
            item = f"{code}|{week['week_start']}"
            for name in REMEDIATION_FIGURES:
                if name in week:
                    out.append([f"remediation_{name}", item, week[name], "", "", say(f"report.remediation_{name}")])
            median, rate = week["median_days_to_close"], week["recurrence_rate"]
            out.append(["remediation_median_days_to_close", item, median["value"], "", median["closes"],
                        say("report.remediation_median")])  # fmt: skip
            out.append(["remediation_recurrence_rate", item, rate["value"], "",
                        f"{rate['numerator']}/{rate['denominator']}", say("report.remediation_rate")])  # fmt: skip
    return out


DETAILED_COLUMNS = ("id", "created_at", "filename", "reporter", "risk_level", "risk_score", "total_detections",
                    "high_risk_count", "medium_risk_count", "active_detections", "active", "confirmed_detections",
                    "rejected_detections", "pending_detections", "review_state", "confidence_threshold",
                    "latitude", "longitude", "location_source")  # fmt: skip
DETAILED_LABELS = ("risk_label", "review_label", "local_time")
MAP_COLUMNS = ("west", "south", "east", "north", "analyses", "detections", "high_risk", "active", "dominant_type")


def render(report: Report) -> str:
    """The CSV text of an aggregate report."""
    locale = report.locale
    out = io.StringIO()
    out.writelines(_provenance(report.meta, locale))
    writer = csv.writer(out, lineterminator="\r\n")
    data = report.data
    if "analyses" in data:
        writer.writerow(DETAILED_COLUMNS + DETAILED_LABELS)
        writer.writerows(
            [_value(r[c]) for c in DETAILED_COLUMNS]
            + [locale.risk(r["risk_level"]), locale.t(f"review.{r['review_state']}"), locale.time(r["created_at"])]
            for r in data["analyses"]
        )
    elif "map" in data:
        writer.writerow((*MAP_COLUMNS, "dominant_type_label"))
        writer.writerows(
            [_value(r[c]) for c in MAP_COLUMNS] + [locale.site_type(r["dominant_type"]) if r["dominant_type"] else ""]
            for r in data["map"]["cells"]
        )
    else:
        writer.writerows([[_value(v) for v in row] for row in _tidy(data, locale)])
    return out.getvalue()
