"""Detect settings: their defaults, the environment, and their agreement with infra/template.yaml."""

from __future__ import annotations

import pytest

from sentrix_detect.settings import DetectSettings
from sentrix_local.template import load_template


@pytest.fixture(scope="module")
def template():
    return load_template()


def detect_env(template) -> dict:
    return template["Resources"]["DetectFunction"]["Properties"]["Environment"]["Variables"]


def test_settings_come_from_detect_variables(monkeypatch):
    monkeypatch.setenv("DETECT_MAX_RECEIVE_COUNT", "7")
    monkeypatch.setenv("DETECT_YOLO_MIN_SIDE", "1280")
    settings = DetectSettings()
    assert (settings.max_receive_count, settings.yolo_min_side, settings.max_pixels) == (7, 1280, 100_000_000)


def test_inconsistent_limits_are_refused():
    with pytest.raises(ValueError, match="MIN_SIDE"):
        DetectSettings(min_side=500, max_side=100)


def test_the_last_receive_is_the_queues_max_receive_count(template):
    redrive = template["Resources"]["DetectQueue"]["Properties"]["RedrivePolicy"]
    assert int(detect_env(template)["DETECT_MAX_RECEIVE_COUNT"]) == int(redrive["maxReceiveCount"])


def test_the_claim_ttl_lies_between_the_function_timeout_and_the_visibility_timeout(template):
    timeout = int(template["Resources"]["DetectFunction"]["Properties"]["Timeout"])
    visibility = int(template["Resources"]["DetectQueue"]["Properties"]["VisibilityTimeout"])
    assert timeout < int(detect_env(template)["DETECT_CLAIM_TTL_S"]) < visibility
    assert timeout < DetectSettings().claim_ttl_s < visibility


def test_the_time_margin_leaves_room_to_work(template):
    timeout_ms = int(template["Resources"]["DetectFunction"]["Properties"]["Timeout"]) * 1000
    assert 0 < int(detect_env(template)["DETECT_TIME_MARGIN_MS"]) < timeout_ms / 2


def test_the_function_may_tag_unmatched_uploads_and_delete_orphan_annotated_images(template):
    statements = template["Resources"]["DetectFunction"]["Properties"]["Policies"][1]["Statement"]
    actions = {s["Sid"]: set(s["Action"]) for s in statements}
    assert {"s3:GetObject", "s3:PutObjectTagging"} <= actions["ReadIncomingImages"]
    assert {"s3:PutObject", "s3:DeleteObject"} <= actions["WriteProcessedImages"]


def test_backpressure_redeliveries_fit_under_the_queues_max_receive_count(template):
    """Busy deliveries are receives too: the queue must allow many more receives than the failure budget."""
    redrive = template["Resources"]["DetectQueue"]["Properties"]["RedrivePolicy"]
    attempts = int(detect_env(template)["DETECT_MAX_ATTEMPTS"])
    assert attempts == 5
    assert int(redrive["maxReceiveCount"]) >= attempts + 15
    defaults = DetectSettings()
    assert (defaults.max_attempts, defaults.max_receive_count) == (5, 20)
    waits = (defaults.backpressure_initial_s, defaults.backpressure_max_s, defaults.backpressure_jitter)
    assert waits == (30, 300, 0.2)


def test_backpressure_waits_must_grow_towards_their_cap():
    with pytest.raises(ValueError, match="BACKPRESSURE_INITIAL_S"):
        DetectSettings(backpressure_initial_s=400, backpressure_max_s=300)
