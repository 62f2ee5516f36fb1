"""Cold starts against honest floors (issue 21): whole fresh processes, each function interleaved with its floor.

Each sample is a fresh interpreter that imports a handler module (bytecode compiled, as shipped; the layer and
the function's package on the path, as Lambda lays them out) and prints how long the import took, without the
interpreter's own start-up. Round by round, every function and every floor run once, in a shuffled order, so a
load spike on this shared machine hits both sides of a ratio alike. Reported: the median over rounds (the figure
and its target) and, in the notes, the minimum and the median of the per-round ratios.

Floors (bench/floors): the HTTP functions against a FastAPI app with one typed route behind Mangum, Powertools
Logger/Metrics, SQLAlchemy Core + pg8000 and pydantic-settings; detect against Powertools + batch + SQLAlchemy +
pg8000 + httpx; the authorizer against PyJWT + cryptography's ES256 primitives. Targets: HTTP ≤ 1.25×, detect
≤ 1.4×, authorizer ≤ 1.15×; and upload's first request after its import (`GET /analyses/{id}` with its presigned
image URLs and the database connect, against a seeded database) ≤ 0.3× that import.
"""

from __future__ import annotations

import compileall
import json
import os
import random
import statistics
import subprocess
import sys
from dataclasses import dataclass, field

from bench.harness import REPO_ROOT, Result

SUITE = "cold"
SHARED = str(REPO_ROOT / "layers" / "shared")
HTTP_TARGET = 1.25
DETECT_TARGET = 1.4
AUTHORIZER_TARGET = 1.15
FIRST_REQUEST_TARGET = 0.3
ENV = {
    "PYTHONDONTWRITEBYTECODE": "1",  # /var/task and /opt are read-only on Lambda
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "Sentrix",
    "POWERTOOLS_SERVICE_NAME": "bench",
}
# The child prints one line starting with this after its own output (handlers log to stdout).
MARK = "BENCH-COLD "
IMPORT_ONLY = """
import time
t = time.perf_counter()
import {module}
elapsed = (time.perf_counter() - t) * 1000
print({mark!r} + repr(elapsed))
"""
FIRST_REQUEST = """
import json, sys, time, uuid
t = time.perf_counter()
import {module} as subject
imported = (time.perf_counter() - t) * 1000
event = json.loads(sys.stdin.read())


class Context:
    function_name = "UploadFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:UploadFunction"
    aws_request_id = str(uuid.uuid4())
    log_group_name = log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 29000


t = time.perf_counter()
response = subject.handler(event, Context())
first = (time.perf_counter() - t) * 1000
if response["statusCode"] != 200 or "https://" not in response["body"] and "http://" not in response["body"]:
    raise SystemExit("first request answered " + str(response["statusCode"]) + ": " + response["body"][:300])
print({mark!r} + json.dumps([imported, first]))
"""


@dataclass
class Subject:
    """One thing to import cold: a handler module or a floor, and the paths it needs."""

    label: str
    module: str
    paths: list[str]
    code: str = IMPORT_ONLY
    stdin: str | None = None
    env: dict = field(default_factory=dict)
    samples: list[list[float]] = field(default_factory=list)

    def run(self) -> None:
        environment = {**os.environ, **ENV, **self.env, "PYTHONPATH": os.pathsep.join(self.paths)}
        environment = {k: v for k, v in environment.items() if v is not None}
        out = subprocess.run(
            [sys.executable, "-c", self.code.format(module=self.module, mark=MARK)],
            env=environment,
            input=self.stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"{self.label}: {out.stderr[-2000:]}{out.stdout[-500:]}")
        line = next(x for x in reversed(out.stdout.splitlines()) if x.startswith(MARK))
        value = json.loads(line[len(MARK) :])
        self.samples.append(value if isinstance(value, list) else [value])

    def column(self, i: int = 0) -> list[float]:
        return [s[i] for s in self.samples]


def _function(name: str, folder: str, module: str, **kwargs) -> Subject:
    return Subject(name, module, [SHARED, str(REPO_ROOT / "functions" / folder)], **kwargs)


def _floor(name: str, module: str) -> Subject:
    return Subject(name, f"bench.floors.{module}", [str(REPO_ROOT)])


