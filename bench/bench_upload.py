"""Warm in-process reads of the upload function over 100k seeded analyses, beside bare FastAPI+Mangum routes.

Targets (issue 21, point 4; they replace issue 4's "≤ 3× a constant route", unreachable: one PostgreSQL round
trip of the detail SQL alone is several times that route):
- `GET /analyses/{id}` ≤ 1.3× its floor: a bare FastAPI+Mangum route that runs the same SQL (the detail
  statement, caller check included, formatted with the same ids) through a raw pg8000 connection and answers
  the row as JSON;
- `GET /health` ≤ 1.5× the bare constant route.
Measured in interleaved rounds: each round runs a batch of every read in a shuffled order and keeps each
batch's median; the figure is the median over rounds (the minimum is in the notes), so load on this shared
machine falls on both sides of a ratio alike. `GET /analyses?bbox=…` is reported with its ratio (no target).
The database is the bench's own PostGIS cluster (.local/bench).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from bench.harness import REPO_ROOT, Result
from tests.support.environ import restore_environ, saved_environ

SUITE = "upload"
STATE_DIR = REPO_ROOT / ".local" / "bench"
DATABASE = "sentrix_bench_upload"
BUCKET = "sentrix-bench-images"
# Tucumán and surroundings: analyses spread over about 110 × 110 km.
AREA = (-66.0, -27.5, -65.0, -26.5)
BBOX = "-65.30,-26.90,-65.20,-26.80"  # ≈ 1 % of the area, ≈ 1,000 analyses of 100k
ENV_KEYS = ("DATABASE_URL", "IMAGES_BUCKET", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

SEED_SQL = """
INSERT INTO users (id, email, role, is_active)
SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, 'bench' || g || '@example.org',
       CASE WHEN g = 0 THEN 'expert' ELSE 'user' END::user_role, true
FROM generate_series(0, 100) AS g;

INSERT INTO analyses (id, user_id, status, image_bucket, image_key, processed_image_key, original_filename,
                      content_type, size_bytes, location, location_source, risk_level, risk_score,
                      total_detections, high_risk_count, medium_risk_count, unique_types, model_name,
                      created_at, updated_at, completed_at)
SELECT md5('a' || g)::uuid,
       ('00000000-0000-4000-8000-' || lpad(to_hex(1 + mod(g, 100)), 12, '0'))::uuid,
       'completed',
       :bucket,
       'incoming/u/' || md5('a' || g)::uuid || '/photo.jpg',
       'processed/u/' || md5('a' || g)::uuid || '.jpg',
       'photo.jpg', 'image/jpeg', 1000000 + g,
       ST_SetSRID(ST_MakePoint(CAST(:min_lon AS float8) + random() * CAST(:lon_span AS float8),
                               CAST(:min_lat AS float8) + random() * CAST(:lat_span AS float8)), 4326),
       'EXIF_GPS', (ARRAY['ALTO','MEDIO','BAJO','MINIMO'])[1 + mod(g, 4)]::risk_level, 0.5,
       2, 1, 1, 2, 'bench-model',
       now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval, now()
FROM generate_series(1, CAST(:rows AS integer)) AS g;

INSERT INTO detections (id, analysis_id, class_id, class_name, breeding_site_type, confidence, risk_level, polygon,
                        bbox_x_min, bbox_y_min, bbox_x_max, bbox_y_max, mask_area, location,
                        persistence_type, is_weather_dependent, validity_days, expires_at, created_at)
SELECT gen_random_uuid(), a.id, c.class_id, c.name, c.name::breeding_site_type, 0.8, c.risk::risk_level,
       '[[10,10],[90,10],[90,70],[10,70]]'::jsonb, 10, 10, 90, 70, 4800, a.location,
       c.persistence::persistence_type, c.persistence IN ('TRANSIENT','SHORT_TERM'), 8,
       a.created_at + interval '8 days', a.created_at
FROM analyses a
CROSS JOIN (VALUES (0, 'Basura', 'ALTO', 'SHORT_TERM'), (3, 'Huecos', 'MEDIO', 'MEDIUM_TERM'))
     AS c(class_id, name, risk, persistence);
