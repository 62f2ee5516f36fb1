"""Fixtures of the detect integration tests: PostGIS, moto's server and the YOLO stand-in, all real."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from tests.conftest import empty_queues, reset_caches
from tests.integration.detect.helpers import Uploads, reset_standin


def _forget_detect_caches() -> None:
    from sentrix.adapters.yolo import reset_yolo_client
    from sentrix_detect.logic.records import reset_default_pipeline
    from sentrix_detect.settings import get_detect_settings

    reset_caches()
    reset_yolo_client()
    reset_default_pipeline()
    get_detect_settings.cache_clear()


ORIGINAL_ENV = {"YOLO_STANDIN_PROFILE": "original", "YOLO_STANDIN_CLOCK": "manual"}


@pytest.fixture(scope="session")
def original_standin() -> Iterator[Any]:
    """The stand-in in its `original` profile (answers like the original service, 10 /detect per minute and IP),
    on a manual clock: its minute only passes when a test moves it (POST /_admin/clock)."""
    from yolo_standin.testing import StandinProcess

    with StandinProcess(env=ORIGINAL_ENV) as standin:
        yield standin


@pytest.fixture
def standin_profile(request) -> str:
    """The stand-in profile of a test: `default`, or what `@pytest.mark.parametrize(..., indirect=True)` says."""
    return getattr(request, "param", "default")


@pytest.fixture
def yolo_standin(standin_profile, default_standin, original_standin) -> Any:
    """The session's stand-in of the test's profile. Both are named here, so both start before the test (a
    session service started inside a test would count as its leak)."""
    return original_standin if standin_profile == "original" else default_standin


@pytest.fixture
def detect_env(clean_db, aws, yolo_standin) -> Iterator[Any]:
    """Every service up, caches reset, queues empty and the stand-in without faults, before and after."""
    _forget_detect_caches()
    reset_standin(yolo_standin)
    empty_queues(aws)
    yield aws
    reset_standin(yolo_standin)
    empty_queues(aws)
    _forget_detect_caches()


@pytest.fixture
def s3(aws) -> Any:
    return boto3.client("s3", endpoint_url=aws.endpoint_url)


@pytest.fixture
def sqs(aws) -> Any:
    return boto3.client("sqs", endpoint_url=aws.endpoint_url)


@pytest.fixture
def uploads(detect_env, s3) -> Uploads:
    return Uploads(detect_env.bucket, s3)


@pytest.fixture
def yolo_settings(yolo_standin) -> Callable[..., Any]:
    """YOLO settings aimed at the stand-in with test-sized timeouts and backoffs."""
    from sentrix.adapters.yolo import YoloSettings

    def build(**overrides: Any) -> YoloSettings:
        values = {
            "yolo_service_url": yolo_standin.base_url,
            "yolo_connect_timeout_s": 1.0,
            "yolo_read_timeout_s": 5.0,
            "yolo_retry_attempts": 2,
            "yolo_backoff_initial_s": 0.01,
            "yolo_backoff_max_s": 0.05,
            "yolo_backoff_jitter_s": 0.01,
            "yolo_breaker_fail_max": 50,
            "yolo_breaker_reset_timeout_s": 1.0,
            **overrides,
        }
        return YoloSettings(**values)

    return build


@pytest.fixture
def make_pipeline(detect_env, yolo_settings) -> Iterator[Callable[..., Any]]:
    """A pipeline on the real store and S3, with a YOLO client tuned by keyword arguments."""
    from sentrix.adapters.yolo import YoloClient
    from sentrix_detect.logic.pipeline import DetectPipeline
    from tests.support.clocks import RecordedSleeps

    clients: list[Any] = []

    def build(
        *, detector: Any = None, store: Any = None, sleep: Any = None, breaker_storage: Any = None, **yolo: Any
    ) -> DetectPipeline:
        if detector is None:
            # Waits between attempts are recorded, not slept (tests/support/clocks.py), unless a test passes one.
            detector = YoloClient(
                yolo_settings(**yolo),
                sleep=sleep if sleep is not None else RecordedSleeps(),
                breaker_storage=breaker_storage,
            )
            clients.append(detector)
        return DetectPipeline(detector=detector, store=store)

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def pipeline(make_pipeline) -> Any:
    return make_pipeline()
