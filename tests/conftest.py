"""Session services for the suite: a real PostGIS cluster and moto's server, started once, stopped at the end.

Unit tests never touch them; integration and e2e tests ask for them through fixtures.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = Path(os.environ.get("SENTRIX_TEST_STATE_DIR", REPO_ROOT / ".local" / "test"))
# Services started once outside the session and shared by many short sessions (`make mutate` forks one pytest
# session per mutant): the port of a running cluster in STATE_DIR/pgdata, a migrated database each session
# copies, and the URL of a running moto server. Unset, every session starts and stops its own.
EXTERNAL_POSTGIS_PORT = os.environ.get("SENTRIX_TEST_POSTGIS_PORT")
EXTERNAL_TEMPLATE_DATABASE = os.environ.get("SENTRIX_TEST_TEMPLATE_DATABASE")
EXTERNAL_MOTO_URL = os.environ.get("SENTRIX_TEST_MOTO_URL")
# `make mutate`: mutmut's stats file (its `duration_by_test`), to run a mutant's tests quickest first.
MUTATE_DURATIONS = os.environ.get("SENTRIX_MUTATE_DURATIONS")


def _preload_for_mutmut() -> None:
    """Under `make mutate` only: parse the template and import every function's handler module now.

    mutmut imports this file once in its fork server (collect warm-up) and forks one pytest session per mutant
    from it; without this, each of those sessions parses infra/template.yaml and imports the handlers again on
    its gateway's first request (~2 s and ~6 s on a busy 2-core machine). A warm Lambda environment keeps its
    imports across invocations just the same; mutated functions still switch per mutant at call time."""
    from sentrix_local.invoke import LocalFunction
    from sentrix_local.template import stack_spec

    for function in stack_spec().functions.values():
        LocalFunction(function)._load()  # what a gateway's first request does (sys.path, import), done once


# Never let a test reach real AWS, whatever the developer's shell has configured.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ENVIRONMENT": "test",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "SentrixTest",
        "POWERTOOLS_DEV": "false",
    }
)
os.environ.pop("AWS_PROFILE", None)
if MUTATE_DURATIONS:  # after the environment above, as a Lambda imports its handler inside its environment
    _preload_for_mutmut()

# Hypothesis (docs/testing.md, "Seeds"). Health checks stay on; no deadline (a deadline is a wall-clock assertion).
# Both profiles take the run's seed (pytest-randomly's, see pytest_configure), so `make test SEED=N` replays a run,
# and print a failing example as a @reproduce_failure blob. "ci" (.ci/run) keeps no example database: a run
# depends on its seed alone. "dev" (the default) keeps Hypothesis's local database, which replays past failures first.
hypothesis_settings.register_profile("ci", deadline=None, database=None, print_blob=True, max_examples=100)
hypothesis_settings.register_profile("dev", deadline=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def run_seed(config: pytest.Config) -> int | None:
    """The run's seed: pytest-randomly's (printed at the top and the end), or None when it is disabled."""
    if not config.pluginmanager.hasplugin("randomly"):
        return None
    return config.getoption("randomly_seed", None)


@pytest.hookimpl(trylast=True)  # after pytest-randomly has chosen the seed
def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis takes the run's seed unless --hypothesis-seed says otherwise: one seed replays everything."""
    from hypothesis import core

    seed = run_seed(config)
    if seed is not None and config.getoption("--hypothesis-seed", None) is None:
        core.global_force_seed = seed  # what --hypothesis-seed sets (hypothesis' pytest plugin does the same)


@pytest.hookimpl(trylast=True)  # after pytest-randomly (disabled under mutmut) and pytest's own ordering
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under `make mutate` only: the quickest modules first, and in each module its quickest tests first.

    mutmut runs a mutant's tests with `-x` in the order it lists them (an arbitrary one), so a mutant that a
    0.1 s test kills may first sit through a 10 s one. Modules stay whole (a module-scoped fixture such as the
    Supabase stand-in, which switches AUTH_PROVIDER for its module, is set up once), as pytest-randomly keeps
    them. The same tests run either way; only their order changes."""
    path = Path(MUTATE_DURATIONS) if MUTATE_DURATIONS else None
    if path is None or not path.is_file():  # not under mutmut, or its stats run (which writes the file)
        return
    durations: dict[str, float] = json.loads(path.read_text()).get("duration_by_test", {})
    per_module: dict[str, float] = defaultdict(float)
    for item in items:
        per_module[item.nodeid.split("::", 1)[0]] += durations.get(item.nodeid, 0.0)

    def order(item: pytest.Item) -> tuple[float, str, float]:
        module = item.nodeid.split("::", 1)[0]
        return per_module[module], module, durations.get(item.nodeid, 0.0)

    items.sort(key=order)


def pytest_report_header(config: pytest.Config) -> str:
    return f"hypothesis profile: {hypothesis_settings.get_current_profile_name()} (HYPOTHESIS_PROFILE)"


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    """The seed again at the end, where a failure is read, with the command that replays this run's order."""
    seed = run_seed(config)
    if seed is None:
        terminalreporter.write_line("test order: not shuffled (pytest-randomly disabled)")
    else:
        terminalreporter.write_line(
            f"test order and seeds: --randomly-seed={seed} (replay: make test SEED={seed}, or add "
            f"-p randomly --randomly-seed={seed} to a pytest command; HYPOTHESIS_PROFILE="
            f"{hypothesis_settings.get_current_profile_name()})"
        )


