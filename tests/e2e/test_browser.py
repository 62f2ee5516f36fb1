"""A real browser as the web client: headless Chromium registers, logs in and uploads through `fetch`.

The page is served from another origin than the API, exactly as the web client is, so every call is a
cross-origin request the browser itself checks against the functions' CORS headers. From the allowed origin
the whole journey works; from any other origin the browser refuses to let the page call the API at all.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO_ROOT
from tests.support.stack import RunningStack, local_stack, wait_for

pytestmark = pytest.mark.e2e

PHOTO = REPO_ROOT / "tests" / "fixtures" / "xiaomi_gps_exif.jpg"
PASSWORD = "correct horse battery staple 42"
# Vite's default origin, which the local stack allows unless CORS_ORIGINS says otherwise (`make dev`).
FRONT_END_PORT = 5173

# The web client's journey in plain `fetch`: every status, the analysis id and any error end up in #result.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Sentrix browser check</title></head>
<body><pre id="result">running</pre>
<script>
const API = __API__;
const EMAIL = __EMAIL__;
const PASSWORD = __PASSWORD__;
const out = {};
async function journey() {
  const json = {"Content-Type": "application/json"};
  const credentials = JSON.stringify({email: EMAIL, password: PASSWORD});
  let response = await fetch(API + "/register", {method: "POST", headers: json, body: credentials});
  out.register = response.status;
  response = await fetch(API + "/login", {method: "POST", headers: json, body: credentials});
  out.login = response.status;
  const auth = {Authorization: "Bearer " + (await response.json()).access_token};
  // The photo's bytes come from the page's own origin, as a file picked by the user would.
  const photo = await (await fetch("/patio.jpg")).blob();
  const form = new FormData();
  form.append("file", photo, "patio.jpg");
  response = await fetch(API + "/analyses", {method: "POST", headers: auth, body: form});
  out.upload = response.status;
  out.analysis_id = (await response.json()).analysis_id;
  response = await fetch(API + "/analyses/" + out.analysis_id, {headers: auth});
  out.get = response.status;
  out.get_id = (await response.json()).id;
}
journey()
  .catch((error) => { out.error = error.name + ": " + error.message; })
  .finally(() => { document.getElementById("result").textContent = JSON.stringify(out); });
</script></body></html>
"""


class StaticSite:
    """`directory` served on 127.0.0.1:`port` (0: a free one) by a thread, as the front end's dev server would."""

    def __init__(self, directory: Path, port: int = 0) -> None:
        class Quiet(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(directory), **kwargs)

            def log_message(self, *args):  # the test reads the DOM, not the access log
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Quiet)  # OSError when the port is taken
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def static_site(directory: Path, port: int = 0) -> Iterator[StaticSite]:
    site = StaticSite(directory, port)
    try:
        yield site
    finally:
        site.close()


@pytest.fixture(scope="module")
def browser() -> str:
    path = shutil.which("chromium")
    # No skip: the browser is a test dependency like PostgreSQL (scripts/system-deps.sh installs it as root).
    assert path, "chromium is missing: run `make system-deps` (as root it installs it) or apt-get install chromium"
    return path


@dataclass
class FrontEnd:
    stack: RunningStack
    site: Path  # what the allowed origin serves
    origin: str


@pytest.fixture(scope="module")
def front_end(tmp_path_factory) -> Iterator[FrontEnd]:
    """The stack, and a static site on the origin it allows: 5173 with the default CORS_ORIGINS when free."""
    directory = tmp_path_factory.mktemp("front-end")
    try:
        site = StaticSite(directory, FRONT_END_PORT)
    except OSError:  # taken (a `make dev` front end, another run): a free port, named in CORS_ORIGINS
        site = StaticSite(directory)
    try:
        with pytest.MonkeyPatch.context() as env:
            if site.server.server_address[1] == FRONT_END_PORT:
                env.delenv("CORS_ORIGINS", raising=False)
            else:
                env.setenv("CORS_ORIGINS", site.origin)
            with local_stack(tmp_path_factory.mktemp("browser-stack")) as stack:
                yield FrontEnd(stack, directory, site.origin)
    finally:
        site.close()


