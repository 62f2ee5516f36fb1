"""Parsing of the list filters: boxes, radii, dates, enum lists; every mistake is a clear 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sentrix.domain.classes import RiskLevel
from sentrix.domain.status import AnalysisStatus
from sentrix.errors import ValidationFailed
from sentrix_upload.logic.filters import (
    BBox,
    Near,
    check_range,
    parse_bbox,
    parse_enum_list,
    parse_moment,
    parse_near,
    parse_risk_levels,
)


def test_bbox_is_min_lon_min_lat_max_lon_max_lat():
    assert parse_bbox("-65.3,-26.9,-65.1,-26.7") == BBox(-65.3, -26.9, -65.1, -26.7)
    assert parse_bbox(" -1 , -1 , 1 , 1 ") == BBox(-1, -1, 1, 1)
    assert parse_bbox(None) is None


@pytest.mark.parametrize(
    "raw", ["1,2,3", "a,b,c,d", "0,0,0,0", "5,0,1,1", "0,5,1,1", "-181,0,0,1", "0,-91,1,0", "nan,0,1,1"]
)
def test_bad_boxes(raw):
    with pytest.raises(ValidationFailed):
        parse_bbox(raw)


def test_near_needs_a_radius_and_the_other_way_round():
    assert parse_near("-26.8,-65.2", 500) == Near(-26.8, -65.2, 500)
    assert parse_near("0,0", 0.5) == Near(0, 0, 0.5)
    assert parse_near(None, None) is None
    for raw, radius in [("1,2", None), (None, 10.0), ("1,2", 0), ("1,2", -3), ("1,2", 100_001), ("91,0", 5), ("1", 5)]:
        with pytest.raises(ValidationFailed):
            parse_near(raw, radius)


def test_moments_dates_and_instants():
    assert parse_moment("2026-03-10", "date_from", end_of_day=False) == datetime(2026, 3, 10, tzinfo=UTC)
    # A bare date as upper bound takes the whole day: the bound is exclusive at the next midnight
    assert parse_moment("2026-03-10", "date_to", end_of_day=True) == datetime(2026, 3, 11, tzinfo=UTC)
    assert parse_moment("2026-03-10T12:00:00Z", "date_from", end_of_day=False) == datetime(2026, 3, 10, 12, tzinfo=UTC)
    # '+' in a query string decodes to a space
    assert parse_moment("2026-03-10T12:00:00 03:00", "date_from", end_of_day=False) == datetime(
        2026, 3, 10, 9, tzinfo=UTC
    )
    naive = parse_moment("2026-03-10T12:00:00", "date_to", end_of_day=True)
    assert naive == datetime(2026, 3, 10, 12, tzinfo=UTC) + timedelta(microseconds=1)
    with pytest.raises(ValidationFailed):
        parse_moment("last tuesday", "date_from", end_of_day=False)


def test_range_must_be_ordered():
    check_range(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))
    with pytest.raises(ValidationFailed):
        check_range(datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC))


def test_enum_lists_repeat_or_comma_separate_and_deduplicate():
    assert parse_enum_list(["queued,failed", "queued"], AnalysisStatus, "status") == (
        AnalysisStatus.QUEUED,
        AnalysisStatus.FAILED,
    )
    assert parse_enum_list([], AnalysisStatus, "status") == ()
    with pytest.raises(ValidationFailed) as refused:
        parse_enum_list(["done"], AnalysisStatus, "status")
    assert "pending_upload" in refused.value.details["allowed"]


def test_risk_levels_accept_spanish_and_english():
    assert parse_risk_levels(["ALTO", "medium,low", "minimal"]) == (
        RiskLevel.ALTO,
        RiskLevel.MEDIO,
        RiskLevel.BAJO,
        RiskLevel.MINIMO,
    )
    with pytest.raises(ValidationFailed):
        parse_risk_levels(["extreme"])
