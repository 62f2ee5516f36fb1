"""The GPS opt-out reaches the files: with include_gps=false no stored object carries a location (EXIF GPS IFD
or XMP), whatever format the photo came in; with include_gps=true the original is kept byte for byte."""

from __future__ import annotations

import io
import zlib
from typing import Any

import pytest

from tests.integration.detect.helpers import analysis_row, run
from tests.support.detect import TUCUMAN, encode, exif_bytes, picture

pytestmark = pytest.mark.integration

XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="26,48.48S" '
    b'exif:GPSLongitude="65,13.08W"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)
GPS_EXIF = exif_bytes(gps=TUCUMAN, orientation=6)


def _png_with_xmp(data: bytes) -> bytes:
    """Pillow writes no XMP into PNGs: add the iTXt chunk Adobe's tools write, right after IHDR."""
    body = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP
    chunk = len(body).to_bytes(4, "big") + b"iTXt" + body + zlib.crc32(b"iTXt" + body).to_bytes(4, "big")
    end_of_ihdr = 8 + 12 + int.from_bytes(data[8:12], "big")
    return data[:end_of_ihdr] + chunk + data[end_of_ihdr:]


def located(fmt: str) -> bytes:
    """A photo in `fmt` whose EXIF and XMP both say where it was taken."""
    if fmt == "PNG":
        return _png_with_xmp(encode(picture(), "PNG", exif=GPS_EXIF))
    return encode(picture(), fmt, exif=GPS_EXIF, xmp=XMP)


def gps_in(data: bytes) -> list[str]:
    """Every way `data` still tells a location (empty: none)."""
    from sentrix.image_checks import pillow

    found = []
    image = pillow().open(io.BytesIO(data))
    image.load()
    if dict(image.getexif().get_ifd(0x8825)):
        found.append("EXIF GPS IFD")
    for marker in (b"GPSLatitude", b"GPSLongitude", b"exif:GPS"):
        if marker in data:
            found.append(marker.decode())
    return found


def stored_objects(uploads: Any, analysis_id: Any) -> dict[str, bytes]:
    """Every object of the bucket that belongs to the analysis (upload, original, annotated image)."""
    listing = uploads.s3.list_objects_v2(Bucket=uploads.bucket).get("Contents", [])
    return {item["Key"]: uploads.get(item["Key"]) for item in listing if str(analysis_id) in item["Key"]}


@pytest.mark.parametrize(("fmt", "filename"), [("JPEG", "foto.jpg"), ("PNG", "foto.png"), ("HEIF", "foto.heic")])
def test_without_gps_permission_no_stored_file_carries_the_location(uploads, pipeline, fmt, filename):
    data = located(fmt)
    assert gps_in(data)  # the upload itself does tell where it was taken
    analysis_id, key = uploads.photo(data, filename=filename, include_gps=False)

    run(pipeline, uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert row.status == "completed", row.failure_reason
    objects = stored_objects(uploads, analysis_id)
    assert set(objects) == {row.image_key, row.processed_image_key}
    assert row.image_key.startswith("originals/")
    for stored_key, body in objects.items():
        assert gps_in(body) == [], stored_key
    # What the original keeps: camera and capture time (the database has them too), and its orientation.
    from sentrix.image_checks import pillow

    kept = pillow().open(io.BytesIO(objects[row.image_key])).getexif()
    assert (kept.get(0x010F), kept.get(0x0110)) == ("Apple", "iPhone 13")
    if fmt != "HEIF":  # HEIF is re-encoded upright; JPEG and PNG keep their pixels and the tag
        assert kept.get(0x0112) == 6
    # The hash is of what was received, so the same photo sent again is still a duplicate.
    import hashlib

    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert row.size_bytes == len(data)
    assert row.location is None


def test_with_gps_permission_the_original_is_kept_byte_for_byte(uploads, pipeline):
    data = located("JPEG")
    analysis_id, key = uploads.photo(data, include_gps=True)

    run(pipeline, uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert row.status == "completed"
    assert uploads.get(row.image_key) == data
    assert "EXIF GPS IFD" in gps_in(uploads.get(row.image_key))
    assert row.lat == pytest.approx(TUCUMAN[0], abs=1e-3)


def test_a_webp_without_gps_permission_loses_its_location_too(uploads, pipeline):
    data = located("WEBP")
    analysis_id, key = uploads.photo(data, filename="foto.webp", include_gps=False)

    run(pipeline, uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert row.status == "completed", row.failure_reason
    assert gps_in(uploads.get(row.image_key)) == []
    assert gps_in(uploads.get(row.processed_image_key)) == []


def test_an_unreadable_upload_is_secured_as_received_with_its_hash_and_size(uploads, pipeline):
    """docs/detect.md: an upload that is no usable image is secured before the analysis fails, as received when
    GPS is allowed, stored as application/octet-stream; the hash and size are of the bytes received."""
    import hashlib

    data = b"%PDF-1.7 not a photo at all"
    analysis_id, key = uploads.photo(data, include_gps=True)

    run(pipeline, uploads.bucket, key)

    row = analysis_row(analysis_id)
    assert row.status == "failed"
    assert row.image_key == f"originals/{key.split('/', 1)[1]}"
    stored = uploads.s3.get_object(Bucket=uploads.bucket, Key=row.image_key)
    assert (stored["Body"].read(), stored["ContentType"]) == (data, "application/octet-stream")
    assert (row.sha256, row.size_bytes) == (hashlib.sha256(b"%PDF-1.7 not a photo at all").hexdigest(), 27)
    assert not uploads.exists(key)
