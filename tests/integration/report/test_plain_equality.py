"""The anonymous heatmap and the hotspots answer what one plain SQL statement, written here, answers (issue 21).

The benchmarks compare these routes with the same plain statements (bench/bench_report.py): the tests make sure
the comparison is between equal answers, over several filters (bbox, dates, risk, verdict, validity, k).
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration

METRES_PER_DEG_LAT = 111_320.0

# The public heatmap: per 0.01° cell and type, the counted detections, their highest risk, the cell's counted
# analyses and the newest day; cells of fewer than :k people are not drawn.
PLAIN_HEATMAP = """
WITH a AS (SELECT * FROM analyses WHERE status = 'completed' AND location IS NOT NULL AND {where}),
c AS (
    SELECT floor(ST_X(a.location) / 0.01) AS cx, floor(ST_Y(a.location) / 0.01) AS cy,
           d.breeding_site_type::text AS site, d.risk_level, a.user_id, a.created_at
    FROM detections d JOIN a ON a.id = d.analysis_id
    WHERE d.validation_status IN ({verdicts}) AND (:all OR d.expires_at > :as_of)
),
reports AS (SELECT floor(ST_X(location) / 0.01) AS cx, floor(ST_Y(location) / 0.01) AS cy, count(*) AS n
            FROM a GROUP BY 1, 2)
