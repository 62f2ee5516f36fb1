"""The public map rollup (migrations 0004, 0005): after every kind of write, the trigger-maintained cells equal a
rebuild from the base tables, the rollup heatmap and vector tiles are byte for byte the live ones, and the
anonymous heatmap and tiles read them. Active counts of rollup tiles split at the UTC midnight after as_of."""

from __future__ import annotations

import json
import math
import threading
import time
from datetime import timedelta

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from sentrix.db.engine import get_engine, session_scope
from tests.integration.report.conftest import call
from tests.support.admin import admin_engine
from tests.support.seed import make_analysis, utc_now

pytestmark = pytest.mark.integration

UNKNOWN_CLASS = 7  # no breeding-site type
# Exactly on a cell corner of the 0.01° grid, and one cell further west.
LAT, LON = -26.80, -65.20
WEST = -65.205
CORNER = (float(math.floor(LON / 0.01)), float(math.floor(LAT / 0.01)))  # the same float8 arithmetic as SQL
WEST_CELL = (float(math.floor(WEST / 0.01)), CORNER[1])

POINTS = (
    "SELECT cx, cy, type_key, site_type::text, n, risk::text, last_seen, high_n, detection_risk::text "
    "FROM map_public_points ORDER BY 1, 2, 3"
)
CELLS = "SELECT cx, cy, reports FROM map_public_cells WHERE reports > 0 ORDER BY 1, 2"
# Days before yesterday are never read (and a rebuild does not write them).
EXPIRY = (
    "SELECT cx, cy, day, n FROM map_public_expiry WHERE day >= (now() AT TIME ZONE 'UTC')::date - 1 ORDER BY 1, 2, 3"
)
# The people behind each cell (k-anonymity: migration 0022).
PEOPLE = "SELECT cx, cy, user_id, n FROM map_public_people ORDER BY 1, 2, 3"
# The active map's rows and each person's last active day (migration 0022); days before yesterday are never read.
ACTIVE = (
    "SELECT cx, cy, type_key, day, site_type::text, n, high_n, risk::text, last_seen FROM map_public_active "
    "WHERE day >= (now() AT TIME ZONE 'UTC')::date - 1 ORDER BY 1, 2, 3, 4"
)
LAST_DAYS = "SELECT cx, cy, user_id, last_day FROM map_public_people ORDER BY 1, 2, 3"
# Tiles over the test cells: a grid zoom holding both, and the detail zoom tile of each cell centre.
CENTRE = ((CORNER[1] + 0.5) * 0.01, (CORNER[0] + 0.5) * 0.01)
WEST_CENTRE = ((WEST_CELL[1] + 0.5) * 0.01, (WEST_CELL[0] + 0.5) * 0.01)
TILES = [(10, LAT, LON, False), (16, *CENTRE, True), (16, *WEST_CENTRE, True)]


def _state(*more: str) -> tuple[list, ...]:
    with session_scope() as s:
        return tuple([tuple(r) for r in s.execute(text(sql))] for sql in (POINTS, CELLS, EXPIRY, PEOPLE, *more))


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def _tile(rollup: bool, z: int, lat: float, lon: float, detail: bool, as_of=None, k: int = 1) -> bytes:
    from sentrix_report.dal.tiles import tile
    from sentrix_report.logic.scope import ROLLUP_FILTERS, MapAudience, apply_filters, counted, counted_detections

    x, y = tile_xy(lat, lon, z)
    as_of = as_of or utc_now()
    with session_scope() as s:
        return tile(s, z=z, x=x, y=y, where=apply_filters(counted("a"), ROLLUP_FILTERS),
                    exact=MapAudience(None).exact("a"), detections=counted_detections(ROLLUP_FILTERS, as_of),
                    detail=detail, grid_deg=0.01, cells=64, as_of=as_of, min_reporters=k, rollup=rollup)  # fmt: skip


def _features(body: bytes) -> list:
    layers = mapbox_vector_tile.decode(body) if body else {}
    return [(f["geometry"]["coordinates"], f["properties"]) for layer in layers.values() for f in layer["features"]]


