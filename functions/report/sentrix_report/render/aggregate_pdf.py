"""The aggregate report PDF: provenance first (filters, span, rows, fingerprint), then the type's content."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import cm
from reportlab.platypus import KeepTogether, Paragraph, Spacer

from sentrix_report.logic.aggregate_report import Report
from sentrix_report.render.labels import labels
from sentrix_report.render.pdf_base import CONTENT_WIDTH, STYLES, build, fitted_image, key_values, para, table, text


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"


def _ratio(r: dict[str, Any]) -> str:
    value = "-" if r["value"] is None else f"{r['value']:g}"
    return f"{value} ({r['numerator']} / {r['denominator']})"


def filters_text(filters: dict[str, Any], none: str) -> str:
    return "; ".join(f"{k} = {v}" for k, v in filters.items()) or none


def _provenance(meta: dict[str, Any], words: dict[str, str]) -> list:
    span = meta["data_span"]
    rows = meta["rows"]
    return [
        Paragraph(text(words["about"]), STYLES["h2"]),
        key_values(
            [
                (words["generated_by"], meta["generated_by"]),
                (words["generated"], meta["generated_at"]),
                (words["scope"], meta["scope"]),
                (words["filters"], filters_text(meta["filters"], words["no_filters"])),
                (words["counted"], f"{meta['counted']}; {meta['active']}"),
                (words["span"], f"{span['from'] or '-'} – {span['to'] or '-'}"),
                (words["rows"], f"{rows['analyses']} analyses, {rows['detections']} detections"),
                (words["fingerprint"], meta["fingerprint"]["value"]),
            ]
        ),
    ]


def _summary(summary: dict[str, Any], words: dict[str, str]) -> list:
    header = [words["metric"], words["value"]]
    rows = [
        ["analyses", summary["analyses"]],
        ["detections", summary["detections"]],
        ["high_risk_detections (ALTO)", summary["high_risk_detections"]],
        ["medium_risk_detections (MEDIO)", summary["medium_risk_detections"]],
        ["low_risk_detections (BAJO/MINIMO)", summary["low_risk_detections"]],
        ["active_detections", summary["active_detections"]],
        ["detections_per_analysis", _ratio(summary["detections_per_analysis"])],
        ["active_share", _ratio(summary["active_share"])],
        ["located_share", _ratio(summary["located_share"])],
    ]
    risk = [[r["level"], r["analyses"], _pct(r["percent_of_analyses"])] for r in summary["analyses_by_risk"]]
    types = [
        [r["type"], r["detections"], r["active"], _pct(r["percent_of_detections"])]
        for r in summary["detections_by_type"]
    ]
    return [
        Paragraph("Resumen / Summary", STYLES["h2"]),
        table([header, *rows], [9 * cm, CONTENT_WIDTH - 9 * cm]),
        Paragraph("Análisis por nivel de riesgo (% de análisis)", STYLES["h2"]),
        table([[words["risk_level"], "analyses", f"% {words['of']} analyses"], *risk]),
        Paragraph("Detecciones por tipo (% de detecciones)", STYLES["h2"]),
        table([[words["type"], "detections", "active", f"% {words['of']} detections"], *types]),
    ]


def _statistics(stats: dict[str, Any]) -> list:
    validation = [
        [r["status"], r["detections"], _pct(r["percent_of_detections"])] for r in stats["detections_by_validation"]
    ]
    sources = [
        [r["source"], r["analyses"], _pct(r["percent_of_analyses"])] for r in stats["analyses_by_location_source"]
    ]
    confidence = [[r["type"], f"{r['mean_confidence']:.4f}"] for r in stats["mean_confidence_by_type"]]
    monthly = [[r["month"], r["analyses"], r["detections"]] for r in stats["monthly"]]
    return [
        Paragraph("Validación (% de detecciones)", STYLES["h2"]),
        table([["validation_status", "detections", "%"], *validation]),
        Paragraph("Fuente de ubicación (% de análisis)", STYLES["h2"]),
        table([["location_source", "analyses", "%"], *sources]),
        Paragraph("Confianza media por tipo", STYLES["h2"]),
        table([["type", "mean_confidence"], *confidence]),
        Paragraph("Por mes (UTC)", STYLES["h2"]),
        table([["month", "analyses", "detections"], *monthly]),
    ]


def _detailed(data: dict[str, Any], words: dict[str, str]) -> list:
    header = ["#", words["date"], words["file"], words["risk"], words["detections"], "ALTO/MEDIO", words["location"]]
    body = []
    for i, r in enumerate(data["analyses"], start=1):
        place = f"{r['latitude']:.5f}, {r['longitude']:.5f}" if r["latitude"] is not None else "-"
        counts = f"{r['high_risk_count']}/{r['medium_risk_count']}"
        day = r["created_at"].strftime("%Y-%m-%d %H:%M")
        body.append(
            [str(i), day, r["filename"] or "-", r["risk_level"] or "-", str(r["total_detections"]), counts, place]
        )
    story = [Paragraph(text(words["detailed_title"]), STYLES["h2"])]
    story.append(para(words["truncated"].format(shown=data["analyses_shown"], total=data["analyses_total"]), "small"))
    widths = [0.9 * cm, 2.8 * cm, 5.0 * cm, 1.6 * cm, 1.8 * cm, 1.9 * cm]
    widths.append(CONTENT_WIDTH - sum(widths))
    story.append(table([header, *body], widths))
    return story


def render(report: Report) -> bytes:
    """The PDF bytes of an aggregate report."""
    meta, data = report.meta, report.data
    words = labels(meta["language"])
    title = words[f"{meta['type']}_title"]
    story: list = [Paragraph(text(title), STYLES["title"]), *_provenance(meta, words), Spacer(1, 6)]
    if meta["rows"]["analyses"] == 0:
        story.append(para(words["empty"]))
    story += _summary(data["summary"], words)
    if "statistics" in data:
        story += _statistics(data["statistics"])
    if "analyses" in data:
        story += _detailed(data, words)
    if "map" in data and report.map_png:
        cell = data["map"]["cell_deg"]
        caption = words["map_caption"].format(cell=f"{cell:g}" if cell else "-")
        story.append(
            KeepTogether(
                [
                    Paragraph(text(words["map_title"]), STYLES["h2"]),
                    fitted_image(report.map_png, CONTENT_WIDTH, 17 * cm),
                    para(caption, "small"),
                ]
            )
        )
    footer = f"Sentrix · {title} · SHA-256 {meta['fingerprint']['value'][:16]}… · {meta['generated_at'][:19]}Z"
    return build(story, title=title, footer=footer)