SELECT c.cx, c.cy, c.site, count(*) AS n, min(c.risk_level)::text AS risk, min(r.n) AS reports,
       to_char(max(c.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day
FROM c JOIN reports r ON r.cx = c.cx AND r.cy = c.cy
WHERE (c.cx, c.cy) IN (SELECT cx, cy FROM c GROUP BY 1, 2 HAVING count(DISTINCT user_id) >= :k)
GROUP BY 1, 2, 3
"""
VERDICTS = {None: "'pending', 'requires_review', 'validated_positive'", "confirmed": "'validated_positive'"}

# DBSCAN over the active counted detections of the bbox, in the bbox centre's UTM zone: each cluster's size
# and its people's analyses.
PLAIN_DBSCAN = """
SELECT count(*) AS n, count(DISTINCT analysis_id) AS analyses FROM (
    SELECT ST_ClusterDBSCAN(ST_Transform(d.location, 32720), eps => :eps, minpoints => :min_points) OVER () AS cid,
           d.analysis_id
    FROM detections d JOIN analyses a ON a.id = d.analysis_id
    WHERE a.status = 'completed' AND d.validation_status <> 'validated_negative' AND (:all OR d.expires_at > :as_of)
      AND d.location && ST_MakeEnvelope(:w, :s, :e, :n, 4326)
) AS clustered
WHERE cid IS NOT NULL GROUP BY cid
"""


def _midnight() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / METRES_PER_DEG_LAT, lon + east_m / (METRES_PER_DEG_LAT * math.cos(math.radians(lat)))


@pytest.fixture
def town(user, other_user, expert):
    """Analyses of three people over four public cells: every verdict, expired and active sites, days apart."""
    rng = random.Random(21)
    now = datetime.now(UTC)
    people = [user.id, other_user.id, expert.id]
    with session_scope() as s:
        for i in range(60):
            lat, lon = -26.815 + rng.uniform(0, 0.019), -65.215 + rng.uniform(0, 0.019)
            status = rng.choice(["pending", "pending", "validated_positive", "validated_negative", "requires_review"])
            expires = now + timedelta(days=rng.choice([-3, -1, 2, 9]))
            make_analysis(s, user=people[i % 3], latitude=lat, longitude=lon, created_at=now - timedelta(days=i % 9),
                          risk_level=rng.choice(["ALTO", "MEDIO", "BAJO"]),
                          detections=[D(rng.choice([0, 1, 2, 3, 7]), expires_at=expires, validation_status=status)
                                      for _ in range(rng.randint(0, 3))])  # fmt: skip
        make_analysis(s, user=user.id, latitude=-26.8, longitude=-65.2, status="processing", detections=[0, 0])
    return now


def heatmap_points(query: dict) -> list[tuple]:
    body = call("GET", "/api/v1/heatmap-data", query=query).json()
    assert all(p["aggregated"] for p in body["data"])
    points = [(p["latitude"], p["longitude"], p["breedingSiteType"], p["detectionCount"], p["riskLevel"],
               p["cellReportCount"], p["timestamp"][:10]) for p in body["data"]]  # fmt: skip
    return sorted(points, key=str)


def plain_heatmap(*, where="TRUE", params=None, include_expired=False, verdict=None, k=1) -> list[tuple]:
    sql = PLAIN_HEATMAP.format(where=where, verdicts=VERDICTS[verdict])
    values = {"as_of": _midnight(), "all": include_expired, "k": k, **(params or {})}
    with session_scope() as s:
        rows = s.execute(text(sql), values).all()
    points = [(round((r.cy + 0.5) * 0.01, 6), round((r.cx + 0.5) * 0.01, 6), r.site, r.n, r.risk, r.reports, r.day)
              for r in rows]  # fmt: skip
    return sorted(points, key=str)


@pytest.mark.parametrize(
    ("query", "where", "params"),
    [
        ({}, "TRUE", {}),
        ({"include_expired": "true"}, "TRUE", {}),
        ({"bbox": "-65.205,-26.815,-65.195,-26.795"},
         "location && ST_MakeEnvelope(-65.21, -26.82, -65.19 - 1e-9, -26.79 - 1e-9, 4326)", {}),
        ({"date_from": "DAY-4", "date_to": "DAY-1"},
         "created_at >= CAST(:lo AS date)::timestamp AT TIME ZONE 'UTC' "
         "AND created_at < (CAST(:hi AS date) + 1)::timestamp AT TIME ZONE 'UTC'", {"lo": 4, "hi": 1}),
        ({"risk_level": "MEDIO", "include_expired": "true"}, "risk_level = 'MEDIO'", {}),
        ({"verdict": "confirmed"}, "TRUE", {}),
    ],
)  # fmt: skip
def test_the_anonymous_heatmap_answers_what_one_plain_statement_answers(town, query, where, params):
    today = _midnight().date()
    days = {k: (today - timedelta(days=v)).isoformat() for k, v in params.items()}
    query = {k: (today - timedelta(days=int(v[4:]))).isoformat() if str(v).startswith("DAY-") else v
             for k, v in query.items()}  # fmt: skip
    expected = plain_heatmap(where=where, params=days, include_expired=query.get("include_expired") == "true",
                             verdict=query.get("verdict"))  # fmt: skip
    assert heatmap_points(query) == expected
    assert len(expected) > 3  # several cells and types: equality over almost nothing would prove little


def test_k_anonymity_holds_back_what_the_plain_statement_holds_back(town, user, monkeypatch):
    from sentrix_report.settings import get_report_settings

    with session_scope() as s:  # a cell of one person only
        make_analysis(s, user=user.id, latitude=-26.7505, longitude=-65.1505, detections=[0, 3])
    monkeypatch.setenv("REPORT_PUBLIC_MIN_REPORTERS", "3")
    get_report_settings.cache_clear()
    expected = plain_heatmap(k=3)
    assert heatmap_points({}) == expected
    assert all((lat, lon) != (-26.755, -65.155) for lat, lon, *_ in expected)


@pytest.mark.parametrize("include_expired", [False, True])
def test_hotspots_find_the_clusters_a_plain_dbscan_finds(expert, user, other_user, include_expired):
    """Three well-separated clusters of several people's analyses (no border point two clusters could share) and
    sparse noise: the route's clusters are the plain DBSCAN's, size for size."""
    rng = random.Random(5)
    now = datetime.now(UTC)
    with session_scope() as s:
        for c, (lat, lon) in enumerate([(-26.80, -65.22), (-26.83, -65.19), (-26.78, -65.18)]):
            for i in range(8 + 2 * c):
                north, east = rng.uniform(-40, 40), rng.uniform(-40, 40)
                expires = now + timedelta(days=-2 if (i + c) % 4 == 0 else 5)
                make_analysis(s, user=(user, other_user)[i % 2].id, latitude=offset(lat, lon, north, east)[0],
                              longitude=offset(lat, lon, north, east)[1],
                              detections=[D(0, expires_at=expires), D(2, expires_at=expires)][: 1 + i % 2])  # fmt: skip
        for _ in range(20):
            make_analysis(s, user=other_user.id, latitude=rng.uniform(-26.86, -26.76),
                          longitude=rng.uniform(-65.26, -65.16), detections=[1])  # fmt: skip
    bbox = "-65.26,-26.86,-65.16,-26.76"
    query = {"bbox": bbox, "min_points": 5, "eps_m": 150, "include_expired": str(include_expired).lower()}
    body = call("GET", "/api/v1/map/hotspots", caller=expert, query=query).json()
    ours = sorted((c["detection_count"], c["analysis_count"]) for c in body["clusters"])
    west, south, east, north = map(float, bbox.split(","))
    with session_scope() as s:
        rows = s.execute(text(PLAIN_DBSCAN), {"eps": 150, "min_points": 5, "all": include_expired,
                                              "as_of": datetime.now(UTC), "w": west, "s": south, "e": east,
                                              "n": north}).all()  # fmt: skip
    assert ours == sorted((r.n, r.analyses) for r in rows)
    assert len(ours) == 3
