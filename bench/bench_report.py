"""Report function on 1,000,000 seeded detections (50,000 with --quick): every map and statistics answer
beside two baselines measured in the same run, interleaved round by round (issue 21, point 6):

- (a) **plain SQL**: the same question as ONE plain SQL statement over the base tables, without the project's
  rollups, indexes chosen for it or query shaping: what a competent developer would write first. Rows never
  travel to Python to be counted; only the answer does.
- (b) **live SQL**: the project's own live query for the same answer (the data layer with the rollup switched
  off), where the route can read a rollup instead.

Targets (issue 21, point 5): at 1M detections the anonymous map-stats <= 0.1x (a), the anonymous active heatmap
<= 0.5x (a), hotspots <= 0.5x a plain `ST_ClusterDBSCAN` over the same rows. The per-analysis PDF is compared
with a reportlab page embedding the same JPEG fetched from the same S3 (no decode, no re-encode) and keeps its
0.5 s budget. Each figure is the median of interleaved rounds; the minimum is printed beside it (`notes`).
The seeded database lives in .local/bench (reused across runs) on a cluster started here and stopped after.
"""

from __future__ import annotations

import io
import math
import os
import statistics
import sys
import time
from datetime import UTC, datetime

from bench.harness import REPO_ROOT, Result

for _path in (REPO_ROOT, REPO_ROOT / "functions/report", REPO_ROOT / "layers/shared", REPO_ROOT / "local"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

SUITE = "report"
STATE = REPO_ROOT / ".local" / "bench"
CITY_BBOX = "-65.2776,-26.8683,-65.1576,-26.7483"  # 0.12° square (about 12 x 13 km) around the city centre
# The seeded city is dense (hundreds of active sites per km²): with DBSCAN's 150 m radius only the planted
# hotspots hold this many active sites, so they separate from the background instead of merging into one.
MIN_POINTS = 50
UTM_20S = 32720  # the UTM zone of the city (the route picks the zone of the bbox centre: the same)
MAP_STATS_TARGET = 0.1  # value / plain SQL (issue 21, point 5)
HEATMAP_ACTIVE_TARGET = 0.5
HOTSPOTS_TARGET = 0.5
K = 3  # REPORT_PUBLIC_MIN_REPORTERS' default: a public cell of fewer people is not drawn


def _database(detections: int):
    """The cluster (started) and the URL of a migrated database seeded with `detections` rows."""
    from sentrix_local.postgres import LocalPostgres
    from sentrix_local.processes import free_port

    pg = LocalPostgres(STATE / "pgdata", free_port())
    pg.stop()  # a cluster left by an interrupted run listens on another port: stop it by its data dir
    pg.start(fast=True)
    try:
        return pg, _seeded(pg, detections)
    except BaseException:
        pg.stop()
        raise


def _seeded(pg, detections: int) -> str:
    from sqlalchemy import create_engine, text

    from sentrix.db import migrate
    from tests.support.seed import seed_city

    name = f"sentrix_bench_{detections}"
    pg.ensure_database(name)
    url = pg.url(name)
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        seeded = connection.execute(text("SELECT count(*) FROM detections")).scalar()
    if seeded != detections:
        print(f"   seeding {detections} detections into {name} (once; reused by later runs)", flush=True)
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            session.execute(text("TRUNCATE users, analyses, detections CASCADE"))
            seed_city(session, detections=detections)
            session.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return url


def _moto():
    from sentrix_local.processes import ManagedProcess, free_port, python_module, wait_http

    port = free_port()
    process = ManagedProcess("moto-bench", python_module("moto.server", "-H", "127.0.0.1", "-p", str(port)),
                             run_dir=STATE / "run", log_file=STATE / "moto.log")  # fmt: skip
    process.start()
    wait_http(f"http://127.0.0.1:{port}/moto-api/", process=process.process)
    return process, f"http://127.0.0.1:{port}"


def _environment(url: str, endpoint: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": url,
            "AWS_ENDPOINT_URL": endpoint,
            "IMAGES_BUCKET": "sentrix-bench",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "SentrixBench",
            # pg8000 applies this to every socket read, not only the connect: baselines run for a while at 1M.
            "DB_SOCKET_TIMEOUT_S": "120",
            "DB_STATEMENT_TIMEOUT_MS": "600000",
        }
    )
    from sentrix.adapters.aws import reset_clients
    from sentrix.config import get_settings
    from sentrix.db.engine import reset_engine
    from sentrix_report.settings import get_report_settings

    reset_engine()
    get_settings.cache_clear()
    get_report_settings.cache_clear()
    reset_clients()


