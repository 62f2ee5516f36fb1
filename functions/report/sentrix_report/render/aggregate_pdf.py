"""The aggregate report PDF: provenance first (filters, span, rows, fingerprint), then the type's content.
Every word comes from the message catalogue in the report's language; times are in the caller's zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from reportlab.lib.units import cm
from reportlab.platypus import KeepTogether, Paragraph, Spacer

from sentrix.i18n import Locale, source_word
from sentrix_report.logic.aggregate_report import Report
from sentrix_report.render.pdf_base import CONTENT_WIDTH, STYLES, build, fitted_image, key_values, para, table, text
from sentrix_report.render.provenance import active_text, coverage_pairs, filters_text, instant, scope_text

VERDICTS = ("confirmed", "rejected", "pending")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"


def _ratio(r: dict[str, Any]) -> str:
    value = "-" if r["value"] is None else f"{r['value']:g}"
    return f"{value} ({r['numerator']} / {r['denominator']})"


def _provenance(meta: dict[str, Any], locale: Locale) -> list:
    span, rows, say = meta["data_span"], meta["rows"], locale.t
    active = active_text(meta, locale)
    return [
        Paragraph(text(say("report.about")), STYLES["h2"]),
        key_values(
            [
                (say("report.generated_by"), meta["generated_by"]),
                (say("report.generated"), locale.time(datetime.fromisoformat(meta["generated_at"]), with_zone=True)),
                (say("report.scope"), scope_text(meta, locale)),
                (say("report.filters"), filters_text(meta["filters"], locale)),
                (say("report.counted"), f"{say('report.counted_note')}; {active}"),
                *coverage_pairs(meta, locale),
                (say("report.span"), f"{instant(span['from'], locale)} – {instant(span['to'], locale)}"),
                (
                    say("report.rows"),
                    say("report.rows_value", analyses=rows["analyses"], detections=rows["detections"]),
                ),
                *(
                    [(say("report.rows"), say("report.rows_sites", sites=rows["sites"], actions=rows["site_actions"]))]
                    if "sites" in rows
                    else []
                ),
                (say("report.fingerprint"), meta["fingerprint"]["value"]),
            ]
        ),
    ]


def _split(counts: dict[str, int] | None) -> list[Any]:
    counts = counts or {}
    return [counts.get(v, 0) for v in VERDICTS]


def _summary(summary: dict[str, Any], locale: Locale) -> list:
    say = locale.t
    verdict_heads = [say(f"verdicts.{v}") for v in VERDICTS]
    split = summary.get("detections_by_verdict") or {}
    counts = [
        [say("metric.analyses"), summary["analyses"], "", "", ""],
        [say("metric.located_analyses"), summary["located_analyses"], "", "", ""],
    ]
    for key in ("detections", "high_risk_detections", "medium_risk_detections", "low_risk_detections",
                "active_detections"):  # fmt: skip
        counts.append([say(f"metric.{key}"), summary[key], *_split(split.get(key))])
    if summary.get("rejected_detections") is not None:
        counts.append([say("metric.rejected_detections"), summary["rejected_detections"], "", "", ""])
    ratios = [
        [say(f"metric.{key}"), _ratio(summary[key])]
        for key in ("detections_per_analysis", "active_share", "located_share")
    ]
    review = summary.get("analyses_by_review") or {}
    reviews = [[say(f"review.{state}"), review.get(state, 0)] for state in ("reviewed", "partial", "pending",
                                                                          "no_detections")]  # fmt: skip
    risk = [
        [locale.risk(r["level"]), r["analyses"], _pct(r["percent_of_analyses"])] for r in summary["analyses_by_risk"]
    ]
    types = [
        [locale.site_type(r["type"]), r["detections"], r["active"], _pct(r["percent_of_detections"]),
         *[r.get(v, 0) for v in VERDICTS]]
        for r in summary["detections_by_type"]
    ]  # fmt: skip
    first = 5.6 * cm
    rest = (CONTENT_WIDTH - first) / 4
    return [
        Paragraph(text(say("report.summary")), STYLES["h2"]),
        para(say("report.by_verdict_note"), "small"),
        table([[say("report.metric"), say("report.total"), *verdict_heads], *counts], [first, rest, rest, rest, rest]),
        Spacer(1, 4),
        table([[say("report.metric"), say("report.value")], *ratios], [9 * cm, CONTENT_WIDTH - 9 * cm]),
        Spacer(1, 4),
        table([[say("report.review_state"), say("report.analyses_col")], *reviews], [9 * cm, CONTENT_WIDTH - 9 * cm]),
        Paragraph(text(say("report.by_risk_heading")), STYLES["h2"]),
        table([[say("report.risk_level"), say("report.analyses_col"), say("report.percent_analyses")], *risk]),
        Paragraph(text(say("report.by_type_heading")), STYLES["h2"]),
        table(
            [
                [
                    say("report.type"),
                    say("report.detections_col"),
                    say("report.active_col"),
                    say("report.percent_detections"),
                    *verdict_heads,
                ],
                *types,
            ],
            [3.8 * cm, 2.1 * cm, 1.8 * cm, 2.4 * cm, 2.3 * cm, 2.3 * cm, CONTENT_WIDTH - 14.7 * cm],
        ),
    ]


def _month(value: str, locale: Locale) -> str:
    year, _, month = value.partition("-")
    return locale.month_name(int(month), int(year)) if month.isdigit() and year.isdigit() else value


def _statistics(stats: dict[str, Any], locale: Locale) -> list:
    say = locale.t
    validation = [
        [locale.verdict(r["status"]), r["detections"], _pct(r["percent_of_detections"])]
        for r in stats["detections_by_validation"]
    ]
    sources = [
        [source_word(r["source"], locale.language), r["analyses"], _pct(r["percent_of_analyses"])]
        for r in stats["analyses_by_location_source"]
    ]
    confidence = [
        [locale.site_type(r["type"]), f"{r['mean_confidence']:.4f}"] for r in stats["mean_confidence_by_type"]
    ]
    monthly = [[_month(r["month"], locale), r["analyses"], r["detections"]] for r in stats["monthly"]]
    zone = stats.get("months_in_timezone") or locale.timezone
    return [
        Paragraph(text(say("report.verdict_heading")), STYLES["h2"]),
        table([[say("report.verdict"), say("report.detections_col"), say("report.percent_detections")], *validation]),
        Paragraph(text(say("report.source_heading")), STYLES["h2"]),
        table([[say("report.location"), say("report.analyses_col"), say("report.percent_analyses")], *sources]),
        Paragraph(text(say("report.confidence_heading")), STYLES["h2"]),
        table([[say("report.type"), say("report.mean_confidence")], *confidence]),
        Paragraph(text(say("report.monthly_heading", zone=zone)), STYLES["h2"]),
        table([[say("report.month"), say("report.analyses_col"), say("report.detections_col")], *monthly]),
    ]


def _sites(block: dict[str, Any], locale: Locale) -> list:
    say = locale.t
    # A user's own sites carry no statuses (null: docs/sites.md, *Who sees what*): their rows are left out
    body = [[say(f"report.sites_{key}"), block[key]] for key in ("total", "needing_work", "confirmed")]
    body += [[say(f"report.site_status.{k}"), v] for k, v in block["by_status"].items()]
    body = [row for row in body if row[1] is not None]
    body += [[say(f"site.family.{k}"), v] for k, v in block["by_family"].items()]
    return [
        Paragraph(text(say("report.sites_heading")), STYLES["h2"]),
        para(block["counted_as"], "small"),
        table([[say("report.metric"), say("report.total")], *body], [9 * cm, CONTENT_WIDTH - 9 * cm]),
    ]


def _remediation(section: dict[str, Any], locale: Locale) -> list:
    say = locale.t
    scope = say(f"report.remediation_scope_{section['audience']}")
    last = (date.fromisoformat(section["first_week_start"]) + timedelta(days=7 * section["weeks"] - 1)).isoformat()
    note = say(
        "report.remediation_note",
        scope=scope,
        first=section["first_week_start"],
        last=last,
        week=section["week"]["label"],
    )
    story = [Paragraph(text(say("report.remediation_heading")), STYLES["h2"]), para(note, "small")]
    if not section["territories"]:
        return [*story, para(say("report.remediation_none"))]
    header = [say(f"report.remediation_{k}") for k in ("territory", "week", "opened", "closed", "reopened",
                                                          "open_at_end", "median", "rate")]  # fmt: skip
    body = []
    for group in section["territories"]:
        code = group["territory"] or say("report.remediation_outside")
        for week in group["weeks"]:
            median = week["median_days_to_close"]["value"]
            body.append([code, f"{week['epi_week']} ({week['week_start']})", week["opened"], week["closed"],
                         week["reopened"], week["open_at_end"], "-" if median is None else f"{median:g}",
                         _ratio(week["recurrence_rate"])])  # fmt: skip
        total = group["window"]
        median = total["median_days_to_close"]["value"]
        body.append([code, say("report.remediation_window"), total["opened"], total["closed"], total["reopened"], "",
                     "-" if median is None else f"{median:g}", _ratio(total["recurrence_rate"])])  # fmt: skip
    widths = [w * cm for w in (2.6, 3.2, 1.6, 1.6, 1.8, 1.8, 2.0)]
    widths.append(CONTENT_WIDTH - sum(widths))
    return [*story, table([header, *body], widths, font_size=7.5)]


def _detailed(data: dict[str, Any], locale: Locale) -> list:
    say = locale.t
    header = ["#", say("report.date"), say("report.file"), say("report.reporter"), say("report.risk"),
              f"{say('report.detections')} ({say('report.high_medium_col').lower()})",
              f"{say('report.review_state')} ({say('report.verdict_counts').lower()})", say("report.active"),
              say("report.location")]  # fmt: skip
    body = []
    for i, r in enumerate(data["analyses"], start=1):
        place = f"{r['latitude']:.5f}, {r['longitude']:.5f}" if r["latitude"] is not None else "-"
        active = f"{say('report.yes' if r['active'] else 'report.no')} ({r['active_detections']})"
        state = say("review." + r["review_state"])
        review = f"{state}: {r['confirmed_detections']} / {r['rejected_detections']} / {r['pending_detections']}"
        body.append(
            [str(i), locale.time(r["created_at"], offset=False), r["filename"] or "-", r["reporter"] or "-",
             locale.risk(r["risk_level"]),
             f"{r['total_detections']} ({r['high_risk_count']} / {r['medium_risk_count']})", review, active, place]
        )  # fmt: skip
    story = [Paragraph(text(say("report.detailed_title")), STYLES["h2"])]
    story.append(para(say("report.truncated", shown=data["analyses_shown"], total=data["analyses_total"]), "small"))
    story.append(para(say("report.times_in", zone=locale.timezone), "small"))
    widths = [w * cm for w in (0.7, 2.0, 3.0, 1.9, 1.5, 2.0, 2.6, 1.4)]
    widths.append(CONTENT_WIDTH - sum(widths))
    story.append(table([header, *body], widths, font_size=7.5))
    return story


def render(report: Report) -> bytes:
    """The PDF bytes of an aggregate report."""
    meta, data, locale = report.meta, report.data, report.locale
    say = locale.t
    title = say(f"report.{meta['type']}_title")
    story: list = [Paragraph(text(title), STYLES["title"]), *_provenance(meta, locale), Spacer(1, 6)]
    if meta["rows"]["analyses"] == 0:
        story.append(para(say("report.empty")))
    story += _summary(data["summary"], locale)
    if "statistics" in data:
        story += _statistics(data["statistics"], locale)
    if "sites" in data:
        story += _sites(data["sites"], locale)
    if "remediation" in data:
        story += _remediation(data["remediation"], locale)
    if "analyses" in data:
        story += _detailed(data, locale)
    if "map" in data and report.map_png:
        cell = data["map"]["cell_deg"]
        caption = say("report.map_caption", cell=f"{cell:g}" if cell else "-")
        story.append(
            KeepTogether(
                [
                    Paragraph(text(say("report.map_title")), STYLES["h2"]),
                    fitted_image(report.map_png, CONTENT_WIDTH, 17 * cm),
                    para(caption, "small"),
                ]
            )
        )
    generated = locale.time(datetime.fromisoformat(meta["generated_at"]), with_zone=True)
    footer = f"Sentrix · SHA-256 {meta['fingerprint']['value'][:16]}… · {say('report.generated')} {generated}"
    return build(story, title=title, footer=footer)