def _interleave(subjects: list[Subject], rounds: int, seed: int = 21) -> None:
    """Every subject once per round, in a new shuffled order each round (plus one unrecorded warm-up round that
    brings the files into the page cache)."""
    shuffle = random.Random(seed).shuffle
    for subject in subjects:
        subject.run()
        subject.samples.clear()
    for _ in range(rounds):
        order = list(subjects)
        shuffle(order)
        for subject in order:
            subject.run()


def _ratio_result(name: str, subject: list[float], floor: list[float], floor_name: str, target: float) -> Result:
    per_round = [s / f for s, f in zip(subject, floor, strict=True)]
    notes = (
        f"median of {len(subject)} interleaved rounds; min {min(subject):.1f} vs floor min {min(floor):.1f} ms "
        f"({min(subject) / min(floor):.2f}×); median per-round ratio {statistics.median(per_round):.2f}×"
    )
    extra = {
        "min_ms": round(min(subject), 2),
        "floor_min_ms": round(min(floor), 2),
        "ratio_of_mins": round(min(subject) / min(floor), 3),
        "median_per_round_ratio": round(statistics.median(per_round), 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    median, floor_median = statistics.median(subject), statistics.median(floor)
    return Result(SUITE, name, median, "ms", floor_name, floor_median, target_ratio=target, notes=notes, extra=extra)


def _upload_event() -> dict:
    """The first request: a detail read by the analysis' owner (with its presigned image URLs)."""
    from bench import bench_upload

    owner = {"user_id": "00000000-0000-4000-8000-000000000001", "role": "user"}
    target = bench_upload._analysis_id(100)
    return bench_upload._event(f"/api/v1/analyses/{target}", owner, resource="/api/v1/analyses/{id}")


def run(quick: bool) -> list[Result]:
    for path in (SHARED, str(REPO_ROOT / "local")):
        if path not in sys.path:
            sys.path.insert(0, path)
    for directory in (SHARED, *(str(p) for p in (REPO_ROOT / "functions").iterdir()), REPO_ROOT / "bench"):
        compileall.compile_dir(str(directory), quiet=1)  # shipped with bytecode (bench_packaging)
    rounds = 5 if quick else 30  # 15 rounds left the authorizer's ratio between 0.94 and 1.25x from run to run
    from bench import bench_upload

    with bench_upload._database(200 if quick else 1000, name="pgdata-cold") as url:
        event = _upload_event()
        upload_env = {
            "DATABASE_URL": url,
            "IMAGES_BUCKET": bench_upload.BUCKET,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_ENDPOINT_URL": None,  # signed locally; nothing is sent to S3
        }
        http_floor = _floor("HTTP floor", "http_floor")
        detect_floor = _floor("detect floor", "detect_floor")
        authorizer_floor = _floor("authorizer floor", "authorizer_floor")
        functions = {
            "auth": _function("auth", "auth", "sentrix_auth.api"),
            "upload": _function(
                "upload", "upload", "sentrix_upload.api", code=FIRST_REQUEST, stdin=json.dumps(event), env=upload_env
            ),
            "report": _function("report", "report", "sentrix_report.api"),
            "detect": _function("detect", "detect", "sentrix_detect.handler"),
            "authorizer": _function("authorizer", "auth", "sentrix_auth.authorizer"),
        }
        _interleave([http_floor, detect_floor, authorizer_floor, *functions.values()], rounds)
    http_name = "FastAPI+Mangum typed route, Powertools Logger/Metrics, SQLAlchemy Core+pg8000, pydantic-settings"
    results = [
        _ratio_result(
            f"{name} cold import ({functions[name].module})",
            functions[name].column(),
            http_floor.column(),
            http_name,
            HTTP_TARGET,
        )
        for name in ("auth", "upload", "report")
    ]
    results.append(
        _ratio_result(
            "detect cold import (sentrix_detect.handler, tracing off)",
            functions["detect"].column(),
            detect_floor.column(),
            "Powertools Logger/Metrics + batch, SQLAlchemy Core+pg8000, httpx",
            DETECT_TARGET,
        )
    )
    results.append(
        _ratio_result(
            "authorizer cold import (sentrix_auth.authorizer)",
            functions["authorizer"].column(),
            authorizer_floor.column(),
            "PyJWT + cryptography ES256 primitives",
            AUTHORIZER_TARGET,
        )
    )
    upload = functions["upload"]
    results.append(
        _ratio_result(
            "upload first request after import (GET /analyses/{id}, DB connect + presigned URLs)",
            upload.column(1),
            upload.column(0),
            "the same process' cold import",
            FIRST_REQUEST_TARGET,
        )
    )
    return results
