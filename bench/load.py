"""End-to-end load on the whole local stack, under a fault mix, with a ledger at the end (issue 8).

    .venv/bin/python -m bench.load                      # full size: 1,000 uploads, DB stopped 30 s mid-run
    .venv/bin/python -m bench.load --uploads 150 --out /tmp/x.json --md /tmp/x.md   # the CI size
    .venv/bin/python -m bench.load --profile original   # the stand-in answering like the original service

What it does, against `python -m sentrix_local up` started in its own state dir on free ports:

1. Registers users through the API (real tokens) and builds a workload: unique photos, ≥ 10 % exact
   re-uploads of a photo the same user sent earlier, ≥ 5 % hostile files (non-images under image names,
   truncated JPEGs, zero bytes, dimension bombs, hostile file names), presigned POST and multipart mixed.
2. Injects faults: the YOLO stand-in fails ≥ 20 % of /detect calls (5xx, timeouts, 429) through its admin
   API; the SQS poller delivers a hash-chosen fraction of processed messages twice more
   (SENTRIX_SQS_REDELIVER_FRACTION); PostgreSQL is stopped for 30 s mid-run and started again while the
   clients keep uploading (503s are retried later with the same idempotency key, as a real client would).
3. Waits for the queue to drain, moves the dead-letter queue back (scripts/redrive.py) until nothing is
   left, and checks the ledger (bench/ledger.py). Writes bench/load-results.json and bench/load-results.md.

Settings the run gives the stack (documented in the results): YOLO_READ_TIMEOUT_S=2 with the stand-in's
injected timeouts sleeping 4 s (so a timeout costs seconds, not the production 25 s), DETECT_CLAIM_TTL_S=30
(safe locally: one poller thread, a record never runs that long), retries after 1 s, ACCESS_TOKEN_TTL_S=3600
and REGISTRATIONS_PER_IP raised for the simulated users (all clients share 127.0.0.1). Upload quotas are
the defaults; a 429 is honoured with its Retry-After.

`--profile original` runs the stand-in as the original service (YOLO_STANDIN_PROFILE=original: fragmented masks,
grid-pixel mask areas, 10 /detect per window and IP with a bare 429). Its minute is compressed to
ORIGINAL_WINDOW_S (YOLO_STANDIN_RATE_WINDOW_S) and detect's backpressure waits with it
(DETECT_BACKPRESSURE_INITIAL_S / _MAX_S), so the rate limit bites without the run taking hours.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
for extra in ("layers/shared", "local", "functions/detect", "scripts"):
    if str(REPO_ROOT / extra) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / extra))

# After the paths: tests.support.detect imports sentrix_detect (`make load` sets no functions/ on PYTHONPATH).
from tests.support.detect_fuzz import png_declaring  # noqa: E402
from tests.support.environ import restore_environ, saved_environ  # noqa: E402

RESULTS_JSON = REPO_ROOT / "bench" / "load-results.json"
RESULTS_MD = REPO_ROOT / "bench" / "load-results.md"
JOBS_JSON = REPO_ROOT / ".local" / "load-jobs.json"  # every upload and each of its attempts (not committed)
PASSWORD = "load test password 1"  # noqa: S105 - throwaway users of a throwaway local stack
RETRIED_STATUSES = {429, 500, 502, 503, 504}
HOSTILE_KINDS = ("not_image", "truncated", "empty", "bomb", "hostile_name")
HOSTILE_NAMES = (
    "../../../etc/passwd.jpg",
    "..\\..\\windows\\system32\\config.jpg",
    "<script>alert(1)</script>.jpg",
    "foto\x00.php.jpg",
    "\u202egpj.exe.jpg",
    "'; DROP TABLE analyses;--.jpg",
    "CON.jpg",
    "%2e%2e%2f%2e%2e%2fetc.jpg",
    "calle\r\nX-Injected: 1.jpg",
    "📷 charco ñandú.jpg",
    "a" * 240 + ".jpg",
)


@dataclass
class LoadConfig:
    uploads: int = 1000
    clients: int = 8
    users: int | None = None  # default: one per 8 uploads, at least 8
    duplicate_fraction: float = 0.12
    hostile_fraction: float = 0.07
    multipart_fraction: float = 0.5
    yolo_faults: dict[str, Any] = field(
        default_factory=lambda: {
            "error_rate": 0.10,
            "rate_limit_rate": 0.08,
            "timeout_rate": 0.04,
            "timeout_sleep_s": 4.0,
            "retry_after_s": 1,
        }
    )
    redeliver_fraction: float = 0.15
    db_outage_s: float = 30.0
    db_outage_at: float = 0.4  # after this fraction of the uploads has finished
    seed: int = 8
    state_dir: Path | None = None
    profile: str = "default"  # the YOLO stand-in's profile: "default" or "original"
    drain_timeout_s: float = 1200.0
    client_give_up_s: float = 240.0

    def user_count(self) -> int:
        return self.users or max(8, self.uploads // 8)


# ---------------------------------------------------------------------------------------------- workload


@dataclass
class Job:
    index: int
    user: int
    kind: str  # "photo", "duplicate" or one of HOSTILE_KINDS
    flow: str  # "presigned" or "multipart"
    filename: str
    content_type: str
    data: bytes = field(repr=False)
    original: int | None = None  # a duplicate's original job
    idempotency_key: str = field(default_factory=lambda: uuid.uuid4().hex)
    attempts: list[dict] = field(default_factory=list)
    outcome: str = "not_run"  # accepted | refused | gave_up
    analysis_id: str | None = None
    refused_status: int | None = None
    refused_code: str | None = None
    accepted_at: float | None = None  # wall clock, when the photo reached S3 (presigned) or the API answered

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def summary(self) -> dict:
        data = asdict(self)
        data.pop("data")
        data["size"] = len(self.data)
        data["filename"] = self.filename.encode("unicode_escape").decode()[:120]
        return data


def make_photo(rng: random.Random, fmt: str = "JPEG") -> bytes:
    """A distinct textured picture (random shapes over a gradient): a trustworthy, unique perceptual hash."""
    from PIL import Image, ImageDraw

    width, height = rng.choice([(320, 240), (400, 300), (480, 360), (640, 480)])
    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 6):
        draw.line([(x, 0), (width - x, height)], fill=(rng.randrange(256), (x * 3) % 256, rng.randrange(256)))
    for _ in range(rng.randint(6, 14)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        box = [x0, y0, x0 + rng.randint(20, width // 2), y0 + rng.randint(20, height // 2)]
        color = tuple(rng.randrange(256) for _ in range(3))
        (draw.rectangle if rng.random() < 0.5 else draw.ellipse)(box, fill=color)
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, "PNG", optimize=False)
    else:
        image.save(out, "JPEG", quality=rng.choice([80, 85, 90]))
    return out.getvalue()


def not_an_image(rng: random.Random) -> bytes:
    return rng.choice(
        [
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(rng.randrange(256) for _ in range(600)),
            b"<html><body><script>alert(document.cookie)</script></body></html>\n" * 8,
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(rng.randrange(256) for _ in range(900)),
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(rng.randrange(256) for _ in range(700)),
            b"#!/bin/sh\nrm -rf / --no-preserve-root\n" * 20,
        ]
    )


def _dhash(data: bytes) -> int:
    from PIL import Image

    from sentrix_detect.logic.duplicates import dhash

    with Image.open(io.BytesIO(data)) as image:
        return dhash(image.convert("RGB"))[0]


def build_workload(config: LoadConfig) -> list[Job]:
    """The uploads, in submission order: duplicates re-send a photo their user sent earlier in the run."""
    from sentrix_detect.logic.duplicates import hamming

    rng = random.Random(config.seed)
    n = config.uploads
    n_dup = max(1, round(n * config.duplicate_fraction))
    n_hostile = max(len(HOSTILE_KINDS), round(n * config.hostile_fraction))
    kinds = ["duplicate"] * n_dup + [HOSTILE_KINDS[i % len(HOSTILE_KINDS)] for i in range(n_hostile)]
    n_photo = n - len(kinds)
    if n_photo < 1:
        raise ValueError("the duplicate and hostile fractions leave no room for photos")
    # Photos first: duplicates re-send a photo from earlier in the run, so the first fifth are photos.
    head = min(n_photo, max(1, n // 5))
    rest = kinds + ["photo"] * (n_photo - head)
    rng.shuffle(rest)
    order = ["photo"] * head + rest
    users = config.user_count()
    hashes: dict[int, list[int]] = {u: [] for u in range(users)}
    jobs: list[Job] = []
    photos_by_user: dict[int, list[int]] = {u: [] for u in range(users)}
    for index, kind in enumerate(order):
        flow = "multipart" if rng.random() < config.multipart_fraction else "presigned"
        if kind == "duplicate":
            candidates = [u for u, ids in photos_by_user.items() if ids]
            user = rng.choice(candidates)
            original = jobs[rng.choice(photos_by_user[user])]
            jobs.append(
                Job(index, user, kind, flow, original.filename, original.content_type, original.data, original.index)
            )
            continue
        user = rng.randrange(users)
        if kind in ("photo", "hostile_name"):
            fmt = "PNG" if rng.random() < 0.2 else "JPEG"
            while True:  # never two different photos of one user within the duplicate distance
                data = make_photo(rng, fmt)
                digest = _dhash(data)
                if all(hamming(digest, other) > 12 for other in hashes[user]):
                    break
            hashes[user].append(digest)
            ext, ctype = (".png", "image/png") if fmt == "PNG" else (".jpg", "image/jpeg")
            if kind == "hostile_name":
                name = rng.choice(HOSTILE_NAMES)
                filename, ctype = (name[:-4] + ext) if name.endswith(".jpg") else name, ctype
            else:
                filename = f"IMG_{index:05d}{ext}"
            jobs.append(Job(index, user, kind, flow, filename, ctype, data))
            if kind == "photo":
                photos_by_user[user].append(index)
        elif kind == "not_image":
            jobs.append(Job(index, user, kind, flow, f"IMG_{index:05d}.jpg", "image/jpeg", not_an_image(rng)))
        elif kind == "truncated":
            whole = make_photo(rng, "JPEG")
            jobs.append(Job(index, user, kind, flow, f"IMG_{index:05d}.jpg", "image/jpeg", whole[: len(whole) // 3]))
        elif kind == "empty":
            jobs.append(Job(index, user, kind, flow, f"IMG_{index:05d}.jpg", "image/jpeg", b""))
        elif kind == "bomb":
            side = rng.choice([(30000, 30000), (12000, 12000), (65535, 2000)])
            jobs.append(Job(index, user, kind, flow, f"IMG_{index:05d}.png", "image/png", png_declaring(*side)))
    return jobs


# ----------------------------------------------------------------------------------------------- clients


@dataclass
class User:
    email: str
    access: str
    refresh: str
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Clients:
    """Simulated mobile/web clients: per-thread HTTP connections, tokens per user, retries like a real app."""

    def __init__(self, api: str, config: LoadConfig, outage: DatabaseOutage) -> None:
        self.api = api
        self.config = config
        self.outage = outage
        self.users: list[User] = []
        self._local = threading.local()

    def http(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = httpx.Client(timeout=httpx.Timeout(60, connect=10))
        return client

    def register(self, count: int, run_id: str) -> None:
        for i in range(count):
            email = f"load-{run_id}-{i}@example.org"
            answer = self.http().post(
                f"{self.api}/register", json={"email": email, "password": PASSWORD, "display_name": f"Load {i}"}
            )
            answer.raise_for_status()
            body = answer.json()
            self.users.append(User(email, body["access_token"], body["refresh_token"]))

    def _refresh(self, user: User, stale: str) -> None:
        with user.lock:
            if user.access != stale:  # another thread already refreshed
                return
            answer = self.http().post(f"{self.api}/refresh", json={"refresh_token": user.refresh})
            if answer.status_code == 200:
                body = answer.json()
                user.access, user.refresh = body["access_token"], body["refresh_token"]

    def run(self, job: Job) -> None:
        user = self.users[job.user]
        started = time.monotonic()
        while True:
            token = user.access
            status, code, retry_after = self._attempt(job, token)
            if status in (200, 201, 202, 204):
                job.outcome = "accepted"
                return
            if status == 401:
                self._refresh(user, token)
            elif status is not None and status not in RETRIED_STATUSES:
                job.outcome, job.refused_status, job.refused_code = "refused", status, code
                return
            if time.monotonic() - started > self.config.client_give_up_s:
                job.outcome = "gave_up"
                return
            backoff = min(5.0, 0.5 * 1.6 ** min(len(job.attempts), 8))
            time.sleep(min(10.0, retry_after) if retry_after else backoff)

    def _record(self, job: Job, step: str, response: httpx.Response | None, error: str | None = None) -> dict:
        code = None
        if response is not None and response.status_code >= 400:
            try:
                code = response.json().get("error", {}).get("code")
            except ValueError:
                code = None
        entry = {
            "t": time.time(),
            "step": step,
            "status": response.status_code if response is not None else None,
            "code": code,
            "error": error,
            "during_outage": self.outage.active(),
        }
        job.attempts.append(entry)
        return entry

    def _attempt(self, job: Job, token: str) -> tuple[int | None, str | None, float | None]:
        """One try of the whole upload; (status, error code, Retry-After) of the step that decided it."""
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": job.idempotency_key}
        try:
            if job.flow == "multipart":
                response = self.http().post(
                    f"{self.api}/analyses", files={"file": (job.filename, job.data, job.content_type)}, headers=headers
                )
                entry = self._record(job, "multipart", response)
                if response.status_code in (200, 202):
                    job.analysis_id = response.json()["analysis_id"]
                    job.accepted_at = time.time()
                return entry["status"], entry["code"], _retry_after(response)
            response = self.http().post(
                f"{self.api}/analyses/uploads",
                json={
                    "filename": job.filename,
                    "content_type": job.content_type,
                    "idempotency_key": job.idempotency_key,
                },
                headers=headers,
            )
            entry = self._record(job, "presign", response)
            if response.status_code not in (200, 201):
                return entry["status"], entry["code"], _retry_after(response)
            body = response.json()
            job.analysis_id = body["analysis_id"]
            upload = body.get("upload")
            if upload is None:  # an idempotent replay of an upload that already reached S3
                job.accepted_at = job.accepted_at or time.time()
                return response.status_code, None, None
            posted = self.http().post(
                upload["url"], data=upload["fields"], files={"file": ("photo", job.data, upload["content_type"])}
            )
            entry = self._record(job, "s3_post", posted)
            if posted.status_code in (200, 201, 204):
                job.accepted_at = time.time()
            return entry["status"], entry["code"], None
        except httpx.HTTPError as exc:
            self._record(job, job.flow, None, f"{type(exc).__name__}: {exc}")
            return None, None, None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    return float(value) if value and value.isdigit() else None


# ----------------------------------------------------------------------------------------- database fault


class DatabaseOutage:
    """Stops the stack's PostgreSQL for `seconds` once `trigger` uploads have finished, then starts it again."""

    def __init__(self, state_dir: Path, port: int, seconds: float, trigger: int) -> None:
        from sentrix_local.postgres import LocalPostgres

        self.pg = LocalPostgres(state_dir / "pgdata", port)
        self.seconds = seconds
        self.trigger = trigger
        self.finished = 0
        self._lock = threading.Lock()
        self._go = threading.Event()
        self._active = threading.Event()
        self.stopped_at: float | None = None
        self.started_at: float | None = None
        self.thread = threading.Thread(target=self._run, name="db-outage", daemon=True)

    def active(self) -> bool:
        return self._active.is_set()

    def job_finished(self) -> None:
        with self._lock:
            self.finished += 1
            if self.finished >= self.trigger:
                self._go.set()

    def _run(self) -> None:
        self._go.wait()
        if self.seconds <= 0:
            return
        self._active.set()
        self.stopped_at = time.time()
        self.pg.stop()
        print(f"[load] PostgreSQL stopped at upload {self.finished}; down for {self.seconds:.0f} s", flush=True)
        time.sleep(self.seconds)
        self.pg.start()
        self.started_at = time.time()
        self._active.clear()
        print("[load] PostgreSQL started again", flush=True)

    def window(self) -> dict:
        return {
            "seconds": self.seconds,
            "stopped_at": _iso(self.stopped_at),
            "started_at": _iso(self.started_at),
            "measured_down_s": round(self.started_at - self.stopped_at, 1)
            if self.stopped_at and self.started_at
            else None,
        }


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, UTC).isoformat() if t else None


