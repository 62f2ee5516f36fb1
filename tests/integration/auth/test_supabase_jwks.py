"""Supabase's asymmetric keys (SUPABASE_JWKS_URL), fetched over real HTTP by the real authorizer handler.

The test serves a JWKS holding one P-256 key (ES256) and one RSA key (RS256) on a local HTTP server, signs
tokens with its own private keys, and asks the authorizer: a token signed by the configured algorithm's key is
allowed; a wrong kid, algorithm, issuer, audience, an expired token or a wrong signature is refused (401).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.support.environ import restore_environ, saved_environ

pytestmark = pytest.mark.integration

PROJECT = "https://abcd1234.supabase.example"
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:api123/prod/GET/me"
EC_KID, RSA_KID = "ec-key-1", "rsa-key-1"
SETTINGS = ("AUTH_PROVIDER", "SUPABASE_URL", "SUPABASE_JWKS_URL", "SUPABASE_JWT_ALGORITHM", "SUPABASE_JWT_SECRET")


@dataclass
class Jwks:
    url: str
    ec_key: Any
    rsa_key: Any
    requests: list[str]


@pytest.fixture(scope="module")
def jwks() -> Iterator[Jwks]:
    """A JWKS endpoint on a free loopback port, serving the public halves of a fresh EC and RSA key."""
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = [
        {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": EC_KID, "alg": "ES256", "use": "sig"},
        {**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": RSA_KID, "alg": "RS256", "use": "sig"},
    ]
    document = json.dumps({"keys": keys}).encode()
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            if self.path != "/auth/v1/.well-known/jwks.json":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Jwks(
            f"http://127.0.0.1:{server.server_address[1]}/auth/v1/.well-known/jwks.json", ec_key, rsa_key, requests
        )
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def supabase_mode(jwks) -> Iterator[Any]:
    """AUTH_PROVIDER=supabase with the JWKS above; `configure("RS256")` switches the pinned algorithm."""
    from sentrix_auth.adapters.supabase_tokens import _jwks_client

    saved = saved_environ(SETTINGS)
    os.environ.update({"AUTH_PROVIDER": "supabase", "SUPABASE_URL": PROJECT, "SUPABASE_JWKS_URL": jwks.url})
    os.environ.pop("SUPABASE_JWT_SECRET", None)

    def configure(algorithm: str) -> None:
        os.environ["SUPABASE_JWT_ALGORITHM"] = algorithm

    configure("ES256")
    _jwks_client.cache_clear()
    yield configure
    restore_environ(saved)
    _jwks_client.cache_clear()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": str(uuid.uuid4()),
        "email": "vecina@example.org",
        "aud": "authenticated",
        "iss": f"{PROJECT}/auth/v1",
        "iat": now,
        "exp": now + 600,
        "role": "authenticated",
        "session_id": str(uuid.uuid4()),
        **overrides,
    }


def sign(jwks: Jwks, algorithm: str, kid: str | None = None, **overrides: Any) -> tuple[str, dict]:
    key = jwks.ec_key if algorithm == "ES256" else jwks.rsa_key
    kid = kid or (EC_KID if algorithm == "ES256" else RSA_KID)
    body = claims(**overrides)
    return jwt.encode(body, key, algorithm=algorithm, headers={"kid": kid}), body


def authorize(token: str) -> dict[str, Any]:
    from sentrix_auth.authorizer import handler

    event = {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": {"Authorization": f"Bearer {token}"}}
    return handler(event, None)


def refused(token: str) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(token)


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_a_token_signed_by_the_projects_key_is_allowed(supabase_mode, jwks, algorithm):
    supabase_mode(algorithm)
    token, body = sign(jwks, algorithm)

    policy = authorize(token)

    assert policy["principalId"] == body["sub"]
    assert (
        policy["policyDocument"]["Statement"][0]["Resource"]
        == "arn:aws:execute-api:us-east-1:123456789012:api123/prod/*"
    )
    assert policy["context"]["user_id"] == body["sub"]
    assert policy["context"]["email"] == "vecina@example.org"
    assert policy["context"]["iat"] == str(body["iat"])
    assert "/auth/v1/.well-known/jwks.json" in jwks.requests  # the keys came over HTTP


@pytest.mark.parametrize(("configured", "other"), [("ES256", "RS256"), ("RS256", "ES256")])
def test_the_other_algorithm_is_refused_even_with_a_key_in_the_set(supabase_mode, jwks, configured, other):
    supabase_mode(configured)
    token, _ = sign(jwks, other)
    refused(token)


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_an_unknown_kid_is_refused(supabase_mode, jwks, algorithm):
    supabase_mode(algorithm)
    token, _ = sign(jwks, algorithm, kid="not-in-the-set")
    refused(token)


def test_a_known_kid_on_a_signature_by_another_key_is_refused(supabase_mode, jwks):
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(claims(), stranger, algorithm="ES256", headers={"kid": EC_KID})
    refused(token)


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "https://another-project.supabase.example/auth/v1"},
        {"aud": "anon"},
        # Expired well beyond the 30 s leeway (AUTH_CLOCK_LEEWAY_S, docs/auth.md).
        {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
    ],
    ids=["wrong issuer", "wrong audience", "expired"],
)
def test_wrong_issuer_audience_or_an_expired_token_is_refused(supabase_mode, jwks, algorithm, overrides):
    supabase_mode(algorithm)
    token, _ = sign(jwks, algorithm, **overrides)
    refused(token)


def test_the_same_claims_pass_once_the_claim_is_right(supabase_mode, jwks):
    # The refusals above are the claims' doing: the same signing path with the right claims is allowed.
    token, body = sign(jwks, "ES256", aud="authenticated", iss=f"{PROJECT}/auth/v1")
    assert authorize(token)["principalId"] == body["sub"]
