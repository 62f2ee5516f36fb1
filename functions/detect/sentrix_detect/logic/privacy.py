"""What a stored file keeps of its photo's metadata when the uploader opted out of GPS (`include_gps = false`).

With GPS allowed the original is stored byte for byte as received. Without it, no stored file carries a
location: the original keeps only a fresh EXIF block with orientation, camera make/model and
DateTimeOriginal/OffsetTimeOriginal (all of which the database holds anyway) and loses everything else —
the GPS IFD, XMP packets (which repeat the position as exif:GPSLatitude…), IPTC/Photoshop blocks, comments,
PNG text chunks, MPO secondary images and anything appended after the image. JPEG, PNG and WebP are
rewritten container by container without touching the compressed pixels; TIFF and HEIC/HEIF (whose
metadata is woven into the container) are re-encoded from their pixels; BMP has no metadata at all.
"""

from __future__ import annotations

import io
import zlib
from typing import Any

from sentrix.domain.filetypes import ImageType, sniff
from sentrix.image_checks import pillow
from sentrix.observability import logger
from sentrix_detect.logic.exif import ExifFacts, clean_exif_bytes

_EXIF_PREFIX = b"Exif\x00\x00"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Text chunks (XMP, "Raw profile type exif") and C2PA manifests (caBX), which may record where a photo was taken.
_PNG_METADATA = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"caBX"}
_WEBP_EXIF_FLAG, _WEBP_XMP_FLAG = 0x08, 0x04


def stored_original(data: bytes, image_type: ImageType, facts: ExifFacts, *, keep_gps: bool, fallback: bytes) -> bytes:
    """The bytes to keep as the analysis' original; `fallback` (the clean JPEG sent to YOLO) if stripping fails."""
    if keep_gps:
        return data
    try:
        return _stripped(data, image_type, facts)
    except Exception as exc:
        # A file Pillow decoded but whose container we cannot walk: the clean JPEG is still a faithful copy.
        logger.warning("could not strip the original's metadata; keeping the clean JPEG", extra={"error": repr(exc)})
        return fallback


def stripped_jpeg(data: bytes) -> bytes | None:
    """A JPEG without any metadata segment (for the annotated image of an opted-out analysis); None if unreadable."""
    try:
        return _jpeg(data, None)
    except Exception:
        return None


def stripped_unreadable(data: bytes) -> bytes | None:
    """An upload that failed the image checks, without any metadata block; None when that cannot be sure."""
    image_type = sniff(data[:64])
    writer = {"jpeg": _jpeg, "png": _png, "webp": _webp}.get(image_type.name if image_type else "")
    if writer is None:
        return None
    try:
        return writer(data, None)
    except Exception:
        return None


def _stripped(data: bytes, image_type: ImageType, facts: ExifFacts) -> bytes:
    name = image_type.name
    if name == "bmp":
        return data
    if name in ("jpeg", "png", "webp"):
        exif = clean_exif_bytes(facts, keep_gps=False, keep_orientation=True)
        return {"jpeg": _jpeg, "png": _png, "webp": _webp}[name](data, exif)
    # TIFF and HEIF decoders apply the orientation themselves: the re-encoded pixels are upright.
    return _reencoded(data, image_type, facts)


# ---------------------------------------------------------------------------------------------------
# JPEG: segments kept are the ones the pixels need (tables, frame, scans, JFIF, ICC, Adobe)
# ---------------------------------------------------------------------------------------------------
def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    if marker == 0xFE:  # COM
        return False
    if 0xE0 <= marker <= 0xEF:
        if marker == 0xE0:  # JFIF / JFXX
            return True
        if marker == 0xE2:  # ICC profile yes; MPF (secondary images, each with its own EXIF) no
            return payload.startswith(b"ICC_PROFILE\x00")
        return marker == 0xEE  # Adobe (colour transform); APP1 (EXIF, XMP), APP13 (IPTC) and others go
    return True


