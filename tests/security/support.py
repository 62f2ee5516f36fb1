"""Shared material of the security suite: forged tokens, exact-refusal checks, DB/S3 snapshots, S3's POST policy rules.

Every refusal the suite asserts is exact: the gateway's own `{"message": ...}` answer when the authorizer or the
route table refuses (no handler ran), or the error envelope with its status and stable `code` when a function does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from sentrix.tokens import ALGORITHM, generate_private_key_pem, kid_of
from tests.support.identity import claims_for, our_private_key  # noqa: F401 - claims_for re-exported for the suite

# Tables whose rows a refused request must leave alone (rate_limit_hits counts attempts on purpose).
DOMAIN_TABLES = (
    "users",
    "refresh_tokens",
    "user_settings",
    "analyses",
    "detections",
    "sites",
    "site_actions",
    "territories",
    "official_territories",
    "visits",
    "visit_containers",
    "visit_sites",
    "visit_analyses",
)
ENVELOPE_KEYS = {"id", "code", "status", "message", "type", "timestamp"}


# --------------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------------
def _envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code} != {status}: {response.text[:500]}"
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert ENVELOPE_KEYS <= set(error) <= ENVELOPE_KEYS | {"details", "title"}, error
    assert error["code"] == code, error
    assert error["status"] == status, error
    return error


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert an error envelope with exactly this status and code (and nothing internal in it); return it."""
    error = _envelope(response, status, code)
    assert response.headers.get("x-request-id"), "every function answer carries X-Request-ID"
    return error


def gateway_refused(response: httpx.Response, status: int = 401, code: str = "unauthorized") -> dict[str, Any]:
    """Assert the gateway's own refusal (the authorizer said no, no route, too large): no function ran.

    API Gateway answers it from the template's GatewayResponses, in the functions' envelope but typed "gateway";
    its id is API Gateway's request id (x-amzn-RequestId). X-Request-ID comes back only when the client sent one:
    a gateway response can map request headers, not generate a value.
    """
    error = _envelope(response, status, code)
    assert error["type"] == "gateway", error
    assert error["id"] == response.headers["x-amzn-requestid"], error
    return error


def never_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"


# --------------------------------------------------------------------------------------------------
# State snapshots: "nothing changed" is checked on every domain row and every object
# --------------------------------------------------------------------------------------------------
def db_snapshot() -> dict[str, tuple[int, str]]:
    """Row count and an order-independent digest of every domain table."""
    from sqlalchemy import text

    from sentrix.db.engine import get_engine

    digest = {}
    with get_engine().connect() as connection:
        for table in DOMAIN_TABLES:
            count, md5 = connection.execute(
                # Table names come from DOMAIN_TABLES above, never from input.
                text(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t")  # noqa: S608
            ).one()
            digest[table] = (count, md5)
    return digest


def s3_snapshot(s3: Any, bucket: str) -> dict[str, str]:
    """Key → ETag of every object in the bucket."""
    found: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"]
    return found


def user_role(user_id: uuid.UUID) -> str:
    from sqlalchemy import text

    from sentrix.db.engine import get_engine

    with get_engine().connect() as connection:
        return connection.execute(text("SELECT role::text FROM users WHERE id = :id"), {"id": user_id}).scalar_one()


def analysis_state(analysis_id: uuid.UUID | str) -> tuple[str, str | None] | None:
    """(status, failure_reason) of an analysis, or None if there is no such row."""
    from sqlalchemy import text

    from sentrix.db.engine import get_engine

    with get_engine().connect() as connection:
        row = connection.execute(
            text("SELECT status::text, failure_reason FROM analyses WHERE id = :id"), {"id": str(analysis_id)}
        ).first()
    return None if row is None else (row[0], row[1])


def analysis_count() -> int:
    from sqlalchemy import text

    from sentrix.db.engine import get_engine

    with get_engine().connect() as connection:
        return connection.execute(text("SELECT count(*) FROM analyses")).scalar_one()


# --------------------------------------------------------------------------------------------------
# Tokens: genuine claims, then every way of bending them
# --------------------------------------------------------------------------------------------------
def b64url(data: bytes | dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign_with_our_key(claims: dict[str, Any], signing_key: Path, **headers: Any) -> str:
    """A token signed by the real key (so only the claims or headers can be wrong)."""
    key = our_private_key(signing_key)
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid_of(key.public_key()), **headers})


