"""The envelope survives what clients can smuggle into an error: inf/NaN in details, NUL bytes the database refuses.

Both were 500s found by the security suite (tests/security/test_inputs.py): `radius_m=1e999` echoed back as
`inf` broke JSON rendering, and a NUL in any free-text field made PostgreSQL refuse the statement.
"""

from __future__ import annotations

import json

from fastapi import APIRouter
from sqlalchemy.exc import DataError, ProgrammingError

from sentrix.config import Settings
from sentrix.db.engine import raise_typed
from sentrix.errors import ValidationFailed
from sentrix.http.app import create_app, lambda_handler
from tests.builders import LambdaContext, api_event

router = APIRouter(prefix="/api/v1")


class PgError(Exception):
    """What pg8000 raises: the server's error fields as a dict in args[0]."""


@router.get("/infinite")
def infinite() -> None:
    raise ValidationFailed("radius_m must be finite", details={"radius_m": float("inf"), "near": [float("nan")]})


@router.get("/nul")
def nul() -> None:
    # What session_scope / read_scope do with a database error: the typed error first, else the original.
    error = ProgrammingError("INSERT …", {}, PgError({"S": "ERROR", "C": "22021", "M": "invalid byte sequence"}))
    raise_typed(error)
    raise error


@router.get("/division")
def division() -> None:
    raise DataError("SELECT 1/0", {}, PgError({"S": "ERROR", "C": "22012", "M": "division by zero"}))


def call(path: str) -> tuple[int, dict]:
    handler = lambda_handler(create_app("test", [router], settings=Settings(environment="production")))
    response = handler(api_event("GET", f"/api/v1{path}"), LambdaContext("test", 30))
    return response["statusCode"], json.loads(response["body"])


def test_non_finite_numbers_in_details_become_text():
    status, body = call("/infinite")
    assert status == 422
    assert body["error"]["details"] == {"radius_m": "inf", "near": ["nan"]}


def test_text_the_database_cannot_store_is_the_clients_422():
    status, body = call("/nul")
    assert status == 422
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["message"] == "Text values may not contain NUL (\\u0000) characters"


def test_other_database_data_errors_stay_500s():
    # A division by zero is our bug, not the client's: it must not be disguised as a 422.
    status, body = call("/division")
    assert status == 500
    assert body["error"]["code"] == "internal_error"
