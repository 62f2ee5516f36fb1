"""The wait before a message that met a busy YOLO host (429) comes back (sentrix_detect.logic.backpressure)."""

from __future__ import annotations

import random

import pytest

from sentrix.errors import DetectorBusy, DetectorUnavailable
from sentrix_detect.logic.backpressure import Backpressure, delay_s
from sentrix_detect.logic.model import Outcome, RetryLater
from sentrix_detect.settings import DetectSettings
from tests.support.detect import FakeDetector, photo
from tests.unit.detect.test_pipeline import World

SETTINGS = DetectSettings()


class Fixed(random.Random):
    """random() always returns `value`: the jitter's extremes and middle."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(
    ("earlier", "low", "mid", "high"),
    [(0, 24, 30, 36), (1, 48, 60, 72), (2, 96, 120, 144), (3, 192, 240, 288), (4, 240, 300, 360), (40, 240, 300, 360)],
)
def test_without_retry_after_30_s_doubling_to_300_with_20_percent_jitter(earlier, low, mid, high):
    assert delay_s(None, earlier, SETTINGS, Fixed(0.0)) == low
    assert delay_s(None, earlier, SETTINGS, Fixed(0.5)) == mid
    assert delay_s(None, earlier, SETTINGS, Fixed(0.9999999)) == high


def test_retry_after_is_honoured_never_earlier_and_capped():
    assert delay_s(7, 3, SETTINGS, Fixed(0.0)) == 7  # the host's word, whatever came before
    assert delay_s(7, 3, SETTINGS, Fixed(0.9999999)) == 9  # 8.4 s, in whole seconds up
    assert delay_s(3600, 0, SETTINGS, Fixed(0.0)) == 300
    assert delay_s(0, 0, SETTINGS, Fixed(0.5)) == 0


def test_a_busy_host_puts_the_analysis_back_without_spending_an_attempt():
    world = World(FakeDetector(error=DetectorBusy("YOLO service rate limit (HTTP 429): slow down")))
    row = world.upload(photo("JPEG"))

    with pytest.raises(Backpressure) as raised:
        world.process(row, receive_count=19)  # even on the 19th receive: busy is never a failure

    assert 24 <= raised.value.delay_s <= 36
    assert (row.status, row.attempts, row.backpressure_delays) == ("queued", 1, 1)
    assert "HTTP 429" in row.failure_reason

    with pytest.raises(Backpressure) as again:
        world.process(row, receive_count=20)
    assert 48 <= again.value.delay_s <= 72  # doubled: the second busy answer for this analysis
    assert (row.status, row.attempts, row.backpressure_delays) == ("queued", 2, 2)


def test_busy_deliveries_are_subtracted_from_the_failure_budget():
    world = World(FakeDetector(error=DetectorUnavailable("YOLO service error (HTTP 503): down")))
    row = world.upload(photo("JPEG"), backpressure_delays=10, attempts=10)

    with pytest.raises(RetryLater) as first:
        world.process(row, receive_count=14)  # 14 receives, 10 of them busy: the 4th failure
    assert not isinstance(first.value, Backpressure)
    assert row.status == "queued"

    with pytest.raises(RetryLater, match="gave up after 2 attempts"):
        world.process(row, receive_count=15)  # the 5th failure delivery ends it (two claims were failures)
    assert row.status == "failed"


def test_the_last_receive_is_final_whatever_the_budget_says():
    world = World(FakeDetector(error=DetectorUnavailable("down")), max_receive_count=20)
    row = world.upload(photo("JPEG"), backpressure_delays=18, attempts=18)
    with pytest.raises(RetryLater, match="gave up after"):
        world.process(row, receive_count=20)
    assert row.status == "failed"


def test_once_the_host_answers_the_analysis_completes():
    detector = FakeDetector(error=DetectorBusy("busy", retry_after_s=5))
    world = World(detector)
    row = world.upload(photo("JPEG"))
    with pytest.raises(Backpressure) as raised:
        world.process(row)
    assert 5 <= raised.value.delay_s <= 6
    detector.error = None
    assert world.process(row, receive_count=2) is Outcome.COMPLETED
    assert (row.status, row.backpressure_delays) == ("completed", 1)
