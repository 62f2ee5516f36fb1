"""Filters: bbox parsing, inclusive date bounds, validation errors as 422s."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from sentrix.errors import ValidationFailed
from sentrix_report.logic.filters import BBox, build_filters, end_of, parse_bbox, start_of
from sentrix_report.logic.scope import Scope, apply_filters, counted


def test_bbox_from_text_or_list():
    assert parse_bbox("-65.3,-26.9,-65.1,-26.7") == BBox(-65.3, -26.9, -65.1, -26.7)
    assert parse_bbox([-65.3, -26.9, -65.1, -26.7]) == BBox(-65.3, -26.9, -65.1, -26.7)
    assert parse_bbox(None) is None and parse_bbox("") is None


@pytest.mark.parametrize(
    "raw",
    ["1,2,3", "a,b,c,d", "10,0,5,1", "0,10,1,5", "-181,0,0,1", "0,-91,1,0", "nan,0,1,1", "0,0,inf,1", "1,1,1,2"],
)
def test_bad_bboxes_are_refused(raw):
    with pytest.raises(ValidationFailed):
        parse_bbox(raw)


def test_dates_are_inclusive_whole_days_in_utc():
    assert start_of(date(2026, 5, 1)) == datetime(2026, 5, 1, tzinfo=UTC)
    assert end_of(date(2026, 5, 1)) == datetime(2026, 5, 2, tzinfo=UTC)
    moment = datetime(2026, 5, 1, 10, 30)
    assert start_of(moment) == moment.replace(tzinfo=UTC)
    assert end_of(moment) > moment.replace(tzinfo=UTC)
    assert start_of(None) is None and end_of(None) is None


def test_build_filters_turns_bad_values_into_422():
    with pytest.raises(ValidationFailed) as raised:
        build_filters(risk_level="GRAVE")
    assert raised.value.status == 422
    with pytest.raises(ValidationFailed):
        build_filters(date_from=date(2026, 5, 2), date_to=date(2026, 5, 1))
    same_day = build_filters(date_from=date(2026, 5, 1), date_to=date(2026, 5, 1))
    assert same_day.echo() == {"date_from": "2026-05-01", "date_to": "2026-05-01"}


def test_risk_level_accepts_any_case_and_english():
    assert build_filters(risk_level="alto").risk_level.value == "ALTO"
    assert build_filters(risk_level="high").risk_level.value == "ALTO"


def test_filters_become_bound_sql():
    principal = type("P", (), {"user_id": uuid.uuid4(), "sees_everything": False})()
    where = apply_filters(
        Scope(principal, principal.user_id).analyses("a"),
        build_filters(risk_level="MEDIO", has_gps=True, bbox="-65.3,-26.9,-65.1,-26.7", date_from=date(2026, 1, 1)),
    )
    sql = where.sql()
    assert "a.status = 'completed'" in sql and "a.user_id = :scope_owner" in sql
    assert "CAST(:f_risk AS risk_level)" in sql and "a.location IS NOT NULL" in sql
    assert where.params["f_risk"] == "MEDIO" and where.params["f_w"] == -65.3
    assert "MEDIO" not in sql  # values never spliced into the text
    assert counted("x").sql() == "(x.status = 'completed')"
