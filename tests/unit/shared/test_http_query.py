"""Strict query strings: the names a route declares (its own, its dependencies', aliases, query models) are
accepted; anything else, or a repeat of a parameter that is not a list, is a 422 in the envelope."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from sentrix.config import Settings
from sentrix.http.app import create_app, lambda_handler
from sentrix_local.gateway import proxy_event
from tests.builders import LambdaContext

router = APIRouter(prefix="/api/v1")


def shared_filters(since: str | None = Query(None), date_from: str | None = Query(None, alias="from")) -> dict:
    return {"since": since, "from": date_from}


class Paging(BaseModel):
    limit: int = 10
    offset: int = 0


@router.get("/items")
def items(
    status: list[str] = Query(default=[]),
    bbox: str | None = Query(None),
    filters: dict = Depends(shared_filters),
) -> dict:
    return {"status": status, "bbox": bbox, **filters}


@router.get("/paged")
def paged(paging: Annotated[Paging, Query()]) -> dict:
    return paging.model_dump()


@router.post("/items")
def create(dry_run: bool = Query(False)) -> dict:
    return {"dry_run": dry_run}


def invoke(method: str, path: str, query: str, *, strict: bool = True) -> tuple[int, dict]:
    app = create_app("test", [router], settings=Settings(environment="development"), strict_query=strict)
    event = proxy_event(method, path, path, query=query, headers={}, body=b"", source_ip="203.0.113.7")
    response = lambda_handler(app)(event, LambdaContext("test", 30))
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize(
    "query",
    ["", "status=a&status=b", "bbox=1,2,3,4&since=2026-01-01", "from=2026-01-01", "status=a&from=x&bbox=y&since=z"],
)
def test_declared_parameters_of_the_route_and_its_dependencies_are_accepted(query):
    assert invoke("GET", "/api/v1/items", query)[0] == 200


def test_an_unknown_parameter_is_a_422_naming_it_and_the_accepted_ones():
    status, body = invoke("GET", "/api/v1/items", "bbox=1,2,3,4&statuss=a&active_only=1")
    error = body["error"]
    assert (status, error["code"]) == (422, "validation_error")
    assert error["details"]["unknown"] == ["active_only", "statuss"]
    assert error["details"]["allowed"] == ["bbox", "from", "since", "status"]
    assert "active_only" in error["message"] and "statuss" in error["message"]


def test_the_python_name_of_an_aliased_parameter_is_not_accepted():
    status, body = invoke("GET", "/api/v1/items", "date_from=2026-01-01")
    assert (status, body["error"]["details"]["unknown"]) == (422, ["date_from"])


def test_a_repeated_parameter_that_is_not_a_list_is_a_422():
    status, body = invoke("GET", "/api/v1/items", "bbox=1,2,3,4&bbox=5,6,7,8&status=a&status=b")
    assert status == 422
    assert body["error"]["details"]["repeated"] == ["bbox"] and body["error"]["details"]["unknown"] == []


def test_the_fields_of_a_query_model_are_accepted():
    assert invoke("GET", "/api/v1/paged", "limit=5&offset=10") == (200, {"limit": 5, "offset": 10})
    status, body = invoke("GET", "/api/v1/paged", "limit=5&page=2")
    assert (status, body["error"]["details"]["unknown"]) == (422, ["page"])


def test_other_methods_are_strict_too_and_apps_that_do_not_ask_are_not():
    assert invoke("POST", "/api/v1/items", "dry_run=true")[0] == 200
    assert invoke("POST", "/api/v1/items", "dryrun=true")[0] == 422
    assert invoke("GET", "/api/v1/items", "anything=1", strict=False)[0] == 200