ANALYZE;
"""


@contextlib.contextmanager
def _database(rows: int, name: str = "pgdata-upload") -> Iterator[str]:
    """The bench's own cluster (`name` under .local/bench) and database, seeded; stopped afterwards."""
    from sqlalchemy import create_engine, text

    from sentrix.db import migrate
    from sentrix_local.postgres import LocalPostgres
    from sentrix_local.processes import free_port

    pg = LocalPostgres(STATE_DIR / name, free_port())
    pg.start(fast=True)
    try:
        pg.recreate_database(DATABASE)
        url = pg.url(DATABASE)
        migrate.upgrade(url)
        engine = create_engine(url)
        min_lon, min_lat, max_lon, max_lat = AREA
        params = {"bucket": BUCKET, "rows": rows, "min_lon": min_lon, "min_lat": min_lat}
        params.update(lon_span=max_lon - min_lon, lat_span=max_lat - min_lat)
        with engine.begin() as connection:
            for statement in SEED_SQL.split(";"):
                if statement.strip():
                    connection.execute(text(statement), params)
        engine.dispose()
        yield url
    finally:
        pg.stop()


@contextlib.contextmanager
def _environment(url: str) -> Iterator[None]:
    saved = saved_environ(ENV_KEYS)
    os.environ.update(
        {"DATABASE_URL": url, "IMAGES_BUCKET": BUCKET, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)  # URLs are signed locally; nothing is sent to S3
    _reset()
    try:
        yield
    finally:
        restore_environ(saved)
        _reset()


def _reset() -> None:
    from sentrix.adapters.aws import reset_clients
    from sentrix.config import get_settings
    from sentrix.db.engine import reset_engine
    from sentrix_upload.logic import image_urls

    reset_engine()
    get_settings.cache_clear()
    reset_clients()
    image_urls.clear()


def _invoker(handler: Callable[[dict, Any], dict]) -> Callable[[dict], dict]:
    from sentrix_local.invoke import LambdaContext

    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the bench; keeps log lines out

    def invoke(event: dict) -> dict:
        with contextlib.redirect_stdout(devnull):
            response = handler(event, LambdaContext("UploadFunction", 29))
        if response["statusCode"] != 200:
            raise RuntimeError(f"{event['path']} answered {response['statusCode']}: {response['body'][:300]}")
        return response

    return invoke


def _baseline() -> Callable[[dict, Any], dict]:
    """The bare constant route: FastAPI+Mangum and nothing else."""
    from fastapi import FastAPI
    from mangum import Mangum

    app = FastAPI()

    @app.get("/api/v1/analyses/{id}")
    def constant(id: str) -> dict:
        return {"id": id, "status": "completed"}

    return Mangum(app, lifespan="off")


def _sql_floor(url: str, caller: dict) -> Callable[[dict, Any], dict]:
    """The detail read's floor: a bare FastAPI+Mangum route running the very statement the function runs
    (sentrix_upload.dal.analyses.DETAIL_WITH_CALLER with the same caller check, formatted with the same ids)
    on one open raw pg8000 connection, answering the row as JSON."""
    import uuid as uuid_module
    from urllib.parse import urlsplit

    import pg8000.dbapi
    from fastapi import FastAPI
    from fastapi.responses import Response
    from mangum import Mangum

    from sentrix.http.identity import identity_from_event, session_ended_sql
    from sentrix_upload.dal.analyses import DETAIL_WITH_CALLER
    from sentrix_upload.logic.reads import DETAIL_DETECTIONS

    parts = urlsplit(url.replace("postgresql+pg8000", "postgresql"))
    connection = pg8000.dbapi.connect(
        user=parts.username, password=parts.password, host=parts.hostname, port=parts.port, database=parts.path[1:]
    )
    connection.autocommit = True
    identity = identity_from_event({"requestContext": {"authorizer": caller}})
    session_ended = session_ended_sql(identity, "u")
    app = FastAPI()

    @app.get("/api/v1/analyses/{id}")
    def detail(id: str) -> Response:
        sql = DETAIL_WITH_CALLER.format(
            analysis_id=uuid_module.UUID(id),
            caller_id=identity.principal.user_id,
            session_ended=session_ended,
            limit=DETAIL_DETECTIONS,
            offset=0,
        )
        cursor = connection.cursor()
        cursor.execute(sql)
        names = [d[0] for d in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
        return Response(json.dumps(row, default=str), media_type="application/json")

    return Mangum(app, lifespan="off")


def _interleaved(reads: dict[str, Callable[[], object]], rounds: int, batch: int) -> dict[str, list[float]]:
    """Per read, the median ms of its batch in each round; every round runs every read's batch in a new
    shuffled order (seeded), after one unrecorded warm-up round."""
    order = list(reads)
    shuffle = random.Random(21).shuffle
    medians: dict[str, list[float]] = {name: [] for name in reads}
    for recorded in [False] + [True] * rounds:
        shuffle(order)
        for name in order:
            samples = []
            for _ in range(batch):
                started = time.perf_counter()
                reads[name]()
                samples.append((time.perf_counter() - started) * 1000)
            if recorded:
                medians[name].append(statistics.median(samples))
    return medians


def _result(name: str, value: list[float], baseline_name: str, baseline: list[float], **kwargs: Any) -> Result:
    per_round = [v / b for v, b in zip(value, baseline, strict=True)]
    notes = kwargs.pop("notes", "")
    notes += (
        f"; median of {len(value)} interleaved rounds; min {min(value):.3f} vs {min(baseline):.3f} ms"
        f" ({min(value) / min(baseline):.2f}×); median per-round ratio {statistics.median(per_round):.2f}×"
    )
    extra = {
        **kwargs.pop("extra", {}),
        "min_ms": round(min(value), 3),
        "baseline_min_ms": round(min(baseline), 3),
        "median_per_round_ratio": round(statistics.median(per_round), 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    median, base = statistics.median(value), statistics.median(baseline)
    return Result(SUITE, name, median, "ms", baseline_name, base, notes=notes.lstrip("; "), extra=extra, **kwargs)


def _event(path: str, user: dict | None, query: dict | None = None, resource: str | None = None) -> dict:
    from urllib.parse import urlencode

    from sentrix_local.gateway import proxy_event

    event = proxy_event("GET", resource or path, path, query=urlencode(query or {}), path_parameters=None)
    event["requestContext"]["authorizer"] = user
    return event


def _analysis_id(n: int) -> str:
    """The id the seed SQL gives analysis number `n` (md5('a' || n) as a uuid)."""
    return str(uuid.UUID(hashlib.md5(f"a{n}".encode()).hexdigest()))  # noqa: S324 - an id, not a secret


def run(quick: bool) -> list[Result]:
    for path in ("layers/shared", "functions/upload", "local"):
        if str(REPO_ROOT / path) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT / path))
    from sentrix.http.app import _ensure_event_loop

    rows = 20_000 if quick else 100_000
    rounds, batch = (15, 20) if quick else (41, 40)
    _ensure_event_loop()
    with _database(rows) as url, _environment(url):
        from sentrix_upload.api import handler

        owner = {"user_id": "00000000-0000-4000-8000-000000000001", "role": "user"}
        expert = {"user_id": "00000000-0000-4000-8000-000000000000", "role": "expert"}
        target = _analysis_id(100)  # user 1 + 100 % 100 owns it
        invoke, bare, floor = _invoker(handler), _invoker(_baseline()), _invoker(_sql_floor(url, owner))
        detail = _event(f"/api/v1/analyses/{target}", owner, resource="/api/v1/analyses/{id}")
        listing = _event("/api/v1/analyses", expert, {"bbox": BBOX, "limit": "20"})
        constant = _event(f"/api/v1/analyses/{target}", None, resource="/api/v1/analyses/{id}")
        liveness = _event("/api/v1/health", None)  # the function's own liveness route: no database, no signing
        # A different analysis every call: nothing reused (rows, pages, presigned URLs).
        others = [_analysis_id(n) for n in random.Random(4).sample(range(1, rows + 1), rounds * batch + batch + 10)]
        events = iter(_event(f"/api/v1/analyses/{i}", expert, resource="/api/v1/analyses/{id}") for i in others)
        if json.loads(invoke(detail)["body"])["id"] != json.loads(floor(detail)["body"])["document"]["id"]:
            raise RuntimeError("the floor does not read the analysis the route reads")
        medians = _interleaved(
            {
                "bare": lambda: bare(constant),
                "floor": lambda: floor(detail),
                "detail": lambda: invoke(detail),
                "each_new": lambda: invoke(next(events)),
                "health": lambda: invoke(liveness),
            },
            rounds,
            batch,
        )
        list_ms = _interleaved({"bare": lambda: bare(constant), "list": lambda: invoke(listing)}, rounds, batch // 4)
    notes = f"{rows:,} analyses, 2 detections each; warm handler in-process, presigned URLs included"
    bare_name = "bare FastAPI+Mangum constant route"
    floor_name = "bare FastAPI+Mangum route + the same detail SQL through raw pg8000"
    return [
        _result(
            "GET /analyses/{id} (warm)", medians["detail"], floor_name, medians["floor"], target_ratio=1.3, notes=notes
        ),
        _result(
            "GET /analyses/{id} (warm, another analysis each call)",
            medians["each_new"],
            floor_name,
            medians["floor"],
            notes=notes + "; no presigned URL reuse; the floor reads one analysis",
        ),
        _result(
            "GET /analyses?bbox=… (20 of ≈1%)", list_ms["list"], bare_name, list_ms["bare"], notes=notes + "; expert"
        ),
        _result(
            "GET /health (same function, no database)",
            medians["health"],
            bare_name,
            medians["bare"],
            target_ratio=1.5,
            notes="the function's framework floor: middleware, Powertools logging+metrics, its route table",
        ),
    ]
