"""The shared identity helpers other suites rely on: real users, real tokens, the authorizer's own context."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI

from sentrix.domain.roles import Role
from sentrix.http.identity import Principal, current_principal, require_role
from sentrix.passwords import verify_password
from sentrix.tokens import verify_access_token
from sentrix_auth.authorizer import handler as authorizer
from tests.builders import LambdaContext, api_event
from tests.support.identity import DEFAULT_PASSWORD, authorizer_context, bearer, create_user

pytestmark = pytest.mark.integration


def test_create_user_stores_a_real_hash_and_server_defaults(clean_db):
    user = create_user(role="expert", email="Ana@Example.org")
    assert user.role is Role.EXPERT and user.is_active
    assert user.created_at is not None
    assert verify_password(user.password_hash, DEFAULT_PASSWORD)


def test_bearer_carries_a_verifiable_token(clean_db):
    user = create_user()
    token = bearer(user)["Authorization"].removeprefix("Bearer ")
    claims = verify_access_token(token)
    assert claims.user_id == user.id and claims.role is Role.USER and claims.email == user.email


def test_authorizer_context_is_what_the_authorizer_returns(clean_db):
    user = create_user(role="admin")
    event = {"headers": bearer(user), "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc/v1/GET/me"}
    answer = authorizer(event, LambdaContext("authorizer", 10))
    expected = authorizer_context(user)
    assert {k: v for k, v in expected.items() if k != "iat"} == {
        **{k: v for k, v in answer["context"].items() if k != "iat"},
        "principalId": answer["principalId"],
    }
    assert abs(int(expected["iat"]) - int(answer["context"]["iat"])) <= 2


def test_handler_level_tests_see_the_principal(clean_db):
    from sentrix.http.app import create_app, lambda_handler

    app = FastAPI()
    app = create_app("t", [])

    @app.get("/api/v1/whoami")
    def whoami(principal: Principal = Depends(current_principal)) -> dict:
        return {"id": str(principal.user_id), "role": principal.role.value}

    @app.get("/api/v1/admin-only")
    def admin_only(principal: Principal = Depends(require_role(Role.ADMIN))) -> dict:
        return {"ok": True}

    handler = lambda_handler(app)
    expert = create_user(role="expert")
    response = handler(
        api_event("GET", "/api/v1/whoami", authorizer=authorizer_context(expert)), LambdaContext("t", 29)
    )
    assert response["statusCode"] == 200, response
    assert '"role":"expert"' in response["body"]
    denied = handler(
        api_event("GET", "/api/v1/admin-only", authorizer=authorizer_context(expert)), LambdaContext("t", 29)
    )
    assert denied["statusCode"] == 403
