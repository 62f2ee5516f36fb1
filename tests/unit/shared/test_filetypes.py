"""Content sniffing: real images of every accepted type are recognised; names and lookalikes are not."""

from __future__ import annotations

import io

import pillow_heif
import pytest
from PIL import Image

from sentrix.domain import filetypes


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("JPEG", filetypes.JPEG),
        ("PNG", filetypes.PNG),
        ("WEBP", filetypes.WEBP),
        ("TIFF", filetypes.TIFF),
        ("BMP", filetypes.BMP),
    ],
)
def test_pillow_encoded_images_are_recognised(fmt, expected):
    assert filetypes.sniff(encoded(fmt)[:64]) is expected


def test_heic_is_recognised():
    image = pillow_heif.from_pillow(Image.new("RGB", (16, 16)))
    buffer = io.BytesIO()
    image.save(buffer, quality=50)
    assert filetypes.sniff(buffer.getvalue()[:64]) is filetypes.HEIC


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\xff\xd8",
        b"GIF89a" + b"\x00" * 20,
        b"%PDF-1.7\n",
        b"<svg xmlns=",
        b"PK\x03\x04zip",
        b"\x00\x00\x00\x1cftypavif" + b"\x00" * 20,
        b"RIFF\x00\x00\x00\x00WAVE",
        b"BM",
    ],
)
def test_non_images_and_unaccepted_types_are_refused(head):
    assert filetypes.sniff(head) is None


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("image/jpeg", filetypes.JPEG),
        ("IMAGE/JPG", filetypes.JPEG),
        ("image/png; charset=x", filetypes.PNG),
        ("image/gif", None),
        ("application/octet-stream", None),
    ],
)
def test_content_types(content_type, expected):
    assert filetypes.by_content_type(content_type) is expected
