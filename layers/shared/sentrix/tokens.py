"""Access tokens: ES256 JWTs signed with the active key, verified against the active and previous keys by `kid`.

Stdlib, PyJWT and cryptography only (no pydantic, no boto3 at import): the authorizer imports this on every
cold start. Key material is read once per execution environment, from one of two sets:

- The private set (signing; the auth function only): a PEM/JSON file locally (`AUTH_SIGNING_KEY_FILE`) or a
  Secrets Manager secret in the cloud (`AUTH_SIGNING_KEY_SECRET_ARN`). Either one PEM private key, or JSON
  `{"active": "<PEM private key>", "previous": ["<PEM public key>", ...]}`: rotation moves the active key's
  public half into `previous`, so tokens it signed stay valid.
- The public set (verifying; the authorizer and every function that checks a token itself): a Secrets
  Manager secret in the cloud (`AUTH_PUBLIC_KEYS_SECRET_ARN`), JSON `{"keys": {"<kid>": "<PEM public key>",
  ...}}`, written by `sentrix_auth.keytool` from the private set. Locally, with only the key file, verifiers
  take the public halves of that file and drop the private key. A verifier never falls back to the private
  secret: a stolen verifier must not be able to mint tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sentrix.domain.roles import Role

if TYPE_CHECKING:  # pathlib is not on the authorizer's path to a verdict (its cold start: docs/infra.md)
    from pathlib import Path

ALGORITHM = "ES256"  # the only algorithm accepted: no `none`, no HS/RS confusion
KEY_FILE_ENV = "AUTH_SIGNING_KEY_FILE"
KEY_SECRET_ENV = "AUTH_SIGNING_KEY_SECRET_ARN"  # noqa: S105 - an env var name
PUBLIC_KEYS_SECRET_ENV = "AUTH_PUBLIC_KEYS_SECRET_ARN"  # noqa: S105 - an env var name
# A verifier that meets an unknown kid re-reads the key set (a rotation happened), at most this often.
REFETCH_INTERVAL_S = 30.0
REQUIRED_CLAIMS = ("sub", "role", "iss", "aud", "exp", "iat", "jti")


class InvalidToken(Exception):
    """The token is malformed, expired, for someone else, or not signed by one of our keys."""


class KeysUnavailable(Exception):
    """No key material is configured or it cannot be read: a deployment fault, not the caller's."""


@dataclass(frozen=True)
class TokenSettings:
    """What issuing and verifying need; read from the environment with the stdlib (cheap, import-free)."""

    issuer: str = "sentrix"
    audience: str = "sentrix-api"
    access_ttl_s: int = 900
    leeway_s: int = 30
    key_file: str | None = None
    key_secret_arn: str | None = None
    public_keys_secret_arn: str | None = None
    aws_region: str = "us-east-1"
    aws_endpoint_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TokenSettings:
        env = os.environ if env is None else env
        ttl = int(env.get("ACCESS_TOKEN_TTL_S") or 900)
        if not 60 <= ttl <= 24 * 3600:
            raise KeysUnavailable("ACCESS_TOKEN_TTL_S must be between 60 and 86400")
        return cls(
            issuer=env.get("AUTH_ISSUER") or "sentrix",
            audience=env.get("AUTH_AUDIENCE") or "sentrix-api",
            access_ttl_s=ttl,
            leeway_s=int(env.get("AUTH_CLOCK_LEEWAY_S") or 30),
            key_file=env.get(KEY_FILE_ENV) or None,
            key_secret_arn=env.get(KEY_SECRET_ENV) or None,
            public_keys_secret_arn=env.get(PUBLIC_KEYS_SECRET_ENV) or None,
            aws_region=env.get("AWS_REGION") or "us-east-1",
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        )


@dataclass(frozen=True)
class KeySet:
    """The signing key (if this side signs) and every public key a token may be verified with, by kid."""

    signing_kid: str | None
    signing_key: ec.EllipticCurvePrivateKey | None
    public_keys: dict[str, ec.EllipticCurvePublicKey] = field(default_factory=dict)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    issued_at: int
    expires_in: int


@dataclass(frozen=True)
class AccessClaims:
    """The verified facts of an access token."""

    user_id: uuid.UUID
    role: Role
    email: str | None
    issued_at: int
    expires_at: int
    jti: str
    # The session (refresh-token family) the token belongs to; ending the session ends the token. None for
    # tokens that name no session (Supabase tokens, tokens minted outside a sign-in).
    session_id: uuid.UUID | None = None