def stranger_key():
    return serialization.load_pem_private_key(generate_private_key_pem().encode(), password=None)


def hs256_with_public_key(claims: dict[str, Any], signing_key: Path, secret_form: str = "pem") -> str:  # noqa: S107
    """The key-confusion forgery: HMAC-SHA256 keyed with our *public* key, under our kid."""
    public = our_private_key(signing_key).public_key()
    secret = {
        "pem": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "der": public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
    }[secret_form]
    header = b64url({"alg": "HS256", "typ": "JWT", "kid": kid_of(public)})
    payload = b64url(claims)
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(mac)}"


def unsigned(claims: dict[str, Any], alg: str = "none", kid: str | None = None) -> str:
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid:
        header["kid"] = kid
    return f"{b64url(header)}.{b64url(claims)}."


def with_payload(token: str, claims: dict[str, Any]) -> str:
    """`token`'s header and signature around another payload (tampering)."""
    header, _payload, signature = token.split(".")
    return f"{header}.{b64url(claims)}.{signature}"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------------------------------
# S3's POST policy rules (moto accepts any form; real S3 checks these, so the suite checks the document)
# --------------------------------------------------------------------------------------------------
# Form fields S3 does not require a condition for.
_UNCONDITIONED = {"policy", "x-amz-signature", "file", "awsaccesskeyid", "signature"}


@dataclass(frozen=True)
class PostAttempt:
    """What a browser form would send: its fields (as the client chose them), the bucket and the file size."""

    fields: dict[str, str]
    bucket: str
    size: int
    at: datetime | None = None


def policy_violations(policy: dict[str, Any], attempt: PostAttempt) -> list[str]:
    """Why S3 would refuse this POST under this policy (empty: S3 accepts it). AWS's documented semantics."""
    problems: list[str] = []
    now = attempt.at or datetime.now(UTC)
    if datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00")) <= now:
        problems.append("policy expired")
    form = {k.lower(): v for k, v in attempt.fields.items()}
    form["bucket"] = attempt.bucket
    covered = {"bucket"}
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            [(name, expected)] = condition.items()
            op, name = "eq", name.lower()
        elif condition[0] == "content-length-range":
            _, low, high = condition
            if not low <= attempt.size <= high:
                problems.append(f"content-length {attempt.size} outside [{low}, {high}]")
            continue
        else:
            op, name, expected = condition[0], condition[1].lstrip("$").lower(), condition[2]
        covered.add(name)
        value = form.get(name)
        if value is None:
            problems.append(f"{name} missing")
        elif op == "eq" and value != expected:
            problems.append(f"{name} {value!r} != {expected!r}")
        elif op == "starts-with" and not value.startswith(expected):
            problems.append(f"{name} {value!r} does not start with {expected!r}")
    extra = sorted(k for k in form if k not in covered and k not in _UNCONDITIONED and not k.startswith("x-ignore-"))
    if extra:
        problems.append(f"extra input fields: {extra}")
    return problems


def signature_matches(fields: dict[str, str], secret_key: str) -> bool:
    """Recompute the SigV4 signature of the policy: only our credentials can produce one for an edited policy."""
    _access, day, region, service, _term = fields["x-amz-credential"].split("/")
    key = f"AWS4{secret_key}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, fields["policy"].encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["x-amz-signature"])


# --------------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------------
def jpeg(size: tuple[int, int] = (320, 240), seed: int = 60) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise(size, seed).convert("RGB").save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def png(size: tuple[int, int] = (160, 120)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()
