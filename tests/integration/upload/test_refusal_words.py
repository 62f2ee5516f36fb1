"""The upload function's refusals in the caller's language, word for word from the catalogue (messages_*.py):
English without a stated language, the stated one otherwise; `code` and `details` never change."""

from __future__ import annotations

import pytest

from tests.integration.upload.support import call, make_user, multipart, seed_analysis

pytestmark = pytest.mark.integration


def stated(language: str | None) -> dict:
    return {"Accept-Language": language} if language else {}


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (None, "bbox must be minLon,minLat,maxLon,maxLat"),
        ("pt", "bbox deve ter a forma minLon,minLat,maxLon,maxLat"),
        ("es", "bbox debe tener la forma minLon,minLat,maxLon,maxLat"),
    ],
    ids=["stated-none", "pt", "es"],
)
def test_a_malformed_bbox(upload_env, language, message):
    answer = call("GET", "/api/v1/analyses", user=make_user(), query={"bbox": "1,2,3"}, headers=stated(language))
    assert (answer.status, answer.error["code"], answer.error["details"]) == (
        422,
        "validation_error",
        {"bbox": "1,2,3"},
    )
    assert answer.error["message"] == message


@pytest.mark.parametrize(
    ("language", "message"), [(None, "The file is empty"), ("es", "El archivo está vacío")], ids=["stated-none", "es"]
)
def test_an_empty_photo(upload_env, language, message):
    body, headers = multipart([("file", "vacia.jpg", b"", "image/jpeg")])
    answer = call("POST", "/api/v1/analyses", user=make_user(), body=body, headers={**headers, **stated(language)})
    assert (answer.status, answer.error["code"], answer.error["message"]) == (422, "invalid_image", message)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (None, "Give the photo's content_type (or a file name with an image extension)"),
        ("pt", "Informe o content_type da foto (ou um nome de arquivo com extensão de imagem)"),
    ],
    ids=["stated-none", "pt"],
)
def test_a_presigned_upload_without_a_type(upload_env, language, message):
    answer = call("POST", "/api/v1/analyses/uploads", user=make_user(), body={"filename": "foto"},
                  headers=stated(language))  # fmt: skip
    assert (answer.status, answer.error["code"], answer.error["message"]) == (415, "unsupported_media_type", message)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (None, "Only the owner or an admin can delete this analysis"),
        ("pt", "Só quem enviou ou um administrador pode apagar esta análise"),
    ],
    ids=["stated-none", "pt"],
)
def test_an_expert_deleting_someone_elses_analysis(upload_env, language, message):
    owner, expert = make_user(), make_user("expert")
    analysis = seed_analysis(owner)
    answer = call("DELETE", f"/api/v1/analyses/{analysis}", user=expert, headers=stated(language))
    assert (answer.status, answer.error["code"], answer.error["message"]) == (403, "forbidden", message)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        (None, "Send the photo as multipart/form-data (field `file`)"),
        ("es", "Envía la foto como multipart/form-data (campo `file`)"),
    ],
    ids=["stated-none", "es"],
)
def test_a_photo_not_sent_as_a_form(upload_env, language, message):
    answer = call("POST", "/api/v1/analyses", user=make_user(), body={"file": "x"}, headers=stated(language))
    assert (answer.status, answer.error["code"], answer.error["message"]) == (415, "unsupported_media_type", message)
