"""Batches: each item its own analysis; a bad item fails alone."""

from __future__ import annotations

import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from sentrix.domain.status import AnalysisStatus
from sentrix.presign import policy_document
from tests.integration.upload.support import call, jpeg_bytes, make_user, multipart, png_bytes

pytestmark = pytest.mark.integration


def test_presigned_batch_mixes_good_and_bad_items(upload_env):
    user = make_user()
    items = [
        {"filename": "uno.jpg", "content_type": "image/jpeg"},
        {"filename": "doc.pdf", "content_type": "application/pdf"},
        {"filename": "dos.png", "latitude": 5},
        {"filename": "tres.webp", "content_type": "image/webp", "confidence_threshold": 0.9},
        "not an object",
        {"filename": "cuatro.heic", "confidence_threshold": 7},
    ]

    answer = call("POST", "/api/v1/analyses/batch", user=user, body={"items": items})

    assert answer.status == 200, answer.body
    assert (answer.body["total"], answer.body["accepted"], answer.body["failed"]) == (6, 2, 4)
    results = answer.body["items"]
    assert [r["ok"] for r in results] == [True, False, False, True, False, False]
    assert [r["error"]["code"] for r in results if not r["ok"]] == [
        "unsupported_media_type",
        "invalid_location",
        "validation_error",
        "validation_error",
    ]
    assert results[1]["filename"] == "doc.pdf"
    webp = results[3]["analysis"]["upload"]
    assert {"Content-Type": "image/webp"} in policy_document(webp["fields"])["conditions"]
    with session_scope() as session:
        rows = session.query(Analysis).order_by(Analysis.original_filename).all()
    assert [(r.original_filename, r.status) for r in rows] == [
        ("tres.webp", AnalysisStatus.PENDING_UPLOAD),
        ("uno.jpg", AnalysisStatus.PENDING_UPLOAD),
    ]
    assert {str(r.id) for r in rows} == {results[0]["analysis"]["analysis_id"], results[3]["analysis"]["analysis_id"]}


def test_batch_item_errors_are_worded_like_the_envelope_in_the_stated_language(upload_env):
    user = make_user()
    items = [{"filename": "uno.heic", "confidence_threshold": 7}, "not an object", {"filename": "doc.pdf"}]

    plain = call("POST", "/api/v1/analyses/batch", user=user, body={"items": items})
    spoken = call("POST", "/api/v1/analyses/batch", user=user, body={"items": items}, headers={"Accept-Language": "pt"})

    # pydantic's findings without the input they echo, its context or its URL
    threshold = {
        "type": "less_than_equal",
        "loc": ["confidence_threshold"],
        "msg": "Input should be less than or equal to 1",
    }
    not_object = {"type": "model_type", "loc": [],
                  "msg": "Input should be a valid dictionary or instance of PresignedUploadRequest"}  # fmt: skip
    invalid = {"code": "validation_error", "message": "Validation error", "status": 422, "title": None}
    assert [r["filename"] for r in plain.body["items"]] == ["uno.heic", None, "doc.pdf"]
    first, second, third = (r["error"] for r in plain.body["items"])
    assert (first, second) == ({**invalid, "details": [threshold]}, {**invalid, "details": [not_object]})
    assert (third["code"], third["status"], third["title"]) == ("unsupported_media_type", 415, None)
    errors = [r["error"] for r in spoken.body["items"]]
    assert [(e["message"], e["title"]) for e in errors[:2]] == [("Erro de validação", "Erro de validação")] * 2
    assert [e["details"] for e in errors[:2]] == [[threshold], [not_object]]
    assert errors[2]["title"] == "Tipo de conteúdo não suportado"


def test_multipart_batch_stores_the_good_files_and_reports_the_bad(upload_env):
    user = make_user()
    files = [
        ("files", "a.jpg", jpeg_bytes(), "image/jpeg"),
        ("files", "b.jpg", b"", "image/jpeg"),
        ("files", "c.png", png_bytes(), "image/png"),
        ("files", "d.jpg", b"<html>not an image</html>", "image/jpeg"),
    ]
    body, headers = multipart(files, {"confidence_threshold": "0.4"})

    answer = call("POST", "/api/v1/analyses/batch", user=user, body=body, headers=headers)

    assert answer.status == 200, answer.body
    assert [r["ok"] for r in answer.body["items"]] == [True, False, True, False]
    assert [r["filename"] for r in answer.body["items"]] == ["a.jpg", "b.jpg", "c.png", "d.jpg"]
    assert {r["error"]["code"] for r in answer.body["items"] if not r["ok"]} == {"invalid_image"}
    with session_scope() as session:
        rows = session.query(Analysis).all()
    assert sorted(r.original_filename for r in rows) == ["a.jpg", "c.png"]
    assert {(r.status, r.confidence_threshold) for r in rows} == {(AnalysisStatus.QUEUED, 0.4)}


def test_more_than_fifty_items_is_refused_whole(upload_env):
    user = make_user()

    answer = call("POST", "/api/v1/analyses/batch", user=user, body={"items": [{"filename": "a.jpg"}] * 51})

    assert answer.status == 422
    assert answer.error["details"]["max_items"] == 50
    with session_scope() as session:
        assert session.query(Analysis).count() == 0


def test_the_daily_quota_stops_a_batch_midway_item_by_item(upload_env, monkeypatch):
    monkeypatch.setenv("UPLOAD_QUOTA_PER_DAY", "2")
    from sentrix_upload.settings import get_upload_settings

    get_upload_settings.cache_clear()
    user = make_user()

    answer = call(
        "POST", "/api/v1/analyses/batch", user=user, body={"items": [{"filename": f"{i}.jpg"} for i in range(4)]}
    )

    assert [r["ok"] for r in answer.body["items"]] == [True, True, False, False]
    assert answer.body["items"][2]["error"]["code"] == "rate_limited"


def test_empty_or_malformed_batches_are_422(upload_env):
    user = make_user()

    empty = call("POST", "/api/v1/analyses/batch", user=user, body={"items": []})
    malformed = call(
        "POST", "/api/v1/analyses/batch", user=user, body="{not json", headers={"content-type": "application/json"}
    )

    assert (empty.status, malformed.status) == (422, 422)
