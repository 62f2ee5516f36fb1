"""What every Sentrix PDF shares: page template, styles, tables, image scaling. reportlab is imported here,
and this module is only imported on the paths that produce PDFs."""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Table, TableStyle

# Streams stay binary: ASCII85 (reportlab's default) runs in pure Python without the rl_accel extension
# and costs about a second per megabyte of embedded JPEG; PDFs are binary files anyway.
rl_config.useA85 = 0

PAGE = A4
MARGIN = 1.8 * cm
CONTENT_WIDTH = PAGE[0] - 2 * MARGIN
HEADER_BLUE = colors.HexColor("#1e40af")
TITLE_BLUE = colors.HexColor("#1e3a8a")
STRIPE = colors.HexColor("#f3f4f6")
RISK_COLOURS = {
    "ALTO": colors.HexColor("#dc2626"),
    "MEDIO": colors.HexColor("#f59e0b"),
    "BAJO": colors.HexColor("#059669"),
    "MINIMO": colors.HexColor("#6b7280"),
}

_base = getSampleStyleSheet()
STYLES = {
    "title": ParagraphStyle(
        "SxTitle",
        parent=_base["Title"],
        fontSize=20,
        leading=24,
        textColor=TITLE_BLUE,
        alignment=TA_CENTER,
        spaceAfter=6,
    ),
    "subtitle": ParagraphStyle(
        "SxSub", parent=_base["Normal"], fontSize=9, textColor=colors.grey, alignment=TA_CENTER, spaceAfter=10
    ),
    "h2": ParagraphStyle(
        "SxH2", parent=_base["Heading2"], fontSize=13, textColor=TITLE_BLUE, spaceBefore=10, spaceAfter=4
    ),
    "body": ParagraphStyle("SxBody", parent=_base["Normal"], fontSize=9.5, leading=12.5),
    "small": ParagraphStyle("SxSmall", parent=_base["Normal"], fontSize=8, leading=10),
    "cell": ParagraphStyle("SxCell", parent=_base["Normal"], fontSize=8.5, leading=10.5),
}


def text(value: object) -> str:
    """Any value as text safe inside a reportlab Paragraph (its markup is XML)."""
    return escape("" if value is None else str(value))


def para(value: object, style: str = "body") -> Paragraph:
    return Paragraph(text(value), STYLES[style])


HEADER_FONT = "Helvetica-Bold"
BODY_FONT = "Helvetica"
CELL_PADDING = 6 + 2  # reportlab's default left + right cell padding, and a little air
# Body words up to this width must fit their column (words, numbers, levels); longer tokens (file names,
# ids) may still break, they are not words a reader would see split.
BODY_WORD_CAP = 2.6 * cm


def _longest_word(value: object, font: str, font_size: float, cap: float | None = None) -> float:
    widths = [stringWidth(w, font, font_size) for w in str(value).split()] or [0.0]
    if cap is not None:
        widths = [w for w in widths if w <= cap] or [0.0]
    return max(widths) + CELL_PADDING


def fit_widths(
    rows: Sequence[Sequence[object]], widths: Sequence[float], header_size: float, body_size: float
) -> list[float]:
    """Column widths in which every header word and every short body word fits on one line, so cells wrap
    only between words ("Detecciones", never "Deteccion es").

    Narrow columns take the width they lack from the columns with room to spare (widest first); the total
    stays the same. Raises ValueError when the words cannot fit at all (the caller shrinks the font)."""
    need = [_longest_word(h, HEADER_FONT, header_size) for h in rows[0]]
    for row in rows[1:]:
        for i, cell in enumerate(row):
            if not isinstance(cell, Paragraph):
                need[i] = max(need[i], _longest_word(cell, BODY_FONT, body_size, BODY_WORD_CAP))
    fitted = list(widths)
    deficit = sum(max(0.0, n - w) for n, w in zip(need, fitted, strict=True))
    for i, (n, w) in enumerate(zip(need, fitted, strict=True)):
        fitted[i] = max(n, w)
    for i in sorted(range(len(fitted)), key=lambda i: fitted[i] - need[i], reverse=True):
        if deficit <= 0:
            break
        spare = fitted[i] - need[i]
        if spare > 0:
            taken = min(spare, deficit)
            fitted[i] -= taken
            deficit -= taken
    if deficit > 0.01:
        raise ValueError("words do not fit")
    return fitted


def table(
    rows: Sequence[Sequence[object]],
    widths: Sequence[float] | None = None,
    *,
    header: bool = True,
    font_size: float | None = None,
) -> Table:
    """A grid table; the first row is a blue header when `header`; cells wrap between words only."""
    body_size = font_size or STYLES["cell"].fontSize
    header_size = body_size
    if header and rows:
        widths = list(widths) if widths else [CONTENT_WIDTH / len(rows[0])] * len(rows[0])
        while True:
            try:
                widths = fit_widths(rows, widths, header_size, body_size)
                break
            except ValueError:
                if header_size <= 6:
                    break
                header_size -= 0.5
                body_size = min(body_size, header_size + 0.5)
    head_style = ParagraphStyle(
        "SxHead",
        parent=STYLES["cell"],
        textColor=colors.white,
        fontName=HEADER_FONT,
        fontSize=header_size,
        leading=header_size + 2,
        splitLongWords=0,
    )
    body_style = ParagraphStyle("SxBodyCell", parent=STYLES["cell"], fontSize=body_size, leading=body_size + 2)
    cells = [
        [
            c if isinstance(c, Paragraph) else Paragraph(text(c), head_style if header and r == 0 else body_style)
            for c in row
        ]
        for r, row in enumerate(rows)
    ]
    result = Table(cells, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d1d5db")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ROWBACKGROUNDS", (0, 1 if header else 0), (-1, -1), [colors.white, STRIPE]),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), HEADER_BLUE))
    result.setStyle(TableStyle(style))
    return result


def key_values(pairs: Sequence[tuple[str, object]]) -> Table:
    """A two-column label/value table without a header row."""
    rows = [[Paragraph(f"<b>{text(k)}</b>", STYLES["cell"]), para(v, "cell")] for k, v in pairs]
    return table(rows, [5.2 * cm, CONTENT_WIDTH - 5.2 * cm], header=False)


def fitted_image(data: bytes, max_width: float, max_height: float) -> Image:
    """The image scaled to fit the box, keeping its aspect ratio; JPEG bytes are embedded as they are."""
    from reportlab.lib.utils import ImageReader

    width, height = ImageReader(io.BytesIO(data)).getSize()
    scale = min(max_width / width, max_height / height)
    return Image(io.BytesIO(data), width=width * scale, height=height * scale)


def build(story: list, *, title: str, footer: str) -> bytes:
    """Lay `story` out on A4 pages with a footer (text and page number) and return the PDF bytes."""
    buffer = io.BytesIO()

    def decorate(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(MARGIN, 1.0 * cm, footer)
        canvas.drawRightString(PAGE[0] - MARGIN, 1.0 * cm, str(document.page))
        canvas.restoreState()

    document = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=title,
        author="Sentrix",
        creator="Sentrix report function",
    )
    document.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()
