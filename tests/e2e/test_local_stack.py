"""The local stack as a developer runs it: one process up, requests through the gateway, clean shutdown."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import boto3
import httpx
import pytest

from tests.support.stack import local_stack, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with local_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def test_health_answers_through_the_gateway(stack):
    response = httpx.get(f"{stack.gateway}/api/v1/health", headers={"X-Request-ID": "e2e-1"})
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
    assert response.headers["x-request-id"] == "e2e-1"


def test_readiness_sees_every_dependency(stack):
    response = httpx.get(f"{stack.gateway}/api/v1/health/ready", timeout=10)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "yolo_service": "ok",
        "storage": "ok",
        "queue": "ok",
    }


def test_the_functions_log_in_as_the_application_role_not_the_owner(stack):
    from sqlalchemy import create_engine, text

    from sentrix_local.postgres import LocalPostgres

    # Given a request that used the database (the functions' pools keep their connections open)
    assert httpx.get(f"{stack.gateway}/api/v1/health/ready", timeout=10).json()["checks"]["database"]["status"] == "ok"
    # When the owner looks at who is connected on behalf of the functions (application_name "sentrix")
    engine = create_engine(LocalPostgres(stack.state_dir / "pgdata", stack.ports["PG"]).url())
    try:
        with engine.connect() as connection:
            users = connection.execute(
                text("SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'sentrix'")
            ).scalars()
            logged_in = set(users)
    finally:
        engine.dispose()
    # Then only the application role, as in the cloud
    assert logged_in == {"sentrix_app"}


def test_protected_route_without_token_is_refused_by_the_authorizer_step(stack):
    response = httpx.get(f"{stack.gateway}/api/v1/me", headers={"Origin": "http://localhost:5173"})
    assert response.status_code == 401
    # The template's GatewayResponses UNAUTHORIZED: the envelope, readable from the browser
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["access-control-allow-origin"] == "*"


def test_unknown_route_is_refused_like_api_gateway(stack):
    response = httpx.get(f"{stack.gateway}/api/v1/../../etc/passwd")
    assert response.status_code == 404  # MISSING_AUTHENTICATION_TOKEN, as the template renames it
    assert response.json()["error"]["code"] == "not_found"


def test_the_local_front_end_may_call_the_api_from_its_own_origin(stack):
    # Given the web client on vite's default origin, which `make dev` allows (CORS_ORIGINS)
    origin = "http://localhost:5173"
    asks = {"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    preflight = httpx.options(f"{stack.gateway}/api/v1/login", headers=asks)
    # Then its preflight is granted, and a refused call is still readable by it
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == origin
    login = httpx.post(f"{stack.gateway}/api/v1/login", json={"email": "nobody@example.org", "password": "x" * 12},
                       headers={"Origin": origin})  # fmt: skip
    assert login.status_code in (401, 422), login.text
    assert login.headers["access-control-allow-origin"] == origin


def test_object_put_in_the_bucket_reaches_the_detect_handler_via_the_queue(stack):
    s3 = boto3.client("s3", endpoint_url=stack.moto, region_name="us-east-1")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("sentrix-local"))
    key = "incoming/e2e-user/e2e-analysis/hello world.jpg"
    s3.put_object(Bucket=bucket, Key=key, Body=b"\xff\xd8\xff")

    # No analysis waits for this object, so the detect handler tags it for lifecycle expiry: proof that it
    # received the S3 notification through the queue.
    def tagged():
        tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        return {"Key": "sentrix-unmatched", "Value": "true"} in tags

    wait_for(tagged, 30, "the detect handler to tag the object")
    log: Path = stack.log
    assert any("object without a pending analysis" in ln and key in ln for ln in log.read_text().splitlines())


def test_stopping_leaves_no_process_of_ours_running(tmp_path):
    # A stack of its own: stopping the module's would leave nothing for the tests shuffled after this one
    with local_stack(tmp_path) as stack:
        _stop_and_check(stack)


def _stop_and_check(stack) -> None:
    process = stack.process
    run_dir = stack.state_dir / "run"
    pids = {p.stem: int(p.read_text()) for p in run_dir.glob("*.pid")}
    from sentrix_local.postgres import LocalPostgres

    # The cluster may live under /tmp when the state dir is not reachable by the postgres user.
    postmaster = LocalPostgres(stack.state_dir / "pgdata", stack.ports["PG"]).data_dir / "postmaster.pid"
    pg_pid = int(postmaster.read_text().splitlines()[0])
    assert {"moto", "yolo", "stack"} <= set(pids)

    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)

    for pid in [*pids.values(), pg_pid]:
        assert not _alive(pid), f"pid {pid} still running"
    assert not postmaster.exists()
    assert list(run_dir.glob("*.pid")) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