# ----------------------------------------------------------------------------------------------- the run


# --profile original: the original's "10 per 1 minute" with the minute compressed 10x (about the local detect
# poller's own pace, so the limit bites), and detect's backpressure
# waits (production: 30 s doubling to 300 s) compressed alike.
ORIGINAL_WINDOW_S = 6
ORIGINAL_BACKPRESSURE = {"DETECT_BACKPRESSURE_INITIAL_S": "1", "DETECT_BACKPRESSURE_MAX_S": "10"}


def stack_environment(config: LoadConfig) -> dict[str, str]:
    profile = {}
    if config.profile == "original":
        profile = {
            "YOLO_STANDIN_PROFILE": "original",
            "YOLO_STANDIN_RATE_WINDOW_S": str(ORIGINAL_WINDOW_S),
            **ORIGINAL_BACKPRESSURE,
        }
    elif config.profile != "default":
        raise ValueError(f"unknown stand-in profile {config.profile!r}: default or original")
    return {
        **profile,
        "SENTRIX_SQS_REDELIVER_FRACTION": str(config.redeliver_fraction),
        "YOLO_READ_TIMEOUT_S": "2",
        "DETECT_CLAIM_TTL_S": "30",
        "ACCESS_TOKEN_TTL_S": "3600",
        "REGISTRATIONS_PER_IP": "100000",
        "POWERTOOLS_METRICS_NAMESPACE": "Sentrix",
        # A throw-away stack: saving its thousands of objects on stop would only slow the stop down.
        "SENTRIX_KEEP_STATE": "0",
    }


def queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def unfinished(engine: Any) -> int:
    from sqlalchemy import text

    with engine.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM analyses WHERE status IN ('pending_upload', 'queued', 'processing')")
        ).scalar_one()


def drain(sqs: Any, queue_url: str, dlq_url: str, engine: Any, timeout_s: float) -> list[dict]:
    """Wait for the queue to empty; move the DLQ back (redrive) until the queue, the DLQ and the rows settle.

    Returns one entry per message found in the DLQ: its object key, the analysis' state at that time, round.
    """
    import redrive as redrive_script
    from sqlalchemy import text

    deadline = time.monotonic() + timeout_s
    dlq_seen: list[dict] = []
    rounds = 0
    quiet = 0
    while time.monotonic() < deadline:
        if queue_depth(sqs, queue_url):
            quiet = 0
            time.sleep(1)
            continue
        quiet += 1
        if quiet < 3:
            time.sleep(1)
            continue
        in_dlq = queue_depth(sqs, dlq_url)
        pending = unfinished(engine)
        if not in_dlq and not pending:
            return dlq_seen
        if in_dlq:
            rounds += 1
            report = redrive_script.redrive(sqs, queue_url, dlq_url, dry_run=True)
            for line in report.listed:
                message_id, _, keys = line.partition(": ")
                for key in keys.split(", "):
                    parts = key.split("/")
                    analysis_id = parts[2] if len(parts) > 3 else None
                    status = reason = None
                    if analysis_id:
                        with engine.connect() as connection:
                            row = connection.execute(
                                text("SELECT status, failure_reason FROM analyses WHERE id = CAST(:id AS uuid)"),
                                {"id": analysis_id},
                            ).first()
                        if row:
                            status, reason = row
                    dlq_seen.append(
                        {
                            "round": rounds,
                            "message_id": message_id,
                            "key": key,
                            "analysis_id": analysis_id,
                            "status_then": str(status) if status else None,
                            "reason_then": reason,
                        }
                    )
            moved = redrive_script.redrive(sqs, queue_url, dlq_url)
            print(f"[load] redrive round {rounds}: moved {moved.moved} message(s) from the DLQ", flush=True)
        quiet = 0
        time.sleep(2)
    raise TimeoutError(
        f"the queue did not settle in {timeout_s:.0f} s: queue {queue_depth(sqs, queue_url)}, "
        f"DLQ {queue_depth(sqs, dlq_url)}, unfinished analyses {unfinished(engine)}"
    )