# --------------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------------
def kid_of(public_key: ec.EllipticCurvePublicKey) -> str:
    """A stable key id: base64url SHA-256 of the public key (SubjectPublicKeyInfo DER), 16 characters."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode()[:16]


def generate_private_key_pem() -> str:
    """A fresh P-256 private key as PKCS#8 PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_key_pem(private_pem: str) -> str:
    """The public half of a PEM private key, as PEM."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return public_pem(key.public_key())


def write_key_file(path: Path) -> Path:
    """Generate a private key into `path` (owner-only permissions) unless one is already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(generate_private_key_pem())
    return path


def parse_key_set(text: str) -> KeySet:
    """Read a PEM private key or the JSON key-set format (see the module docstring)."""
    text = text.strip()
    try:
        if text.startswith("{"):
            data = json.loads(text)
            active, previous = data.get("active"), list(data.get("previous") or [])
        else:
            active, previous = text, []
        signing = serialization.load_pem_private_key(active.encode(), password=None) if active else None
        publics = [serialization.load_pem_public_key(pem.encode()) for pem in previous]
    except (ValueError, TypeError, AttributeError) as exc:
        raise KeysUnavailable("The signing key material is not a PEM key or a key-set JSON") from exc
    keys = [k for k in [signing.public_key() if signing else None, *publics] if k is not None]
    _check_curve(keys)
    signing_kid = kid_of(signing.public_key()) if signing else None
    return KeySet(signing_kid, signing, {kid_of(k): k for k in keys})


def _check_curve(keys: list[Any]) -> None:
    if not all(isinstance(k, ec.EllipticCurvePublicKey) and k.curve.name == "secp256r1" for k in keys):
        raise KeysUnavailable("Signing keys must be P-256 (ES256)")
    if not keys:
        raise KeysUnavailable("The key set holds no key")


