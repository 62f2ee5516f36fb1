"""Identity for tests: a signing key for the session, users made through the ORM, real tokens and authorizer contexts.

Any test that needs a caller uses these instead of hand-made headers, so what it exercises is what runs in
production: argon2id hashes, ES256 tokens from `sentrix.tokens`, and the authorizer's own context.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sentrix.tokens import (
    KEY_FILE_ENV,
    TokenSettings,
    issue_access_token,
    reset_key_cache,
    verify_access_token,
    write_key_file,
)

DEFAULT_PASSWORD = "correct horse battery"
_lock = threading.Lock()
_key_file: Path | None = None


def ensure_signing_key() -> Path:
    """Generate one ES256 key per test process into a temp file and export AUTH_SIGNING_KEY_FILE (idempotent)."""
    global _key_file
    with _lock:
        if _key_file is None or not _key_file.exists():
            directory = Path(tempfile.mkdtemp(prefix="sentrix-test-key-"))
            atexit.register(shutil.rmtree, directory, ignore_errors=True)
            _key_file = write_key_file(directory / "signing-key.pem")
        if os.environ.get(KEY_FILE_ENV) != str(_key_file):
            os.environ[KEY_FILE_ENV] = str(_key_file)
            os.environ.pop("AUTH_SIGNING_KEY_SECRET_ARN", None)
            os.environ.pop("AUTH_PUBLIC_KEYS_SECRET_ARN", None)
            reset_key_cache()
            from tests.conftest import reset_caches

            reset_caches()
        return _key_file


def create_user(
    *,
    role: str = "user",
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    is_active: bool = True,
    display_name: str | None = None,
):
    """Insert a user through the ORM with the real argon2id hash; returns the (detached, loaded) row."""
    from sentrix.db.engine import session_scope
    from sentrix.db.models import User
    from sentrix.domain.roles import Role
    from sentrix.passwords import hash_password

    user = User(
        email=email or f"user-{uuid.uuid4().hex[:12]}@example.org",
        password_hash=hash_password(password),
        display_name=display_name,
        role=Role(role),
        is_active=is_active,
    )
    with session_scope() as session:
        session.add(user)
        session.flush()
        session.refresh(user)
    return user


def access_token(user: Any) -> str:
    """A real access token for `user`, signed with the session's key."""
    from sentrix.http.identity import cut_off_second

    ensure_signing_key()
    cut_off = cut_off_second(getattr(user, "tokens_valid_after", None))
    return issue_access_token(user_id=user.id, role=user.role, email=user.email, min_issued_at=cut_off).token


def bearer(user: Any) -> dict[str, str]:
    """`{"Authorization": "Bearer <access token>"}` for `user`."""
    return {"Authorization": f"Bearer {access_token(user)}"}


def authorizer_context(user: Any) -> dict[str, Any]:
    """Exactly what the authorizer puts in `requestContext.authorizer` for `user` (for `api_event(authorizer=...)`)."""
    from sentrix_auth.authorizer import context_for

    claims = verify_access_token(access_token(user))
    return {**context_for(claims), "principalId": str(claims.user_id)}


def our_private_key(signing_key: Path):
    """The session's ES256 private key (to sign hand-made tokens with the real key)."""
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(signing_key.read_bytes(), password=None)


def claims_for(user: Any, **overrides: Any) -> dict[str, Any]:
    """The claims our issuer would write for `user` now; an override of None drops the claim."""
    settings = TokenSettings.from_env()
    now = int(time.time())
    claims = {
        "sub": str(user.id),
        "role": getattr(user.role, "value", user.role),
        "email": user.email,
        "iss": settings.issuer,
        "aud": settings.audience,
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}
