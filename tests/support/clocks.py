"""Time the tests control: a sleep that records what was asked of it, and a breaker storage whose clock moves.

Tests assert the waits the code *asked for* and move the breaker's clock explicitly, so no assertion depends
on how fast this machine is (docs/testing.md, "No clocks in assertions").
"""

from __future__ import annotations

from datetime import timedelta

import pybreaker


class RecordedSleeps(list):
    """A `sleep` that returns at once and remembers every duration requested, in order."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class TravellingBreakerStorage(pybreaker.CircuitMemoryStorage):
    """pybreaker's in-memory storage with a clock the test moves forward.

    pybreaker half-opens when `now >= opened_at + reset_timeout`, reading `now` itself; moving `opened_at`
    back by `seconds` is the same as the clock moving forward by `seconds`.
    """

    def __init__(self) -> None:
        super().__init__(pybreaker.STATE_CLOSED)

    def advance(self, seconds: float) -> None:
        if self.opened_at is not None:
            self.opened_at = self.opened_at - timedelta(seconds=seconds)