def run_load(config: LoadConfig, log: Any = print) -> dict:
    """Start the stack, run the workload under the fault mix, drain, check the ledger; returns the results."""
    import boto3
    from sqlalchemy import create_engine

    from bench.ledger import check_ledger
    from sentrix_local.postgres import LocalPostgres
    from sentrix_local.provision import resource_name
    from tests.support.stack import local_stack

    state_dir = config.state_dir or (REPO_ROOT / ".local" / f"load-{uuid.uuid4().hex[:8]}")
    state_dir.mkdir(parents=True, exist_ok=True)
    results: dict | None = None
    log(f"[load] building {config.uploads} uploads…")
    jobs = build_workload(config)
    saved = saved_environ(stack_environment(config))
    os.environ.update(stack_environment(config))
    try:
        with local_stack(state_dir) as stack:
            log(f"[load] stack up in {state_dir} (gateway {stack.gateway})")
            results = _run(config, jobs, stack, log, boto3, create_engine, LocalPostgres, resource_name, check_ledger)
            pg_dir = LocalPostgres(state_dir / "pgdata", stack.ports["PG"]).data_dir.parent
        # A state dir of our own is removed once the ledger balanced (kept, with its logs, when it did not).
        if config.state_dir is None and results["ledger"]["balanced"]:
            shutil.rmtree(state_dir, ignore_errors=True)
            if pg_dir.name.startswith("sentrix-pg-"):
                shutil.rmtree(pg_dir, ignore_errors=True)
        else:
            log(f"[load] state and logs kept in {state_dir}")
        return results
    finally:
        restore_environ(saved)