def assert_tiles_agree(as_of=None) -> list[bytes]:
    """The anonymous tiles from the rollup are the live ones, byte for byte, at the same instant."""
    as_of = as_of or utc_now()
    tiles = []
    for z, lat, lon, detail in TILES:
        live = _tile(False, z, lat, lon, detail, as_of)
        rolled = _tile(True, z, lat, lon, detail, as_of)
        assert rolled == live, (z, lat, lon, _features(rolled), _features(live))
        tiles.append(live)
        # With k = 2 a cell of one person is withheld: the rollup's people per cell decide as the live count.
        assert _tile(True, z, lat, lon, detail, as_of, k=2) == _tile(False, z, lat, lon, detail, as_of, k=2)
    return tiles


def _heatmap(rollup: bool, k: int = 1, active_at=None) -> str:
    """The anonymous heatmap of the whole data set, or with `active_at` (a UTC midnight) of the detections
    active then; from the rollup or live."""
    from sentrix_report.dal.heatmap import heatmap
    from sentrix_report.logic.filters import DataFilters
    from sentrix_report.logic.scope import ROLLUP_FILTERS, MapAudience, apply_filters, counted, counted_detections

    filters = ROLLUP_FILTERS if active_at is None else DataFilters()
    where = apply_filters(counted("a"), filters)
    detections = counted_detections(filters, active_at or utc_now())
    active_day = active_at.date() if rollup and active_at is not None else None
    with session_scope() as s:
        result = heatmap(s, where=where, exact=MapAudience(None).exact("a"), detections=detections, viewer=None,
                         grid_deg=0.01, limit=10000, min_reporters=k, rollup=rollup,
                         active_day=active_day)  # fmt: skip
    return json.dumps(result, default=str, sort_keys=True)


def _midnights() -> list:
    """Today's UTC midnight and the next eight: the active map as the public view computes it on each day."""
    today = utc_now().replace(hour=0, minute=0, second=0, microsecond=0)
    return [today + timedelta(days=i) for i in range(9)]


def assert_consistent() -> tuple[list, list, list]:
    """Incremental state == rebuilt from scratch, and the rollup heatmap and tiles == the live ones."""
    incremental = _state(ACTIVE, LAST_DAYS)
    assert _heatmap(rollup=True) == _heatmap(rollup=False)
    assert _heatmap(rollup=True, k=2) == _heatmap(rollup=False, k=2)
    for midnight in _midnights():
        for k in (1, 2):
            assert _heatmap(True, k, midnight) == _heatmap(False, k, midnight), (midnight, k)
    assert_tiles_agree()
    with session_scope() as s:
        s.execute(text("SELECT map_public_rebuild()"))
    assert _state(ACTIVE, LAST_DAYS) == incremental
    return incremental[:4]


def _add_detection(s, analysis_id, *, class_name="Basura", risk="ALTO", site_type="Basura") -> str:
    """A site as the detect function writes it: at its analysis's location."""
    return s.execute(
        text(
            "INSERT INTO detections (id, analysis_id, class_id, class_name, breeding_site_type, confidence, "
            "risk_level, polygon, bbox_x_min, bbox_y_min, bbox_x_max, bbox_y_max, mask_area, validation_status, "
            "persistence_type, validity_days, expires_at, created_at, location) SELECT gen_random_uuid(), :a, 0, :c, "
            "CAST(:t AS breeding_site_type), 0.9, CAST(:r AS risk_level), '[]', 0, 0, 1, 1, 10, 'pending', "
            "'SHORT_TERM', 7, now() + interval '7 days', now(), location FROM analyses WHERE id = :a RETURNING id"
        ),
        {"a": analysis_id, "c": class_name, "t": site_type, "r": risk},
    ).scalar()