def write_page(directory: Path, stack: RunningStack, email: str) -> None:
    page = (
        PAGE.replace("__API__", json.dumps(f"{stack.gateway}/api/v1"))
        .replace("__EMAIL__", json.dumps(email))
        .replace("__PASSWORD__", json.dumps(PASSWORD))
    )
    (directory / "page.html").write_text(page)
    shutil.copyfile(PHOTO, directory / "patio.jpg")


def run_page(chromium: str, url: str, profile: Path) -> dict:
    """Load `url` in headless Chromium until its fetches are done; returns what the page wrote into #result."""
    # Virtual time stands still while requests are in flight, so the budget covers the whole journey however
    # slow the stack is; the timeout only stops a hung browser.
    dumped = subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={profile}", "--virtual-time-budget=30000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    found = re.search(r'<pre id="result">(.*?)</pre>', dumped.stdout, re.S)
    assert found, f"no result in the page (exit {dumped.returncode}):\n{dumped.stdout}\n{dumped.stderr[-3000:]}"
    text = html.unescape(found.group(1))
    assert text != "running", f"the page's fetches did not finish:\n{dumped.stderr[-3000:]}"
    return json.loads(text)


def test_the_web_client_registers_logs_in_and_uploads_from_the_allowed_origin(front_end, browser, tmp_path):
    stack = front_end.stack
    email = f"browser-{uuid.uuid4().hex[:8]}@example.org"
    write_page(front_end.site, stack, email)
    # When Chromium loads the page from the front end's origin
    result = run_page(browser, f"{front_end.origin}/page.html", tmp_path / "profile")
    # Then every call was let through and answered
    assert "error" not in result, result
    assert (result["register"], result["login"], result["upload"], result["get"]) == (201, 200, 202, 200), result
    analysis_id = result["analysis_id"]
    assert result["get_id"] == analysis_id
    uuid.UUID(analysis_id)
    # And the analysis is real: the user the browser registered owns it, and detect read the photo's exact bytes
    token = httpx.post(f"{stack.gateway}/api/v1/login", json={"email": email, "password": PASSWORD}, timeout=30).json()[
        "access_token"
    ]

    def finished():
        got = httpx.get(
            f"{stack.gateway}/api/v1/analyses/{analysis_id}", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()
        return got if got.get("status") in ("completed", "failed", "duplicate") else None

    assert wait_for(finished, 60, f"the analysis to finish (log: {stack.log})")["status"] == "completed"
    row = analysis_row(stack, analysis_id)
    assert row == {"email": email, "sha256": hashlib.sha256(PHOTO.read_bytes()).hexdigest(), "width": 255,
                   "height": 112, "original_filename": "patio.jpg"}  # fmt: skip


def test_a_page_from_another_origin_cannot_call_the_api(front_end, browser, tmp_path):
    stack = front_end.stack
    email = f"browser-{uuid.uuid4().hex[:8]}@example.org"
    site = tmp_path / "site"
    site.mkdir()
    write_page(site, stack, email)
    # When the same page is loaded from an origin CORS_ORIGINS does not name (another free port)
    with static_site(site) as other:
        result = run_page(browser, f"{other.origin}/page.html", tmp_path / "profile")
    # Then the browser rejects the very first fetch (its preflight gets no Access-Control-Allow-Origin)
    assert result == {"error": "TypeError: Failed to fetch"}, result
    # And the request itself never reached the API: no such account exists
    login = httpx.post(f"{stack.gateway}/api/v1/login", json={"email": email, "password": PASSWORD}, timeout=30)
    assert login.status_code == 401, login.text


def analysis_row(stack: RunningStack, analysis_id: str) -> dict:
    from sqlalchemy import create_engine, text

    from sentrix_local.postgres import LocalPostgres

    engine = create_engine(LocalPostgres(stack.state_dir / "pgdata", stack.ports["PG"]).url())
    try:
        with engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT u.email, a.sha256, a.width, a.height, a.original_filename"
                    " FROM analyses a JOIN users u ON u.id = a.user_id WHERE a.id = :id"
                ),
                {"id": analysis_id},
            ).one()
    finally:
        engine.dispose()
    return dict(row._mapping)
