"""The photo → the model's input: one reduced decode, EXIF orientation, letterbox (keep ratio, pad 114).

Boxes and masks come back in the letterboxed frame; `Letterbox` maps them to the sent image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PAD_VALUE = 114  # ultralytics' grey


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Where the sent image sits inside the model's input: sent pixel = (model pixel - pad) / gain."""

    width: int  # the sent image, after EXIF orientation
    height: int
    gain: float
    pad_x: int
    pad_y: int
    scaled_width: int  # the image's size inside the input
    scaled_height: int

    @classmethod
    def fit(cls, width: int, height: int, input_size: tuple[int, int]) -> Letterbox:
        """Ultralytics' LetterBox(auto=False, center=True) arithmetic for an image of width × height."""
        input_h, input_w = input_size
        gain = min(input_h / height, input_w / width)
        scaled_w, scaled_h = round(width * gain), round(height * gain)
        pad_x = round((input_w - scaled_w) / 2 - 0.1)
        pad_y = round((input_h - scaled_h) / 2 - 0.1)
        return cls(width, height, gain, pad_x, pad_y, scaled_w, scaled_h)

    def to_sent(self, xy: np.ndarray) -> np.ndarray:
        """Points (…, 2) in model pixels → sent-image pixels, inside the image."""
        out = np.empty_like(xy, dtype=np.float64)
        out[..., 0] = np.clip((xy[..., 0] - self.pad_x) / self.gain, 0.0, self.width)
        out[..., 1] = np.clip((xy[..., 1] - self.pad_y) / self.gain, 0.0, self.height)
        return out


def oriented_size(image: Any) -> tuple[int, int]:
    """Width and height after EXIF orientation (5–8 swap them), read from the header only."""
    try:
        orientation = image.getexif().get(0x0112, 1)
    except Exception:
        orientation = 1
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def letterbox(image: Any, input_size: tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """The (1, 3, H, W) float32 input in 0–1 and where the image sits in it; `image` is an opened, undecoded
    Pillow image. JPEGs are decoded already reduced (draft) to the smallest size still ≥ the scaled size."""
    from PIL import Image, ImageOps

    width, height = oriented_size(image)
    box = Letterbox.fit(width, height, input_size)
    if image.format in ("JPEG", "MPO"):
        # draft() keeps each side ≥ the request; the request is in stored (unrotated) orientation.
        swapped = image.size != (width, height)
        want = (box.scaled_height, box.scaled_width) if swapped else (box.scaled_width, box.scaled_height)
        image.draft("RGB", want)
    try:
        oriented = ImageOps.exif_transpose(image)
    except Exception:
        oriented = image  # a broken Orientation tag must not fail the request
    rgb = oriented.convert("RGB")
    if rgb.size != (box.scaled_width, box.scaled_height):
        rgb = rgb.resize((box.scaled_width, box.scaled_height), Image.Resampling.BILINEAR)
    canvas = np.full((input_size[0], input_size[1], 3), PAD_VALUE, dtype=np.uint8)
    canvas[box.pad_y : box.pad_y + box.scaled_height, box.pad_x : box.pad_x + box.scaled_width] = np.asarray(rgb)
    tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)
    tensor *= 1.0 / 255.0
    return tensor, box
