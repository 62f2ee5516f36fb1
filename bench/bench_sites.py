"""Merging detections into sites at detect time (issue #19: "merging at detect time costs <= 1.2x detect's store
step without it, at 1M detections").

Detect's store step is `SqlAnalysisStore.complete`, the final transaction: the analysis row, its detections,
the site join (`sentrix.repositories.sites.join_or_create`, the SQL function `sites_join`) and the territory tag.
The baseline is the same step with the join switched off (`join_or_create` returning no site), measured in the
same run, interleaved with the measured step so both see the same machine load. Each sample stores a fresh
analysis (two detections, a refuse and a water one, as an ordinary photo) at a point drawn at random over the
seeded city, so some photos join an existing site and most start new ones (printed with the results).

The database is bench_report's seeded city (1,000,000 detections; 50,000 with --quick) with its sites built
set-based once (one site per family and ~11 m square of the detections' points, the members' `site_id` set;
the live merge would take hours for a million detections): the table sizes and indexes detect meets in a city
after a year. Targets: value / baseline <= 1.2.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from bench.bench_report import _database, _environment, _moto
from bench.harness import REPO_ROOT, Result

if str(REPO_ROOT / "functions/detect") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "functions/detect"))

SUITE = "sites"
TARGET_RATIO = 1.2
CITY = (-26.8083, -65.2176)  # tests.support.seed.CITY_CENTRE
HALF_DEG = 0.06

_BUILD_SITES = """
CREATE TEMP TABLE bench_members ON COMMIT DROP AS
SELECT d.id, d.created_at, d.analysis_id, a.user_id,
       CAST(CASE d.breeding_site_type::text WHEN 'Basura' THEN 'refuse' WHEN 'Calles mal hechas' THEN 'road'
            ELSE 'water' END AS site_family) AS family,
       round(ST_X(d.location)::numeric, 4) AS gx, round(ST_Y(d.location)::numeric, 4) AS gy
FROM detections d JOIN analyses a ON a.id = d.analysis_id
WHERE d.location IS NOT NULL AND d.breeding_site_type IS NOT NULL AND a.status = 'completed';
CREATE TEMP TABLE bench_sites ON COMMIT DROP AS
SELECT gen_random_uuid() AS id, family, gx, gy, min(created_at) AS first_at, max(created_at) AS last_at,
       count(DISTINCT analysis_id) AS reports, count(*) AS members, count(DISTINCT user_id) AS reporters
FROM bench_members GROUP BY family, gx, gy;
INSERT INTO sites (id, family, status, location, radius_m, first_report_at, last_report_at, report_count,
                   detection_count, reporter_count)
SELECT id, family, 'open', ST_SetSRID(ST_MakePoint(gx::float8, gy::float8), 4326), 15, first_at, last_at,
       reports, members, reporters
