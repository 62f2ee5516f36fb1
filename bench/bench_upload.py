"""Warm in-process reads of the upload function over 100k seeded analyses, beside a bare FastAPI+Mangum route.

Targets (issue 4): `GET /analyses/{id}` ≤ 3× the bare route measured in the same run. `GET /analyses?bbox=…`
is reported with its ratio (no target). The database is the bench's own PostGIS cluster (.local/bench).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from bench.harness import REPO_ROOT, Result, median_time
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
    from fastapi import FastAPI
    from mangum import Mangum

    app = FastAPI()

    @app.get("/api/v1/analyses/{id}")
    def constant(id: str) -> dict:
        return {"id": id, "status": "completed"}

    return Mangum(app, lifespan="off")


def _event(path: str, user: dict | None, query: dict | None = None, resource: str | None = None) -> dict:
    from urllib.parse import urlencode

    from sentrix_local.gateway import proxy_event

    event = proxy_event("GET", resource or path, path, query=urlencode(query or {}), path_parameters=None)
    event["requestContext"]["authorizer"] = user
    return event


def _context(repeat: int) -> dict[str, float]:
    """Where a detail read's time goes, measured in the same run: the floor of one database round trip
    (a pooled autocommit connection running `SELECT 1`). The detail read makes exactly one."""
    from sqlalchemy import text

    from sentrix.db.engine import read_scope

    def select_one() -> None:
        with read_scope() as connection:
            connection.execute(text("SELECT 1")).all()

    return {"one_round_trip_select_1_ms": round(median_time(select_one, repeat=repeat), 3)}


def _analysis_id(n: int) -> str:
    """The id the seed SQL gives analysis number `n` (md5('a' || n) as a uuid)."""
    return str(uuid.UUID(hashlib.md5(f"a{n}".encode()).hexdigest()))  # noqa: S324 - an id, not a secret


def run(quick: bool) -> list[Result]:
    for path in ("layers/shared", "functions/upload", "local"):
        if str(REPO_ROOT / path) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT / path))
    from sentrix.http.app import _ensure_event_loop

    rows = 20_000 if quick else 100_000
    repeat = 100 if quick else 400
    _ensure_event_loop()
    with _database(rows) as url, _environment(url):
        from sentrix_upload.api import handler

        owner = {"user_id": "00000000-0000-4000-8000-000000000001", "role": "user"}
        expert = {"user_id": "00000000-0000-4000-8000-000000000000", "role": "expert"}
        target = _analysis_id(100)  # user 1 + 100 % 100 owns it
        invoke, bare = _invoker(handler), _invoker(_baseline())
        detail = _event(f"/api/v1/analyses/{target}", owner, resource="/api/v1/analyses/{id}")
        listing = _event("/api/v1/analyses", expert, {"bbox": BBOX, "limit": "20"})
        constant = _event(f"/api/v1/analyses/{target}", None, resource="/api/v1/analyses/{id}")
        invoke(listing), invoke(detail)  # warm: connections, imports, caches

        baseline = median_time(lambda: bare(constant), repeat=repeat * 2)
        detail_ms = median_time(lambda: invoke(detail), repeat=repeat)
        # A different analysis every call: nothing reused (rows, pages, presigned URLs).
        others = [_analysis_id(n) for n in random.Random(4).sample(range(1, rows + 1), repeat + 10)]
        events = iter(_event(f"/api/v1/analyses/{i}", expert, resource="/api/v1/analyses/{id}") for i in others)
        each_new_ms = median_time(lambda: invoke(next(events)), repeat=repeat)
        list_ms = median_time(lambda: invoke(listing), repeat=repeat // 2)
        # The floor under every route of this function: its own liveness route (no database, no signing).
        liveness = _event("/api/v1/health", None)
        health_ms = median_time(lambda: invoke(liveness), repeat=repeat * 2)
        context = _context(repeat)
    notes = f"{rows:,} analyses, 2 detections each; warm handler in-process, presigned URLs included"
    name = "bare FastAPI+Mangum constant route"
    return [
        Result(
            SUITE,
            "GET /analyses/{id} (warm)",
            detail_ms,
            "ms",
            name,
            baseline,
            target_ratio=3.0,
            notes=notes,
            extra=context,
        ),
        Result(
            SUITE,
            "GET /analyses/{id} (warm, another analysis each call)",
            each_new_ms,
            "ms",
            name,
            baseline,
            notes=notes + "; no presigned URL reuse",
        ),
        Result(SUITE, "GET /analyses?bbox=… (20 of ≈1%)", list_ms, "ms", name, baseline, notes=notes + "; expert"),
        Result(
            SUITE,
            "GET /health (same function, no database)",
            health_ms,
            "ms",
            name,
            baseline,
            notes="the function's framework floor: middleware, Powertools logging+metrics, its route table",
        ),
    ]
