"""Traversal and control characters in file names, presigned and multipart: one safe segment of our own key."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.security.support import db_snapshot, png, refused

pytestmark = pytest.mark.integration

# --------------------------------------------------------------------------------------------------
# File names: the client's name never shapes the object key beyond one safe path segment
# --------------------------------------------------------------------------------------------------
HOSTILE_NAMES = {
    "../../../etc/passwd.png": "passwd.png",
    "..\\..\\windows\\win.png": "win.png",
    "....//....//x.png": "x.png",
    "../3f0c2b1e-8a8e-4d5b-9a41-1b2c3d4e5f60/../x.png": "x.png",  # fixed: a test id must not change between runs
    "a\x00b.png": "ab.png",
    "a\r\nX-Injected: 1.png": "aX-Injected_1.png",
    "\u202egnp.exe.png": "gnp.exe.png",
    "\u200bzero\u200dwidth.png": "zerowidth.png",
    "%2e%2e%2fx.png": "2e_2e_2fx.png",
    "..": "image",
    ".png": "image.png",
    " ; DROP TABLE analyses;--.png": "DROP_TABLE_analyses.png",
    "$(reboot).png": "reboot.png",
    "<script>alert(1)</script>.png": "script.png",
    "${filename}.png": "filename.png",
}
# Plain test ids (index and the expected name): a name's control characters in an id cannot be passed back to
# pytest on its command line (mutmut's re-runs by id), and the names are repeated in the table above.
NAME_IDS = [f"{i}-{expected}" for i, expected in enumerate(HOSTILE_NAMES.values())]
SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@pytest.fixture
def uploads(shared_api, shared_world, monkeypatch) -> Iterator[tuple[Any, Any]]:
    """One world for the module; Alice uploads ~30 times, so the per-minute upload quota is lifted meanwhile."""
    from sentrix_upload.settings import get_upload_settings

    monkeypatch.setenv("UPLOAD_QUOTA_PER_MINUTE", "1000")
    get_upload_settings.cache_clear()
    yield shared_api, shared_world
    monkeypatch.undo()
    get_upload_settings.cache_clear()  # read again once the environment is restored


def _key_is_safe(key: str, user_id, analysis_id, expected_name: str | None = None) -> None:
    parts = key.split("/")
    assert parts[:3] == ["incoming", str(user_id), str(analysis_id)], key
    assert len(parts) == 4 and SAFE_SEGMENT.match(parts[3]) and ".." not in parts[3], key
    if expected_name is not None:
        assert parts[3] == expected_name, key


@pytest.mark.parametrize("name", list(HOSTILE_NAMES), ids=NAME_IDS)
def test_presigned_file_names_become_one_safe_segment(uploads, name):
    api, world = uploads
    response = api.post("/analyses/uploads", json={"filename": name}, headers=world.headers("alice"))

    if not name.endswith(".png"):  # no extension to tell the type by: refused before anything is signed
        refused(response, 415, "unsupported_media_type")
        return
    assert response.status_code == 201, response.text
    body = response.json()
    _key_is_safe(body["upload"]["key"], world.alice.id, body["analysis_id"], HOSTILE_NAMES[name])
    assert body["upload"]["fields"]["key"] == body["upload"]["key"]


@pytest.mark.parametrize("name", list(HOSTILE_NAMES), ids=NAME_IDS)
def test_multipart_file_names_become_one_safe_segment(uploads, s3, aws, name):
    api, world = uploads
    response = api.post("/analyses", files={"file": (name, png(), "image/png")}, headers=world.headers("alice"))

    assert response.status_code == 202, response.text
    analysis_id = response.json()["analysis_id"]
    listed = s3.list_objects_v2(Bucket=aws.bucket, Prefix=f"incoming/{world.alice.id}/{analysis_id}/")["Contents"]
    [stored] = [item["Key"] for item in listed]
    # httpx percent-encodes control characters in the part header, so the exact name differs from the JSON case.
    _key_is_safe(stored, world.alice.id, analysis_id)


def test_raw_control_characters_in_a_multipart_file_name_are_a_400(uploads):
    api, world = uploads
    body = (
        b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a\x00b\r.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png() + b"\r\n--XX--\r\n"
    )
    headers = {"Content-Type": "multipart/form-data; boundary=XX", **world.headers("alice")}
    before = db_snapshot()
    refused(api.post("/analyses", content=body, headers=headers), 400, "bad_request")
    assert db_snapshot() == before


def test_a_file_name_too_long_for_the_record_is_refused(uploads):
    api, world = uploads
    before = db_snapshot()
    response = api.post("/analyses/uploads", json={"filename": "x" * 300 + ".png"}, headers=world.headers("alice"))
    refused(response, 422, "validation_error")
    assert db_snapshot() == before