def _run(config, jobs, stack, log, boto3, create_engine, LocalPostgres, resource_name, check_ledger) -> dict:
    api = f"{stack.gateway}/api/v1"
    yolo = f"http://127.0.0.1:{stack.ports['YOLO']}"
    # Counters at zero (a reset also restores the start-up faults), then this run's faults.
    httpx.post(f"{yolo}/_admin/reset", timeout=10).raise_for_status()
    httpx.put(f"{yolo}/_admin/faults", json=config.yolo_faults, timeout=10).raise_for_status()
    engine = create_engine(
        LocalPostgres(stack.state_dir / "pgdata", stack.ports["PG"]).url("sentrix"), pool_pre_ping=True
    )
    sqs = boto3.client(
        "sqs",
        endpoint_url=stack.moto,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto
    )
    queue_url = sqs.get_queue_url(QueueName=resource_name("DetectQueue", "sentrix-local"))["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=resource_name("DetectDeadLetterQueue", "sentrix-local"))["QueueUrl"]
    outage = DatabaseOutage(
        stack.state_dir, stack.ports["PG"], config.db_outage_s, max(1, int(len(jobs) * config.db_outage_at))
    )
    clients = Clients(api, config, outage)
    run_id = uuid.uuid4().hex[:8]
    clients.register(config.user_count(), run_id)
    log(f"[load] {len(clients.users)} users registered; YOLO faults {config.yolo_faults}")

    outage.thread.start()
    progress = Counter()
    progress_lock = threading.Lock()

    def work(job: Job) -> None:
        if job.original is not None:
            # A re-upload happens after the original upload went through (a person sending a photo again).
            original = jobs[job.original]
            while original.outcome == "not_run":
                time.sleep(0.2)
        try:
            clients.run(job)
        finally:
            outage.job_finished()
            with progress_lock:
                progress[job.outcome] += 1
                done = sum(progress.values())
            if done % 100 == 0 or done == len(jobs):
                log(f"[load] {done}/{len(jobs)} uploads finished ({dict(progress)})")

    upload_started = time.time()
    with ThreadPoolExecutor(max_workers=config.clients, thread_name_prefix="client") as pool:
        list(pool.map(work, jobs))
    upload_finished = time.time()
    outage.thread.join(timeout=config.db_outage_s + 120)
    log("[load] all uploads sent; draining the queue…")
    dlq = drain(sqs, queue_url, dlq_url, engine, config.drain_timeout_s)
    drained_at = time.time()
    yolo_stats = httpx.get(f"{yolo}/_admin/stats", timeout=10).json()
    log("[load] queue drained; checking the ledger…")
    ledger = check_ledger(
        jobs=jobs,
        engine=engine,
        stack_log=stack.log,
        yolo_stats=yolo_stats,
        dlq=dlq,
        outage=outage.window(),
        redeliver_fraction=config.redeliver_fraction,
        profile=config.profile,
    )
    engine.dispose()
    results = _figures(config, jobs, ledger, yolo_stats, dlq, outage, upload_started, upload_finished, drained_at)
    results["jobs"] = [job.summary() for job in jobs]
    return results


def _percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (k - low), 2)


