"""What a stored original keeps when GPS is not allowed: containers rewritten, nothing locating left, pixels intact."""

from __future__ import annotations

import io

from sentrix.domain.filetypes import sniff
from sentrix_detect.logic.exif import read_exif
from sentrix_detect.logic.privacy import stored_original, stripped_jpeg
from tests.support.detect import TUCUMAN, encode, exif_bytes, picture

GPS_EXIF = exif_bytes(gps=TUCUMAN, orientation=3)


def _open(data: bytes):
    from sentrix.image_checks import pillow

    image = pillow().open(io.BytesIO(data))
    image.load()
    return image


def _strip(data: bytes) -> bytes:
    facts = read_exif(_open(data))
    return stored_original(data, sniff(data[:64]), facts, keep_gps=False, fallback=b"fallback")


def test_a_jpeg_keeps_its_compressed_pixels_and_only_the_clean_exif():
    data = encode(picture(), "JPEG", exif=GPS_EXIF, comment=b"home sweet home")

    stored = _strip(data + b"appended GPSLatitude payload")

    image = _open(stored)
    exif = image.getexif()
    assert dict(exif.get_ifd(0x8825)) == {}
    assert (exif.get(0x010F), exif.get(0x0112)) == ("Apple", 3)
    assert b"home sweet home" not in stored and b"GPSLatitude" not in stored
    assert image.tobytes() == _open(data).tobytes()  # the same decoded pixels: nothing re-encoded


def test_a_png_loses_text_and_provenance_chunks_and_keeps_its_pixels():
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "Tucuman, near the river")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta exif:GPSLatitude='26,48S'/>")
    data = encode(picture(), "PNG", exif=GPS_EXIF, pnginfo=info)

    stored = _strip(data)

    assert b"Tucuman" not in stored and b"exif:GPS" not in stored
    assert dict(_open(stored).getexif().get_ifd(0x8825)) == {}
    assert _open(stored).tobytes() == _open(data).tobytes()


def test_with_gps_allowed_the_upload_is_kept_as_received():
    data = encode(picture(), "JPEG", exif=GPS_EXIF)
    facts = read_exif(_open(data))

    assert stored_original(data, sniff(data[:64]), facts, keep_gps=True, fallback=b"") is data


def test_a_container_that_cannot_be_walked_stores_the_clean_jpeg_instead():
    data = encode(picture(), "JPEG", exif=GPS_EXIF)
    broken = data[:2] + b"\x00\x00" + data[4:]  # not a marker where the first segment should start
    facts = read_exif(_open(data))

    assert stored_original(broken, sniff(broken[:64]), facts, keep_gps=False, fallback=b"clean jpeg") == b"clean jpeg"


def test_an_unreadable_annotated_image_is_none_so_the_pipeline_draws_its_own():
    assert stripped_jpeg(b"\xff\xd8\xff\x00garbage") is None
    annotated = encode(picture(), "JPEG", exif=GPS_EXIF)
    assert dict(_open(stripped_jpeg(annotated)).getexif()) == {}
