"""Image types we accept, recognised by their first bytes (never by the file name or the client's claim)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageType:
    name: str  # short format name, as Pillow spells it in lower case
    content_type: str
    extension: str


JPEG = ImageType("jpeg", "image/jpeg", "jpg")
PNG = ImageType("png", "image/png", "png")
WEBP = ImageType("webp", "image/webp", "webp")
TIFF = ImageType("tiff", "image/tiff", "tiff")
BMP = ImageType("bmp", "image/bmp", "bmp")
HEIC = ImageType("heic", "image/heic", "heic")
HEIF = ImageType("heif", "image/heif", "heif")

ALLOWED = (JPEG, PNG, WEBP, TIFF, BMP, HEIC, HEIF)
ALLOWED_CONTENT_TYPES = frozenset(t.content_type for t in ALLOWED)

# ISO-BMFF brands (the `ftyp` box) that mean HEIC or another HEIF image; AVIF is not on the list.
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"heif"}


def sniff(head: bytes) -> ImageType | None:
    """The accepted image type that `head` (the first 32+ bytes of a file) starts with, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head.startswith(b"BM") and len(head) >= 26:
        return BMP
    if len(head) >= 12 and head[4:8] == b"ftyp":
        major = head[8:12]
        compatible = {head[i : i + 4] for i in range(16, min(len(head), 64) - 3, 4)}
        if major in _HEIC_BRANDS or compatible & _HEIC_BRANDS:
            return HEIC
        if major in _HEIF_BRANDS:
            return HEIF
    return None


def by_content_type(content_type: str) -> ImageType | None:
    """The accepted image type announced by a MIME type (for presigned POST conditions)."""
    normalized = content_type.split(";", 1)[0].strip().lower()
    if normalized == "image/jpg":
        normalized = "image/jpeg"
    return next((t for t in ALLOWED if t.content_type == normalized), None)