def _fetch(sql: str, params: dict | None = None) -> list[tuple]:
    from sqlalchemy import text

    from sentrix.db.engine import get_engine

    with get_engine().connect() as connection:
        return connection.execute(text(sql), params or {}).all()


def _midnight() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# -------------------------------------------------------------------------------------------------------
# (a) The same questions as one plain SQL statement each, over the base tables (no rollup)
# -------------------------------------------------------------------------------------------------------
# The anonymous heatmap: per public cell (0.01°) and type, the counted detections, their highest risk and the
# newest analysis; cells of fewer than K people withheld; the largest 1000 first.
PLAIN_HEATMAP = """
WITH p AS (
    SELECT floor(ST_X(a.location) / 0.01) AS cx, floor(ST_Y(a.location) / 0.01) AS cy, d.breeding_site_type AS t,
           a.user_id, count(*) AS n, min(d.risk_level) AS risk, max(a.created_at) AS seen
    FROM detections d JOIN analyses a ON a.id = d.analysis_id
    WHERE a.status = 'completed' AND a.location IS NOT NULL AND d.validation_status <> 'validated_negative'
      AND (:all OR d.expires_at > :as_of)
    GROUP BY 1, 2, 3, 4
)
SELECT cx, cy, t, sum(n) AS n, min(risk) AS risk, max(seen)::date AS seen FROM p
WHERE (cx, cy) IN (SELECT cx, cy FROM p GROUP BY 1, 2 HAVING count(DISTINCT user_id) >= :k)
GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3 LIMIT 1000
"""

# The anonymous map-stats: totals, levels, reporters, detections per type and verdict, mask areas, active
# zones (0.001°) and the 7-day trend, at the public view's UTC midnight.
PLAIN_MAP_STATS = """
WITH a AS (SELECT id, user_id, risk_level, created_at, location FROM analyses WHERE status = 'completed'),
j AS (
    SELECT d.breeding_site_type AS t, d.risk_level AS r, d.validation_status AS v, d.expires_at AS e,
           d.mask_area AS m, d.created_at AS c, a.location AS l
    FROM detections d JOIN a ON a.id = d.analysis_id
)
SELECT
    (SELECT json_build_array(count(*), count(DISTINCT user_id), count(location),
                             count(*) FILTER (WHERE risk_level = 'ALTO'), count(*) FILTER (WHERE risk_level = 'MEDIO'),
                             count(*) FILTER (WHERE risk_level = 'BAJO'), count(*) FILTER (WHERE risk_level = 'MINIMO'),
                             count(*) FILTER (WHERE risk_level IS NULL), max(created_at)::date, min(created_at)::date)
     FROM a) AS analyses,
    (SELECT json_agg(x ORDER BY x.n DESC, x.name) FROM (
        SELECT coalesce(t::text, 'Otro') AS name,
               count(*) FILTER (WHERE v <> 'validated_negative' AND (:all OR e > :as_of)) AS n,
               count(*) FILTER (WHERE v <> 'validated_negative' AND e > :as_of) AS active,
               count(*) FILTER (WHERE v <> 'validated_negative' AND (:all OR e > :as_of) AND r = 'ALTO') AS high,
               sum(m) FILTER (WHERE v <> 'validated_negative' AND (:all OR e > :as_of)) AS area,
               count(*) FILTER (WHERE v = 'validated_positive') AS positive,
               count(*) FILTER (WHERE v = 'validated_negative') AS negative,
               count(*) FILTER (WHERE v IN ('pending', 'requires_review')) AS awaiting
        FROM j GROUP BY 1) AS x) AS types,
    (SELECT count(*) FROM (SELECT DISTINCT floor(ST_X(l) / 0.001), floor(ST_Y(l) / 0.001) FROM j
                           WHERE e > :as_of AND v <> 'validated_negative' AND l IS NOT NULL) AS z) AS active_zones,
    (SELECT json_agg(json_build_array(day, n) ORDER BY day) FROM (
        SELECT (c AT TIME ZONE 'UTC')::date AS day, count(*) AS n FROM j
        WHERE c >= CAST(:as_of AS timestamptz) - interval '6 days' AND v <> 'validated_negative'
        GROUP BY 1) AS w) AS trend
"""

