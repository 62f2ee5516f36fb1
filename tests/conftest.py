"""Session services for the suite: a real PostGIS cluster and moto's server, started once, stopped at the end.

Unit tests never touch them; integration and e2e tests ask for them through fixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = Path(os.environ.get("SENTRIX_TEST_STATE_DIR", REPO_ROOT / ".local" / "test"))

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

    pg = LocalPostgres(STATE_DIR / "pgdata", free_port())
    pg.start(fast=True)
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def database_url(postgis) -> str:
    """A fresh database migrated to head, exported as DATABASE_URL."""
    from sentrix.db import migrate

    postgis.recreate_database("sentrix_test")
    url = postgis.url("sentrix_test")
    migrate.upgrade(url)
    os.environ["DATABASE_URL"] = url
    reset_caches()
    return url


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


@pytest.fixture(scope="session")
def aws(moto_server) -> AwsResources:
    """The bucket, queues and notification of infra/template.yaml, created on moto's server."""
    from sentrix_local.provision import provision
    from sentrix_local.template import stack_spec

    resources = provision(moto_server, prefix="sentrix-test")
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
def yolo_standin() -> Iterator:
    """The YOLO stand-in over real HTTP on a free port, exported as YOLO_SERVICE_URL.

    Tests that inject faults must reset them (`POST {base_url}/_admin/reset`) when done.
    """
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
