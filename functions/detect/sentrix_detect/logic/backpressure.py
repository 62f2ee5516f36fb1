"""Backpressure: a YOLO host answering 429 is busy, not broken; the message comes back when it may be ready.

On DetectorBusy the pipeline releases its claim without spending the failure budget (the analysis goes back to
`queued` and `analyses.backpressure_delays` goes up) and raises Backpressure with the wait; the record handler
then sets the SQS message's visibility to that wait (ChangeMessageVisibility, adapters/queue.py) and reports the
record as a batch item failure, so SQS delivers it again after the wait instead of after the queue's visibility
timeout.

The wait (docs/detect.md "Backpressure"): the Retry-After the host sent, capped at DETECT_BACKPRESSURE_MAX_S and
lengthened by up to DETECT_BACKPRESSURE_JITTER of it; without Retry-After DETECT_BACKPRESSURE_INITIAL_S (30 s)
doubled per earlier busy answer of the same analysis, capped at DETECT_BACKPRESSURE_MAX_S (300 s), ±the jitter
(20 %). Busy deliveries still count as SQS receives: DETECT_MAX_RECEIVE_COUNT (the queue's maxReceiveCount, 20)
is what bounds them, DETECT_MAX_ATTEMPTS (5) bounds failures. An analysis that gave up before the last receive
sends its message on to the dead-letter queue quickly (ToDeadLetter), so a redrive can still revive it.
"""

from __future__ import annotations

import math
import random

from sentrix_detect.logic.model import RetryLater
from sentrix_detect.settings import DetectSettings

# SQS refuses a visibility timeout above 12 hours.
MAX_VISIBILITY_S = 43_200


class Delayed(RetryLater):
    """Deliver this record again after `delay_s` seconds (the record handler sets the message's visibility)."""

    def __init__(self, message: str, *, delay_s: int) -> None:
        super().__init__(message)
        self.delay_s = delay_s


class Backpressure(Delayed):
    """The YOLO host is busy: deliver this record again after `delay_s` seconds."""


class ToDeadLetter(Delayed):
    """The analysis gave up (failure budget spent) before the queue's maxReceiveCount: the message must still
    reach the dead-letter queue, where `make redrive` can bring it back, so it is failed again at once (visibility
    0) on every delivery until SQS moves it there."""

    def __init__(self, message: str) -> None:
        super().__init__(message, delay_s=0)


def delay_s(
    retry_after_s: float | None, earlier_busy: int, settings: DetectSettings, rng: random.Random | None = None
) -> int:
    """Seconds until the message should come back (whole seconds, as SQS takes them)."""
    draw = (rng or random).random()
    jitter = settings.backpressure_jitter
    if retry_after_s is not None:
        # Never earlier than the host asked; spread upwards so a burst does not return in one second.
        wait = min(retry_after_s, settings.backpressure_max_s) * (1 + jitter * draw)
    else:
        base = settings.backpressure_initial_s * 2 ** min(max(earlier_busy, 0), 32)
        wait = min(base, settings.backpressure_max_s) * (1 + jitter * (2 * draw - 1))
    return min(MAX_VISIBILITY_S, max(0, math.ceil(wait)))
