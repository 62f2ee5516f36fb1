"""The per-analysis PDF: identity, location, annotated image, risk with recommendations, detections."""

from __future__ import annotations

from reportlab.lib.units import cm
from reportlab.platypus import ListFlowable, ListItem, Paragraph, Spacer

from sentrix_report.logic.analysis_report import AnalysisDocument
from sentrix_report.render.labels import labels
from sentrix_report.render.pdf_base import (
    CONTENT_WIDTH,
    RISK_COLOURS,
    STYLES,
    build,
    fitted_image,
    key_values,
    para,
    table,
    text,
    when,
)

IMAGE_MAX_HEIGHT = 9 * cm


def _location(document: AnalysisDocument, words: dict[str, str]) -> str:
    row = document.analysis
    if row.latitude is None or row.longitude is None:
        return words["no_location"]
    place = f"{row.latitude:.6f}, {row.longitude:.6f} ({words['source']}: {row.location_source})"
    if row.altitude_m is not None:
        place += f", {words['altitude']}: {row.altitude_m:.1f} m"
    return place


def render(document: AnalysisDocument) -> bytes:
    """The PDF bytes of one analysis report."""
    row, words = document.analysis, labels(document.language)
    risk_colour = RISK_COLOURS.get(row.risk_level or "", None)
    risk_text = text(row.risk_level or "-")
    if risk_colour is not None:
        risk_text = f'<font color="{risk_colour.hexval().replace("0x", "#")}"><b>{risk_text}</b></font>'
    score = f"{row.risk_score:.2f}" if row.risk_score is not None else "-"
    model = " ".join(p for p in (row.model_name, row.model_version) if p) or "-"
    story: list = [
        Paragraph(text(words["analysis_title"]), STYLES["title"]),
        Paragraph(f"{text(words['analysis'])}: {text(row.id)}", STYLES["subtitle"]),
        key_values(
            [
                (words["date"], when(row.created_at)),
                (words["taken_at"], when(row.taken_at)),
                (words["location"], _location(document, words)),
                (words["file"], row.standardized_filename or row.original_filename or "-"),
                (words["camera"], row.camera or "-"),
                (words["model"], model),
                (words["threshold"], f"{row.confidence_threshold:.2f}"),
                (words["risk_score"], score),
                (
                    words["detections"],
                    f"{row.total_detections} ({words['high_medium']}: {row.high_risk_count} / {row.medium_risk_count})",
                ),
            ]
        ),
        Spacer(1, 4),
        Paragraph(f"<b>{text(words['risk_level'])}:</b> {risk_text}", STYLES["body"]),
        Paragraph(text(words["image"]), STYLES["h2"]),
    ]
    if document.image:
        story.append(fitted_image(document.image, CONTENT_WIDTH, IMAGE_MAX_HEIGHT))
    else:
        story.append(para(words["image_missing"]))
    story.append(Paragraph(text(words["recommendations"]), STYLES["h2"]))
    if document.recommendations:
        story.append(
            ListFlowable(
                [ListItem(para(item), leftIndent=10) for item in document.recommendations],
                bulletType="bullet",
                start="•",
                leftIndent=12,
            )
        )
    else:
        story.append(para(words["none"]))
    story.append(Paragraph(text(words["detections_table"]), STYLES["h2"]))
    if row.detections:
        header = ["#", words["type"], words["confidence"], words["risk"], words["area"], words["validation"],
                  words["valid_until"]]  # fmt: skip
        body = [
            [str(i), d.breeding_site_type or d.class_name, f"{d.confidence:.0%}", d.risk_level,
             f"{d.mask_area:.0f}" if d.mask_area is not None else "-", d.validation_status, when(d.expires_at)]
            for i, d in enumerate(row.detections, start=1)
        ]  # fmt: skip
        widths = [0.8 * cm, 4.2 * cm, 2.0 * cm, 1.8 * cm, 1.9 * cm, 3.0 * cm]
        widths.append(CONTENT_WIDTH - sum(widths))
        story.append(table([header, *body], widths))
    else:
        story.append(para(words["none"]))
    story.append(Spacer(1, 8))
    story.append(
        para(f"{words['generated']}: {when(document.generated_at)} · {words['generated_by']}: {document.generated_by}",
             "small")
    )  # fmt: skip
    footer = f"Sentrix · {words['analysis']} {row.id} · {when(document.generated_at)}"
    return build(story, title=f"{words['analysis_title']} {row.id}", footer=footer)
