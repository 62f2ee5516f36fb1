"""Fixtures of the security suite: every HTTP function behind one in-process gateway with the real authorizer.

The attacks go over real HTTP through `sentrix_local.gateway` (routes and authorizer from infra/template.yaml)
to the real handlers, against PostGIS and moto's server. `world` seeds two users, an expert and an admin, and
Alice's analyses (a completed one with detections and its photos on S3, a failed one for retry).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
from sqlalchemy import text

from tests.security.support import jpeg
from tests.support.gateway import in_process_gateway
from tests.support.identity import DEFAULT_PASSWORD, bearer
from tests.support.seed import truncate_all

HTTP_FUNCTIONS = ("AuthFunction", "UploadFunction", "ReportFunction", "AuthorizerFunction")
ALICE_POINT = (-26.8012, -65.2012)


def _forget_function_caches() -> None:
    from sentrix_auth.providers.factory import reset_provider
    from sentrix_report.settings import get_report_settings
    from sentrix_upload.logic import image_urls
    from sentrix_upload.settings import get_upload_settings
    from tests.conftest import reset_caches

    reset_caches()
    reset_provider()
    get_upload_settings.cache_clear()
    get_report_settings.cache_clear()
    image_urls.clear()


@pytest.fixture(scope="session")
def security_gateway(database_url, aws, signing_key) -> Iterator[str]:
    """Base URL (…/api/v1) of a gateway serving every HTTP function of the template and the authorizer."""
    os.environ["AUTH_PROVIDER"] = "builtin"
    _forget_function_caches()
    with in_process_gateway(HTTP_FUNCTIONS) as url:
        yield url


@pytest.fixture(scope="session")
def s3(aws) -> Any:
    return boto3.client("s3", endpoint_url=aws.endpoint_url)


@pytest.fixture(scope="session")
def sqs(aws) -> Any:
    return boto3.client("sqs", endpoint_url=aws.endpoint_url)


@dataclass
class World:
    alice: Any
    bob: Any
    expert: Any
    admin: Any
    analysis_id: uuid.UUID  # Alice's, completed, with detections and photos on S3
    failed_id: uuid.UUID  # Alice's, failed (retry target)
    detection_ids: list[uuid.UUID]
    site_ids: list[uuid.UUID]  # the sites of Alice's detections
    alert_id: uuid.UUID  # a cluster alert holding Alice's first site (docs/alerts.md)
    image_key: str
    processed_key: str

    def headers(self, who: str) -> dict[str, str]:
        return bearer(getattr(self, who))


@functools.cache
def _password_hash() -> str:
    # One argon2id hash per process (~40 ms each, more on a busy machine): every world user shares it.
    from sentrix.passwords import hash_password

    return hash_password(DEFAULT_PASSWORD)


def make_user(*, role: str = "user", email: str) -> Any:
    """A user who can sign in with DEFAULT_PASSWORD (the row `create_user` makes, without re-hashing)."""
    from sentrix.db.engine import session_scope
    from sentrix.db.models import User
    from sentrix.domain.roles import Role

    user = User(email=email, password_hash=_password_hash(), role=Role(role), is_active=True)
    with session_scope() as session:
        session.add(user)
        session.flush()
        session.refresh(user)
    return user


def seed_world(aws: Any, s3: Any) -> World:
    from sentrix.db.engine import session_scope
    from sentrix.domain.status import AnalysisStatus
    from tests.support.seed import make_analysis, merge_sites

    alice = make_user(email="alice@example.org")
    bob = make_user(email="bob@example.org")
    expert = make_user(role="expert", email="expert@example.org")
    admin = make_user(role="admin", email="admin@example.org")
    with session_scope() as session:
        done = make_analysis(
            session, user=alice.id, latitude=ALICE_POINT[0], longitude=ALICE_POINT[1], detections=[0, 3]
        )
        done.image_bucket = aws.bucket
        done.processed_image_key = f"processed/{alice.id}/{done.id}.jpg"
        failed = make_analysis(session, user=alice.id, status=AnalysisStatus.FAILED, failure_reason="bad photo")
        failed.image_bucket = aws.bucket
        session.flush()
        site_ids = merge_sites(session, done, *ALICE_POINT)
        alert_id = uuid.uuid4()
        session.execute(
            text(
                "INSERT INTO alerts (id, level, site_count, opened_at, last_growth_at, updated_at) "
                "VALUES (:id, 'yellow', 1, now(), now(), now())"
            ),
            {"id": alert_id},
        )
        session.execute(
            text("INSERT INTO alert_sites (alert_id, site_id, joined_at, via) VALUES (:a, :s, now(), 'cluster')"),
            {"a": alert_id, "s": site_ids[0]},
        )
        world = World(
            alice=alice,
            bob=bob,
            expert=expert,
            admin=admin,
            analysis_id=done.id,
            failed_id=failed.id,
            detection_ids=[d.id for d in done.detections],
            site_ids=site_ids,
            alert_id=alert_id,
            image_key=done.image_key,
            processed_key=done.processed_image_key,
        )
        failed_key = failed.image_key
    photo = jpeg()
    for key in (world.image_key, world.processed_key, failed_key):
        s3.put_object(Bucket=aws.bucket, Key=key, Body=photo, ContentType="image/jpeg")
    return world


@pytest.fixture
def api(security_gateway, clean_db) -> Iterator[httpx.Client]:
    """An HTTP client on the gateway, with an empty database and fresh function settings."""
    os.environ["AUTH_PROVIDER"] = "builtin"
    _forget_function_caches()
    with httpx.Client(base_url=security_gateway, timeout=30) as client:
        yield client


@pytest.fixture
def world(api, aws, s3) -> World:
    return seed_world(aws, s3)


@pytest.fixture(scope="module")
def shared_api(security_gateway) -> Iterator[httpx.Client]:
    """A module-wide client for suites whose every request must leave the world unchanged."""
    with httpx.Client(base_url=security_gateway, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def _module_world() -> dict[str, Any]:
    return {}


@pytest.fixture
def shared_world(security_gateway, aws, s3, _module_world) -> World:
    """One world for a whole module (refused requests must not change it, and each test checks that).

    Seeded again when a test on a fresh database (`api`, `clean_db`) emptied the tables since: in a shuffled
    order those run between the module's shared-world tests."""
    from tests.support.seed import truncations

    if _module_world.get("truncations") != truncations():
        os.environ["AUTH_PROVIDER"] = "builtin"
        _forget_function_caches()
        truncate_all()
        _module_world["world"] = seed_world(aws, s3)
        _module_world["truncations"] = truncations()
    return _module_world["world"]
