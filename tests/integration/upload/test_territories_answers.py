"""What the territory routes answer beyond the happy path (docs/territories.md): pages of GET /territories
(`limit`, `offset`, `total`, `has_next`), the refusals of an unknown code (GET /territories/{code}: 404;
GET /sites?territory=: 422 naming it) in the caller's language (docs/report.md, *Errors*: the route resolves it,
Spanish when nothing is stated), and the presigned import's key rules and storage faults: only the caller's own
uploads, refused before S3 is asked (the file stays where it is); S3 failing is a 503 in the envelope
(docs/openapi.json). Expected words are the catalogue's (layers/shared/sentrix/i18n/messages_*.py)."""

from __future__ import annotations

import json
import uuid

import boto3
import httpx
import pytest

from sentrix_local.processes import free_port
from tests.conftest import reset_caches
from tests.integration.upload.sites_support import sql
from tests.integration.upload.support import call, make_user
from tests.integration.upload.test_territories import HIERARCHY

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(upload_env):
    return make_user("admin")


def imported(admin) -> None:
    answer = call("POST", "/api/v1/territories", user=admin, body=HIERARCHY)
    assert answer.status == 200, answer.body


def page(user, **query) -> dict:
    answer = call("GET", "/api/v1/territories", user=user, query=query)
    assert answer.status == 200, answer.body
    return answer.body


def test_pages_of_territories_follow_limit_and_offset(admin):
    imported(admin)  # C, H1, H2, N1: roots first, then by code
    reader = make_user()

    whole = page(reader)
    first = page(reader, limit=2)
    second = page(reader, limit=2, offset=2)
    past_the_end = page(reader, limit=2, offset=3)

    def summary(body):
        return [t["code"] for t in body["items"]], body["total"], body["limit"], body["offset"], body["has_next"]

    assert summary(whole) == (["C", "H1", "H2", "N1"], 4, 50, 0, False)  # the default limit is 50
    assert summary(first) == (["C", "H1"], 4, 2, 0, True)
    assert summary(second) == (["H2", "N1"], 4, 2, 2, False)  # the last page ends exactly at the total
    assert summary(past_the_end) == (["N1"], 4, 2, 3, False)


@pytest.mark.parametrize(
    ("headers", "message", "title"),
    [
        ({}, "Territorio no encontrado", "No encontrado"),
        ({"Accept-Language": "pt"}, "Território não encontrado", "Não encontrado"),
    ],
    ids=["default", "pt"],
)
def test_an_unknown_territory_is_404_in_the_callers_language(admin, headers, message, title):
    imported(admin)

    answer = call("GET", "/api/v1/territories/NOPE", user=make_user(), headers=headers)

    assert answer.status == 404, answer.body
    error = answer.error
    assert (error["code"], error["status"], error["message"], error["title"]) == ("not_found", 404, message, title)
    assert "details" not in error


@pytest.mark.parametrize(
    ("headers", "message", "title"),
    [
        ({}, "Territorio desconocido: ZZ", "Error de validación"),
        ({"Accept-Language": "en"}, "Unknown territory: ZZ", "Validation error"),
        ({"Accept-Language": "pt"}, "Território desconhecido: ZZ", "Erro de validação"),
    ],
    ids=["default", "en", "pt"],
)
def test_the_sites_filter_names_an_unknown_territory(admin, headers, message, title):
    imported(admin)

    answer = call("GET", "/api/v1/sites", user=make_user("expert"), query={"territory": "ZZ"}, headers=headers)

    assert answer.status == 422, answer.body
    error = answer.error
    assert (error["code"], error["message"], error["title"]) == ("validation_error", message, title)
    assert error["details"] == {"territory": "ZZ"}


# --- the presigned import: whose key, and S3 failing


def s3(aws):
    return boto3.client("s3", endpoint_url=aws.endpoint_url)


def stored(aws, key: str) -> bool:
    return key in [o["Key"] for o in s3(aws).list_objects_v2(Bucket=aws.bucket).get("Contents", [])]


def uploaded_by(owner) -> str:
    """A territories file uploaded through the presigned POST `owner` started; its key."""
    upload = call("POST", "/api/v1/territories/uploads", user=owner).body
    data = json.dumps(HIERARCHY).encode()
    posted = httpx.post(
        upload["url"], data=upload["fields"], files={"file": ("t.geojson", data, "application/geo+json")}
    )
    assert posted.status_code in (200, 201, 204), posted.text
    return upload["upload_key"]


def import_key(user, key: str):
    return call("POST", "/api/v1/territories", user=user, body={"upload_key": key})


def refused_as_bad_key(answer) -> None:
    assert answer.status == 422, answer.body
    assert (answer.error["code"], answer.error["details"]["reason"]) == ("validation_error", "bad_upload_key")
    # the catalogue's words (territory.refusal.bad_upload_key), in Spanish: nothing stated
    assert answer.error["message"] == "upload_key no corresponde a un archivo de territorios que usted subió"


def test_another_admins_upload_is_refused_and_left_to_its_owner(admin, upload_env):
    key = uploaded_by(admin)
    other = make_user("admin")

    refused = import_key(other, key)

    refused_as_bad_key(refused)
    assert stored(upload_env, key)  # refused before S3 was asked: the owner's file is still there
    assert sql("SELECT count(*) FROM territories")[0][0] == 0
    mine = import_key(admin, key)
    assert mine.status == 200, mine.body
    assert (mine.body["created"], mine.body["updated"]) == (4, 0)


def test_a_key_climbing_out_of_the_callers_folder_is_refused_before_s3_is_asked(admin, upload_env):
    # A territories file stored at a key that starts with the admin's folder but climbs out of it ("..": S3
    # keys are literal, so such an object can exist; it is no upload the admin started)
    other = make_user("admin")
    key = f"territories/{admin.id}/../{other.id}/{uuid.uuid4()}.geojson"
    s3(upload_env).put_object(Bucket=upload_env.bucket, Key=key, Body=json.dumps(HIERARCHY).encode())

    refused = import_key(admin, key)

    refused_as_bad_key(refused)
    assert stored(upload_env, key)
    assert sql("SELECT count(*) FROM territories")[0][0] == 0


def unavailable(answer) -> None:
    """503 in the envelope (docs/openapi.json: ErrorDetail's message is a string), told apart by its code."""
    assert answer.status == 503, answer.body
    error = answer.error
    assert (error["code"], error["status"], error["type"]) == (
        "dependency_unavailable",
        503,
        "DependencyUnavailable",
    )
    assert isinstance(error["message"], str) and error["message"]
    assert error["title"] == "Un servicio necesario no está disponible"  # nothing stated: Spanish
    assert sql("SELECT count(*) FROM territories")[0][0] == 0


def test_a_bucket_s3_does_not_have_is_503_not_a_bad_key(admin, monkeypatch):
    # S3 answers NoSuchBucket: storage is misconfigured or gone, which is no fault of the key
    monkeypatch.setenv("IMAGES_BUCKET", f"sentrix-no-such-{uuid.uuid4().hex[:12]}")
    reset_caches()

    unavailable(import_key(admin, f"territories/{admin.id}/{uuid.uuid4()}.geojson"))


def test_s3_out_of_reach_is_503(admin, monkeypatch):
    # Nothing listens on the endpoint: the client cannot connect (botocore's EndpointConnectionError)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    reset_caches()

    unavailable(import_key(admin, f"territories/{admin.id}/{uuid.uuid4()}.geojson"))
