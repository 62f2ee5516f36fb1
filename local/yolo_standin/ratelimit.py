"""The original service's per-IP limit (slowapi "10 per 1 minute", fixed windows) with a clock tests can move.

Fixed windows as slowapi's default strategy: window n is [n·W, (n+1)·W) on the limiter's clock, and a client
IP may make `limit` /detect calls in each; the next ones get a bare 429 `{"error": ...}` without Retry-After.

The clock is `time.monotonic()` plus an offset that `POST /_admin/clock` moves forward ("real"), or only that
offset ("manual", YOLO_STANDIN_CLOCK=manual): then time stands still until a test advances it, so which
request of a burst is refused does not depend on how fast the machine is.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

CLOCKS = ("real", "manual")


class Clock:
    """Seconds on the stand-in's clock: the real monotonic clock or a manual one, both movable forward."""

    def __init__(self, kind: str = "real", source: Callable[[], float] = time.monotonic) -> None:
        if kind not in CLOCKS:
            raise ValueError(f"YOLO_STANDIN_CLOCK must be one of {', '.join(CLOCKS)}, not {kind!r}")
        self.kind = kind
        self._source = source
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return (self._source() if self.kind == "real" else 0.0) + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds` (never back); returns the new time."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("the clock only moves forward by a finite number of seconds")
        with self._lock:
            self._offset += seconds
        return self.now()


class FixedWindowLimiter:
    """At most `limit` hits per client key in each fixed window of `window_s` seconds; limit 0 = no limit."""

    def __init__(self, limit: int, window_s: float, clock: Clock) -> None:
        if limit < 0:
            raise ValueError("YOLO_STANDIN_RATE_LIMIT must be 0 (off) or a positive number of requests")
        if not window_s > 0:
            raise ValueError("YOLO_STANDIN_RATE_WINDOW_S must be a positive number of seconds")
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, tuple[int, int]] = {}  # key -> (window index, hits in it)

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def hit(self, key: str) -> bool:
        """Count one request of `key`; False when it is over the limit of the current window (not counted)."""
        if not self.enabled:
            return True
        window = math.floor(self.clock.now() / self.window_s)
        with self._lock:
            current, hits = self._hits.get(key, (window, 0))
            if current != window:
                hits = 0
            if hits >= self.limit:
                return False
            self._hits[key] = (window, hits + 1)
            return True

    def describe(self) -> str:
        """slowapi's wording: "10 per 1 minute"."""
        window = f"{self.window_s / 60:g} minute" if self.window_s % 60 == 0 else f"{self.window_s:g} second"
        return f"{self.limit} per {window}"

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
