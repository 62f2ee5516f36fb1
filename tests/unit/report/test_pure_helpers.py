"""Pure helpers of the report function: projections, Gi* bins, cursors, cell sizes, sizes, labels, ratios."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pytest
from PIL import Image

from sentrix.errors import ValidationFailed
from sentrix_report.logic.aggregate_report import cell_size
from sentrix_report.logic.delivery import encoded_size
from sentrix_report.logic.exports import decode_cursor, encode_cursor
from sentrix_report.logic.filters import BBox
from sentrix_report.logic.hotspots import gi_bin, projection_for, utm_srid
from sentrix_report.logic.ratios import change, change_figure, percent, ratio
from sentrix_report.render.map_image import draw_map
from sentrix_report.schemas.reports import ReportRequest


@pytest.mark.parametrize(
    ("lat", "lon", "srid"),
    [(-26.8, -65.2, 32720), (40.4, -3.7, 32630), (0.0, 0.0, 32631), (-0.1, 179.99, 32760), (10, -180, 32601)],
)
def test_utm_zone_of_a_point(lat, lon, srid):
    assert utm_srid(lat, lon) == srid


def test_projection_for_a_bbox():
    assert projection_for(BBox(-65.3, -26.9, -65.1, -26.7)) == 32720
    assert projection_for(BBox(-80, -30, -60, -20)) is None  # wider than 12°: per-point zones
    assert projection_for(None) is None


@pytest.mark.parametrize(
    ("z", "expected"),
    [(3.0, (3, 99)), (2.0, (2, 95)), (1.7, (1, 90)), (1.0, (0, None)), (-1.7, (-1, 90)), (-2.6, (-3, 99))],
)
def test_gi_bins_follow_arcgis(z, expected):
    assert gi_bin(z) == expected


def test_cursor_round_trip_and_tampering():
    moment, ident = datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC), uuid.uuid4()
    assert decode_cursor(encode_cursor(moment, ident)) == (moment, ident)
    assert decode_cursor(None) is None
    for bad in ("x", "eyJh", encode_cursor(moment, ident)[:-4]):
        with pytest.raises(ValidationFailed):
            decode_cursor(bad)


@pytest.mark.parametrize(("width", "height", "cell"), [(0.08, 0.07, 0.002), (1.0, 0.2, 0.05), (0.0, 0.0, 0.001)])
def test_map_cells_are_nice_and_at_most_40_across(width, height, cell):
    assert cell_size(width, height) == cell


def test_binary_reports_count_their_base64_size():
    assert encoded_size(b"x" * 300, "pdf") == 400
    assert encoded_size(b"x" * 300, "csv") == 300


def test_catalogue_words_fall_back_to_spanish():
    from sentrix.i18n import t

    assert t("report.page", "en-GB") == "Page"
    assert t("report.file", "pt_BR") == "Arquivo"
    assert t("report.file", "fr") == t("report.file", None) == "Archivo"


def test_ratios_state_their_terms():
    assert ratio(1, 4, of="a", per="b") == {"value": 0.25, "numerator": 1, "denominator": 4, "of": "a", "per": "b"}
    assert ratio(1, 0, of="a", per="b")["value"] is None
    assert percent(1, 3) == 33.33 and percent(1, 0) is None
    assert change(3, 2) == 50.0 and change(3, 0) is None and change(0, 4) == -100.0


def test_report_request_merges_top_level_dates():
    request = ReportRequest(type="summary", date_from="2026-05-01", filters={"date_to": "2026-05-31"})
    assert request.filters.echo() == {"date_from": "2026-05-01", "date_to": "2026-05-31"}  # days stay days
    assert request.format.value == "pdf"


def test_map_image_with_and_without_data():
    blank = Image.open(io.BytesIO(draw_map(None, None, [], [])))
    assert blank.size == (1200, 900)
    cells = [{"west": -65.21, "south": -26.81, "east": -65.20, "north": -26.80, "detections": 5}]
    points = [{"longitude": -65.205, "latitude": -26.805, "risk_level": "ALTO"}]
    drawn = Image.open(io.BytesIO(draw_map({"west": -65.21, "south": -26.81, "east": -65.20, "north": -26.80},
                                           0.01, cells, points)))  # fmt: skip
    centre = drawn.getpixel((600, 450))
    assert centre == (220, 38, 38)  # the ALTO point sits in the middle of the frame, over its cell


@pytest.mark.parametrize(
    ("current", "previous", "change_pct", "reason"),
    [(48, 3, None, "base_below_minimum"), (5, 0, None, "base_below_minimum"), (9, 9, None, "base_below_minimum"),
     (25, 10, 150.0, None), (0, 10, -100.0, None), (11, 12, -8.33, None)],
)  # fmt: skip
def test_a_change_figure_carries_its_terms_and_is_null_below_the_base(current, previous, change_pct, reason):
    assert change_figure(current, previous, min_base=10) == {
        "current": current, "previous": previous, "difference": current - previous, "change_pct": change_pct,
        "reason": reason, "min_base": 10,
    }  # fmt: skip


def test_the_estimated_dbscan_pairs_grow_with_points_and_radius_squared():
    from sentrix_report.logic.filters import BBox
    from sentrix_report.logic.hotspots import area_m2, estimated_pairs, study_area

    city = BBox(-65.2776, -26.8683, -65.1576, -26.7483)
    area = area_m2(city)
    assert 150e6 < area < 170e6  # about 12 x 13 km
    small = estimated_pairs(100_000, 150, area)
    assert estimated_pairs(100_000, 1500, area) > 50 * small
    assert estimated_pairs(200_000, 150, area) > 3.9 * small
    assert estimated_pairs(1000, 5000, None) == 1000 * 1000  # no area known: every pair
    assert estimated_pairs(1000, 1e9, area) == 1000 * 1000  # never more than every pair
    # The bbox is cut to the data's extent, where the points are
    assert study_area(city, (-65.2, -26.8, -65.19, -26.79)) == BBox(-65.2, -26.8, -65.19, -26.79)
    assert study_area(None, None) is None


def test_a_ratio_rounds_to_4_places_and_a_percent_ratio_to_2():
    assert ratio(1, 3, of="a", per="b")["value"] == 0.3333
    assert ratio(2, 3, of="a", per="b")["value"] == 0.6667
    assert ratio(1, 3, of="a", per="b", percent=True)["value"] == 33.33
    assert ratio(2, 3, of="a", per="b", percent=True) == {
        "value": 66.67, "numerator": 2, "denominator": 3, "of": "a", "per": "b"
    }  # fmt: skip
    assert ratio(0, 0, of="a", per="b", percent=True)["value"] is None
    assert percent(2, 3) == 66.67 and change(1, 3) == -66.67


def test_a_change_from_nothing_has_no_percentage_even_with_no_minimum():
    assert change_figure(5, 0, min_base=0) == {
        "current": 5, "previous": 0, "difference": 5, "change_pct": None, "reason": "base_below_minimum",
        "min_base": 0,
    }  # fmt: skip
    assert change_figure(4, 1, min_base=0)["change_pct"] == 300.0


def test_database_decimals_become_floats_and_the_rest_stays():
    from decimal import Decimal

    from sentrix_report.logic.ratios import jsonable

    converted = jsonable({"share": Decimal("0.25"), "count": 3, "name": "x", "none": None})
    assert converted == {"share": 0.25, "count": 3, "name": "x", "none": None}
    assert type(converted["share"]) is float and type(converted["count"]) is int