def _move(s, analysis_id, lon: float, lat: float) -> None:
    """A corrected location: the analysis and its sites move together (they share the point)."""
    values = {"x": lon, "y": lat, "id": analysis_id}
    s.execute(text("UPDATE analyses SET location = ST_SetSRID(ST_MakePoint(:x, :y), 4326) WHERE id = :id"), values)
    s.execute(text("UPDATE detections SET location = ST_SetSRID(ST_MakePoint(:x, :y), 4326) WHERE analysis_id = :id"),
              values)  # fmt: skip


def _points_by_type(state, cell=CORNER) -> dict[str, tuple]:
    return {row[2]: (row[4], row[5]) for row in state[0] if row[:2] == cell}


def test_every_kind_of_write_keeps_the_rollup_exact(user, other_user):
    now = utc_now()
    # An analysis on a cell corner with two ALTO sites, a MEDIO one and one without type; a bare analysis.
    with session_scope() as s:
        a1 = make_analysis(s, user=user.id, latitude=LAT, longitude=LON, detections=[0, 0, 3, UNKNOWN_CLASS],
                           created_at=now - timedelta(days=3)).id  # fmt: skip
        a2 = make_analysis(s, user=other_user.id, latitude=LAT, longitude=LON, detections=[], risk_level="MINIMO",
                           created_at=now - timedelta(days=1)).id  # fmt: skip
    points, cells, _expiry, people = assert_consistent()
    assert cells == [(*CORNER, 2)]
    # The people behind the cell: the user of a1's four detections; a2 has none, so its reporter is nobody yet.
    assert people == [(*CORNER, user.id, 4)]
    assert _points_by_type((points, cells)) == {"Basura": (2, "ALTO"), "Huecos": (1, "MEDIO"), "": (1, "BAJO")}

    # An analysis still processing counts nowhere, even with detections; completing it adds them.
    with session_scope() as s:
        a3 = make_analysis(s, user=user.id, latitude=LAT, longitude=LON, detections=[2], status="processing").id
    assert assert_consistent()[1] == [(*CORNER, 2)]
    with session_scope() as s:
        s.execute(text("UPDATE analyses SET status = 'completed' WHERE id = :id"), {"id": a3})
    assert assert_consistent()[1] == [(*CORNER, 3)]

    # The detect function's order: the analysis completed first, its detections inserted after, one transaction.
    with session_scope() as s:
        a4 = make_analysis(s, user=user.id, latitude=LAT, longitude=WEST, detections=[], status="processing").id
    with session_scope() as s:
        s.execute(text("UPDATE analyses SET status = 'completed', total_detections = 2, risk_level = 'ALTO' "
                       "WHERE id = :id"), {"id": a4})  # fmt: skip
        _add_detection(s, a4)
        _add_detection(s, a4, class_name="Huecos", risk="MEDIO", site_type="Huecos")
    points, cells, _expiry, people = assert_consistent()
    assert cells == [(*WEST_CELL, 1), (*CORNER, 3)]
    assert people == [(*WEST_CELL, user.id, 2), (*CORNER, user.id, 5)]
    assert _points_by_type((points, cells), WEST_CELL) == {"Basura": (1, "ALTO"), "Huecos": (1, "MEDIO")}

    # An expert's rejection takes a site out of its cell (its validity ends too); taking it back restores it.
    with session_scope() as s:
        huecos = s.execute(text("SELECT id FROM detections WHERE analysis_id = :a AND class_id = 3"),
                           {"a": a1}).scalar()  # fmt: skip
        reject = ("UPDATE detections SET validation_status = 'validated_negative', "
                  "unrejected_expires_at = expires_at, expires_at = now() WHERE id = :id")  # fmt: skip
        s.execute(text(reject), {"id": huecos})
    assert "Huecos" not in _points_by_type(assert_consistent())
    with session_scope() as s:
        s.execute(text("UPDATE detections SET validation_status = 'pending', expires_at = unrejected_expires_at, "
                       "unrejected_expires_at = NULL WHERE id = :id"), {"id": huecos})  # fmt: skip
    assert _points_by_type(assert_consistent())["Huecos"] == (1, "MEDIO")

    # Deleting a site, changing its risk or type recomputes; a confirmation changes nothing.
    # (The functions never delete a detection by itself, so the application role may not: the owner does.)
    with admin_engine().begin() as s:
        first = s.execute(text("SELECT id FROM detections WHERE analysis_id = :a AND class_id = 0 LIMIT 1"),
                          {"a": a1}).scalar()  # fmt: skip
        s.execute(text("DELETE FROM detections WHERE id = :id"), {"id": first})
    assert _points_by_type(assert_consistent())["Basura"] == (1, "ALTO")
    with session_scope() as s:
        s.execute(text("UPDATE detections SET risk_level = 'BAJO' WHERE analysis_id = :a AND class_id = 0"), {"a": a1})
        s.execute(text("UPDATE detections SET validation_status = 'validated_positive' WHERE analysis_id = :a"),
                  {"a": a1})  # fmt: skip
        s.execute(text("UPDATE detections SET breeding_site_type = NULL WHERE analysis_id = :a AND class_id = 3"),
                  {"a": a1})  # fmt: skip
    assert_consistent()

    # Moving an analysis, backdating it, changing its stored total, failing it, deleting it.
    with session_scope() as s:
        _move(s, a3, -65.31, -26.91)
    assert (-6531.0, -2691.0, 1) in assert_consistent()[1]  # a3 left the corner cell for this one
    with session_scope() as s:
        s.execute(text("UPDATE analyses SET created_at = created_at - interval '30 days' WHERE id = :id"), {"id": a2})
        s.execute(text("UPDATE analyses SET total_detections = 1 WHERE id = :id"), {"id": a2})
    assert_consistent()
    with session_scope() as s:
        s.execute(text("UPDATE analyses SET status = 'failed' WHERE id = :id"), {"id": a4})
    assert all(cell[:2] != WEST_CELL for cell in assert_consistent()[1])
    with session_scope() as s:
        s.execute(text("DELETE FROM analyses WHERE id = :id"), {"id": a1})
    assert_consistent()

    # Unlocated analyses are not on the map; locating one adds it with its detections.
    with session_scope() as s:
        a5 = make_analysis(s, user=user.id, detections=[0, 3]).id
    before = assert_consistent()
    with session_scope() as s:
        _move(s, a5, -65.5, -27.5)
    after = assert_consistent()
    assert len(after[1]) == len(before[1]) + 1

    # TRUNCATE (detections only) rebuilds: the analyses stay counted, the sites are gone.
    with admin_engine().begin() as connection:  # the application role may not TRUNCATE
        connection.execute(text("TRUNCATE detections"))
    points, cells, expiry, people = assert_consistent()
    assert all(row[4] == 0 for row in points) and cells and not expiry and not people