# multiprocessing's helpers: started once per interpreter at the first use of a process pool (wherever that falls
# in a shuffled order), and kept for the interpreter's life by design, like the session services.
_INTERPRETER_HELPERS = (
    "from multiprocessing.resource_tracker import main",
    "from multiprocessing.forkserver import main",
)


def _children() -> dict[int, str]:
    """This process's live child processes: pid -> command line (zombies are reaped or harmless, not listed;
    multiprocessing's per-interpreter helpers neither)."""
    found: dict[int, str] = {}
    for children in Path("/proc/self/task").glob("*/children"):
        try:
            pids = [int(pid) for pid in children.read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if state != "Z" and not any(helper in command for helper in _INTERPRETER_HELPERS):
                found[pid] = command.strip()[:200]
    return found


def _checked_out_connections() -> dict[str, int]:
    """Connections taken from the cached engines' pools and not given back (engines not built are not built)."""
    import sys

    engine_module = sys.modules.get("sentrix.db.engine")
    if engine_module is None:
        return {}
    out = {}
    for getter in (engine_module.get_engine, engine_module.get_read_engine):
        if getter.cache_info().currsize:
            checked_out = getter().pool.checkedout()
            if checked_out:
                out[getter.__name__] = checked_out
    return out


LEAK_GRACE_S = 5.0  # what is finishing (a server thread closing its last connection) gets this long to end


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """After every test (and its own fixtures' teardown): no new non-daemon thread, no new child process, and
    no database connection left checked out. Session and module services started before the test are allowed."""
    threads = set(threading.enumerate())
    children = set(_children())
    yield
    deadline = time.monotonic() + LEAK_GRACE_S
    new_threads = [t for t in threading.enumerate() if not t.daemon and t not in threads]
    for thread in new_threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    new_children = {pid: cmd for pid, cmd in _children().items() if pid not in children}
    while new_children and time.monotonic() < deadline:
        time.sleep(0.05)
        new_children = {pid: cmd for pid, cmd in _children().items() if pid not in children}
    leaks = []
    if alive := [t.name for t in new_threads if t.is_alive()]:
        leaks.append(f"non-daemon threads still running: {alive}")
    if new_children:
        leaks.append(f"child processes still running: {new_children}")
    if checked_out := _checked_out_connections():
        leaks.append(f"database connections still checked out of the pool: {checked_out}")
    if leaks:
        pytest.fail("the test leaked: " + "; ".join(leaks), pytrace=False)


def reset_caches() -> None:
    """Forget settings, engine and boto3 clients so the next use reads the current environment."""
    from sentrix.adapters.aws import reset_clients
    from sentrix.config import get_settings
    from sentrix.db.engine import reset_engine

    reset_engine()
    get_settings.cache_clear()
    reset_clients()


@pytest.fixture(scope="session")
def postgis() -> Iterator:
    """A PostGIS cluster on a free loopback port, in a data dir reused between runs."""
    from sentrix_local.postgres import LocalPostgres
    from sentrix_local.processes import free_port

    if EXTERNAL_POSTGIS_PORT:
        pg = LocalPostgres(STATE_DIR / "pgdata", int(EXTERNAL_POSTGIS_PORT))
        pg.start(fast=True)  # already running: only waits for it
        yield pg
        return
    pg = LocalPostgres(STATE_DIR / "pgdata", free_port())
    pg.start(fast=True)
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def admin_database_url(postgis) -> Iterator[str]:
    """A fresh database migrated to head by its owner; the owner's URL (tests/support/admin.py)."""
    from sentrix.db import migrate
    from tests.support.admin import ADMIN_URL_VARIABLE

    if EXTERNAL_TEMPLATE_DATABASE:  # a copy of the migrated template, one per session (sessions run side by side)
        name = f"sentrix_test_{os.getpid()}"
        postgis.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        postgis.psql(f'CREATE DATABASE "{name}" TEMPLATE "{EXTERNAL_TEMPLATE_DATABASE}" OWNER {postgis.user}')
        url = postgis.url(name)
        os.environ[ADMIN_URL_VARIABLE] = url
        yield url
        from tests.support.admin import reset_admin_engines

        reset_caches()
        reset_admin_engines()  # mutmut runs its stats and clean-test sessions in one process: same pid, same name
        postgis.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    postgis.recreate_database("sentrix_test")
    url = postgis.url("sentrix_test")
    migrate.upgrade(url)
    os.environ[ADMIN_URL_VARIABLE] = url
    yield url


@pytest.fixture(scope="session")
def database_url(admin_database_url, postgis) -> Iterator[str]:
    """The migrated database as the application role (as in the cloud), exported as DATABASE_URL."""
    from sqlalchemy import make_url

    url = postgis.set_app_password(make_url(admin_database_url).database)
    os.environ["DATABASE_URL"] = url
    reset_caches()
    yield url
    reset_caches()


@dataclass(frozen=True)
class AwsResources:
    endpoint_url: str
    bucket: str
    queue_url: str
    dlq_url: str


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's server as a real process on a free port (the same server the local stack runs)."""
    from sentrix_local.processes import ManagedProcess, free_port, python_module, wait_http

    if EXTERNAL_MOTO_URL:
        yield EXTERNAL_MOTO_URL
        return
    port = free_port()
    process = ManagedProcess(
        "moto-test",
        python_module("moto.server", "-H", "127.0.0.1", "-p", str(port)),
        run_dir=STATE_DIR / "run",
        log_file=STATE_DIR / "logs" / "moto.log",
    )
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/moto-api/", process=process.process)
        yield url
    finally:
        process.stop()


def aws_prefix() -> str:
    """The names' prefix of this session's bucket and queues on moto's server."""
    return f"sentrix-test-{os.getpid()}" if EXTERNAL_MOTO_URL else "sentrix-test"


def empty_queues(aws: AwsResources) -> None:
    """The session's detect queue and DLQ without any message, in-flight ones included.

    Draining takes only visible messages; one a test received and left, or put back for minutes (backpressure
    changes a message's visibility), would come back in the middle of a later test. Moto, like SQS, allows one
    PurgeQueue a minute, so queues with messages in flight are deleted and created again (same names and URLs,
    same attributes: `provision` is idempotent; the bucket's notification names the queue by ARN, unchanged)."""
    import boto3

    from sentrix_local.provision import provision

    sqs = boto3.client("sqs", endpoint_url=aws.endpoint_url)
    urls = (aws.queue_url, aws.dlq_url)
    for url in urls:
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        ):
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    in_flight = [
        url
        for url in urls
        if sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])[
            "Attributes"
        ]["ApproximateNumberOfMessagesNotVisible"]
        != "0"
    ]
    if in_flight:
        for url in urls:
            sqs.delete_queue(QueueUrl=url)
        provision(aws.endpoint_url, prefix=aws_prefix())


