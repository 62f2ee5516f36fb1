"""The per-analysis image with every detection's outline and its row number drawn on it (Pillow).

Polygons are in pixels of the analysed image (DESIGN §5); the annotated image may be another size, so they
are scaled. Without an annotated image the outlines alone are drawn on a plain canvas of the photo's size.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

Polygon = Sequence[tuple[float, float]]
RISK_RGB = {"ALTO": (220, 38, 38), "MEDIO": (245, 158, 11), "BAJO": (5, 150, 105), "MINIMO": (107, 114, 128)}
CANVAS_MAX = 1200


def _label_anchor(polygon: Polygon) -> tuple[float, float]:
    """The top-left corner of the polygon's bounding box: numbers sit on the outline, not on the finding."""
    return min(x for x, _ in polygon), min(y for _, y in polygon)


def numbered(
    image: bytes | None,
    polygons: Sequence[tuple[Polygon, str | None]],
    photo_size: tuple[int | None, int | None],
) -> bytes | None:
    """JPEG bytes with the outlines and numbers 1..n drawn; None when there is nothing to draw."""
    from PIL import Image, ImageDraw

    from sentrix_report.render.map_image import label_font

    drawable = [(p, risk) for p, risk in polygons if len(p) >= 2]
    if image is None and not drawable:
        return None
    width, height = photo_size
    if image is not None:
        canvas = Image.open(io.BytesIO(image)).convert("RGB")
        sx = canvas.width / width if width else 1.0
        sy = canvas.height / height if height else 1.0
    else:
        extent_w = width or max(x for p, _ in drawable for x, _ in p) + 20
        extent_h = height or max(y for p, _ in drawable for _, y in p) + 20
        scale = min(1.0, CANVAS_MAX / max(extent_w, extent_h))
        canvas = Image.new("RGB", (max(1, int(extent_w * scale)), max(1, int(extent_h * scale))), (241, 245, 249))
        sx = sy = scale
    draw = ImageDraw.Draw(canvas)
    radius = max(9, min(canvas.width, canvas.height) // 45)
    font = label_font(int(radius * 1.3))
    line = max(2, radius // 4)
    for number, (polygon, risk) in enumerate(polygons, start=1):
        if len(polygon) < 2:
            continue
        points = [(x * sx, y * sy) for x, y in polygon]
        draw.line([*points, points[0]], fill=RISK_RGB.get(risk or "", (30, 64, 175)), width=line)
        x, y = _label_anchor(points)
        x = min(max(x, radius), canvas.width - radius)
        y = min(max(y, radius), canvas.height - radius)
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(30, 58, 138), outline=(255, 255, 255),
                     width=2)  # fmt: skip
        draw.text((x, y), str(number), fill=(255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=85)
    return out.getvalue()
