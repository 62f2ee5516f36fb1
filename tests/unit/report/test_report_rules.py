"""Small rules of the report function with values worked out by hand: UTM zones at their edges, the hotspot cost
estimate, tile coordinates, review states, map cells, inline report sizes, CSV cells and withheld figures."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sentrix.errors import ValidationFailed
from sentrix_report.logic.aggregate_report import cell_size, reporter_pseudonym, review_state
from sentrix_report.logic.delivery import encoded_size, provenance_headers, too_big
from sentrix_report.logic.exports import _cell
from sentrix_report.logic.filters import BBox
from sentrix_report.logic.hotspots import area_m2, estimated_pairs, projection_for, study_area, utm_srid
from sentrix_report.logic.map_stats import _moment, _withheld
from sentrix_report.logic.tiles import check_coordinates
from sentrix_report.settings import get_report_settings


@pytest.fixture(autouse=True)
def fresh_settings():
    get_report_settings.cache_clear()
    yield
    get_report_settings.cache_clear()


@pytest.mark.parametrize(
    ("lat", "lon", "srid"),
    [(0.0, 180.0, 32660), (-0.0001, -177.0, 32701), (45.0, 5.999, 32631), (45.0, 6.0, 32632), (-45.0, -0.001, 32730)],
)
def test_utm_zones_at_their_edges(lat, lon, srid):
    # zone = floor((lon + 180) / 6) + 1, at most 60; 326xx from the equator north, 327xx south of it
    assert utm_srid(lat, lon) == srid


def test_a_bbox_exactly_12_degrees_wide_keeps_one_zone():
    assert (
        projection_for(BBox(-72.0, -30.0, -60.0, -20.0)) == 32720
    )  # centre (-25, -66): floor(114 / 6) + 1 = zone 20 south
    assert projection_for(BBox(-72.0, -30.0, -59.99, -20.0)) is None


def test_the_area_of_a_bbox_in_square_metres():
    # One degree square on the equator: 111,320 m x 111,320 m x cos(0.5°)
    expected = 111_320.0 * 111_320.0 * math.cos(math.radians(0.5))
    assert area_m2(BBox(0.0, 0.0, 1.0, 1.0)) == pytest.approx(expected, rel=1e-12)
    # At 60° south the width shrinks by half
    assert area_m2(BBox(0.0, -60.5, 1.0, -59.5)) == pytest.approx(111_320.0**2 * 0.5, rel=1e-3)


def test_the_study_area_is_the_bbox_cut_to_the_data():
    box = BBox(-65.3, -26.9, -65.1, -26.7)
    assert study_area(box, (-65.2, -27.5, -64.0, -26.8)) == BBox(-65.2, -26.9, -65.1, -26.8)
    assert study_area(box, (-60.0, -20.0, -59.0, -19.0)) == box  # no overlap: the bbox
    assert study_area(None, (-65.2, -26.8, -65.1, -26.7)) == BBox(-65.2, -26.8, -65.1, -26.7)
    assert study_area(box, None) == box


def test_the_estimated_pairs_with_a_known_density():
    # 100 points over 1 km², eps 10 m: each has 1 + 100·π·100/1e6 ≈ 1.0314 neighbours
    assert estimated_pairs(100, 10, 1_000_000) == pytest.approx(100 * (1 + 100 * math.pi * 100 / 1_000_000))
    assert estimated_pairs(100, 10, 0) == 100 * 100  # an empty area says nothing: every pair


@pytest.mark.parametrize(("z", "x", "y"), [(0, 0, 0), (22, 0, 0), (22, 2**22 - 1, 2**22 - 1), (3, 7, 7)])
def test_tile_coordinates_inside_the_matrix(z, x, y):
    check_coordinates(z, x, y)


@pytest.mark.parametrize(
    ("z", "x", "y", "key", "details"),
    [
        (23, 0, 0, "err.zoom", {"z": 23}),
        (-1, 0, 0, "err.zoom", {"z": -1}),
        (3, 8, 0, "err.tile_xy", {"x": 8, "y": 0}),
        (3, 0, 8, "err.tile_xy", {"x": 0, "y": 8}),
        (3, -1, 0, "err.tile_xy", {"x": -1, "y": 0}),
        (3, 0, -1, "err.tile_xy", {"x": 0, "y": -1}),
    ],
)
def test_tile_coordinates_outside_are_422(z, x, y, key, details):
    with pytest.raises(ValidationFailed) as raised:
        check_coordinates(z, x, y)
    assert (raised.value.key, raised.value.details) == (key, details)


def test_the_tile_refusal_names_the_bounds():
    with pytest.raises(ValidationFailed) as raised:
        check_coordinates(3, 8, 0)
    assert raised.value.values == {"most": 7, "z": 3}
    with pytest.raises(ValidationFailed) as raised:
        check_coordinates(23, 0, 0)
    assert raised.value.values == {"most": 22}


@pytest.mark.parametrize(
    ("total", "confirmed", "rejected", "state"),
    [(0, 0, 0, "no_detections"), (3, 0, 0, "pending"), (3, 1, 1, "partial"), (3, 2, 1, "reviewed"),
     (1, 0, 1, "reviewed"), (1, 1, 0, "reviewed")],
)  # fmt: skip
def test_review_states(total, confirmed, rejected, state):
    assert review_state(total, confirmed, rejected) == state


@pytest.mark.parametrize(
    ("width", "height", "cell"),
    [(0.04, 0.01, 0.001), (0.0401, 0.01, 0.002), (0.01, 0.2, 0.005), (400.0, 1.0, 10.0), (1000.0, 1.0, 10.0)],
)
def test_map_cells_are_the_smallest_nice_size_with_at_most_40_across(width, height, cell):
    assert cell_size(width, height) == cell


def test_a_report_without_a_reporter_has_no_pseudonym():
    assert reporter_pseudonym(None) is None


def test_a_configured_salt_keys_the_pseudonym(monkeypatch):
    import hashlib
    import hmac

    monkeypatch.setenv("REPORT_PSEUDONYM_SALT", "s3cret-salt")
    user = uuid.UUID("12345678-1234-5678-1234-567812345678")
    expected = hmac.new(b"s3cret-salt", str(user).encode(), hashlib.sha256).hexdigest()[:8]
    assert reporter_pseudonym(user) == expected and len(expected) == 8


def test_reports_past_the_inline_limit_go_through_storage(monkeypatch):
    monkeypatch.setenv("REPORT_INLINE_MAX_BYTES", "400")
    assert encoded_size(b"x" * 301, "pdf") == 404  # base64: 4 characters per 3 bytes, rounded up
    assert not too_big(b"x" * 300, "pdf")  # 400 characters: at the limit
    assert too_big(b"x" * 301, "pdf")
    assert not too_big(b"x" * 400, "csv") and too_big(b"x" * 401, "csv")


def test_provenance_headers():
    meta = {
        "fingerprint": {"value": "ab12"},
        "rows": {"analyses": 3, "detections": 7},
        "data_span": {"from": "2026-05-01T00:00:00+00:00", "to": None},
    }
    assert provenance_headers(meta) == {
        "X-Report-Fingerprint": "sha256=ab12",
        "X-Report-Rows": "analyses=3; detections=7",
        "X-Report-Span": "2026-05-01T00:00:00+00:00/",
    }


def test_csv_cells():
    assert _cell(None) == "" and _cell(True) == "true" and _cell(False) == "false"
    assert _cell(datetime(2026, 5, 1, 10, 0, tzinfo=timezone(timedelta(hours=-3)))) == "2026-05-01T13:00:00+00:00"
    assert _cell(0) == "0" and _cell(1.5) == "1.5"


def test_withheld_figures_keep_their_keys():
    shaped = {"total_analyses": 2, "zone_size_deg": 0.001, "gps_share": {"value": 0.5, "numerator": 1},
              "detection_types": [{"name": "Basura"}], "last_updated": "2026-05-01"}  # fmt: skip
    assert _withheld(shaped) == {"total_analyses": None, "zone_size_deg": 0.001,
                                 "gps_share": {"value": None, "numerator": None}, "detection_types": [],
                                 "last_updated": None}  # fmt: skip


def test_data_times_by_audience():
    moment = datetime(2026, 5, 1, 23, 30, tzinfo=timezone(timedelta(hours=-3)))  # 2 May 02:30 UTC
    assert _moment(moment, True) == "2026-05-02"
    assert _moment(moment, False) == "2026-05-01T23:30:00-03:00"
    assert _moment(None, True) is None
    assert _moment(datetime(2026, 5, 2, 2, 30, tzinfo=UTC), False) == "2026-05-02T02:30:00+00:00"


def test_the_heatmap_rollup_serves_its_own_grid_only():
    """The trigger-maintained rollup holds 0.01° cells (migrations 0004, 0005): asking it for another grid is a
    programming error, refused before any query runs."""
    from sentrix_report.dal.heatmap import heatmap
    from sentrix_report.logic.filters import Where

    nothing = Where.empty()
    with pytest.raises(ValueError, match=r"^the public map rollup holds the 0\.01° grid only$"):
        heatmap(None, where=nothing, exact=nothing, detections=nothing, viewer=None, grid_deg=0.02, limit=10,
                min_reporters=3, rollup=True)  # fmt: skip