def test_expired_sites_count_on_the_whole_map_and_not_on_the_active_one(user):
    now = utc_now()
    from tests.support.seed import D

    with session_scope() as s:
        sites = [D(0, expires_at=now - timedelta(days=2)), D(0, expires_at=now + timedelta(days=5))]
        make_analysis(s, user=user.id, latitude=LAT, longitude=LON, detections=sites)
    assert_consistent()
    whole = call("GET", "/api/v1/heatmap-data", query={"include_expired": "true"}).json()["data"]
    active = call("GET", "/api/v1/heatmap-data").json()["data"]
    assert [p["detectionCount"] for p in whole] == [2]  # from the rollup: every detection
    assert [p["detectionCount"] for p in active] == [1]  # live, the default: only the unexpired one


def _blocked_by(pid: int, finished: threading.Event, wait_s: float = 30) -> bool:
    """Whether some backend comes to wait on a lock `pid` holds (PostgreSQL says so; no clock decides),
    polled until then, until the other writer has `finished` without waiting, or for at most `wait_s`."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    deadline = time.monotonic() + wait_s
    while not finished.is_set() and time.monotonic() < deadline:
        with get_engine().connect() as connection:
            if connection.execute(query, {"pid": pid}).scalar():
                return True
        time.sleep(0.02)
    return False


def test_concurrent_writers_to_one_cell_are_serialised(user, other_user):
    """Two transactions adding sites to the same cell: the second waits for the first's cell lock."""
    with session_scope() as s:
        a = make_analysis(s, user=user.id, latitude=LAT, longitude=LON, detections=[0]).id
        b = make_analysis(s, user=other_user.id, latitude=LAT, longitude=LON, detections=[0]).id
    engine = get_engine()
    first = engine.connect()
    transaction = first.begin()
    _add_detection(first, a)  # holds the cell's lock until commit
    done = threading.Event()

    def second() -> None:
        with engine.begin() as connection:
            _add_detection(connection, b)
        done.set()

    worker = threading.Thread(target=second, daemon=True)
    worker.start()
    holder = first.execute(text("SELECT pg_backend_pid()")).scalar()
    assert _blocked_by(holder, done), "the second writer never waited for the first one's lock"
    assert not done.is_set()  # waiting for the cell
    transaction.commit()
    first.close()
    worker.join(timeout=10)
    assert done.is_set()
    points, _cells, _expiry, _people = assert_consistent()
    assert _points_by_type((points, _cells))["Basura"] == (4, "ALTO")