# A z12 tile's grid layer: counted detections per public cell whose centre lies in the tile, put on the
# tile's 64 x 64 grid, encoded with ST_AsMVT.
PLAIN_TILE = """
WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS e),
cells AS (
    SELECT floor(ST_X(a.location) / 0.01) AS cx, floor(ST_Y(a.location) / 0.01) AS cy, d.risk_level,
           d.expires_at > :as_of AS active, a.user_id
    FROM detections d JOIN analyses a ON a.id = d.analysis_id
    WHERE a.status = 'completed' AND a.location IS NOT NULL AND d.validation_status <> 'validated_negative'
),
placed AS (
    SELECT ST_Transform(ST_SetSRID(ST_MakePoint((cx + 0.5) * 0.01, (cy + 0.5) * 0.01), 4326), 3857) AS p, *
    FROM cells
),
grid AS (
    SELECT floor((ST_X(p) - ST_XMin(e)) / ((ST_XMax(e) - ST_XMin(e)) / 64)) AS gx,
           floor((ST_YMax(e) - ST_Y(p)) / ((ST_YMax(e) - ST_YMin(e)) / 64)) AS gy,
           count(*) AS count, count(*) FILTER (WHERE active) AS active_count,
           count(*) FILTER (WHERE risk_level = 'ALTO') AS high_risk_count, min(risk_level)::text AS max_risk_level
    FROM placed, env WHERE ST_Intersects(p, e)
    GROUP BY 1, 2 HAVING count(DISTINCT user_id) >= :k
)
SELECT ST_AsMVT(q, 'grid') FROM (
    SELECT ST_AsMVTGeom(ST_MakePoint(ST_XMin(e) + (gx + 0.5) * (ST_XMax(e) - ST_XMin(e)) / 64,
                                     ST_YMax(e) - (gy + 0.5) * (ST_YMax(e) - ST_YMin(e)) / 64), e::box2d) AS geom,
           count, active_count, high_risk_count, max_risk_level
    FROM grid, env
) AS q
"""

# Hotspots: DBSCAN (150 m, MIN_POINTS) over the active counted detections of the bbox, in the city's UTM
# zone, and each cluster's size, centre and spread.
PLAIN_HOTSPOTS = """
SELECT cid, count(*) AS n, ST_AsText(ST_Transform(ST_Centroid(ST_Collect(g)), 4326)) AS centre,
       max(ST_Distance(g, c)) AS radius
FROM (
    SELECT cid, g, ST_Centroid(ST_Collect(g) OVER (PARTITION BY cid)) AS c FROM (
        SELECT ST_ClusterDBSCAN(g, eps => 150, minpoints => :min_points) OVER () AS cid, g FROM (
            SELECT ST_Transform(d.location, CAST(:srid AS integer)) AS g
            FROM detections d JOIN analyses a ON a.id = d.analysis_id
            WHERE a.status = 'completed' AND d.expires_at > :as_of AND d.validation_status <> 'validated_negative'
              AND d.location && ST_MakeEnvelope(:w, :s, :e, :n, 4326)
        ) AS points
    ) AS clustered WHERE cid IS NOT NULL
) AS members
GROUP BY cid
"""


def _bbox(box: str) -> dict:
    west, south, east, north = map(float, box.split(","))
    return {"w": west, "s": south, "e": east, "n": north}


# -------------------------------------------------------------------------------------------------------
# (b) The project's own live SQL for the answers a rollup serves
# -------------------------------------------------------------------------------------------------------
def _live_heatmap(include_expired: bool, limit: int) -> dict:
    from sentrix.db.engine import session_scope
    from sentrix_report.dal.heatmap import heatmap
    from sentrix_report.logic.filters import DataFilters
    from sentrix_report.logic.scope import MapAudience, apply_filters, counted, counted_detections

    filters = DataFilters(include_expired=include_expired)
    with session_scope() as s:
        return heatmap(s, where=apply_filters(counted("a"), filters), exact=MapAudience(None).exact("a"),
                       detections=counted_detections(filters, _midnight()), viewer=None, grid_deg=0.01, limit=limit,
                       min_reporters=K, rollup=False)  # fmt: skip


def _live_map_stats(include_expired: bool) -> dict:
    from sentrix.db.engine import session_scope
    from sentrix_report.dal.map_stats import map_stats
    from sentrix_report.logic.filters import DataFilters
    from sentrix_report.logic.scope import apply_filters, counted, counted_detections, found_detections

    filters, as_of = DataFilters(include_expired=include_expired), _midnight()
    with session_scope() as s:
        return map_stats(s, where=apply_filters(counted("a"), filters), detections=counted_detections(filters, as_of),
                         found=found_detections(filters, as_of), as_of=as_of, timezone="UTC")  # fmt: skip