def _figures(config, jobs, ledger, yolo_stats, dlq, outage, upload_started, upload_finished, drained_at) -> dict:
    from bench.harness import machine

    accepted = [j for j in jobs if j.outcome == "accepted"]
    latencies = ledger.pop("latencies_s")
    direct = ledger.pop("latencies_direct_s")
    outcomes = yolo_stats["outcomes"]
    detect_calls = yolo_stats["requests"]["detect"]
    injected = {k.removeprefix("injected_"): v for k, v in outcomes.items() if k.startswith("injected_") and v}
    injected_total = sum(v for k, v in injected.items() if not k.startswith("malformed_"))
    attempts = [a for j in jobs for a in j.attempts]
    statuses = Counter(str(a["status"] if a["status"] is not None else a["error"].split(":")[0]) for a in attempts)
    minutes = max(1e-9, (upload_finished - upload_started) / 60)
    return {
        "generated_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "config": {
            **{k: v for k, v in asdict(config).items() if k != "state_dir"},
            "users": config.user_count(),
            "stack_environment": stack_environment(config),
        },
        "workload": {
            "uploads": len(jobs),
            "by_kind": dict(Counter(j.kind for j in jobs)),
            "by_flow": dict(Counter(j.flow for j in jobs)),
            "duplicate_share": round(sum(j.kind == "duplicate" for j in jobs) / len(jobs), 3),
            "hostile_share": round(sum(j.kind in HOSTILE_KINDS for j in jobs) / len(jobs), 3),
        },
        "throughput": {
            "upload_phase_s": round(upload_finished - upload_started, 1),
            "uploads_per_minute": round(len(accepted) / minutes, 1),
            "attempts_per_minute": round(len(attempts) / minutes, 1),
            "until_drained_s": round(drained_at - upload_started, 1),
            "finished_analyses_per_minute": round(len(accepted) / max(1e-9, (drained_at - upload_started) / 60), 1),
        },
        "latency_to_completed_s": {
            "count": len(latencies),
            "p50": _percentile(latencies, 50),
            "p95": _percentile(latencies, 95),
            "max": round(max(latencies), 2) if latencies else None,
            "mean": round(statistics.fmean(latencies), 2) if latencies else None,
            "not_via_dlq": {"count": len(direct), "p50": _percentile(direct, 50), "p95": _percentile(direct, 95)},
        },
        "api_attempts": {"total": len(attempts), "by_status": dict(sorted(statuses.items()))},
        "faults": {
            "yolo_detect_calls": detect_calls,
            "yolo_injected": injected,
            "yolo_injected_total": injected_total,
            "yolo_fault_share": round(injected_total / detect_calls, 3) if detect_calls else 0,
            # --profile original: the stand-in's own per-IP limit (bare 429s, backpressure in detect)
            "yolo_rate_limited_per_ip": outcomes.get("rate_limited", 0),
            "sqs_redeliveries": ledger["redeliveries"]["done"],
            "database_outage": outage.window(),
            "dlq_messages_found": len(dlq),
        },
        "ledger": ledger,
    }


