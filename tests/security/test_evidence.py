"""Evidence and location privacy in the stored files (issue 14, points 2, 3 and 7), attacked over real HTTP.

- Swapping the evidence: the presigned form of a completed analysis is posted again with other bytes (S3 accepts
  it until the policy expires). Detect secured the original under `originals/` when it claimed the upload, so
  the re-post is an orphan under `incoming/` that detect deletes: the photo behind `image.url`, the analysis row
  and the bucket stay exactly as they were.
- Reading the location of a citizen who opted out: an expert downloads every file of an analysis made with
  `include_gps=false` from a photo whose EXIF and XMP say where it was taken; none of them tells.
- A decompression bomb through the anonymous preview: refused like detect refuses it, YOLO never called.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from typing import Any

import httpx
import pytest

from tests.security.support import db_snapshot, jpeg, refused, s3_snapshot
from tests.security.test_presigned_scope import (  # noqa: F401 (detect_ready is a fixture)
    detect_ready,
    post_form,
    run_detect,
    start,
)
from tests.support.detect import TUCUMAN, encode, exif_bytes, picture

pytestmark = pytest.mark.integration

XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="26,48.48S" exif:GPSLongitude="65,13.08W"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def detail(api: httpx.Client, world: Any, analysis_id: str, who: str = "alice") -> dict[str, Any]:
    answer = api.get(f"/analyses/{analysis_id}", headers=world.headers(who))
    assert answer.status_code == 200, answer.text
    return answer.json()


def download(url: str) -> bytes:
    answer = httpx.get(url)
    assert answer.status_code == 200, answer.text
    return answer.content


def row(analysis_id: str) -> dict[str, Any]:
    from sqlalchemy import text

    from sentrix.db.engine import get_engine

    with get_engine().connect() as connection:
        found = connection.execute(
            text("SELECT * FROM analyses WHERE id = :id"), {"id": analysis_id}
        ).mappings().one()  # fmt: skip
        detections = connection.execute(
            text("SELECT id, class_id, confidence, polygon FROM detections WHERE analysis_id = :id ORDER BY id"),
            {"id": analysis_id},
        ).all()
    return {**found, "detections": [tuple(d) for d in detections]}


@pytest.mark.usefixtures("world", "detect_ready")  # seeded first: its puts notify the queue too
def test_reposting_the_presigned_form_after_completion_does_not_swap_the_evidence(
    api, world, s3, sqs, aws, yolo_standin
):
    # Given: a completed analysis and the image its owner and experts see.
    started = start(api, world, filename="foto.jpg")
    analysis_id, upload = started["analysis_id"], started["upload"]
    genuine = jpeg()
    post_form(upload, genuine, **{"Content-Type": "image/jpeg"})
    run_detect(sqs, aws.queue_url, expected=1)
    shown = detail(api, world, analysis_id)
    assert shown["status"] == "completed"
    assert download(shown["image"]["url"]) == genuine
    before_row, before_db, before_s3 = row(analysis_id), db_snapshot(), s3_snapshot(s3, aws.bucket)
    assert before_row["image_key"].startswith("originals/")
    assert not [key for key in before_s3 if key.startswith("incoming/") and analysis_id in key]

    # When: the same form is posted again with other bytes (S3 answers 204), and detect gets the notification.
    post_form(upload, jpeg(seed=7), **{"Content-Type": "image/jpeg"})
    answer = run_detect(sqs, aws.queue_url, expected=1)

    # Then: nothing the analysis shows changed, and the re-posted object did not stay behind.
    assert answer == {"batchItemFailures": []}
    assert row(analysis_id) == before_row
    assert before_row["sha256"] == hashlib.sha256(genuine).hexdigest()
    assert db_snapshot() == before_db
    assert s3_snapshot(s3, aws.bucket) == before_s3
    assert download(detail(api, world, analysis_id)["image"]["url"]) == genuine


@pytest.mark.usefixtures("world", "detect_ready")  # seeded first: its puts notify the queue too
def test_a_repost_while_the_analysis_waits_for_a_retry_is_not_what_gets_analysed(
    api, world, s3, sqs, aws, yolo_standin
):
    from tests.integration.detect.helpers import reset_standin, set_faults

    # Given: detect claimed the upload, secured it, and YOLO was down (the analysis went back to `queued`).
    started = start(api, world, filename="foto.jpg")
    analysis_id, upload = started["analysis_id"], started["upload"]
    genuine = jpeg()
    set_faults(yolo_standin, error_rate=1.0)
    try:
        post_form(upload, genuine, **{"Content-Type": "image/jpeg"})
        assert run_detect(sqs, aws.queue_url, expected=1)["batchItemFailures"]
    finally:
        reset_standin(yolo_standin)
    assert row(analysis_id)["status"] == "queued"

    # When: the form is posted again with other bytes, and both notifications reach detect.
    post_form(upload, jpeg(seed=7), **{"Content-Type": "image/jpeg"})
    run_detect(sqs, aws.queue_url, expected=1)

    # Then: the analysis completed from the photo first received; the re-post is gone.
    after = row(analysis_id)
    assert after["status"] == "completed"
    assert after["sha256"] == hashlib.sha256(genuine).hexdigest()
    assert download(detail(api, world, analysis_id)["image"]["url"]) == genuine
    assert not [key for key in s3_snapshot(s3, aws.bucket) if key.startswith("incoming/") and analysis_id in key]


@pytest.mark.usefixtures("world", "detect_ready")  # seeded first: its puts notify the queue too
def test_a_repost_after_a_failure_does_not_replace_what_failed(api, world, s3, sqs, aws, yolo_standin):
    # Given: an upload that is no image failed, and what it stored.
    started = start(api, world, filename="foto.jpg")
    analysis_id, upload = started["analysis_id"], started["upload"]
    post_form(upload, b"<html><script>alert(1)</script></html>", **{"Content-Type": "text/html"})
    run_detect(sqs, aws.queue_url, expected=1)
    before_row, before_db, before_s3 = row(analysis_id), db_snapshot(), s3_snapshot(s3, aws.bucket)
    assert before_row["status"] == "failed"
    assert before_row["image_key"].startswith("originals/")

    # When: the form is posted again, now with a real photo.
    post_form(upload, jpeg(), **{"Content-Type": "image/jpeg"})
    run_detect(sqs, aws.queue_url, expected=1)

    # Then: the failed analysis and its stored bytes are what they were (served as bytes, not as a page).
    assert row(analysis_id) == before_row
    assert db_snapshot() == before_db
    assert s3_snapshot(s3, aws.bucket) == before_s3
    stored = s3.get_object(Bucket=aws.bucket, Key=before_row["image_key"])
    assert stored["Body"].read() == b"<html><script>alert(1)</script></html>"
    assert stored["ContentType"] == "application/octet-stream"


def _gps_in(data: bytes) -> list[str]:
    from sentrix.image_checks import pillow

    found = []
    image = pillow().open(io.BytesIO(data))
    image.load()
    if dict(image.getexif().get_ifd(0x8825)):
        found.append("EXIF GPS IFD")
    return found + [marker.decode() for marker in (b"GPSLatitude", b"exif:GPS") if marker in data]


@pytest.mark.usefixtures("world", "detect_ready")  # seeded first: its puts notify the queue too
def test_an_expert_downloads_no_location_from_an_opted_out_analysis(api, world, s3, sqs, aws, yolo_standin):
    # Given: Alice's photo says where she lives in EXIF and XMP, and she did not allow GPS.
    located = encode(picture(), "JPEG", exif=exif_bytes(gps=TUCUMAN), xmp=XMP)
    assert _gps_in(located) == ["EXIF GPS IFD", "GPSLatitude", "exif:GPS"]
    started = start(api, world, filename="casa.jpg", include_gps=False)
    post_form(started["upload"], located, **{"Content-Type": "image/jpeg"})
    run_detect(sqs, aws.queue_url, expected=1)

    # When: an expert opens the analysis and downloads every file it points at.
    shown = detail(api, world, started["analysis_id"], who="expert")

    # Then: neither the original nor the annotated image carries a location, nor does the answer.
    assert shown["status"] == "completed"
    assert shown["location"]["has_location"] is False
    for url in (shown["image"]["url"], shown["image"]["processed_url"]):
        assert _gps_in(download(url)) == []
    stored = [key for key in s3_snapshot(s3, aws.bucket) if started["analysis_id"] in key]
    assert len(stored) == 2  # the original and the annotated image; the upload itself is gone
    for key in stored:
        assert _gps_in(s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read()) == [], key


def _bomb_png(side: int = 30_000) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    pixels = chunk(b"IDAT", zlib.compress(b"\0" * 4096))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + pixels + chunk(b"IEND", b"")


def test_a_900_megapixel_png_through_the_anonymous_preview_never_reaches_yolo(api, world, s3, aws, yolo_standin):
    from tests.integration.detect.helpers import reset_standin, standin_calls

    reset_standin(yolo_standin)
    before_db, before_s3 = db_snapshot(), s3_snapshot(s3, aws.bucket)

    answer = api.post("/analyses/public", files={"file": ("bomb.png", _bomb_png(), "image/png")})

    error = refused(answer, 422, "invalid_image")
    assert "decompression bomb protection" in error["message"]
    assert standin_calls(yolo_standin) == 0
    assert s3_snapshot(s3, aws.bucket) == before_s3
    assert db_snapshot() == before_db
