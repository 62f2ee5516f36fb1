"""A fake Supabase Auth (GoTrue) server over real HTTP: the endpoints `supabase_auth`'s client calls, in memory.

Speaks `POST /auth/v1/signup`, `POST /auth/v1/token?grant_type=password|refresh_token`, `GET /auth/v1/user`,
`POST /auth/v1/logout?scope=local|global`, `PUT|DELETE /auth/v1/admin/users/{id}`; issues HS256 access tokens
with the project's JWT secret and rotates refresh tokens like GoTrue (a reused one revokes its session).
A test double: no email confirmation, no MFA, no rate limits.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

ANON_KEY = "fake-anon-key"
SERVICE_ROLE_KEY = "fake-service-role-key"
JWT_SECRET = "fake-supabase-jwt-secret-of-at-least-32-bytes!"


@dataclass
class _User:
    id: str
    email: str
    password: str
    metadata: dict[str, Any]
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class FakeGoTrue:
    """State plus an HTTP server on a free loopback port; `url` is the project URL (…/auth/v1 is below it)."""

    def __init__(self, *, access_ttl_s: int = 3600) -> None:
        self.access_ttl_s = access_ttl_s
        self.users: dict[str, _User] = {}
        self.refresh_tokens: dict[str, tuple[str, str, bool]] = {}  # token -> (user id, session id, used)
        self.revoked_sessions: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        # Every request as received: method, path and the credentials it carried (for admin-call assertions).
        self.requests: list[dict[str, str | None]] = []
        # What the next sign-ups answer instead of creating the user: (status, body), as GoTrue refuses them.
        self.signup_refusal: tuple[int, dict[str, Any]] | None = None
        # What the next password sign-ins answer instead of checking the password: (status, body).
        self.signin_refusal: tuple[int, dict[str, Any]] | None = None
        # A GoTrue that answers 200 to an admin password update but keeps the old password (a broken hook).
        self.ignore_password_updates = False
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def add_user(self, email: str, password: str, metadata: dict[str, Any] | None = None) -> str:
        """An account made outside this API (Supabase's dashboard, another app); returns its id."""
        user = _User(str(uuid.uuid4()), email.lower(), password, metadata or {})
        with self._lock:
            self.users[user.id] = user
        return user.id

    # -- behaviour -------------------------------------------------------------------------------
    def _session(self, user: _User, session_id: str | None = None) -> dict[str, Any]:
        now = int(time.time())
        session_id = session_id or str(uuid.uuid4())
        claims = {
            "sub": user.id,
            "email": user.email,
            "aud": "authenticated",
            "role": "authenticated",
            "iss": f"{self.url}/auth/v1",
            "iat": now,
            "exp": now + self.access_ttl_s,
            "session_id": session_id,
            "app_metadata": {"provider": "email"},
            "user_metadata": user.metadata,
        }
        refresh = secrets.token_urlsafe(16)
        self.refresh_tokens[refresh] = (user.id, session_id, False)
        return {
            "access_token": jwt.encode(claims, JWT_SECRET, algorithm="HS256"),
            "token_type": "bearer",
            "expires_in": self.access_ttl_s,
            "expires_at": now + self.access_ttl_s,
            "refresh_token": refresh,
            "user": self._user_json(user),
        }

    def _user_json(self, user: _User) -> dict[str, Any]:
        return {
            "id": user.id,
            "aud": "authenticated",
            "role": "authenticated",
            "email": user.email,
            "app_metadata": {"provider": "email"},
            "user_metadata": user.metadata,
            "created_at": user.created_at,
        }

    def _bearer_user(self, headers: dict[str, str]) -> tuple[_User, dict[str, Any]] | None:
        token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"], audience="authenticated")
        except jwt.PyJWTError:
            return None
        user = self.users.get(claims["sub"])
        if user is None or claims.get("session_id") in self.revoked_sessions:
            return None
        return user, claims

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: dict
    ) -> tuple[int, Any]:
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "apikey": headers.get("apikey"),
                    "authorization": headers.get("authorization"),
                }
            )
        if headers.get("apikey") not in (ANON_KEY, SERVICE_ROLE_KEY):
            return 401, {"message": "No API key found in request"}
        with self._lock:
            self.calls.append((method, path))
            if (method, path) == ("POST", "/auth/v1/signup") and self.signup_refusal is not None:
                return self.signup_refusal
            if (method, path) == ("POST", "/auth/v1/signup"):
                email = str(body.get("email", "")).lower()
                if any(u.email == email for u in self.users.values()):
                    return 422, {"code": "user_already_exists", "msg": "User already registered"}
                user = _User(str(uuid.uuid4()), email, str(body.get("password")), body.get("data") or {})
                self.users[user.id] = user
                return 200, self._session(user)
            if (method, path) == ("POST", "/auth/v1/token") and query.get("grant_type") == "password":
                if self.signin_refusal is not None:
                    return self.signin_refusal
                email = str(body.get("email", "")).lower()
                user = next((u for u in self.users.values() if u.email == email), None)
                if user is None or user.password != body.get("password"):
                    return 400, {"code": "invalid_credentials", "msg": "Invalid login credentials"}
                return 200, self._session(user)
            if (method, path) == ("POST", "/auth/v1/token") and query.get("grant_type") == "refresh_token":
                found = self.refresh_tokens.get(str(body.get("refresh_token")))
                if found is None or found[1] in self.revoked_sessions:
                    return 400, {"code": "refresh_token_not_found", "msg": "Invalid Refresh Token"}
                user_id, session_id, used = found
                if used:  # reuse: GoTrue revokes the session
                    self.revoked_sessions.add(session_id)
                    return 400, {"code": "refresh_token_already_used", "msg": "Invalid Refresh Token"}
                self.refresh_tokens[str(body["refresh_token"])] = (user_id, session_id, True)
                return 200, self._session(self.users[user_id], session_id)
            if (method, path) == ("GET", "/auth/v1/user"):
                found = self._bearer_user(headers)
                return (200, self._user_json(found[0])) if found else (401, {"msg": "invalid JWT"})
            if (method, path) == ("POST", "/auth/v1/logout"):
                found = self._bearer_user(headers)
                if not found:
                    return 401, {"msg": "invalid JWT"}
                user, claims = found
                scope = query.get("scope", "global")
                if scope not in ("global", "local"):  # the scopes this API uses; GoTrue refuses unknown ones
                    return 400, {"code": 400, "error_code": "validation_failed", "msg": "Unsupported logout scope"}
                if scope == "global":
                    self.revoked_sessions.update(s for uid, s, _ in self.refresh_tokens.values() if uid == user.id)
                else:
                    self.revoked_sessions.add(claims["session_id"])
                return 204, None
            if path.startswith("/auth/v1/admin/users/"):
                if headers.get("authorization") != f"Bearer {SERVICE_ROLE_KEY}":
                    return 403, {"msg": "User not allowed"}
                user = self.users.get(path.rsplit("/", 1)[-1])
                if user is None:
                    return 404, {"code": "user_not_found", "msg": "User not found"}
                if method == "PUT":
                    if not self.ignore_password_updates:
                        user.password = body.get("password", user.password)
                    return 200, self._user_json(user)
                if method == "DELETE":
                    del self.users[user.id]
                    return 200, {}
        return 404, {"msg": f"no fake for {method} {path}"}

    # -- server ----------------------------------------------------------------------------------
    def start(self) -> FakeGoTrue:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _dispatch(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = fake.handle(self.command, parts.path, query, headers, body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _dispatch

            def log_message(self, fmt: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-gotrue", daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
