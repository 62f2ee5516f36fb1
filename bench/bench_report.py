"""Report function on 1,000,000 seeded detections (50,000 with --quick): every map and statistics query
against a naive baseline measured in the same run, and the per-analysis PDF against its 0.5 s budget.

The naive baselines do what the original did: load the rows into Python and aggregate there (the tile and
hotspot baselines even get an index-assisted bbox filter in SQL, so only the rows they need travel).
Targets (issue 6): each map/statistics query >= 20x faster than its baseline; the PDF under 500 ms.
The seeded database lives in .local/bench (reused across runs) on a cluster started here and stopped after.
"""

from __future__ import annotations

import io
import math
import os
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime

from bench.harness import REPO_ROOT, Result, median_time

for _path in (REPO_ROOT, REPO_ROOT / "functions/report", REPO_ROOT / "layers/shared", REPO_ROOT / "local"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

SUITE = "report"
STATE = REPO_ROOT / ".local" / "bench"
CITY_BBOX = "-65.2776,-26.8683,-65.1576,-26.7483"  # 0.12° square (about 12 x 13 km) around the city centre
# The seeded city is dense (hundreds of active sites per km²): with DBSCAN's 150 m radius only the planted
# hotspots hold this many active sites, so they separate from the background instead of merging into one.
MIN_POINTS = 50
TARGET = 1 / 20  # value / baseline: at least 20x faster
RANK = {"ALTO": 0, "MEDIO": 1, "BAJO": 2, "MINIMO": 3}
BASE = {"ALTO": 0.7, "MEDIO": 0.4}


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
            # pg8000 applies this to every socket read, not only the connect: naive baselines run for minutes.
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


def _intensity(risk: str, n: int) -> float:
    bonus = min(n * 0.05, 0.3) if risk in BASE else min(n * 0.03, 0.2)
    return round(min(BASE.get(risk, 0.2) + bonus, 1.0), 2)


# -------------------------------------------------------------------------------------------------------
# Naive baselines: rows into Python, aggregation in Python
# -------------------------------------------------------------------------------------------------------
HEATMAP_ROWS = (
    "SELECT a.id, ST_Y(a.location), ST_X(a.location), a.risk_level::text, d.breeding_site_type::text, "
    "d.risk_level::text FROM analyses a LEFT JOIN detections d ON d.analysis_id = a.id "
    "WHERE a.status = 'completed' AND a.location IS NOT NULL"
)
HEATMAP_ROWS_ACTIVE = HEATMAP_ROWS.replace("d.risk_level::text FROM", "d.risk_level::text, d.expires_at FROM")


def naive_heatmap(limit: int, active_at: datetime | None = None) -> list[tuple]:
    """Public heatmap cells in Python: every located row loaded (expired ones dropped here if asked)."""
    # expires_at travels only when it is needed: every column costs the baseline time.
    rows = _fetch(HEATMAP_ROWS_ACTIVE if active_at else HEATMAP_ROWS)
    cells: dict[tuple, list] = {}
    for _id, lat, lon, analysis_risk, site_type, risk, *expiry in rows:
        if active_at is not None and (expiry[0] is None or expiry[0] <= active_at):
            continue
        key = (math.floor(lon / 0.01), math.floor(lat / 0.01), site_type)
        cell = cells.setdefault(key, [0, "MINIMO"])
        level = risk or analysis_risk or "BAJO"
        if risk is not None:
            cell[0] += 1
        if RANK[level] < RANK[cell[1]]:
            cell[1] = level
    top = sorted(cells.items(), key=lambda item: (-item[1][0], item[0][0], item[0][1]))[:limit]
    return [((cy + 0.5) * 0.01, (cx + 0.5) * 0.01, t, n, _intensity(r, n)) for (cx, cy, t), (n, r) in top]


def naive_map_stats(as_of: datetime) -> dict:
    analyses = _fetch(
        "SELECT id, risk_level::text, ST_Y(location), ST_X(location), created_at FROM analyses "
        "WHERE status = 'completed'"
    )
    counted = {row[0] for row in analyses}
    detections = _fetch(
        "SELECT analysis_id, breeding_site_type::text, created_at, expires_at, mask_area, validation_status::text, "
        "ST_Y(location), ST_X(location) FROM detections"
    )
    mine = [d for d in detections if d[0] in counted]
    zones = {(math.floor(d[7] / 0.001), math.floor(d[6] / 0.001)) for d in mine if d[3] > as_of and d[6] is not None}
    days = Counter(d[2].date() for d in mine)
    return {
        "total_analyses": len(analyses),
        "total_detections": len(mine),
        "locations_with_gps": sum(1 for a in analyses if a[2] is not None),
        "risk": Counter(a[1] for a in analyses),
        "active_detections": sum(1 for d in mine if d[3] > as_of),
        "active_zones": len(zones),
        "types": Counter(d[1] for d in mine),
        "trend": [days.get(as_of.date().fromordinal(as_of.date().toordinal() - i), 0) for i in range(6, -1, -1)],
        "area": sum(d[4] or 0 for d in mine),
    }


def naive_tile(z: int, x: int, y: int, *, bbox_in_sql: bool = False) -> bytes:
    """The grid layer of a public tile. Like the original, it loads every located row and filters in
    Python; with `bbox_in_sql` it gets the database's bbox index instead (a stronger baseline)."""
    import mapbox_vector_tile

    n, half = 2**z, 20037508.342789244
    west, east = x / n * 360 - 180, (x + 1) / n * 360 - 180
    north = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / n))))
    south = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + 1) / n))))
    box = {"w": west - 0.02, "s": south - 0.02, "e": east + 0.02, "n": north + 0.02}
    sql = (
        "SELECT ST_Y(d.location), ST_X(d.location), d.risk_level::text FROM detections d "
        "JOIN analyses a ON a.id = d.analysis_id WHERE a.status = 'completed' AND d.location IS NOT NULL"
    )
    if bbox_in_sql:
        rows = _fetch(sql + " AND d.location && ST_MakeEnvelope(:w, :s, :e, :n, 4326)", box)
    else:
        rows = [r for r in _fetch(sql) if box["w"] <= r[1] <= box["e"] and box["s"] <= r[0] <= box["n"]]
    size = 2 * half / n
    x0, y0 = -half + x * size, half - y * size
    cells: dict[tuple, list] = defaultdict(lambda: [0, "MINIMO"])
    for lat, lon, risk in rows:
        clat, clon = (math.floor(lat / 0.01) + 0.5) * 0.01, (math.floor(lon / 0.01) + 0.5) * 0.01
        mx = clon * half / 180
        my = math.log(math.tan(math.pi / 4 + math.radians(clat) / 2)) * half / math.pi
        cx, cy = math.floor((mx - x0) / size * 64), math.floor((y0 - my) / size * 64)
        if 0 <= cx < 64 and 0 <= cy < 64:
            cell = cells[(cx, cy)]
            cell[0] += 1
            cell[1] = min(cell[1], risk, key=RANK.get)
    features = [
        {"geometry": f"POINT({(cx + 0.5) * 64} {4096 - (cy + 0.5) * 64})",
         "properties": {"count": c, "max_risk_level": r, "intensity": _intensity(r, c)}}
        for (cx, cy), (c, r) in cells.items()
    ]  # fmt: skip
    return mapbox_vector_tile.encode([{"name": "grid", "features": features}]) if features else b""


