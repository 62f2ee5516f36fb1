"""Presigned S3 GETs and POSTs without boto3 (issue 21, cold start): SigV4 signing, as botocore writes it.

A read presigns its image URLs and an intake presigns a POST; with boto3 that is its import (~200 ms) and an S3
client (~100 ms) on the first request of every cold environment. Signing is a few HMACs: this module writes the
URL and the form fields byte for byte as botocore's `generate_presigned_url("get_object", ...)` and
`generate_presigned_post(...)` do with our client's configuration (SigV4, the global
`https://<bucket>.s3.amazonaws.com/` host, or path style on an endpoint override such as moto's), which
tests/unit/shared/test_sigv4.py checks against botocore itself at a frozen clock.

It signs only when the answer is certain to be botocore's: credentials in the environment (Lambda's role
credentials are `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, which botocore also reads
first) and a bucket name that is one DNS label. Anything else — credentials from a profile or the container
credentials endpoint (SnapStart functions get theirs that way), a dotted bucket, an endpoint with a path, an
endpoint, FIPS, dual-stack or config-file setting in the environment that botocore would apply —
returns None, and the caller signs through boto3 as before. Nothing is cached: credentials are read on every
call, so nothing survives a SnapStart restore.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
# Bucket names botocore addresses virtual-host style on the global endpoint (one lowercase DNS label).
_DNS_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Settings botocore reads from the environment that would move or reshape the URL when no endpoint is given.
_ENDPOINT_OVERRIDES = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_S3_US_EAST_1_REGIONAL_ENDPOINT",
    "AWS_CONFIG_FILE",
)


def _quote(value: str) -> str:
    return quote(value.encode("utf-8"), safe="-_.~")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _host(scheme: str, hostname: str, port: int | None) -> str:
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        return f"{hostname}:{port}"
    return hostname


@dataclass(frozen=True)
class _Signer:
    """Credentials from the environment and where the bucket is addressed, or nothing to sign with."""

    access_key: str
    secret_key: str
    token: str | None
    scheme: str
    host: str
    bucket_path: str  # "" (virtual host) or "/<bucket>" (path style)

    @classmethod
    def resolve(cls, bucket: str, endpoint_url: str | None, env: Mapping[str, str]) -> _Signer | None:
        access_key, secret_key = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        if not access_key or not secret_key:
            return None
        token = env.get("AWS_SESSION_TOKEN") or None
        if token is None and env.get("AWS_SECURITY_TOKEN"):
            return None  # botocore's legacy name for the token: leave it to botocore
        if endpoint_url:
            parts = urlsplit(endpoint_url)
            if parts.path not in ("", "/") or parts.query or not parts.hostname or parts.scheme not in _DEFAULT_PORTS:
                return None
            host = _host(parts.scheme, parts.hostname, parts.port)
            return cls(access_key, secret_key, token, parts.scheme, host, f"/{bucket}")
        if not _DNS_LABEL.match(bucket) or any(env.get(name) for name in _ENDPOINT_OVERRIDES):
            return None
        return cls(access_key, secret_key, token, "https", f"{bucket}.s3.amazonaws.com", "")

    def signature(self, stamp: str, region: str, string_to_sign: str) -> str:
        key = _hmac(_hmac(_hmac(f"AWS4{self.secret_key}".encode(), stamp[:8]), region), "s3")
        return hmac.new(_hmac(key, "aws4_request"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def presigned_post(
    bucket: str,
    key: str,
    fields: Mapping[str, str],
    conditions: list[Any],
    expires_in: int,
    *,
    region: str,
    endpoint_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """`{"url", "fields"}` of a presigned POST of exactly `key` (botocore's `generate_presigned_post` answer), or
    None when boto3 must sign it (module docstring)."""
    signer = _Signer.resolve(bucket, endpoint_url, os.environ if environ is None else environ)
    if signer is None or key.endswith("${filename}"):
        return None
    at = now or datetime.now(UTC)
    stamp = at.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{signer.access_key}/{stamp[:8]}/{region}/s3/aws4_request"
    form = {**fields, "key": key, "x-amz-algorithm": ALGORITHM, "x-amz-credential": credential, "x-amz-date": stamp}
    signed = [*conditions, {"bucket": bucket}, {"key": key}]
    signed += [{"x-amz-algorithm": ALGORITHM}, {"x-amz-credential": credential}, {"x-amz-date": stamp}]
    if signer.token is not None:
        form["x-amz-security-token"] = signer.token
        signed.append({"x-amz-security-token": signer.token})
    expiration = (at + timedelta(seconds=expires_in)).strftime("%Y-%m-%dT%H:%M:%SZ")
    form["policy"] = base64.b64encode(json.dumps({"expiration": expiration, "conditions": signed}).encode()).decode()
    form["x-amz-signature"] = signer.signature(stamp, region, form["policy"])
    url = f"{signer.scheme}://{signer.host}{signer.bucket_path or '/'}"
    return {"url": url, "fields": form}


def presigned_get(
    bucket: str,
    key: str,
    expires_in: int,
    *,
    region: str,
    endpoint_url: str | None = None,
    response_params: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> str | None:
    """A presigned GET of `key` valid `expires_in` seconds, or None when boto3 must sign it (module docstring).

    `response_params`: S3's `response-content-type`, `response-content-disposition`, … query parameters."""
    signer = _Signer.resolve(bucket, endpoint_url, os.environ if environ is None else environ)
    if signer is None:
        return None
    path = signer.bucket_path + "/" + quote(key.encode("utf-8"), safe="/~")
    scheme, host, access_key, token = signer.scheme, signer.host, signer.access_key, signer.token
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    scope = f"{stamp[:8]}/{region}/s3/aws4_request"
    auth: dict[str, str] = {
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": f"{access_key}/{scope}",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": str(expires_in),
        "X-Amz-SignedHeaders": "host",
    }
    if token is not None:
        auth["X-Amz-Security-Token"] = token
    operation = dict(response_params or {})
    canonical_query = "&".join(
        f"{_quote(name)}={_quote(value)}" for name, value in sorted({**operation, **auth}.items())
    )
    canonical_request = "\n".join(["GET", path, canonical_query, f"host:{host}", "", "host", "UNSIGNED-PAYLOAD"])
    string_to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    signature = signer.signature(stamp, region, string_to_sign)
    # botocore's order: the operation's parameters as given, then the auth parameters, then the signature.
    query = "&".join(f"{_quote(name)}={_quote(value)}" for name, value in [*operation.items(), *auth.items()])
    return f"{scheme}://{host}{path}?{query}&X-Amz-Signature={signature}"
