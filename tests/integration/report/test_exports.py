"""GET /exports/detections.geojson and .csv: RFC 7946, paging, CSV round trip, scope."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call as report_call
from tests.integration.report.geojson_rules import check_feature_collection
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration


def call(method: str, path: str, *, caller=None, query: dict | None = None):
    """The export with expired detections included: these tests read every row (the default is tested below)."""
    return report_call(method, path, caller=caller, query={"include_expired": "true", **(query or {})})


@pytest.fixture
def seeded(user, other_user):
    now = datetime.now(UTC)
    with session_scope() as s:
        make_analysis(s, user=user.id, latitude=-26.8, longitude=-65.2, created_at=now - timedelta(hours=3),
                      detections=[D(0, confidence=0.91), D(3, confidence=0.55)])  # fmt: skip
        make_analysis(s, user=user.id, created_at=now - timedelta(hours=2), detections=[D(2)])  # no location
        make_analysis(s, user=other_user.id, latitude=-26.7, longitude=-65.1, created_at=now - timedelta(hours=1),
                      detections=[D(1, expires_at=now - timedelta(minutes=5)), D(0), D(0), D(3)])  # fmt: skip
    return now


def db_rows() -> dict[str, dict]:
    with session_scope() as s:
        found = s.execute(
            text(
                "SELECT d.id::text AS id, d.analysis_id::text AS analysis_id, d.created_at, ST_Y(d.location) AS lat, "
                "ST_X(d.location) AS lon, d.confidence, d.class_name, d.risk_level::text AS risk_level, "
                "d.expires_at, a.user_id FROM detections d JOIN analyses a ON a.id = d.analysis_id"
            )
        ).mappings()
        return {r["id"]: dict(r) for r in found}


def test_geojson_is_rfc_7946_with_lon_lat_numbers(seeded, expert):
    response = call("GET", "/api/v1/exports/detections.geojson", caller=expert)
    assert response.status == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert response.raw["isBase64Encoded"] is False  # text through API Gateway, not base64
    assert response.headers["content-disposition"].startswith('attachment; filename="sentrix_detections_')
    document = response.json()
    assert check_feature_collection(document) == []
    rows = db_rows()
    located = {i for i, r in rows.items() if r["lat"] is not None}
    assert {f["id"] for f in document["features"]} == located  # GeoJSON carries located detections only
    for feature in document["features"]:
        row = rows[feature["id"]]
        assert feature["geometry"]["coordinates"] == [pytest.approx(row["lon"]), pytest.approx(row["lat"])]
        assert isinstance(feature["properties"]["confidence"], float)
        assert feature["properties"]["confidence"] == pytest.approx(row["confidence"])
        assert feature["properties"]["active"] is (row["expires_at"] > seeded)
    assert document["numberMatched"] == len(located) == document["numberReturned"]
    assert document["next_cursor"] is None


def test_geojson_pages_with_a_cursor_until_everything_is_read(seeded, expert):
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = call("GET", "/api/v1/exports/detections.geojson", caller=expert, query=query)
        document = response.json()
        assert check_feature_collection(document) == []
        seen += [f["id"] for f in document["features"]]
        pages += 1
        cursor = document["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            break
        assert response.headers["x-next-cursor"] == cursor
        assert response.headers["link"].startswith("<?") and 'rel="next"' in response.headers["link"]
    assert pages == 3 and len(seen) == len(set(seen)) == 6


def test_csv_parses_back_to_the_same_rows(seeded, expert):
    response = call("GET", "/api/v1/exports/detections.csv", caller=expert)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    parsed = list(csv.DictReader(io.StringIO(response.body.decode())))
    rows = db_rows()
    assert {r["id"] for r in parsed} == set(rows)
    assert response.headers["x-total-count"] == "7"
    for r in parsed:
        row = rows[r["id"]]
        assert r["analysis_id"] == row["analysis_id"]
        assert datetime.fromisoformat(r["created_at"]) == row["created_at"]
        assert float(r["confidence"]) == row["confidence"]  # repr round-trips exactly
        assert (float(r["latitude"]) if r["latitude"] else None) == row["lat"]
        assert (float(r["longitude"]) if r["longitude"] else None) == row["lon"]
        assert (r["class_name"], r["risk_level"]) == (row["class_name"], row["risk_level"])
        assert datetime.fromisoformat(r["expires_at"]) == row["expires_at"]
        assert r["active"] == ("true" if row["expires_at"] > seeded else "false")


def test_csv_pages_follow_the_link(seeded, expert):
    first = call("GET", "/api/v1/exports/detections.csv", caller=expert, query={"limit": 5})
    second = call("GET", "/api/v1/exports/detections.csv", caller=expert,
                  query={"limit": 5, "cursor": first.headers["x-next-cursor"]})  # fmt: skip
    ids = [r["id"] for page in (first, second) for r in csv.DictReader(io.StringIO(page.body.decode()))]
    assert len(ids) == len(set(ids)) == 7
    assert "x-next-cursor" not in second.headers


def test_scope_users_get_their_own_experts_choose(seeded, user, other_user, expert):
    def ids(caller, **query):
        body = call("GET", "/api/v1/exports/detections.csv", caller=caller, query=query).body.decode()
        return {r["id"] for r in csv.DictReader(io.StringIO(body))}

    rows = db_rows()
    mine = {i for i, r in rows.items() if r["user_id"] == user.id}
    assert ids(user) == mine
    assert ids(expert, user_id=str(user.id)) == mine
    assert ids(expert) == set(rows)
    response = call("GET", "/api/v1/exports/detections.csv", caller=user, query={"user_id": str(other_user.id)})
    assert response.status == 403
    assert call("GET", "/api/v1/exports/detections.csv").status == 401


def test_filters_apply(seeded, expert):
    def count(**query):
        response = call("GET", "/api/v1/exports/detections.csv", caller=expert, query=query)
        return int(response.headers["x-total-count"])

    assert count(include_expired="false") == 6
    assert int(report_call("GET", "/api/v1/exports/detections.csv", caller=expert).headers["x-total-count"]) == 6
    assert count(has_gps="false") == 1
    assert count(bbox="-65.15,-26.75,-65.05,-26.65") == 4
    assert count(date_from=(seeded - timedelta(minutes=90)).isoformat()) == 4
    assert count(date_to=seeded.date().isoformat()) == 7  # a bare date covers that whole UTC day
    assert count(date_to=(seeded - timedelta(minutes=150)).isoformat()) == 2  # an instant is exact


def test_bad_cursor_is_422(seeded, expert):
    response = call("GET", "/api/v1/exports/detections.geojson", caller=expert, query={"cursor": "not-a-cursor"})
    assert response.status == 422
    assert json.loads(response.body)["error"]["code"] == "validation_error"


def test_rejected_detections_leave_exports_unless_asked_for(seeded, expert):
    # Given one detection rejected by an expert, one confirmed
    with session_scope() as s:
        rejected, confirmed = s.execute(
            text("SELECT id FROM detections WHERE class_id = 0 ORDER BY id LIMIT 2")
        ).scalars()
    for detection_id, verdict in ((rejected, "validated_negative"), (confirmed, "validated_positive")):
        s_answer = upload_call(
            "POST", f"/api/v1/detections/{detection_id}/validate", expert, {"validation_status": verdict}
        )
        assert s_answer == 200

    def ids(**query):
        body = call("GET", "/api/v1/exports/detections.csv", caller=expert, query=query).body.decode()
        return {r["id"] for r in csv.DictReader(io.StringIO(body))}

    everything = set(db_rows())
    # Then by default the rejected one is gone; each verdict filter selects its own
    assert ids() == everything - {str(rejected)}
    assert ids(verdict="rejected") == {str(rejected)}
    assert ids(verdict="confirmed") == {str(confirmed)}
    assert ids(verdict="pending") == everything - {str(rejected), str(confirmed)}
    assert ids(verdict="all") == everything
    assert report_call("GET", "/api/v1/exports/detections.csv", caller=expert, query={"verdict": "maybe"}).status == 422


def upload_call(method: str, path: str, caller, body: dict) -> int:
    """A verdict through the upload function's real handler (the route experts use)."""
    from tests.integration.upload.support import call as upload

    return upload(method, path, user=caller, body=body).status