def public_pem(key: ec.EllipticCurvePublicKey) -> str:
    """A public key as SubjectPublicKeyInfo PEM."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_key_set(keys: KeySet) -> dict[str, Any]:
    """The public set of a key set (active first, then previous): `{"keys": {"<kid>": "<PEM public key>"}}`."""
    return {"keys": {kid: public_pem(key) for kid, key in keys.public_keys.items()}}


def parse_public_key_set(text: str) -> KeySet:
    """Read the public set; refuse anything else (private keys, mislabelled kids, other curves)."""
    if "PRIVATE KEY" in text:
        # Checked on the raw text: a private key must never be accepted here, whatever field it sits in.
        raise KeysUnavailable("The public key set holds private key material")
    try:
        entries = json.loads(text)["keys"]
        publics = {kid: serialization.load_pem_public_key(pem.encode()) for kid, pem in entries.items()}
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise KeysUnavailable('The public key set is not {"keys": {"<kid>": "<PEM public key>"}}') from exc
    _check_curve(list(publics.values()))
    if any(kid_of(key) != kid for kid, key in publics.items()):
        raise KeysUnavailable("A kid of the public key set does not name its key")
    return KeySet(None, None, publics)


def _read_secret(settings: TokenSettings, secret_id: str) -> str:
    # boto3 is heavy: only the cloud path pays for it, once per execution environment.
    import boto3

    client = boto3.client(
        "secretsmanager", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url or None
    )
    return client.get_secret_value(SecretId=secret_id)["SecretString"]


def _read_key_file(settings: TokenSettings) -> str:
    try:
        with open(settings.key_file or "", encoding="utf-8") as handle:  # not pathlib: see the import above
            return handle.read()
    except OSError as exc:
        raise KeysUnavailable(f"{KEY_FILE_ENV} cannot be read") from exc


def _read_signing_keys(settings: TokenSettings) -> KeySet:
    if settings.key_secret_arn:
        try:
            text = _read_secret(settings, settings.key_secret_arn)
        except Exception as exc:  # any SDK failure means the same thing here: no keys
            raise KeysUnavailable("The signing key secret cannot be read") from exc
        return parse_key_set(text)
    if settings.key_file:
        return parse_key_set(_read_key_file(settings))
    raise KeysUnavailable(f"Neither {KEY_SECRET_ENV} nor {KEY_FILE_ENV} is set")


def _read_verification_keys(settings: TokenSettings) -> KeySet:
    if settings.public_keys_secret_arn:
        try:
            text = _read_secret(settings, settings.public_keys_secret_arn)
        except Exception as exc:  # any SDK failure means the same thing here: no keys
            raise KeysUnavailable("The public key secret cannot be read") from exc
        return parse_public_key_set(text)
    if settings.key_file:  # local: the public halves of the key file; the private key is dropped here
        return KeySet(None, None, parse_key_set(_read_key_file(settings)).public_keys)
    raise KeysUnavailable(f"Neither {PUBLIC_KEYS_SECRET_ENV} nor {KEY_FILE_ENV} is set")


_cache: dict[tuple[str, str | None, str | None], tuple[float, KeySet]] = {}
_cache_lock = threading.Lock()


def _cached(source: tuple[str, str | None, str | None], read: Callable[[], KeySet], refresh: bool) -> KeySet:
    with _cache_lock:
        cached = _cache.get(source)
        if cached and not (refresh and time.monotonic() - cached[0] >= REFETCH_INTERVAL_S):
            return cached[1]
        keys = read()
        _cache[source] = (time.monotonic(), keys)
        return keys


def load_key_set(settings: TokenSettings, *, refresh: bool = False) -> KeySet:
    """The private (signing) set of this execution environment, read once (again only when `refresh`)."""
    source = ("signing", settings.key_file, settings.key_secret_arn)
    return _cached(source, lambda: _read_signing_keys(settings), refresh)


def load_verification_keys(settings: TokenSettings, *, refresh: bool = False) -> KeySet:
    """The public keys tokens are verified with: never a private key, never from the private secret.

    Read once per execution environment; again when `refresh` (an unknown kid) and not too recent.
    """
    source = ("verifying", settings.key_file, settings.public_keys_secret_arn)
    return _cached(source, lambda: _read_verification_keys(settings), refresh)


def reset_key_cache() -> None:
    """Forget every loaded key set (tests, and after a local key file changes)."""
    with _cache_lock:
        _cache.clear()


# --------------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------------
def issue_access_token(
    *,
    user_id: uuid.UUID | str,
    role: Role | str,
    email: str | None,
    settings: TokenSettings | None = None,
    now: float | None = None,
    min_issued_at: int | None = None,
    session_id: uuid.UUID | str | None = None,
) -> IssuedToken:
    """Sign a short-lived access token with the active key.

    `min_issued_at` is the user's session cut-off second: a token minted in that very second (right after a
    password change) is dated to it, at most one second ahead, so the cut-off does not refuse it.
    `session_id` becomes the `sid` claim: the sign-in (refresh-token family) whose end also ends this token.
    """
    settings = settings or TokenSettings.from_env()
    keys = load_key_set(settings)
    if keys.signing_key is None:
        raise KeysUnavailable("This key set can verify but not sign")
    issued_at = int(now if now is not None else time.time())
    if min_issued_at is not None:
        issued_at = max(issued_at, min_issued_at)
    jti = uuid.uuid4().hex
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "role": Role(role).value,
        "email": email,
        "iss": settings.issuer,
        "aud": settings.audience,
        "iat": issued_at,
        "exp": issued_at + settings.access_ttl_s,
        "jti": jti,
    }
    if session_id is not None:
        claims["sid"] = str(uuid.UUID(str(session_id)))
    token = jwt.encode(claims, keys.signing_key, algorithm=ALGORITHM, headers={"kid": keys.signing_kid})
    return IssuedToken(token, jti, issued_at, settings.access_ttl_s)


def _public_key_for(token: str, settings: TokenSettings) -> ec.EllipticCurvePublicKey:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("Malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("Unexpected token algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("Token has no key id")
    key = load_verification_keys(settings).public_keys.get(kid)
    if key is None:  # perhaps a rotation this environment has not seen yet
        key = load_verification_keys(settings, refresh=True).public_keys.get(kid)
    if key is None:
        raise InvalidToken("Unknown signing key")
    return key


def verify_access_token(token: str, settings: TokenSettings | None = None) -> AccessClaims:
    """Check signature, algorithm, issuer, audience and lifetime; return the claims or raise InvalidToken."""
    settings = settings or TokenSettings.from_env()
    key = _public_key_for(token, settings)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway_s,
            options={"require": list(REQUIRED_CLAIMS)},
        )
        return AccessClaims(
            user_id=uuid.UUID(str(claims["sub"])),
            role=Role(str(claims["role"])),
            email=claims.get("email") if isinstance(claims.get("email"), str) else None,
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            jti=str(claims["jti"]),
            session_id=uuid.UUID(str(claims["sid"])) if claims.get("sid") is not None else None,
        )
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise InvalidToken("Invalid or expired token") from exc
