"""The per-analysis PDF: identity, location, the image with numbered detections, risk with recommendations,
and the detections table whose row numbers match the numbers on the image."""

from __future__ import annotations

from reportlab.lib.units import cm
from reportlab.platypus import ListFlowable, ListItem, Paragraph, Spacer

from sentrix.i18n import source_word
from sentrix_report.logic.analysis_document import AnalysisDocument
from sentrix_report.render.numbered_image import NumberedImage
from sentrix_report.render.pdf_base import (
    CONTENT_WIDTH,
    RISK_COLOURS,
    STYLES,
    build,
    key_values,
    para,
    table,
    text,
)

IMAGE_MAX_HEIGHT = 9 * cm


def _location(document: AnalysisDocument) -> str:
    row, locale = document.analysis, document.locale
    if row.latitude is None or row.longitude is None:
        return locale.t("report.no_location")
    source = source_word(row.location_source, locale.language)
    place = f"{row.latitude:.6f}, {row.longitude:.6f} ({locale.t('report.source')}: {source})"
    if row.altitude_m is not None:
        place += f", {locale.t('report.altitude')}: {row.altitude_m:.1f} m"
    return place


def _image(document: AnalysisDocument) -> list:
    row, locale = document.analysis, document.locale
    polygons = [(d.polygon, d.risk_level) for d in row.detections]
    drawable = any(len(p) >= 2 for p, _ in polygons)
    story: list = [Paragraph(text(locale.t("report.image")), STYLES["h2"])]
    if document.image is None:
        story.append(para(locale.t("report.image_missing")))
        if drawable:
            story.append(para(locale.t("report.polygons_only"), "small"))
    if document.image is not None or drawable:
        story.append(NumberedImage(document.image, polygons, (row.width, row.height), CONTENT_WIDTH, IMAGE_MAX_HEIGHT))
        if row.detections:
            story.append(para(locale.t("report.numbers_note"), "small"))
    return story


def _model_risk(document: AnalysisDocument) -> str:
    """The model's own level beside the current one, when the row carries it and they differ (issue 13: the
    current level follows the experts' verdicts; the model's is kept for audit)."""
    model_level = getattr(document.analysis, "model_risk_level", None)
    if not model_level or model_level == document.analysis.risk_level:
        return ""
    return f" ({text(document.locale.t('report.model_risk_level'))}: {text(document.locale.risk(model_level))})"


def render(document: AnalysisDocument) -> bytes:
    """The PDF bytes of one analysis report."""
    row, locale = document.analysis, document.locale
    say = locale.t
    risk_colour = RISK_COLOURS.get(row.risk_level or "", None)
    risk_text = text(locale.risk(row.risk_level))
    if risk_colour is not None:
        risk_text = f'<font color="{risk_colour.hexval().replace("0x", "#")}"><b>{risk_text}</b></font>'
    score = f"{row.risk_score:.2f}" if row.risk_score is not None else "-"
    model = " ".join(p for p in (row.model_name, row.model_version) if p) or "-"
    generated = locale.time(document.generated_at, with_zone=True)
    story: list = [
        Paragraph(text(say("report.analysis_title")), STYLES["title"]),
        Paragraph(f"{text(say('report.analysis'))}: {text(row.id)}", STYLES["subtitle"]),
        key_values(
            [
                (say("report.uploaded"), locale.time(row.created_at)),
                (say("report.taken_at"), locale.time(row.taken_at)),
                (say("report.location"), _location(document)),
                (say("report.file"), row.standardized_filename or row.original_filename or "-"),
                (say("report.camera"), row.camera or "-"),
                (say("report.model"), model),
                (say("report.threshold"), f"{row.confidence_threshold:.2f}"),
                (say("report.risk_score"), score),
                (
                    say("report.detections"),
                    f"{row.total_detections} ({say('report.high_medium')}: {row.high_risk_count} / "
                    f"{row.medium_risk_count})",
                ),
                (say("report.generated"), generated),
                (say("report.generated_by"), document.generated_by),
            ]
        ),
        Spacer(1, 4),
        Paragraph(f"<b>{text(say('report.risk_level'))}:</b> {risk_text}{_model_risk(document)}", STYLES["body"]),
        *_image(document),
        Paragraph(text(say("report.recommendations")), STYLES["h2"]),
    ]
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
        story.append(para(say("report.none")))
    story.append(Paragraph(text(say("report.detections")), STYLES["h2"]))
    if row.detections:
        header = ["#", say("report.type"), say("report.confidence"), say("report.risk"), say("report.area"),
                  say("report.verdict"), say("report.valid_until")]  # fmt: skip
        body = [
            [str(i), locale.site_type(d.breeding_site_type or d.class_name), f"{d.confidence:.0%}",
             locale.risk(d.risk_level), f"{d.mask_area:.0f}" if d.mask_area is not None else "-",
             locale.verdict(d.validation_status), locale.time(d.expires_at)]
            for i, d in enumerate(row.detections, start=1)
        ]  # fmt: skip
        widths = [0.8 * cm, 3.6 * cm, 2.0 * cm, 1.7 * cm, 1.6 * cm, 3.6 * cm]
        widths.append(CONTENT_WIDTH - sum(widths))
        story.append(table([header, *body], widths))
    else:
        story.append(para(say("report.none")))
    # The document ends with the table: nothing small is left to spill onto a page of its own.
    footer = f"Sentrix · {say('report.analysis')} {row.id} · {say('report.generated')} {generated}"
    return build(story, title=f"{say('report.analysis_title')} {row.id}", footer=footer)
