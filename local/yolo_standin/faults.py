"""Fault injection for the YOLO stand-in (a TEST DOUBLE): configuration, exact scheduling, counters."""

from __future__ import annotations

import hashlib
import json
import threading
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Fixed order: it is the tie-break order of the scheduler and the order of the stats keys.
FAULT_MODES: tuple[str, ...] = ("error", "timeout", "rate_limit", "malformed", "bad_request")
NO_FAULT = "none"
# Enough for any one test's uploads; a long-running local stack stops noting files beyond it.
MAX_RECEIVED = 10_000


class FaultConfig(BaseModel):
    """Fault settings; every `*_rate` is the exact fraction of /detect calls that get that fault."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(0, ge=0, le=600_000)
    error_rate: float = Field(0.0, ge=0.0, le=1.0)
    timeout_rate: float = Field(0.0, ge=0.0, le=1.0)
    timeout_sleep_s: float = Field(30.0, gt=0.0, le=3600.0)
    rate_limit_rate: float = Field(0.0, ge=0.0, le=1.0)
    retry_after_s: int | None = Field(1, ge=0, le=3600)  # None: a 429 without Retry-After, as the original
    malformed_rate: float = Field(0.0, ge=0.0, le=1.0)
    malformed_kind: Literal["alternate", "invalid_json", "missing_keys"] = "alternate"
    bad_request_rate: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _rates_fit(self) -> FaultConfig:
        total = sum(_fraction(r) for r in self.rates().values())
        if total > 1:
            raise ValueError(f"the fault rates add up to {float(total):g}; their sum must be at most 1")
        return self

    def rates(self) -> dict[str, float]:
        """Rate per fault mode, in scheduler order."""
        return {mode: getattr(self, f"{mode}_rate") for mode in FAULT_MODES}


def parse_fault_env(raw: str | None) -> FaultConfig:
    """Parse YOLO_STANDIN_FAULTS (a JSON object); empty or unset means no faults."""
    if raw is None or not raw.strip():
        return FaultConfig()
    return FaultConfig.model_validate(json.loads(raw))


def _fraction(rate: float) -> Fraction:
    # Exact rational arithmetic, so 0.1 really is 1/10 and counts never drift by float error.
    return Fraction(rate).limit_denominator(1_000_000)


class ExactScheduler:
    """Chooses one outcome per call so each outcome's count stays within 1 of rate * calls.

    Tijdeman's chairman-assignment rule: with k outcomes (the faults plus "none", whose rate is
    1 - sum), after n calls every count c satisfies |rate * n - c| <= 1 - 1/(2k - 2) < 1. So
    whenever rate * n is a whole number the count equals it exactly (error_rate=0.25 over 40
    calls gives exactly 10 errors), even with several modes configured at once.
    """

    def __init__(self, rates: dict[str, float]) -> None:
        """Build a scheduler for fault-mode rates (their sum must be at most 1)."""
        weights = {mode: _fraction(rate) for mode, rate in rates.items() if rate > 0}
        rest = 1 - sum(weights.values(), Fraction(0))
        if rest < 0:
            raise ValueError("rates add up to more than 1")
        if rest > 0:
            weights[NO_FAULT] = rest
        self._weights = weights
        self._counts = dict.fromkeys(weights, 0)
        self._calls = 0
        k = len(weights)
        self._delta = Fraction(1, 2 * k - 2) if k > 1 else Fraction(0)

    def next(self) -> str:
        """Return the outcome of the next call: a fault mode or "none"."""
        self._calls += 1
        t = self._calls
        if len(self._weights) == 1:
            choice = next(iter(self._weights))
        else:
            eligible = [m for m, w in self._weights.items() if w * t - self._counts[m] >= self._delta]
            # Earliest deadline first: the outcome that would fall behind its share soonest.
            choice = min(eligible, key=lambda m: (self._counts[m] + 1 - self._delta) / self._weights[m])
        self._counts[choice] += 1
        return choice


class FaultInjector:
    """Thread-safe holder of the current fault config, its scheduler and the outcome counters."""

    def __init__(self, startup: FaultConfig) -> None:
        """Start with the config given at process start (env YOLO_STANDIN_FAULTS)."""
        self._lock = threading.Lock()
        self._startup = startup
        self._config = startup
        self._scheduler = ExactScheduler(startup.rates())
        self._malformed_seen = 0
        self._stats = _empty_stats()
        self._received: list[dict[str, Any]] = []

    @property
    def config(self) -> FaultConfig:
        """The fault config in force."""
        with self._lock:
            return self._config

    def configure(self, config: FaultConfig) -> None:
        """Replace the fault config; the exact-fraction schedule restarts from this call."""
        with self._lock:
            self._config = config
            self._scheduler = ExactScheduler(config.rates())
            self._malformed_seen = 0

    def reset(self) -> None:
        """Back to the startup fault config, with all counters at zero."""
        self.configure(self._startup)
        with self._lock:
            self._stats = _empty_stats()
            self._received = []

    def receive(self, filename: str | None, data: bytes) -> None:
        """Note one file that reached /detect (its name, size and SHA-256), for tests to ask which ones did."""
        entry = {"filename": filename, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        with self._lock:
            if len(self._received) < MAX_RECEIVED:
                self._received.append(entry)

    def received(self) -> list[dict[str, Any]]:
        """The files /detect received since start or the last reset, in order (at most MAX_RECEIVED)."""
        with self._lock:
            return [dict(entry) for entry in self._received]

    def draw(self) -> tuple[str, FaultConfig]:
        """Choose the outcome of a /detect call ("none" or a fault mode) and the config it runs with."""
        with self._lock:
            return self._scheduler.next(), self._config

    def malformed_variant(self, kind: str) -> str:
        """Which broken body to send: "invalid_json" or "missing_keys" ("alternate" takes turns)."""
        with self._lock:
            self._malformed_seen += 1
            if kind != "alternate":
                return kind
            return "invalid_json" if self._malformed_seen % 2 else "missing_keys"

    def count(self, section: str, key: str) -> None:
        """Increment one counter, e.g. count("outcomes", "ok") or count("requests", "health")."""
        with self._lock:
            bucket = self._stats[section]
            bucket[key] = bucket.get(key, 0) + 1

    def stats(self) -> dict:
        """A copy of the counters plus the config in force."""
        with self._lock:
            snapshot = json.loads(json.dumps(self._stats))
            snapshot["faults"] = self._config.model_dump()
            return snapshot


def _empty_stats() -> dict:
    outcomes = {"ok": 0, "rejected": 0, "rate_limited": 0, **{f"injected_{mode}": 0 for mode in FAULT_MODES}}
    outcomes["injected_malformed_invalid_json"] = 0
    outcomes["injected_malformed_missing_keys"] = 0
    return {
        "requests": {"detect": 0, "health": 0, "admin": 0, "other": 0},
        "outcomes": outcomes,
        "detect_status_codes": {},
    }