def _live_tile(z: int, x: int, y: int) -> bytes:
    from sentrix.db.engine import session_scope
    from sentrix_report.dal.tiles import tile
    from sentrix_report.logic.filters import DataFilters
    from sentrix_report.logic.scope import MapAudience, apply_filters, counted, counted_detections

    filters, as_of = DataFilters(include_expired=True), _midnight()
    with session_scope() as s:
        return tile(s, z=z, x=x, y=y, where=apply_filters(counted("a"), filters), exact=MapAudience(None).exact("a"),
                    detections=counted_detections(filters, as_of), detail=False, grid_deg=0.01, cells=64, as_of=as_of,
                    min_reporters=K, rollup=False)  # fmt: skip


def _rounds(contenders: dict, rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Wall times (ms) of each contender, run one after another in every round (interleaved), after warm-up."""
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            started = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


# -------------------------------------------------------------------------------------------------------
def _tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _pdf_fixture(endpoint: str):
    """An owner principal and one completed analysis with a 1600x1200 annotated JPEG on moto's S3."""
    import boto3
    from PIL import Image

    from sentrix.domain.roles import Role
    from sentrix.http.identity import Principal

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="sentrix-bench")
    buffer = io.BytesIO()
    Image.effect_noise((1600, 1200), 40).convert("RGB").save(buffer, format="JPEG", quality=85)
    analysis_id, user_id = _fetch("SELECT id, user_id FROM analyses WHERE status = 'completed' LIMIT 1")[0]
    key = f"processed/{user_id}/{analysis_id}.jpg"
    s3.put_object(Bucket="sentrix-bench", Key=key, Body=buffer.getvalue(), ContentType="image/jpeg")
    from sqlalchemy import text

    from sentrix.db.engine import get_engine

    with get_engine().begin() as connection:
        connection.execute(text("UPDATE analyses SET processed_image_key = :k WHERE id = :id"),
                           {"k": key, "id": analysis_id})  # fmt: skip
    return Principal(user_id, Role.USER, "bench@example.org"), str(analysis_id), key


def _reportlab_page(endpoint: str, key: str) -> bytes:
    """The floor of the PDF: the same JPEG fetched from the same S3 and embedded as stored in one reportlab page."""
    import boto3
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    data = (
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        .get_object(Bucket="sentrix-bench", Key=key)["Body"]
        .read()
    )
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    page.drawImage(ImageReader(io.BytesIO(data)), 40, 300, width=515, height=386)
    page.showPage()
    page.save()
    return out.getvalue()


