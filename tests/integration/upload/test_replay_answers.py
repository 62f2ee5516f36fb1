"""Idempotent replays (docs/upload.md, "Idempotency"): a key reused for a different upload is 409, and the
answer names the analysis the key already made, in the caller's language (English when none is stated), a stated
language adding the title of `conflict`."""

from __future__ import annotations

import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from tests.integration.upload.support import call, jpeg_bytes, make_user, multipart

pytestmark = pytest.mark.integration

REUSED = {
    None: "This idempotency_key was already used for a different upload",
    "es": "Esta idempotency_key ya se usó para otra subida",
    "pt": "Esta idempotency_key já foi usada para outro envio",
}
CONFLICT_TITLE = {"es": "En conflicto con el estado del recurso", "pt": "Em conflito com o estado do recurso"}


def send(user, filename: str, headers=None):
    body, multipart_headers = multipart([("file", filename, jpeg_bytes(), "image/jpeg")])
    return call("POST", "/api/v1/analyses", user=user, body=body, headers={**multipart_headers, **(headers or {})})


def start(user, filename: str, headers=None):
    body = {"filename": filename, "content_type": "image/jpeg", "idempotency_key": "client-9"}
    return call("POST", "/api/v1/analyses/uploads", user=user, body=body, headers=headers)


@pytest.mark.parametrize("language", [None, "es"])
def test_a_multipart_key_reused_for_another_file_is_409_naming_the_first_analysis(upload_env, language):
    user = make_user()
    first = send(user, "calle.jpg", headers={"Idempotency-Key": "phone-7"})
    stated = {"Accept-Language": language} if language else {}

    reused = send(user, "otra calle.jpg", headers={"Idempotency-Key": "phone-7", **stated})

    assert first.status == 202, first.body
    assert reused.status == 409, reused.body
    error = reused.error
    assert (error["code"], error["status"]) == ("conflict", 409)
    assert error["message"] == REUSED[language]
    assert error["details"] == {"analysis_id": first.body["analysis_id"]}
    assert error.get("title") == CONFLICT_TITLE.get(language)
    with session_scope() as session:
        assert [str(a.id) for a in session.query(Analysis).all()] == [first.body["analysis_id"]]


def test_a_presigned_key_reused_for_another_file_is_409_naming_the_first_analysis(upload_env):
    user = make_user()
    first = start(user, "calle.jpg")

    reused = start(user, "otra.jpg", headers={"Accept-Language": "pt"})

    assert first.status == 201, first.body
    assert reused.status == 409, reused.body
    assert reused.error["message"] == REUSED["pt"]
    assert reused.error["details"] == {"analysis_id": first.body["analysis_id"]}
    assert reused.error["title"] == CONFLICT_TITLE["pt"]