FROM bench_sites;
INSERT INTO site_actions (id, site_id, action, at, to_status)
SELECT gen_random_uuid(), id, 'create', first_at, 'open' FROM bench_sites;
-- site_id is no column of the public map rollup: its triggers need not run for this bulk update.
SET LOCAL session_replication_role = replica;
UPDATE detections d SET site_id = s.id
FROM bench_members m JOIN bench_sites s USING (family, gx, gy)
WHERE d.id = m.id;
"""


def _sites(url: str) -> int:
    """Build the sites of the seeded detections once (reused by later runs); their count."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        count = connection.execute(text("SELECT count(*) FROM sites")).scalar()
        if count == 0:
            print("   building the sites of the seeded detections (once; reused by later runs)", flush=True)
            for statement in filter(str.strip, _BUILD_SITES.split(";\n")):
                connection.execute(text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if count == 0:
            connection.execute(text("VACUUM ANALYZE sites"))
            connection.execute(text("VACUUM ANALYZE site_actions"))
            connection.execute(text("VACUUM ANALYZE detections"))
        count = connection.execute(text("SELECT count(*) FROM sites")).scalar()
    engine.dispose()
    return int(count)


def _result(lat: float, lon: float):
    """What detect's final transaction writes for an ordinary photo: two detections, a refuse and a water one."""
    from sentrix.domain.classes import PersistenceType, RiskLevel, class_info
    from sentrix.domain.location import GeoPoint, LocationSource, ResolvedLocation
    from sentrix.domain.risk import assess_risk
    from sentrix_detect.logic.model import AnalysisResult, DetectionRecord, ImageFacts

    now = datetime.now(UTC)
    records = []
    for class_id in (0, 2):
        info = class_info(class_id)
        records.append(
            DetectionRecord(
                class_id=class_id,
                class_name=info.class_name,
                breeding_site_type=info.breeding_site_type,
                confidence=0.8,
                risk_level=RiskLevel(info.risk_level),
                polygon=[[10.0, 10.0], [60.0, 10.0], [60.0, 50.0], [10.0, 50.0]],
                bbox=(10.0, 10.0, 60.0, 50.0),
                mask_area=2000.0,
                shape_wkt=None,
                mask_area_model_px=2000.0,
                persistence_type=PersistenceType(info.persistence),
                is_weather_dependent=False,
                validity_days=7,
                expires_at=now + timedelta(days=7),
            )
        )
    location = ResolvedLocation(GeoPoint(lat, lon), LocationSource.EXIF_GPS)
    facts = ImageFacts("image/jpeg", "JPEG", 4_000_000, 4000, 3000, uuid.uuid4().hex * 2, 0, None, None, None, location)
    return AnalysisResult(
        facts=facts,
        detections=tuple(records),
        risk=assess_risk([r.class_name for r in records]),
        processed_image_key="processed/bench.jpg",
        standardized_filename="bench.jpg",
        model_name="bench",
        yolo_time_ms=1,
        pipeline_time_ms=1,
        completed_at=now,
    )


def _claimed(user_id: uuid.UUID):
    """A fresh analysis in `processing` (claimed once), as detect holds it before its final transaction."""
    from sqlalchemy import text

    from sentrix.db.engine import session_scope
    from sentrix_detect.logic.model import ClaimedAnalysis

    analysis_id = uuid.uuid4()
    key = f"incoming/{user_id}/{analysis_id}/photo.jpg"
    with session_scope() as session:
        session.execute(
            text(
                "INSERT INTO analyses (id, user_id, status, image_bucket, image_key, attempts, "
                "processing_started_at) VALUES (:id, :user, 'processing', 'bench', :key, 1, now())"
            ),
            {"id": analysis_id, "user": user_id, "key": key},
        )
    return ClaimedAnalysis(analysis_id, user_id, "bench", key, 1, 0.5, True, None, None, "photo.jpg",
                           datetime.now(UTC))  # fmt: skip


def run(quick: bool) -> list[Result]:
    from sqlalchemy import text

    from sentrix.db.engine import session_scope
    from sentrix.repositories import sites
    from sentrix_detect.dal.store import SqlAnalysisStore

    detections = 50_000 if quick else 1_000_000
    samples = 60 if quick else 200
    pg, url = _database(detections)
    moto, endpoint = _moto()
    started = datetime.now(UTC)
    try:
        site_count = _sites(url)
        started = datetime.now(UTC)  # the sites built just now stay: they are the data set
        _environment(url, endpoint)
        with session_scope() as session:
            user_id = session.execute(text("SELECT id FROM users WHERE role = 'user' LIMIT 1")).scalar()
        store = SqlAnalysisStore()
        # Whichever way the store reaches the merge (the one-call join, or `place_subquery` riding on its analysis
        # UPDATE), the baseline switches it off.
        names = ("join_or_create", "place_subquery")
        real = {name: getattr(sites, name) for name in names if hasattr(sites, name)}
        off = {"join_or_create": lambda *_a, **_k: [], "place_subquery": lambda *_a, **_k: None}
        off = {name: function for name, function in off.items() if name in real}
        rng = random.Random(19)
        timings: dict[str, list[float]] = {"with": [], "without": []}
        joined = created = 0

        def store_one(merge: bool) -> None:
            nonlocal joined, created
            lat = CITY[0] + rng.uniform(-HALF_DEG, HALF_DEG)
            lon = CITY[1] + rng.uniform(-HALF_DEG, HALF_DEG)
            claimed, result = _claimed(user_id), _result(lat, lon)
            # The baseline: the same store step with the merge switched off (no site for any detection).
            for name, function in (real if merge else off).items():
                setattr(sites, name, function)
            stored_from = datetime.now(UTC) - timedelta(seconds=1)
            try:
                before = time.perf_counter()
                assert store.complete(claimed, result)
                elapsed = (time.perf_counter() - before) * 1000
            finally:
                for name, function in real.items():
                    setattr(sites, name, function)
            timings["with" if merge else "without"].append(elapsed)
            if merge:
                with session_scope() as session:
                    # A site this photo started has its `create` entry in the timeline from this store.
                    made = session.execute(
                        text(
                            "SELECT count(DISTINCT d.site_id) FROM detections d JOIN site_actions sa "
                            "ON sa.site_id = d.site_id AND sa.action = 'create' AND sa.at >= :before "
                            "WHERE d.analysis_id = :a"
                        ),
                        {"a": claimed.id, "before": stored_from},
                    ).scalar()
                created += made
                joined += 2 - made

        for _ in range(5):  # warm-up: caches, plans, connections
            store_one(True)
            store_one(False)
        timings = {"with": [], "without": []}
        joined = created = 0
        for i in range(samples):
            # Alternate which goes first, so neither always meets the other's leftovers (autovacuum, caches).
            for merge in (True, False) if i % 2 == 0 else (False, True):
                store_one(merge)
        with_ms, without_ms = statistics.median(timings["with"]), statistics.median(timings["without"])
        notes = (
            f"{detections} seeded detections, {site_count} sites before the run; median of {samples} stores each, "
            f"interleaved; the merged photos joined {joined} existing sites and started {created}"
        )
        extra = {
            "p90_with_ms": statistics.quantiles(timings["with"], n=10)[-1],
            "p90_without_ms": statistics.quantiles(timings["without"], n=10)[-1],
            "joined": joined,
            "created": created,
            "sites": site_count,
        }
        return [
            Result(
                SUITE,
                "detect store step with the site join",
                with_ms,
                "ms",
                "store step without the join",
                without_ms,
                target_ratio=TARGET_RATIO,
                notes=notes,
                extra=extra,
            )
        ]
    finally:
        _forget_the_run(url, started)
        moto.stop()
        pg.stop()


def _forget_the_run(url: str, started: datetime) -> None:
    """Take the run's analyses and the sites it started out again, so the next run finds the seeded data set
    (bench_report reseeds when the detection count differs)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM sites WHERE created_at >= :started"), {"started": started})
        connection.execute(text("DELETE FROM analyses WHERE image_bucket = 'bench'"))
    engine.dispose()
