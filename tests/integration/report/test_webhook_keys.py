"""Where the key that seals webhook secrets comes from (dal/webhook_keys.py, docs/alerts.md): a Secrets Manager
secret in the cloud (moto's server here), the REPORT_WEBHOOK_KEY override, or — outside production only — a random
key kept per deployment in the database. The key is SHA-256 of the secret's text, written out here."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.errors import DependencyUnavailable

pytestmark = pytest.mark.integration


@pytest.fixture
def secrets(db, moto_server) -> Iterator[Any]:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    yield boto3.client("secretsmanager", endpoint_url=moto_server, region_name="us-east-1")
    parameters.clear_caches()


def settings(**values: Any):
    from sentrix_report.settings import ReportSettings

    return ReportSettings(**values)


def key(session, report_settings) -> bytes:
    from sentrix_report.dal.webhook_keys import webhook_key

    return webhook_key(session, report_settings)


def test_in_the_cloud_the_key_is_the_secret_named_by_its_arn(secrets):
    arn = secrets.create_secret(Name=f"webhook-{uuid.uuid4().hex}", SecretString="a secret of the stack")["ARN"]
    with session_scope() as session:
        got = key(session, settings(webhook_key_secret_arn=arn, webhook_key="an override nobody should read"))
    assert got == hashlib.sha256(b"a secret of the stack").digest()


def test_a_secret_that_cannot_be_read_is_a_dependency_outage_named_for_operators(secrets):
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-webhook-key-AbCdEf"
    with session_scope() as session, pytest.raises(DependencyUnavailable, match=r"^Webhook secrets key unavailable$"):
        key(session, settings(webhook_key_secret_arn=missing))


def test_the_override_is_the_key_when_no_secret_is_named(db):
    with session_scope() as session:
        got = key(session, settings(webhook_key="sixteen or more characters"))
    assert got == hashlib.sha256(b"sixteen or more characters").digest()


def test_without_either_a_development_stack_keeps_one_random_key_in_its_database(db):
    from sentrix_report.dal.keys import forget_keys

    forget_keys()
    with session_scope() as session:
        first = key(session, settings())
        stored = session.execute(text("SELECT value FROM deployment_keys WHERE name = 'webhook-secrets'")).scalar_one()
    assert first == hashlib.sha256(stored.encode()).digest()
    forget_keys()
    with session_scope() as session:
        assert key(session, settings()) == first  # read back, not made again
    forget_keys()


def test_production_without_a_configured_key_refuses_rather_than_keep_one_beside_the_ciphertexts(db, monkeypatch):
    from sentrix.config import get_settings

    monkeypatch.setenv("ENVIRONMENT", "production")
    get_settings.cache_clear()
    try:
        with (
            session_scope() as session,
            pytest.raises(DependencyUnavailable, match=r"^Webhook secrets key not configured$"),
        ):
            key(session, settings())
        with session_scope() as session:
            assert (
                session.execute(text("SELECT count(*) FROM deployment_keys WHERE name = 'webhook-secrets'")).scalar()
                == 0
            )
    finally:
        monkeypatch.delenv("ENVIRONMENT")
        get_settings.cache_clear()


@pytest.mark.parametrize("environment_max_age", [None, "1"], ids=["powertools-default", "env-1s"])
def test_the_secret_is_read_again_after_five_minutes_not_before(secrets, monkeypatch, environment_max_age):
    """Powertools keeps the secret 300 s (`max_age`): a rotated secret is picked up within five minutes, and
    the function does not call Secrets Manager on every delivery, whatever POWERTOOLS_PARAMETERS_MAX_AGE says
    (a function-wide setting for other parameters). Powertools' clock is moved, not waited for."""
    from datetime import datetime, timedelta

    from aws_lambda_powertools.utilities.parameters import base

    if environment_max_age is not None:
        monkeypatch.setenv("POWERTOOLS_PARAMETERS_MAX_AGE", environment_max_age)

    shift = timedelta()

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.now(tz) + shift

    monkeypatch.setattr(base, "datetime", Clock)
    arn = secrets.create_secret(Name=f"webhook-{uuid.uuid4().hex}", SecretString="before rotation")["ARN"]
    before, after = hashlib.sha256(b"before rotation").digest(), hashlib.sha256(b"after rotation").digest()
    with session_scope() as session:
        assert key(session, settings(webhook_key_secret_arn=arn)) == before
        secrets.put_secret_value(SecretId=arn, SecretString="after rotation")
        shift = timedelta(seconds=299.5)
        assert key(session, settings(webhook_key_secret_arn=arn)) == before
        shift = timedelta(seconds=300.5)
        assert key(session, settings(webhook_key_secret_arn=arn)) == after