def test_the_anonymous_whole_map_reads_the_rollup_and_filters_do_not(user):
    from sentrix_report.logic.filters import build_filters
    from sentrix_report.logic.scope import public_rollup_applies as _rollup_applies

    whole = {"include_expired": True}
    assert _rollup_applies(None, build_filters(**whole), 0.01)
    assert not _rollup_applies(None, build_filters(**whole), 0.02)
    assert not _rollup_applies(None, build_filters(), 0.01)  # active only: live
    assert not _rollup_applies(None, build_filters(**whole, verdict="all"), 0.01)
    assert not _rollup_applies(None, build_filters(**whole, risk_level="ALTO"), 0.01)
    assert not _rollup_applies(None, build_filters(**whole, date_from="2026-01-01"), 0.01)
    assert not _rollup_applies(None, build_filters(**whole, bbox="-66,-27,-65,-26"), 0.01)

    from sentrix.http.identity import Principal

    assert not _rollup_applies(Principal(user.id, user.role, user.email), build_filters(**whole), 0.01)
    # Proof that the route reads the table: a row only the rollup has shows up in the anonymous map.
    # (One real reporter's site sits in the cell, k-anonymity counting people; the rollup's row then says 99.)
    with session_scope() as s:
        make_analysis(s, user=user.id, latitude=0.015, longitude=0.015, detections=[0])
        s.execute(text("UPDATE map_public_points SET n = 99, high_n = 99 WHERE cx = 1 AND cy = 1"))
    data = call("GET", "/api/v1/heatmap-data", query={"include_expired": "true"}).json()["data"]
    assert [(p["detectionCount"], p["latitude"], p["longitude"]) for p in data] == [(99, 0.015, 0.015)]
    query = {"include_expired": "true", "risk_level": "ALTO"}
    assert call("GET", "/api/v1/heatmap-data", query=query).json()["data"] == []


def test_the_anonymous_active_map_reads_its_rollup_and_filters_do_not(user):
    from datetime import UTC, datetime

    from sentrix.http.identity import Principal
    from sentrix_report.logic.filters import build_filters
    from sentrix_report.logic.scope import public_active_rollup_applies as applies
    from sentrix_report.logic.scope import public_view

    noon = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    anonymous = public_view(None, build_filters(), noon, 0.01)
    assert anonymous.as_of == datetime(2026, 12, 3, tzinfo=UTC)  # the view's instant: the day's UTC midnight
    assert applies(None, anonymous, 0.01)
    assert not applies(None, anonymous, 0.02)
    for other in ({"include_expired": True}, {"verdict": "all"}, {"risk_level": "ALTO"}, {"date_from": "2026-01-01"},
                  {"bbox": "-66,-27,-65,-26"}):  # fmt: skip
        assert not applies(None, public_view(None, build_filters(**other), noon, 0.01), 0.01), other
    signed_in = Principal(user.id, user.role, user.email)
    assert not applies(signed_in, public_view(signed_in, build_filters(), noon, 0.01), 0.01)
    # Proof that the route reads the table: a row only the rollup has shows up in the anonymous active map, not
    # in the whole map (its own rollup) nor in a filtered one (live).
    with session_scope() as s:
        make_analysis(s, user=user.id, latitude=0.015, longitude=0.015, detections=[0])
        s.execute(text("UPDATE map_public_active SET n = 77, high_n = 77 WHERE cx = 1 AND cy = 1"))
    data = call("GET", "/api/v1/heatmap-data").json()["data"]
    assert [(p["detectionCount"], p["latitude"], p["longitude"]) for p in data] == [(77, 0.015, 0.015)]
    whole = call("GET", "/api/v1/heatmap-data", query={"include_expired": "true"}).json()["data"]
    assert [p["detectionCount"] for p in whole] == [1]
    assert [
        p["detectionCount"] for p in call("GET", "/api/v1/heatmap-data", query={"verdict": "all"}).json()["data"]
    ] == [1]