def naive_hotspots(bbox: str, eps: float, min_points: int, as_of: datetime, *, bbox_in_sql: bool = False) -> int:
    """DBSCAN in Python (grid-indexed region queries) over the active detections in the bbox."""
    west, south, east, north = map(float, bbox.split(","))
    box = {"w": west, "s": south, "e": east, "n": north, "as_of": as_of}
    sql = (
        "SELECT ST_Y(d.location), ST_X(d.location) FROM detections d JOIN analyses a ON a.id = d.analysis_id "
        "WHERE a.status = 'completed' AND d.expires_at > :as_of AND d.location IS NOT NULL"
    )
    if bbox_in_sql:
        rows = _fetch(sql + " AND d.location && ST_MakeEnvelope(:w, :s, :e, :n, 4326)", box)
    else:
        rows = [r for r in _fetch(sql, box) if west <= r[1] <= east and south <= r[0] <= north]
    ky = 111_320.0
    kx = ky * math.cos(math.radians((south + north) / 2))
    points = [(lon * kx, lat * ky) for lat, lon in rows]
    grid: dict[tuple, list[int]] = defaultdict(list)
    for i, (px, py) in enumerate(points):
        grid[(int(px // eps), int(py // eps))].append(i)

    def neighbours(i: int) -> list[int]:
        px, py = points[i]
        gx, gy = int(px // eps), int(py // eps)
        return [j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in grid.get((gx + dx, gy + dy), ())
                if (points[j][0] - px) ** 2 + (points[j][1] - py) ** 2 <= eps * eps]  # fmt: skip

    label = [None] * len(points)
    clusters = 0
    for i in range(len(points)):
        if label[i] is not None:
            continue
        seeds = neighbours(i)
        if len(seeds) < min_points:
            label[i] = -1
            continue
        label[i] = clusters
        queue = list(seeds)
        while queue:
            j = queue.pop()
            if label[j] == -1:
                label[j] = clusters
            if label[j] is not None:
                continue
            label[j] = clusters
            found = neighbours(j)
            if len(found) >= min_points:
                queue.extend(found)
        clusters += 1
    return clusters


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
    return Principal(user_id, Role.USER, "bench@example.org"), str(analysis_id)


def _naive_pdf(principal, analysis_id: str) -> bytes:
    """The same report with the image decoded and re-encoded (PNG, Flate) instead of embedded as stored."""
    from PIL import Image

    from sentrix_report.logic import analysis_report
    from sentrix_report.render import analysis_pdf, pdf_base

    document = analysis_report.read_document(principal, analysis_id)
    original = pdf_base.fitted_image

    def decoded(data, width, height):
        from reportlab.platypus import Image as Flowable

        image = Image.open(io.BytesIO(data)).convert("RGB")
        png = io.BytesIO()
        image.save(png, format="PNG")  # what handing reportlab a decoded image amounts to: pixels, re-encoded
        png.seek(0)
        scale = min(width / image.width, height / image.height)
        return Flowable(png, width=image.width * scale, height=image.height * scale)

    analysis_pdf.fitted_image = decoded
    try:
        return analysis_pdf.render(document)
    finally:
        analysis_pdf.fitted_image = original


def run(quick: bool) -> list[Result]:
    import mapbox_vector_tile

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
        with session_scope() as session:
            from sqlalchemy import text

            expert_id = session.execute(text("SELECT id FROM users WHERE role = 'expert' LIMIT 1")).scalar()
        expert = Principal(expert_id, Role.EXPERT, "expert@example.org")
        fast_repeat, slow_repeat = 5, 2
        notes = f"{detections} seeded detections; median of {fast_repeat} (SQL) / {slow_repeat} (naive) runs"
        as_of = datetime.now(UTC)

        def add(name, fast, slow, check, target=TARGET, baseline="naive: all rows into Python") -> None:
            value = median_time(fast, repeat=fast_repeat, warmup=1)
            slow_ms = median_time(slow, repeat=slow_repeat, warmup=0)
            results.append(Result(SUITE, name, value, "ms", baseline, slow_ms, target_ratio=target,
                                  notes=f"{notes}; {check}"))  # fmt: skip

        limit = 1000  # the default page of the public heatmap
        # The whole data set, expired sites included: the anonymous map served from the rollup.
        whole, active = DataFilters(include_expired=True), DataFilters()
        ours = heatmap_data(None, whole, limit=limit)["data"]
        theirs = naive_heatmap(limit)
        # Ties at the limit may pick different cells of equal size: compare the sizes.
        same = sorted(p["detectionCount"] for p in ours) == sorted(t[3] for t in theirs)
        add("heatmap-data (anonymous, whole data set)", lambda: heatmap_data(None, whole, limit=limit),
            lambda: naive_heatmap(limit), f"cell sizes agree: {same}")  # fmt: skip
        ours = heatmap_data(None, active, limit=limit)["data"]
        theirs = naive_heatmap(limit, datetime.now(UTC))
        same = sorted(p["detectionCount"] for p in ours) == sorted(t[3] for t in theirs)
        add("heatmap-data (anonymous, active sites only)", lambda: heatmap_data(None, active, limit=limit),
            lambda: naive_heatmap(limit, datetime.now(UTC)), f"cell sizes agree: {same}")  # fmt: skip

        stats = map_statistics(None, whole)
        naive = naive_map_stats(as_of)
        keys = ("total_analyses", "total_detections", "locations_with_gps")  # not the clock-dependent ones
        agree = all(stats[k] == naive[k] for k in keys)
        add("map-stats", lambda: map_statistics(None, whole), lambda: naive_map_stats(datetime.now(UTC)),
            f"totals agree: {agree}")  # fmt: skip

        x, y = _tile_of(-26.8083, -65.2176, 12)
        count = len(mapbox_vector_tile.decode(vector_tile(None, 12, x, y, whole).body)["grid"]["features"])
        naive_count = len(mapbox_vector_tile.decode(naive_tile(12, x, y))["grid"]["features"])
        check = f"features {count} vs naive {naive_count}"
        add("z12 tile (city centre, grid layer)", lambda: vector_tile(None, 12, x, y, whole),
            lambda: naive_tile(12, x, y), check)  # fmt: skip
        bbox_naive = "naive: bbox rows into Python"
        add("z12 tile vs naive with an SQL bbox filter", lambda: vector_tile(None, 12, x, y, whole),
            lambda: naive_tile(12, x, y, bbox_in_sql=True), check, target=None, baseline=bbox_naive)  # fmt: skip

        def ours_hotspots():
            return hotspots(expert, DataFilters(bbox=CITY_BBOX), min_points=MIN_POINTS, limit=1000)

        found = len(ours_hotspots()["clusters"])
        naive_found = naive_hotspots(CITY_BBOX, 150.0, MIN_POINTS, as_of)
        check = f"clusters {found} vs naive {naive_found} (naive: metres on an equirectangular plane)"
        add("hotspots (DBSCAN 150 m, city bbox, active)", ours_hotspots,
            lambda: naive_hotspots(CITY_BBOX, 150.0, MIN_POINTS, datetime.now(UTC)), check)  # fmt: skip
        add("hotspots vs naive with an SQL bbox filter", ours_hotspots,
            lambda: naive_hotspots(CITY_BBOX, 150.0, MIN_POINTS, datetime.now(UTC), bbox_in_sql=True), check,
            target=None, baseline=bbox_naive)  # fmt: skip

        owner, analysis_id = _pdf_fixture(endpoint)
        pdf_ms = median_time(lambda: analysis_report.pdf(owner, analysis_id), repeat=fast_repeat, warmup=2)
        naive_pdf_ms = median_time(lambda: _naive_pdf(owner, analysis_id), repeat=slow_repeat, warmup=1)
        name = "per-analysis PDF (1600x1200 JPEG from S3)"
        results.append(Result(SUITE, name, pdf_ms, "ms", "budget", 500.0, target_ratio=1.0,
                              notes="warm; visibility rule, image fetched from moto's S3"))  # fmt: skip
        results.append(Result(SUITE, "per-analysis PDF vs re-encoding the image", pdf_ms, "ms",
                              "naive: image decoded, re-encoded", naive_pdf_ms,
                              notes="JPEG bytes are embedded as stored (DCTDecode passthrough)"))  # fmt: skip
    finally:
        moto.stop()
        pg.stop()
    return results
