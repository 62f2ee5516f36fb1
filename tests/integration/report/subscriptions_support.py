"""What the subscription tests share: territories, officials, a clock the test moves, and a webhook receiver.

The receiver is a real HTTP server on a loopback port. It checks each request's signature with its own code
(HMAC-SHA256 over `<t>.` + the raw body, keyed with the secret the POST answer showed), refuses a timestamp more
than five minutes from *its* clock, and answers with the statuses the test queued (200 once the queue is empty).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import text

from sentrix.db.engine import session_scope

TOLERANCE_S = 300
SQUARE = "ST_Multi(ST_MakeEnvelope(:w, :s, :e, :n, 4326))"


def territory(code: str, name: str, parent: str | None, w: float, s: float, e: float, n: float) -> None:
    with session_scope() as session:
        session.execute(
            text(
                f"INSERT INTO territories (code, name, parent_code, geometry, area_m2) "  # noqa: S608 - constant
                f"VALUES (:code, :name, :parent, {SQUARE}, ST_Area(CAST({SQUARE} AS geography)))"
            ),
            {"code": code, "name": name, "parent": parent, "w": w, "s": s, "e": e, "n": n},
        )


def city() -> None:
    """C (San Miguel de Tucumán) with health areas H1 (west) and H2 (east), neighbourhood N1 inside H1."""
    territory("C", "San Miguel de Tucumán", None, -65.30, -26.90, -65.10, -26.70)
    territory("H1", "Área Oeste", "C", -65.30, -26.90, -65.20, -26.70)
    territory("H2", "Área Este", "C", -65.20, -26.90, -65.10, -26.70)
    territory("N1", "Barrio Norte", "H1", -65.25, -26.82, -65.22, -26.78)


def assign(user_id: Any, *codes: str) -> None:
    with session_scope() as session:
        for code in codes:
            session.execute(
                text("INSERT INTO official_territories (user_id, territory_code) VALUES (:u, :c)"),
                {"u": user_id, "c": code},
            )


def set_language(user_id: Any, language: str, timezone: str = "America/Argentina/Buenos_Aires") -> None:
    with session_scope() as session:
        session.execute(
            text(
                "INSERT INTO user_settings (user_id, settings) VALUES (:u, CAST(:s AS jsonb)) "
                "ON CONFLICT (user_id) DO UPDATE SET settings = EXCLUDED.settings"
            ),
            {"u": user_id, "s": f'{{"language": "{language}", "timezone": "{timezone}"}}'},
        )


class Clock:
    """The time the code under test reads; the test moves it."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    answered: int


def parse_signature(header: str) -> tuple[int, str] | None:
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        return int(parts["t"]), parts["v1"]
    except (KeyError, ValueError):
        return None


def verify(secret: str, header: str | None, body: bytes, now: datetime) -> bool:
    """The receiver's check, written here independently of the code under test."""
    parsed = parse_signature(header or "")
    if parsed is None:
        return False
    timestamp, given = parsed
    expected = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = abs(now.timestamp() - timestamp) <= TOLERANCE_S
    return fresh and hmac.compare_digest(expected, given)


@dataclass
class Receiver:
    """A webhook endpoint: `secret` to check with (set once the subscription exists), `clock` for freshness."""

    clock: Clock
    secret: str | None = None
    statuses: deque[int] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/sentrix"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = receiver.secret is not None and verify(
                    receiver.secret, self.headers.get("Sentrix-Signature"), body, receiver.clock()
                )
                status = (receiver.statuses.popleft() if receiver.statuses else 200) if ok else 401
                receiver.received.append(Received(self.path, dict(self.headers.items()), body, ok, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=10)


def start_of_test() -> datetime:
    """A base instant for the injected clock (whole seconds, so timestamps compare exactly)."""
    return datetime.now(UTC).replace(microsecond=0)
