"""GET /heatmap-data: the original intensity formula row by row, per-type risk, filters and audiences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration

UNKNOWN_CLASS = 7  # Clase_7: no breeding-site type, BAJO


# (detections, stored analysis risk, expected point risk, n, intensity) — one row of the formula each:
# base ALTO 0.7 / MEDIO 0.4 / else 0.2; bonus min(n*0.05, 0.3) for ALTO/MEDIO, min(n*0.03, 0.2) otherwise.
FORMULA_ROWS = [
    ([0], None, "ALTO", 1, 0.75),
    ([0, 0], None, "ALTO", 2, 0.80),
    ([0] * 6, None, "ALTO", 6, 1.00),  # bonus reaches its 0.3 cap
    ([0] * 8, None, "ALTO", 8, 1.00),  # bonus capped, total capped at 1
    ([3], None, "MEDIO", 1, 0.45),
    ([3] * 4, None, "MEDIO", 4, 0.60),
    ([3] * 7, None, "MEDIO", 7, 0.70),  # 7 * 0.05 = 0.35 -> 0.3
    ([UNKNOWN_CLASS], None, "BAJO", 1, 0.23),
    ([UNKNOWN_CLASS] * 5, None, "BAJO", 5, 0.35),
    ([UNKNOWN_CLASS] * 8, None, "BAJO", 8, 0.40),  # 8 * 0.03 = 0.24 -> 0.2
]


@pytest.mark.parametrize(("classes", "stored", "risk", "n", "intensity"), FORMULA_ROWS)
def test_intensity_follows_the_original_formula_row_by_row(expert, classes, stored, risk, n, intensity):
    # Given one located analysis
    with session_scope() as s:
        make_analysis(s, user=expert.id, latitude=-26.8, longitude=-65.2, detections=classes, risk_level=stored)
    # When an expert asks for the heatmap
    body = call("GET", "/api/v1/heatmap-data", caller=expert).json()
    # Then its single point carries the risk, the count and the formula's intensity
    [point] = body["data"]
    assert (point["riskLevel"], point["detectionCount"], point["intensity"]) == (risk, n, intensity)


@pytest.mark.parametrize("level", ["ALTO", "MINIMO", None])
def test_analyses_without_detections_are_never_heat(expert, level):
    # Given a located photo in which nothing was found (whatever level it was stored with)
    with session_scope() as s:
        a = make_analysis(s, user=expert.id, latitude=-26.8, longitude=-65.2, risk_level=level or "MINIMO")
        if level is None:
            s.execute(text("UPDATE analyses SET risk_level = NULL WHERE id = :id"), {"id": a.id})
    # Then no caller sees heat there, expired detections included
    for caller in (expert, None):
        for query in ({}, {"include_expired": "true"}):
            body = call("GET", "/api/v1/heatmap-data", caller=caller, query=query).json()
            assert (body["data"], body["total_detections"]) == ([], 0), (caller, query)


def test_one_point_per_type_with_the_highest_risk_of_that_type(expert):
    # Given an analysis with two Basura (one recorded BAJO, one MEDIO) and one Huecos, plus three ALTO Basura
    with session_scope() as s:
        mixed = make_analysis(
            s,
            user=expert.id,
            latitude=-26.8,
            longitude=-65.2,
            detections=[D(0, risk_level="BAJO"), D(0, risk_level="MEDIO"), 3],
        )
        plain = make_analysis(s, user=expert.id, latitude=-26.7, longitude=-65.1, detections=[0, 0, 0])
    points = call("GET", "/api/v1/heatmap-data", caller=expert).json()["data"]
    found = {(p["analysisId"], p["breedingSiteType"]): (p["riskLevel"], p["detectionCount"]) for p in points}
    # Then each type's risk is the highest among its detections (the original compared lowercase: all BAJO)
    assert found == {
        (str(mixed.id), "Basura"): ("MEDIO", 2),
        (str(mixed.id), "Huecos"): ("MEDIO", 1),
        (str(plain.id), "Basura"): ("ALTO", 3),
    }


def test_summary_counts_points(expert):
    with session_scope() as s:
        make_analysis(s, user=expert.id, latitude=-26.8, longitude=-65.2, detections=[0, 0, 3])  # 2 points
        make_analysis(s, user=expert.id, latitude=-26.81, longitude=-65.2, detections=[UNKNOWN_CLASS])  # 1
        make_analysis(s, user=expert.id, detections=[0])  # no location: not on the map
    body = call("GET", "/api/v1/heatmap-data", caller=expert).json()
    assert body["total_locations"] == 3
    assert body["total_detections"] == 4
    assert (body["high_risk_count"], body["medium_risk_count"], body["low_risk_count"]) == (1, 1, 1)
    assert body["breeding_type_counts"] == {"Basura": 1, "Huecos": 1, "none": 1}
    assert body["counted"] == "solo análisis completados"  # the anonymous default language


def test_only_completed_analyses_count(expert):
    with session_scope() as s:
        make_analysis(s, user=expert.id, latitude=-26.8, longitude=-65.2, detections=[0])
        make_analysis(s, user=expert.id, latitude=-26.8, longitude=-65.2, detections=[0], status="processing")
        make_analysis(s, user=expert.id, latitude=-26.8, longitude=-65.2, detections=[0], status="failed")
    assert len(call("GET", "/api/v1/heatmap-data", caller=expert).json()["data"]) == 1


def test_filters_risk_since_bbox_and_active(expert):
    now = datetime.now(UTC)
    with session_scope() as s:
        # (levels set explicitly: by the DESIGN table one Basura alone is MEDIO, one Huecos BAJO)
        old = make_analysis(s, user=expert.id, latitude=-26.8, longitude=-65.2, detections=[0],
                            created_at=now - timedelta(days=40), risk_level="ALTO")  # fmt: skip
        medio = make_analysis(s, user=expert.id, latitude=-26.8, longitude=-65.2, detections=[3], risk_level="MEDIO")
        far = make_analysis(s, user=expert.id, latitude=-24.0, longitude=-65.0, detections=[0], risk_level="ALTO")
        expired = make_analysis(s, user=expert.id, latitude=-26.8, longitude=-65.2, risk_level="ALTO",
                                detections=[D(0, expires_at=now - timedelta(hours=1))])  # fmt: skip

    def ids(**query):
        points = call("GET", "/api/v1/heatmap-data", caller=expert, query=query).json()["data"]
        return {p["analysisId"] for p in points}

    assert ids(risk_level="MEDIO") == {str(medio.id)}
    assert ids(risk_level="medio") == {str(medio.id)}  # the English/lowercase spellings are accepted
    assert str(old.id) not in ids(since=(now - timedelta(days=30)).date().isoformat())
    assert ids(bbox="-66,-25,-64,-23") == {str(far.id)}
    assert str(expired.id) not in ids()  # active detections by default
    assert str(expired.id) in ids(include_expired="true")


def test_bad_filters_are_422(expert):
    for query in ({"bbox": "1,2,3"}, {"bbox": "10,0,5,1"}, {"risk_level": "GRAVE"}, {"since": "yesterday"}):
        response = call("GET", "/api/v1/heatmap-data", caller=expert, query=query)
        assert response.status == 422, query
        assert response.json()["error"]["code"] == "validation_error"


def test_audiences_anonymous_user_and_expert(user, other_user, expert):
    # Given one analysis of the user and one of someone else, far apart
    with session_scope() as s:
        mine = make_analysis(s, user=user.id, latitude=-26.81234, longitude=-65.21234, detections=[0])
        theirs = make_analysis(s, user=other_user.id, latitude=-26.71234, longitude=-65.11234, detections=[3])

    anonymous = call("GET", "/api/v1/heatmap-data").json()
    as_user = call("GET", "/api/v1/heatmap-data", caller=user).json()
    as_expert = call("GET", "/api/v1/heatmap-data", caller=expert).json()

    # Then anonymous callers get only cell centres, no ids
    assert anonymous["audience"] == "anonymous"
    assert all(p["aggregated"] and "analysisId" not in p for p in anonymous["data"])
    assert {(p["latitude"], p["longitude"]) for p in anonymous["data"]} == {(-26.815, -65.215), (-26.715, -65.115)}
    # The user sees their own analysis exactly and the other one aggregated
    own = [p for p in as_user["data"] if not p["aggregated"]]
    assert [(p["analysisId"], p["isOwn"], p["latitude"]) for p in own] == [(str(mine.id), True, -26.81234)]
    assert [p["latitude"] for p in as_user["data"] if p["aggregated"]] == [-26.715]
    # The expert sees everything exactly
    assert {p["analysisId"] for p in as_expert["data"]} == {str(mine.id), str(theirs.id)}
    assert not any(p["aggregated"] for p in as_expert["data"])


def test_public_cells_sum_their_reports(other_user):
    # Three reports in one 0.01° cell: one public point per type with the summed counts
    with session_scope() as s:
        for i in range(3):
            make_analysis(s, user=other_user.id, latitude=-26.8012 - i * 0.001, longitude=-65.2012, detections=[0, 0])
    [point] = call("GET", "/api/v1/heatmap-data").json()["data"]
    assert (point["detectionCount"], point["cellReportCount"], point["intensity"]) == (6, 3, 1.0)
    assert point["timestamp"].endswith("T00:00:00+00:00")  # the day, not the instant


def test_limit_caps_exact_analyses_newest_first(expert):
    now = datetime.now(UTC)
    with session_scope() as s:
        made = [
            make_analysis(s, user=expert.id, latitude=-26.8, longitude=-65.2, detections=[0],
                          created_at=now - timedelta(minutes=i))
            for i in range(5)
        ]  # fmt: skip
    points = call("GET", "/api/v1/heatmap-data", caller=expert, query={"limit": 2}).json()["data"]
    assert [p["analysisId"] for p in points] == [str(made[0].id), str(made[1].id)]
