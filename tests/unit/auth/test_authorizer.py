"""The authorizer: whole-API policy, string context, the 401 contract, and its import diet."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from sentrix import tokens
from sentrix_auth import authorizer
from tests.conftest import REPO_ROOT

ARN = "arn:aws:execute-api:sa-east-1:123456789012:a1b2c3/v1/GET/api/v1/analyses/abc"


@pytest.fixture
def key_env(tmp_path, monkeypatch):
    path = tokens.write_key_file(tmp_path / "k.pem")
    monkeypatch.setenv(tokens.KEY_FILE_ENV, str(path))
    monkeypatch.delenv(tokens.KEY_SECRET_ENV, raising=False)
    monkeypatch.delenv(tokens.PUBLIC_KEYS_SECRET_ENV, raising=False)
    monkeypatch.setenv("AUTH_PROVIDER", "builtin")
    tokens.reset_key_cache()
    yield path
    tokens.reset_key_cache()


def test_a_valid_token_gets_an_api_wide_allow_with_string_context(key_env):
    user_id = uuid.uuid4()
    token = tokens.issue_access_token(user_id=user_id, role="expert", email="e@example.org").token
    answer = authorizer.handler({"headers": {"Authorization": f"Bearer {token}"}, "methodArn": ARN}, None)
    statement = answer["policyDocument"]["Statement"][0]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:sa-east-1:123456789012:a1b2c3/v1/*",
    }
    assert answer["principalId"] == str(user_id)
    assert answer["context"]["role"] == "expert" and answer["context"]["email"] == "e@example.org"
    assert all(isinstance(v, str) for v in answer["context"].values())


@pytest.mark.parametrize(
    "headers", [{}, {"authorization": "Basic abc"}, {"Authorization": "Bearer "}, {"Authorization": "Bearer x.y.z"}]
)
def test_anything_else_is_unauthorized(key_env, headers):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler({"headers": headers, "methodArn": ARN}, None)


def test_a_bad_method_arn_is_unauthorized_not_a_crash(key_env):
    token = tokens.issue_access_token(user_id=uuid.uuid4(), role="user", email=None).token
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.handler({"headers": {"authorization": f"bearer {token}"}, "methodArn": "nonsense"}, None)


def test_missing_keys_are_a_500_not_a_401(key_env, monkeypatch):
    token = tokens.issue_access_token(user_id=uuid.uuid4(), role="user", email=None).token
    monkeypatch.delenv(tokens.KEY_FILE_ENV)
    tokens.reset_key_cache()
    with pytest.raises(RuntimeError):
        authorizer.handler({"headers": {"Authorization": f"Bearer {token}"}, "methodArn": ARN}, None)


def test_importing_the_authorizer_pulls_no_heavy_framework():
    code = (
        "import json, sys; import sentrix_auth.authorizer; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    path = f"{REPO_ROOT / 'layers/shared'}:{REPO_ROOT / 'functions/auth'}"
    out = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": path}, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(out.stdout))
    forbidden = {
        "fastapi",
        "starlette",
        "sqlalchemy",
        "pydantic",
        "pydantic_settings",
        "supabase",
        "supabase_auth",
        "boto3",
        "aws_lambda_powertools",
        "httpx",
    }
    assert not loaded & forbidden, loaded & forbidden
    assert {"jwt", "cryptography", "sentrix"} <= loaded
