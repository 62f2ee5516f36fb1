"""What every benchmark module shares: timing, results with their same-run baseline, and the report."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_JSON = REPO_ROOT / "bench" / "results.json"
RESULTS_MD = REPO_ROOT / "bench" / "results.md"


@dataclass
class Result:
    """One figure and its baseline; `ratio` = value / baseline (lower is better for times)."""

    suite: str
    name: str
    value: float
    unit: str
    baseline_name: str
    baseline_value: float
    target_ratio: float | None = None
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("inf")

    @property
    def meets_target(self) -> bool | None:
        return None if self.target_ratio is None else self.ratio <= self.target_ratio


def median_time(fn: Callable[[], object], *, repeat: int = 50, warmup: int = 3) -> float:
    """Median wall time of `fn` in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def cold_import_ms(
    statement: str,
    *,
    env: dict | None = None,
    repeat: int = 7,
    sys_path: list[str] | None = None,
    no_bytecode: bool = False,
) -> float:
    """Median time for a fresh interpreter to run `statement` (minus the interpreter's own start-up)."""
    base_env = {**os.environ, **(env or {})}
    if sys_path:
        base_env["PYTHONPATH"] = os.pathsep.join(sys_path)
    flags = ["-B"] if no_bytecode else []
    code = "import time; t=time.perf_counter(); " + statement + "; print((time.perf_counter()-t)*1000)"
    samples = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, *flags, "-c", code], env=base_env, capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def write_report(results: list[Result], *, partial: bool = False) -> None:
    """Write results.json and results.md. A `partial` run (some modules only) replaces the rows of the suites it
    ran and keeps the others from the last results.json, each row with the time it was measured."""
    now = datetime.now(UTC).isoformat()
    rows = [
        {**asdict(r), "ratio": round(r.ratio, 3), "meets_target": r.meets_target, "measured_at": now} for r in results
    ]
    if partial and RESULTS_JSON.exists():
        ran = {r.suite for r in results}
        previous = json.loads(RESULTS_JSON.read_text())
        kept = [
            {**row, "measured_at": row.get("measured_at", previous["generated_at"])}
            for row in previous["results"]
            if row["suite"] not in ran
        ]
        rows = sorted(kept + rows, key=lambda row: row["suite"])
    payload = {"generated_at": now, "machine": machine(), "results": rows}
    RESULTS_JSON.write_text(json.dumps(payload, indent=2) + "\n")
    lines = [
        f"Machine: {payload['machine']['processor']}, {payload['machine']['cpus']} CPUs, "
        f"Python {payload['machine']['python']} — {payload['generated_at'][:19]}Z (each row: when it was measured)",
        "",
        "| Suite | Benchmark | Value | Baseline (same run) | Ratio | Target | Measured |",
        "| --- | --- | ---: | --- | ---: | --- | --- |",
    ]
    for r in rows:
        target = "" if r["target_ratio"] is None else f"≤ {r['target_ratio']:g}× {'✅' if r['meets_target'] else '❌'}"
        lines.append(
            f"| {r['suite']} | {r['name']} | {r['value']:.3f} {r['unit']} | {r['baseline_name']}: "
            f"{r['baseline_value']:.3f} {r['unit']} | {r['ratio']:.2f}× | {target} | {r['measured_at'][:10]} |"
        )
    RESULTS_MD.write_text("\n".join(lines) + "\n")