def _grid_cell(body: bytes) -> dict:
    [feature] = mapbox_vector_tile.decode(body)["grid"]["features"]
    return feature["properties"]


def test_active_counts_of_public_tiles_split_at_the_next_utc_midnight(user):
    """Rollup tiles count today's expiries live and later days from the rollup: equal to the live tile at
    instants on both sides of midnight, after a validity extension too, and to the count done here."""
    from tests.support.seed import D

    now = utc_now()
    offsets = [timedelta(days=-1), timedelta(minutes=-1), timedelta(minutes=1), timedelta(hours=3),
               timedelta(days=1), timedelta(days=40)]  # fmt: skip
    with session_scope() as s:
        a = make_analysis(s, user=user.id, latitude=LAT, longitude=LON,
                          detections=[D(0, expires_at=now + o) for o in offsets]).id  # fmt: skip
    expiries = [now + o for o in offsets]
    for later in (timedelta(0), timedelta(minutes=2), timedelta(hours=5), timedelta(days=2), timedelta(days=45)):
        as_of = now + later
        live = assert_tiles_agree(as_of)[0]
        cell = _grid_cell(live)
        assert (cell["count"], cell["active_count"]) == (6, sum(e > as_of for e in expiries)), later
        assert cell["high_risk_count"] == 6 and cell["max_risk_level"] == "ALTO"
    # The anonymous route serves the rollup tile: the same bytes as the live one right now.
    x, y = tile_xy(LAT, LON, 10)
    # Anonymous callers judge validity at the start of the UTC day (no instant below a day is public).
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    active_today = sum(e > day_start for e in expiries)
    served = call("GET", f"/api/v1/map/tiles/10/{x}/{y}.mvt", query={"include_expired": "true"})
    assert (_grid_cell(served.body)["count"], _grid_cell(served.body)["active_count"]) == (6, active_today)
    by_default = call("GET", f"/api/v1/map/tiles/10/{x}/{y}.mvt")  # active only, computed live
    assert (_grid_cell(by_default.body)["count"], _grid_cell(by_default.body)["active_count"]) == (
        active_today, active_today)  # fmt: skip
    # An expert extends an expired site by ten days: the cell is recomputed.
    with session_scope() as s:
        s.execute(text("UPDATE detections SET expires_at = now() + interval '10 days' "
                       "WHERE analysis_id = :a AND expires_at < now() - interval '1 hour'"), {"a": a})  # fmt: skip
    assert_consistent()
    assert _grid_cell(assert_tiles_agree()[0])["active_count"] == 5


