"""The per-analysis image with every detection's outline and its row number drawn over it, as PDF vectors.

The annotated JPEG is embedded exactly as stored (no re-encoding; tests/e2e compares it byte for byte) and
the outlines and numbered discs are drawn on top of it. Polygons are in pixels of the analysed image
(DESIGN §5); the analysis' width and height give the scale (the annotated image's own size otherwise).
Without an annotated image the outlines alone are drawn on a plain panel of the photo's proportions.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib import colors
from reportlab.platypus import Flowable

from sentrix_report.render.pdf_base import RISK_COLOURS, fitted_image

Polygon = Sequence[tuple[float, float]]
DISC = colors.HexColor("#1e3a8a")
PANEL = colors.HexColor("#f1f5f9")


class NumberedImage(Flowable):
    """The image (or a plain panel) scaled into max_width × max_height, outlines and numbers 1..n on top."""

    def __init__(
        self,
        image: bytes | None,
        polygons: Sequence[tuple[Polygon, str | None]],
        photo_size: tuple[int | None, int | None],
        max_width: float,
        max_height: float,
    ) -> None:
        super().__init__()
        self.hAlign = "CENTER"
        self.polygons = list(polygons)
        self.picture = fitted_image(image, max_width, max_height) if image else None
        width, height = photo_size
        if self.picture is not None:
            from reportlab.lib.utils import ImageReader

            own_w, own_h = ImageReader(io.BytesIO(image)).getSize()
            self.photo_w, self.photo_h = width or own_w, height or own_h
            self.width, self.height = self.picture.drawWidth, self.picture.drawHeight
        else:
            points = [p for polygon, _ in self.polygons for p in polygon] or [(1.0, 1.0)]
            self.photo_w = width or max(x for x, _ in points) * 1.05
            self.photo_h = height or max(y for _, y in points) * 1.05
            scale = min(max_width / self.photo_w, max_height / self.photo_h)
            self.width, self.height = self.photo_w * scale, self.photo_h * scale

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def _xy(self, x: float, y: float) -> tuple[float, float]:
        """Photo pixels (origin top-left) to points on the page (origin bottom-left)."""
        return x * self.width / self.photo_w, self.height - y * self.height / self.photo_h

    def draw(self) -> None:
        canvas = self.canv
        if self.picture is not None:
            self.picture.drawOn(canvas, 0, 0)
        else:
            canvas.setFillColor(PANEL)
            canvas.rect(0, 0, self.width, self.height, stroke=0, fill=1)
        radius = max(5.0, min(self.width, self.height) / 40)
        for number, (polygon, risk) in enumerate(self.polygons, start=1):
            if len(polygon) < 2:
                continue
            points = [self._xy(x, y) for x, y in polygon]
            path = canvas.beginPath()
            path.moveTo(*points[0])
            for point in points[1:]:
                path.lineTo(*point)
            path.close()
            canvas.setStrokeColor(RISK_COLOURS.get(risk or "", DISC))
            canvas.setLineWidth(1.4)
            canvas.drawPath(path, stroke=1, fill=0)
            # The number sits on the top-left corner of the outline's bounding box, inside the picture.
            x = min(max(min(p[0] for p in points), radius), self.width - radius)
            y = min(max(max(p[1] for p in points), radius), self.height - radius)
            canvas.setFillColor(DISC)
            canvas.setStrokeColor(colors.white)
            canvas.setLineWidth(0.8)
            canvas.circle(x, y, radius, stroke=1, fill=1)
            canvas.setFillColor(colors.white)
            canvas.setFont("Helvetica-Bold", radius * 1.2)
            canvas.drawCentredString(x, y - radius * 0.42, str(number))
