"""Which YOLO host the local stack uses: its own stand-in, or any host YOLO_SERVICE_URL names.

`YOLO_SERVICE_URL=https://gpu.example make dev` runs everything but the stand-in and points the functions at
that host. The URL is checked before anything starts (one sentence and exit 1 when it is unusable); the host is
asked for /health once, and a host that does not answer yet is a warning, not a refusal (a GPU host may come up
later: detections wait in the queue and are retried). Only `shown()` URLs reach the output: never userinfo or a
query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sentrix.urls import shown
from sentrix_local.preflight import StackError

STANDIN_SETTINGS_PREFIX = "YOLO_STANDIN_"
HOW = "give http(s)://host[:port][/path], or unset YOLO_SERVICE_URL to run the stand-in"


def external_url(value: str | None) -> str | None:
    """The YOLO host to use instead of the stand-in (None: start the stand-in); StackError when unusable."""
    if value is None or not value.strip():
        return None
    url = value.strip()
    problem = _problem(url)
    if problem:
        raise StackError(f"YOLO_SERVICE_URL {shown(url)} is not usable: {problem}; {HOW}")
    return url


def _problem(url: str) -> str | None:
    if any(ch.isspace() for ch in url):
        return "it contains whitespace"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "its host or port cannot be read (a port is a number from 1 to 65535)"
    if parts.scheme.lower() not in ("http", "https"):
        return "the scheme must be http or https" + (f", not {parts.scheme}" if parts.scheme else "")
    if not parts.hostname:
        return "it names no host"
    if port == 0:
        return "port 0 is not a port one can call"
    if parts.query or parts.fragment:
        # The functions append /detect and /health to the URL: a query would end up before them.
        return "a query or fragment cannot be used (the functions append /detect and /health to the URL)"
    return None


def ignored_standin_settings(environ: Mapping[str, str]) -> list[str]:
    """The stand-in's variables that are set but mean nothing while another host is used."""
    return sorted(name for name in environ if name.startswith(STANDIN_SETTINGS_PREFIX))


@dataclass(frozen=True)
class Probe:
    answers: bool
    detail: str  # one line, for the stack's output


def probe(url: str, timeout_s: float = 3.0) -> Probe:
    """GET {url}/health once; what it said (status, model, version) or why it did not answer."""
    import httpx

    from sentrix.http.health import yolo_reported

    try:
        response = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout_s)
    except httpx.HTTPError as exc:
        # The exception's type only: httpx's messages may quote the URL, userinfo included.
        return Probe(False, f"no answer ({type(exc).__name__})")
    if response.status_code != 200:
        return Probe(False, f"/health answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return Probe(True, "/health answered 200 without a JSON object")
    facts = {"status": body.get("status"), **yolo_reported(body)}
    said = ", ".join(f"{key} {value}" for key, value in facts.items() if value is not None)
    return Probe(True, f"/health says {said}" if said else "/health answered 200")


def announce(url: str, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """The stack's lines (level, message) about an external host, probe included."""
    lines = [("INFO", f"YOLO host: {shown(url)} (from YOLO_SERVICE_URL; the stand-in is not started)")]
    ignored = ignored_standin_settings(environ)
    if ignored:
        lines.append(("INFO", f"ignored while another YOLO host is used: {', '.join(ignored)} (stand-in settings)"))
    result = probe(url)
    if result.answers:
        lines.append(("INFO", f"YOLO host {shown(url)}: {result.detail}"))
    else:
        lines.append(
            (
                "WARNING",
                f"YOLO host {shown(url)}: {result.detail}; starting anyway (a GPU host may come up later): "
                "until it answers, detections fail and are retried, then go to the dead-letter queue",
            )
        )
    return lines
