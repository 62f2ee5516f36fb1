"""Forged, expired and misdirected tokens never get past the authorizer (401 from the gateway)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from sentrix.tokens import ALGORITHM, generate_private_key_pem, kid_of, public_key_pem
from tests.support.identity import access_token, claims_for, create_user, our_private_key

pytestmark = pytest.mark.integration


def signed(claims: dict, signing_key: Path, **headers) -> str:
    key = our_private_key(signing_key)
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid_of(key.public_key()), **headers})


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def get_me(api, token: str):
    return api.get("/me", headers={"Authorization": f"Bearer {token}"})


def test_a_genuine_token_passes(api, signing_key):
    user = create_user()
    assert get_me(api, signed(claims_for(user), signing_key)).status_code == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 120, "iat": int(time.time()) - 1000},  # expired beyond the leeway
        {"aud": "someone-else"},
        {"iss": "https://evil.example"},
        {"iat": int(time.time()) + 3600},  # issued in the future
        {"jti": None},  # a required claim missing
        {"role": "superuser"},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "future-iat", "missing-jti", "unknown-role"],
)
def test_tokens_with_bad_claims_are_refused(api, signing_key, overrides):
    user = create_user()
    response = get_me(api, signed(claims_for(user, **overrides), signing_key))
    assert response.status_code == 401
    # The gateway's own answer (infra/template.yaml GatewayResponses UNAUTHORIZED): no handler ran.
    assert {k: response.json()["error"][k] for k in ("code", "type")} == {"code": "unauthorized", "type": "gateway"}


def test_a_tampered_payload_is_refused(api):
    user = create_user()
    header, _payload, signature = access_token(user).split(".")
    forged = claims_for(user, role="admin")
    assert get_me(api, f"{header}.{b64(forged)}.{signature}").status_code == 401


def test_alg_none_is_refused(api):
    user = create_user()
    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_for(user, role='admin'))}."
    assert get_me(api, token).status_code == 401


def test_hs256_signed_with_our_public_key_is_refused(api, signing_key):
    # The classic confusion attack: the public key is public, so an HMAC "signed" with it proves nothing.
    user = create_user()
    public_pem = public_key_pem(signing_key.read_text())
    kid = kid_of(our_private_key(signing_key).public_key())
    header = b64({"alg": "HS256", "typ": "JWT", "kid": kid})
    payload = b64(claims_for(user, role="admin"))
    import hashlib
    import hmac

    mac = hmac.new(public_pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert get_me(api, token).status_code == 401


def test_a_token_signed_by_another_key_is_refused(api, tmp_path):
    user = create_user()
    stranger = serialization.load_pem_private_key(generate_private_key_pem().encode(), password=None)
    token = jwt.encode(claims_for(user), stranger, algorithm=ALGORITHM, headers={"kid": kid_of(stranger.public_key())})
    assert get_me(api, token).status_code == 401


def test_another_key_claiming_our_kid_is_refused(api, signing_key):
    user = create_user()
    stranger = serialization.load_pem_private_key(generate_private_key_pem().encode(), password=None)
    ours = kid_of(our_private_key(signing_key).public_key())
    token = jwt.encode(claims_for(user), stranger, algorithm=ALGORITHM, headers={"kid": ours})
    assert get_me(api, token).status_code == 401


@pytest.mark.parametrize("header", ["Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "Token abc"])
def test_malformed_authorization_headers_are_refused(api, header):
    assert api.get("/me", headers={"Authorization": header}).status_code == 401


def test_no_authorization_header_is_refused(api):
    assert api.get("/me").status_code == 401