def write_results(
    results: dict, json_path: Path = RESULTS_JSON, md_path: Path = RESULTS_MD, jobs_path: Path | None = JOBS_JSON
) -> None:
    """The figures and the ledger (JSON and markdown); every upload with its attempts separately (large)."""
    figures = {k: v for k, v in results.items() if k != "jobs"}
    json_path.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    md_path.write_text(markdown(results))
    if jobs_path is not None and "jobs" in results:
        jobs_path.parent.mkdir(parents=True, exist_ok=True)
        jobs_path.write_text(json.dumps(results["jobs"], default=str) + "\n")


def markdown(results: dict) -> str:
    m, w, t, lat, f, led = (
        results["machine"],
        results["workload"],
        results["throughput"],
        results["latency_to_completed_s"],
        results["faults"],
        results["ledger"],
    )
    states = led["final_states"]
    lines = [
        f"Machine: {m['processor']}, {m['cpus']} CPUs, Python {m['python']} — {results['generated_at'][:19]}Z",
        "",
        "| Figure | Value |",
        "| --- | --- |",
        f"| Uploads (presigned / multipart) | {w['uploads']} ({w['by_flow'].get('presigned', 0)} / "
        f"{w['by_flow'].get('multipart', 0)}) |",
        f"| Exact duplicates / hostile files | {w['duplicate_share']:.0%} / {w['hostile_share']:.0%} |",
        f"| Uploads per minute (accepted, upload phase {t['upload_phase_s']} s) | {t['uploads_per_minute']} |",
        f"| Time from upload to `completed` p50 / p95 (all) | {lat['p50']} s / {lat['p95']} s |",
        f"| Same, analyses whose message never sat in the DLQ | {lat['not_via_dlq']['p50']} s / "
        f"{lat['not_via_dlq']['p95']} s |",
        f"| Detect's own time per completed analysis p50 / p95 (YOLO retries included, queue wait not) | "
        f"{led['pipeline_time_ms']['p50']} ms / {led['pipeline_time_ms']['p95']} ms |",
        f"| Until the queue and DLQ drained (analyses finished per minute) | {t['until_drained_s']} s "
        f"({t['finished_analyses_per_minute']}) |",
        f"| Final states | {', '.join(f'{k} {v}' for k, v in sorted(states.items()))} |",
        f"| Refused at the API (4xx) | {led['refused']} |",
        f"| YOLO calls / faults injected | {f['yolo_detect_calls']} / {f['yolo_injected_total']} "
        f"({f['yolo_fault_share']:.0%}: {', '.join(f'{k} {v}' for k, v in sorted(f['yolo_injected'].items()))}) |",
        f"| YOLO stand-in profile / per-IP 429s (backpressure) | {results['config'].get('profile', 'default')} / "
        f"{f.get('yolo_rate_limited_per_ip', 0)} |",
        f"| SQS redeliveries (messages delivered twice more) | {f['sqs_redeliveries']} "
        f"({led['redeliveries']['messages']} messages, {led['redeliveries']['share']:.0%}) |",
        f"| PostgreSQL stopped | {f['database_outage']['measured_down_s']} s; API 503s "
        f"{led['api']['status_503']} (retried) |",
        f"| DLQ messages found and redriven | {f['dlq_messages_found']} |",
        f"| Lost / duplicated rows / wrong final state | {led['lost']} / {led['duplicated_rows']} / "
        f"{led['wrong_state']} |",
        f"| Ledger balanced | {'yes' if led['balanced'] else 'NO'} |",
        "",
    ]
    if led["problems"]:
        lines += ["Problems:", "", *[f"- {p}" for p in led["problems"][:50]], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8, help="concurrent simulated clients")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--duplicates", type=float, default=0.12, help="fraction of exact re-uploads")
    parser.add_argument("--hostile", type=float, default=0.07, help="fraction of hostile files")
    parser.add_argument("--redeliver", type=float, default=0.15, help="fraction of SQS messages delivered twice more")
    parser.add_argument("--db-outage", type=float, default=30.0, help="seconds PostgreSQL is stopped (0: none)")
    parser.add_argument("--db-outage-at", type=float, default=0.4, help="after this fraction of the uploads")
    parser.add_argument("--yolo-faults", type=json.loads, default=None, help="JSON for PUT /_admin/faults")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--profile", choices=["default", "original"], default="default", help="the YOLO stand-in's profile"
    )
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS_JSON)
    parser.add_argument("--md", type=Path, default=RESULTS_MD)
    parser.add_argument("--jobs", type=Path, default=JOBS_JSON, help="every upload with each of its attempts")
    args = parser.parse_args(argv)
    config = LoadConfig(
        uploads=args.uploads,
        clients=args.clients,
        users=args.users,
        duplicate_fraction=args.duplicates,
        hostile_fraction=args.hostile,
        redeliver_fraction=args.redeliver,
        db_outage_s=args.db_outage,
        db_outage_at=args.db_outage_at,
        seed=args.seed,
        state_dir=args.state_dir,
        profile=args.profile,
    )
    if args.yolo_faults is not None:
        config.yolo_faults = args.yolo_faults
    results = run_load(config)
    write_results(results, args.out, args.md, args.jobs)
    print(markdown(results))
    print(f"results: {args.out} and {args.md} (every upload: {args.jobs})")
    return 0 if results["ledger"]["balanced"] else 1


if __name__ == "__main__":
    sys.exit(main())
