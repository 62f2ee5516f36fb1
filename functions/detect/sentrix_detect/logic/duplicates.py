"""Fingerprints for duplicate detection: sha256 for the exact file, a 64-bit dHash for the same photo re-encoded."""

from __future__ import annotations

import hashlib
from typing import Any

HASH_SIDE = 8
# A flat picture (a wall, a black night shot) hashes to almost all zeros and would "match" every other flat
# picture: below this grey range across the 9x8 grid the perceptual hash is not used for matching.
MIN_RELIABLE_RANGE = 12


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_signed64(value: int) -> int:
    """An unsigned 64-bit value as the signed BIGINT PostgreSQL stores."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes (signed or unsigned)."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def dhash(image: Any) -> tuple[int, bool]:
    """Difference hash of a Pillow image (signed 64-bit) and whether the image has enough contrast to trust it.

    Each bit says whether a cell of a 9x8 grey grid is brighter than its right neighbour, so re-encoding,
    resizing or a format change leave it (almost) unchanged.
    """
    from PIL import Image

    # BOX averages every source pixel into its cell: stable under resizing, and one pass over the image.
    small = image.resize((HASH_SIDE + 1, HASH_SIDE), Image.Resampling.BOX).convert("L")
    pixels = small.tobytes()
    value = 0
    for row in range(HASH_SIDE):
        for column in range(HASH_SIDE):
            left = pixels[row * (HASH_SIDE + 1) + column]
            right = pixels[row * (HASH_SIDE + 1) + column + 1]
            value = (value << 1) | (1 if left > right else 0)
    reliable = max(pixels) - min(pixels) >= MIN_RELIABLE_RANGE
    return to_signed64(value), reliable