def run(quick: bool) -> list[Result]:
    from sentrix.db.engine import session_scope
    from sentrix.domain.roles import Role
    from sentrix.http.identity import Principal
    from sentrix_report.logic import analysis_report
    from sentrix_report.logic.filters import DataFilters
    from sentrix_report.logic.heatmap import heatmap_data
    from sentrix_report.logic.hotspots import hotspots
    from sentrix_report.logic.map_stats import map_statistics
    from sentrix_report.logic.tiles import vector_tile

    detections = 50_000 if quick else 1_000_000
    pg, url = _database(detections)
    moto, endpoint = _moto()
    results: list[Result] = []
    try:
        _environment(url, endpoint)
        from sqlalchemy import text

        with session_scope() as session:
            expert_id = session.execute(text("SELECT id FROM users WHERE role = 'expert' LIMIT 1")).scalar()
        expert = Principal(expert_id, Role.EXPERT, "expert@example.org")
        rounds = 5
        notes = f"{detections} seeded detections; {rounds} interleaved rounds"

        def add(name, samples, ours, plain, live=None, *, target=None, check="", floor="plain SQL, one statement"):
            value = statistics.median(samples[ours])
            for key, label in ((plain, floor), (live, "the project's live SQL")):
                if key is None:
                    continue
                base = statistics.median(samples[key])
                ratios = [o / b for o, b in zip(samples[ours], samples[key], strict=True)]
                detail = (f"{notes}; ours min {min(samples[ours]):.1f} / median {value:.1f} ms, {label} min "
                          f"{min(samples[key]):.1f} / median {base:.1f} ms; per-round ratio min {min(ratios):.3f} / "
                          f"median {statistics.median(ratios):.3f}; {check}")  # fmt: skip
                results.append(Result(SUITE, f"{name} vs {label}", value, "ms", label, base,
                                      target_ratio=target if key == plain else None, notes=detail,
                                      extra={"min_ms": min(samples[ours]), "baseline_min_ms": min(samples[key]),
                                             "round_ratios": ratios}))  # fmt: skip

        def sql(statement: str, **params):
            def execute():
                with session_scope() as s:
                    return s.execute(text(statement), params).all()

            return execute

        limit = 1000  # the default page of the public heatmap
        whole, active = DataFilters(include_expired=True), DataFilters()
        midnight = _midnight()
        heatmaps = (("whole data set", whole, True, None), ("active sites only", active, False, HEATMAP_ACTIVE_TARGET))
        for label, filters, everything, target in heatmaps:
            plain = sql(PLAIN_HEATMAP, all=everything, as_of=midnight, k=K)
            ours = sorted(p["detectionCount"] for p in heatmap_data(None, filters, limit=limit)["data"])
            same = ours == sorted(int(r.n) for r in plain())
            samples = _rounds({"ours": lambda f=filters: heatmap_data(None, f, limit=limit), "plain": plain,
                               "live": lambda e=everything: _live_heatmap(e, limit)}, rounds)  # fmt: skip
            add(f"heatmap-data (anonymous, {label})", samples, "ours", "plain", "live", target=target,
                check=f"cell sizes agree with the plain statement: {same}")  # fmt: skip

        for label, filters, everything in (("active", active, False), ("whole data set", whole, True)):
            plain = sql(PLAIN_MAP_STATS, all=everything, as_of=midnight)
            answer, row = map_statistics(None, filters), plain()[0]
            same = (answer["total_analyses"], answer["active_zones"]) == (row.analyses[0], row.active_zones)
            samples = _rounds({"ours": lambda f=filters: map_statistics(None, f), "plain": plain,
                               "live": lambda e=everything: _live_map_stats(e)}, rounds)  # fmt: skip
            add(f"map-stats (anonymous, {label})", samples, "ours", "plain", "live", target=MAP_STATS_TARGET,
                check=f"totals and active zones agree with the plain statement: {same}")  # fmt: skip

        x, y = _tile_of(-26.8083, -65.2176, 12)
        plain = sql(PLAIN_TILE, z=12, x=x, y=y, as_of=midnight, k=K)
        samples = _rounds({"ours": lambda: vector_tile(None, 12, x, y, whole), "plain": plain,
                           "live": lambda: _live_tile(12, x, y)}, rounds)  # fmt: skip
        add("z12 tile (anonymous, city centre, grid layer)", samples, "ours", "plain", "live")

        def ours_hotspots():
            return hotspots(expert, DataFilters(bbox=CITY_BBOX), min_points=MIN_POINTS, limit=1000)

        found = len(ours_hotspots()["clusters"])
        plain = sql(PLAIN_HOTSPOTS, min_points=MIN_POINTS, srid=UTM_20S, as_of=datetime.now(UTC), **_bbox(CITY_BBOX))
        plain_found = len(plain())
        # The route's rate limit (60 per 10 min per user) bounds how often it may run: few rounds.
        samples = _rounds({"ours": ours_hotspots, "plain": plain}, rounds)
        add("hotspots (DBSCAN 150 m, city bbox, active, expert)", samples, "ours", "plain", target=HOTSPOTS_TARGET,
            check=f"clusters {found} vs plain {plain_found} (ours keeps only clusters that are places)")  # fmt: skip

        owner, analysis_id, key = _pdf_fixture(endpoint)
        samples = _rounds({"ours": lambda: analysis_report.pdf(owner, analysis_id),
                           "page": lambda: _reportlab_page(endpoint, key)}, rounds, warmup=2)  # fmt: skip
        pdf_ms = statistics.median(samples["ours"])
        results.append(Result(SUITE, "per-analysis PDF (1600x1200 JPEG from S3)", pdf_ms, "ms", "budget", 500.0,
                              target_ratio=1.0, notes=f"warm; min {min(samples['ours']):.1f} ms"))  # fmt: skip
        add("per-analysis PDF", samples, "ours", "page", floor="reportlab page embedding the same JPEG from S3",
            check="the floor fetches the same object and embeds it as stored (no decode, no re-encode)")  # fmt: skip
    finally:
        moto.stop()
        pg.stop()
    return results
