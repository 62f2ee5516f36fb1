"""`python -m bench.load --profile original`: the stand-in as the original service, with its minute compressed."""

from __future__ import annotations

import pytest

from bench.load import LoadConfig, main, stack_environment


def test_the_default_profile_sets_nothing_of_the_stand_ins():
    environment = stack_environment(LoadConfig())
    assert not any(name.startswith(("YOLO_STANDIN_", "DETECT_BACKPRESSURE_")) for name in environment)


def test_the_original_profile_rate_limits_with_a_compressed_minute_and_waits_to_match():
    environment = stack_environment(LoadConfig(profile="original"))
    assert environment["YOLO_STANDIN_PROFILE"] == "original"
    assert environment["YOLO_STANDIN_RATE_WINDOW_S"] == "6"
    assert (environment["DETECT_BACKPRESSURE_INITIAL_S"], environment["DETECT_BACKPRESSURE_MAX_S"]) == ("1", "10")
    assert "YOLO_STANDIN_RATE_LIMIT" not in environment  # the original's own 10 per window


def test_an_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="profile"):
        stack_environment(LoadConfig(profile="yolov8"))
    with pytest.raises(SystemExit):
        main(["--profile", "yolov8"])
