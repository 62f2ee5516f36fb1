"""A map drawn from the data alone (no tile server): grid cells coloured by detections, analysis points
coloured by risk, graticule labels, a scale bar and a legend. Pillow, imported on the map path only."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

WIDTH = 1200
HEIGHT = 900
MARGIN = 70
# Sequential palette (light yellow to dark red) for detections per cell.
PALETTE = ((255, 255, 204), (255, 237, 160), (254, 217, 118), (254, 178, 76), (253, 141, 60), (240, 59, 32),
           (189, 0, 38))  # fmt: skip
RISK_RGB = {"ALTO": (220, 38, 38), "MEDIO": (245, 158, 11), "BAJO": (5, 150, 105), "MINIMO": (107, 114, 128)}


def label_font(size: int):
    """A TrueType font with the accented letters of es and pt (Pillow's built-in font has none: "Detecções"
    came out with boxes). Bitstream Vera ships with reportlab, which the report layer carries."""
    import os

    import reportlab
    from PIL import ImageFont

    path = os.path.join(os.path.dirname(reportlab.__file__), "fonts", "Vera.ttf")
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return ImageFont.load_default(size=size)


def _mercator_y(latitude: float) -> float:
    lat = max(min(latitude, 85.0), -85.0)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


class _Frame:
    """Projects lon/lat (Web Mercator) into the drawing area, keeping the aspect ratio."""

    def __init__(self, bounds: dict[str, float]) -> None:
        pad_x = (bounds["east"] - bounds["west"]) * 0.04 or 0.005
        pad_y = (bounds["north"] - bounds["south"]) * 0.04 or 0.005
        self.west, self.east = bounds["west"] - pad_x, bounds["east"] + pad_x
        self.south, self.north = bounds["south"] - pad_y, bounds["north"] + pad_y
        span_x = math.radians(self.east - self.west)
        span_y = _mercator_y(self.north) - _mercator_y(self.south)
        self.scale = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / span_y)
        self.x0 = (WIDTH - span_x * self.scale) / 2
        self.y0 = (HEIGHT + span_y * self.scale) / 2

    def xy(self, longitude: float, latitude: float) -> tuple[float, float]:
        x = self.x0 + math.radians(longitude - self.west) * self.scale
        y = self.y0 - (_mercator_y(latitude) - _mercator_y(self.south)) * self.scale
        return x, y


def _colour(count: int, top: int) -> tuple[int, int, int]:
    if top <= 0:
        return PALETTE[0]
    index = min(len(PALETTE) - 1, int(len(PALETTE) * math.log1p(count) / math.log1p(top + 1e-9)))
    return PALETTE[index]


def _nice_step(span: float) -> float:
    raw = span / 5
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def draw_map(
    bounds: dict[str, float] | None,
    cell_deg: float | None,
    cells: Sequence[dict[str, Any]],
    points: Sequence[dict[str, Any]],
    language: str | None = None,
) -> bytes:
    """PNG bytes of the map in `language`; a plain 'no data' panel when nothing is located."""
    from PIL import Image, ImageDraw

    from sentrix.i18n import risk_word, t

    image = Image.new("RGB", (WIDTH, HEIGHT), (248, 250, 252))
    draw = ImageDraw.Draw(image)
    font = label_font(14)
    small = label_font(12)
    if not bounds:
        draw.text((WIDTH / 2, HEIGHT / 2), t("map.no_data", language), fill=(80, 80, 80), font=font, anchor="mm")
        return _png(image)
    frame = _Frame(bounds)
    top = max((c["detections"] for c in cells), default=0)
    for c in cells:
        x1, y1 = frame.xy(c["west"], c["north"])
        x2, y2 = frame.xy(c["east"], c["south"])
        draw.rectangle([x1, y1, x2, y2], fill=_colour(c["detections"], top), outline=(200, 200, 200))
    for p in points:
        x, y = frame.xy(p["longitude"], p["latitude"])
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=RISK_RGB.get(p["risk_level"], (60, 60, 60)),
                     outline=(255, 255, 255))  # fmt: skip
    lon_step, lat_step = _graticule(draw, frame, small)
    step = f"{lon_step:g}" if lon_step == lat_step else f"{lon_step:g}° × {lat_step:g}"
    _scale_bar(draw, frame, small)
    title = t("map.legend_cells", language, cell=f"{cell_deg:g}") if cell_deg else t("map.legend", language)
    levels = {risk_word(level, language): colour for level, colour in RISK_RGB.items()}
    _legend(draw, top, title, levels, t("map.grid", language, step=step), small)
    draw.text((WIDTH - 30, 30), "N", fill=(30, 30, 30), font=font, anchor="mm")
    draw.line([WIDTH - 30, 42, WIDTH - 30, 62], fill=(30, 30, 30), width=2)
    return _png(image)


def _graticule(draw, frame: _Frame, font) -> tuple[float, float]:
    """Coordinate grid lines with their degrees on the edges; returns the (longitude, latitude) steps."""
    for value in _ticks(frame.west, frame.east):
        x, _ = frame.xy(value, frame.south)
        draw.line([x, MARGIN / 2, x, HEIGHT - MARGIN / 2], fill=(203, 213, 225))
        draw.text((x, HEIGHT - MARGIN / 4), f"{value:.3f}°", fill=(71, 85, 105), font=font, anchor="mm")
    for value in _ticks(frame.south, frame.north):
        _, y = frame.xy(frame.west, value)
        draw.line([MARGIN / 2, y, WIDTH - MARGIN / 2, y], fill=(203, 213, 225))
        draw.text((6, y), f"{value:.3f}°", fill=(71, 85, 105), font=font, anchor="lm")
    return _nice_step(frame.east - frame.west), _nice_step(frame.north - frame.south)


def _ticks(low: float, high: float) -> list[float]:
    step = _nice_step(high - low)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _scale_bar(draw, frame: _Frame, font) -> None:
    latitude = (frame.south + frame.north) / 2
    metres_per_degree = 111_320 * math.cos(math.radians(latitude))
    x_a, _ = frame.xy(frame.west, latitude)
    x_b, _ = frame.xy(frame.west + 1, latitude)
    pixels_per_metre = (x_b - x_a) / metres_per_degree
    length_m = _round_down(WIDTH / 5 / pixels_per_metre)  # a round length, at most a fifth of the width
    length_px = length_m * pixels_per_metre
    x, y = MARGIN, HEIGHT - MARGIN + 10
    draw.rectangle([x, y, x + length_px, y + 6], fill=(30, 30, 30))
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"
    draw.text((x + length_px + 8, y + 3), label, fill=(30, 30, 30), font=font, anchor="lm")


def _legend(draw, top: int, title: str, levels: dict[str, tuple[int, int, int]], grid: str, small) -> None:
    x, y = WIDTH - 330, HEIGHT - 185  # clear of the longitude labels along the bottom edge
    draw.rectangle([x - 10, y - 10, WIDTH - 20, HEIGHT - 45], fill=(255, 255, 255), outline=(203, 213, 225))
    draw.text((x, y), title, fill=(30, 30, 30), font=small)
    for i, colour in enumerate(PALETTE):
        draw.rectangle([x + i * 30, y + 20, x + i * 30 + 28, y + 36], fill=colour)
    draw.text((x, y + 42), "1", fill=(30, 30, 30), font=small)
    draw.text((x + len(PALETTE) * 30 - 4, y + 42), str(top), fill=(30, 30, 30), font=small, anchor="ra")
    cx = x + 6
    for word, colour in levels.items():  # spaced by the words' own widths, whatever the language
        draw.ellipse([cx - 5, y + 70, cx + 5, y + 80], fill=colour)
        draw.text((cx + 8, y + 75), word, fill=(30, 30, 30), font=small, anchor="lm")
        cx += 8 + draw.textlength(word, font=small) + 18
    draw.text((x, y + 98), grid, fill=(71, 85, 105), font=small)


def _round_down(value: float) -> float:
    """The largest 1, 2 or 5 × 10^k not above `value`."""
    power = 10 ** math.floor(math.log10(value))
    return max(m * power for m in (1, 2, 5) if m * power <= value)


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