@pytest.fixture(scope="session")
def aws(moto_server) -> AwsResources:
    """The bucket, queues and notification of infra/template.yaml, created on moto's server."""
    from sentrix_local.provision import provision
    from sentrix_local.template import stack_spec

    # Sessions sharing one moto server each get their own bucket and queues.
    resources = provision(moto_server, prefix=aws_prefix())
    spec = stack_spec()
    detect = next(q for q in spec.queues.values() if q.consumer)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": moto_server,
            "IMAGES_BUCKET": resources.bucket(),
            "DETECT_QUEUE_URL": resources.queue_urls[detect.logical_id],
        }
    )
    reset_caches()
    return AwsResources(
        moto_server,
        resources.bucket(),
        resources.queue_urls[detect.logical_id],
        resources.queue_urls[detect.dead_letter_queue],
    )


@pytest.fixture
def clean_db(database_url) -> Iterator[str]:
    """Empty every application table before the test (the schema stays)."""
    from tests.support.seed import truncate_all

    truncate_all()
    yield database_url


@pytest.fixture(scope="session")
def signing_key() -> Path:
    """The local signing key file (created once), for tests that mint or verify tokens."""
    from tests.support.identity import ensure_signing_key

    return ensure_signing_key()


@pytest.fixture(scope="session")
def yolo_standin(default_standin) -> object:
    """The YOLO stand-in over real HTTP on a free port, exported as YOLO_SERVICE_URL.

    Tests that inject faults must reset them (`POST {base_url}/_admin/reset`) when done. The detect tests
    override this name to choose a profile per test (tests/integration/detect/conftest.py).
    """
    return default_standin


@pytest.fixture(scope="session")
def default_standin() -> Iterator:
    """The stand-in in its `default` profile (what `yolo_standin` is unless a directory overrides it)."""
    from yolo_standin.testing import StandinProcess

    standin = StandinProcess().start()
    os.environ["YOLO_SERVICE_URL"] = standin.base_url
    reset_caches()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
def without_k_anonymity(monkeypatch) -> Iterator[None]:
    """k = 1 for the report function's public cells: for tests of other rules on one or two reporters' data
    (k-anonymity itself: tests/integration/report/test_k_anonymity.py, tests/security)."""
    from sentrix_report.settings import get_report_settings

    monkeypatch.setenv("REPORT_PUBLIC_MIN_REPORTERS", "1")
    get_report_settings.cache_clear()
    yield
    get_report_settings.cache_clear()  # read again once the environment is restored


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every statement the engine sends through SQLAlchemy while the test runs (a BEGIN's own settings, sent by
    the driver itself, do not pass here)."""
    from sqlalchemy import event

    from sentrix.db.engine import get_engine

    sent: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)