def _entropy_end(data: bytes, start: int) -> int:
    """Where the entropy-coded data after an SOS ends (the next real marker), or len(data)."""
    i = start
    while True:
        j = data.find(b"\xff", i)
        if j < 0 or j + 1 >= len(data):
            return len(data)
        following = data[j + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            i = j + 1 if following == 0xFF else j + 2
            continue
        return j


def _jpeg(data: bytes, exif: bytes | None) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    out = bytearray(b"\xff\xd8")
    pos, inserted, size = 2, False, len(data)
    while pos < size:
        if data[pos] != 0xFF or pos + 1 >= size:
            raise ValueError(f"no marker at {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xD9:
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out += data[pos : pos + 2]
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > size:
            raise ValueError(f"segment {marker:#x} runs past the end")
        if not inserted and marker != 0xE0:
            # The clean EXIF goes after JFIF's APP0 (which must come first), before everything else.
            if exif:
                out += b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif
            inserted = True
        if marker == 0xDA:
            scan_end = _entropy_end(data, end)
            out += data[pos:scan_end]
            pos = scan_end
            continue
        if _keep_jpeg_segment(marker, data[pos + 4 : end]):
            out += data[pos:end]
        pos = end
    # Anything after the end of the image (MPO's secondary images, appended payloads) is left behind.
    out += b"\xff\xd9"
    return bytes(out)


# ---------------------------------------------------------------------------------------------------
# PNG: eXIf and the text chunks (tEXt/zTXt/iTXt hold XMP and ImageMagick's "Raw profile type exif") go
# ---------------------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def _png(data: bytes, exif: bytes | None) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG")
    out = bytearray(_PNG_SIGNATURE)
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("chunk runs past the end")
        if kind not in _PNG_METADATA:
            out += data[pos:end]
        if kind == b"IHDR" and exif:
            out += _png_chunk(b"eXIf", exif.removeprefix(_EXIF_PREFIX))
        if kind == b"IEND":
            return bytes(out)
        pos = end
    raise ValueError("no IEND chunk")


# ---------------------------------------------------------------------------------------------------
# WebP: the EXIF and XMP chunks go (and their VP8X flags); a clean EXIF chunk where VP8X allows one
# ---------------------------------------------------------------------------------------------------
def _webp(data: bytes, exif: bytes | None) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    end = min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    chunks: list[bytearray] = []
    extended: bytearray | None = None
    pos = 12
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        length = int.from_bytes(data[pos + 4 : pos + 8], "little")
        chunk_end = pos + 8 + length + (length & 1)
        if pos + 8 + length > end:
            raise ValueError("chunk runs past the end")
        chunk = bytearray(data[pos : min(chunk_end, end)])
        if len(chunk) < 8 + length + (length & 1):
            chunk += b"\x00"
        if kind == b"VP8X":
            chunk[8] &= ~(_WEBP_EXIF_FLAG | _WEBP_XMP_FLAG) & 0xFF
            extended = chunk
        if kind not in (b"EXIF", b"XMP "):
            chunks.append(chunk)
        pos = chunk_end
    if exif and extended is not None:
        body = exif.removeprefix(_EXIF_PREFIX)
        extended[8] |= _WEBP_EXIF_FLAG
        chunks.append(bytearray(b"EXIF" + len(body).to_bytes(4, "little") + body + b"\x00" * (len(body) & 1)))
    payload = b"WEBP" + b"".join(chunks)
    return b"RIFF" + len(payload).to_bytes(4, "little") + payload


# ---------------------------------------------------------------------------------------------------
# TIFF, HEIC/HEIF: re-encoded from the pixels, with only the ICC profile and the clean EXIF
# ---------------------------------------------------------------------------------------------------
def _reencoded(data: bytes, image_type: ImageType, facts: ExifFacts) -> bytes:
    Image = pillow()
    opened = Image.open(io.BytesIO(data))
    opened.load()
    icc = opened.info.get("icc_profile")
    # copy() is a plain Image: no tag directory or info (XMP, IPTC) that a TIFF or HEIF writer would carry over.
    frame: Any = opened.copy()
    frame.info = {}
    options: dict[str, Any] = {"icc_profile": icc} if icc else {}
    buffer = io.BytesIO()
    if image_type.name == "tiff":
        # TIFF tags are the file's own directory (Pillow cannot write an EXIF sub-IFD there): IFD0 fields only.
        tags = {271: facts.camera_make, 272: facts.camera_model, 306: facts.taken_at_text}
        tiffinfo = {tag: value for tag, value in tags.items() if value}
        frame.save(buffer, format="TIFF", compression="tiff_lzw", tiffinfo=tiffinfo, **options)
    else:
        exif = clean_exif_bytes(facts, keep_gps=False)
        if exif:
            options["exif"] = exif
        frame.save(buffer, format="HEIF", quality=90, **options)
    return buffer.getvalue()