def test_rollup_tiles_split_at_the_utc_midnight_whatever_the_process_zone(user, monkeypatch):
    """The day a rollup tile reads today's expiries live from is the UTC day of `as_of`, also when the process
    runs in a zone whose date is another (a developer's machine; a Lambda's zone is UTC)."""
    from tests.support.seed import D

    # 01:00 UTC tomorrow is 13:00 of today's date in UTC-12: a day earlier in the process' zone.
    base = utc_now().replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=1)
    offsets = [timedelta(hours=-2), timedelta(minutes=1), timedelta(hours=13), timedelta(days=1, hours=2)]
    with session_scope() as s:
        make_analysis(s, user=user.id, latitude=LAT, longitude=LON,
                      detections=[D(0, expires_at=base + o) for o in offsets])  # fmt: skip
    monkeypatch.setenv("TZ", "Etc/GMT+12")
    time.tzset()
    try:
        for later in (timedelta(0), timedelta(minutes=2), timedelta(hours=14)):
            as_of = base + later
            cell = _grid_cell(assert_tiles_agree(as_of)[0])  # the rollup tile equals the live one
            assert cell["active_count"] == sum(base + o > as_of for o in offsets), later
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_tiles_take_the_risk_of_detections_not_of_bare_analyses(user):
    """A bare analysis (no detections) is not a tile feature and its own level does not rise a cell's risk."""
    with session_scope() as s:
        make_analysis(s, user=user.id, latitude=LAT, longitude=LON, detections=[], risk_level="ALTO")
        make_analysis(s, user=user.id, latitude=LAT, longitude=LON, detections=[UNKNOWN_CLASS])
    assert_consistent()
    cell = _grid_cell(assert_tiles_agree()[0])
    assert (cell["count"], cell["max_risk_level"]) == (1, "BAJO")
    assert "dominant_type" not in cell  # no type: the property is null, which MVT omits


def test_the_anonymous_tile_reads_the_rollup_and_signed_in_tiles_do_not(user):
    from sentrix_report.logic.filters import build_filters
    from sentrix_report.logic.scope import public_rollup_applies

    assert public_rollup_applies(None, build_filters(include_expired=True), 0.01)
    assert not public_rollup_applies(None, build_filters(), 0.01)
    # A row only the rollup has: the anonymous tile shows it, a filtered or signed-in one does not.
    with session_scope() as s:
        make_analysis(s, user=user.id, latitude=-26.795, longitude=-65.195, detections=[3])  # one reporter (k)
        s.execute(text("UPDATE map_public_points SET n = 7 WHERE cx = -6520 AND cy = -2680"))
    x, y = tile_xy(-26.795, -65.195, 10)
    whole = {"include_expired": "true"}
    cell = _grid_cell(call("GET", f"/api/v1/map/tiles/10/{x}/{y}.mvt", query=whole).body)
    assert (cell["count"], cell["dominant_type"], cell["active_count"]) == (7, "Huecos", 1)  # the real site is active
    filtered = call("GET", f"/api/v1/map/tiles/10/{x}/{y}.mvt", query={**whole, "risk_level": "MEDIO"})
    assert (filtered.status, filtered.body) == (200, b"")


@pytest.mark.parametrize(("z", "x", "y"), [(3, 2, 4), (10, 330, 588), (16, 21666, 37660), (22, 1000, 2000000)])
def test_the_tile_area_is_the_buffered_tile_in_degrees(db, z, x, y):
    """The area computed in Python is PostGIS's transform of the buffered tile envelope, widened by a cell.
    (At the antimeridian PROJ wraps the buffer's longitudes around; the area does not, see below.)"""
    from sentrix_report.dal.tiles import BUFFER, EXTENT, area

    with session_scope() as s:
        expected = s.execute(
            text(
                "SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM (SELECT ST_Expand(ST_Transform("
                "ST_Expand(e, (ST_XMax(e) - ST_XMin(e)) * :b / :x), 4326), 0.01) AS g "
                "FROM (SELECT ST_TileEnvelope(:z, :tx, :ty) AS e) AS t) AS q"
            ),
            {"b": BUFFER, "x": EXTENT, "z": z, "tx": x, "ty": y},
        ).one()
    assert area(z, x, y, 0.01) == pytest.approx(tuple(expected), abs=1e-9)


def test_the_area_of_a_world_tile_covers_the_world():
    from sentrix_report.dal.tiles import area

    west, south, east, north = area(0, 0, 0, 0.01)
    assert west < -180 and east > 180 and south < -85.0511 and north > 85.0511
