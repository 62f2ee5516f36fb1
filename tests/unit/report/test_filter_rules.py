"""The rules of the shared report filters and scopes (docs/report.md, *Filters of every read*, *Privacy*), with
values worked out by hand: bbox ranges, inclusive days, what an answer says it covers, the snapping of public
filters to whole cells and days, and which detections and analyses a read counts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from sentrix.domain.roles import Role
from sentrix.errors import ValidationFailed
from sentrix.http.identity import Principal
from sentrix_report.logic.filters import BBox, Where, build_filters, end_of, parse_bbox, snap_filters, start_of
from sentrix_report.logic.scope import (
    ROLLUP_FILTERS,
    MapAudience,
    Scope,
    apply_filters,
    counted_detections,
    found_detections,
    public_rollup_applies,
    public_view,
)

AS_OF = datetime(2026, 5, 3, 14, 30, 15, 250, tzinfo=UTC)


def principal(role: Role) -> Principal:
    return Principal(uuid.uuid4(), role, "x@example.org")


# --- bbox ------------------------------------------------------------------------------------------------------


def test_the_whole_world_is_a_valid_bbox():
    assert parse_bbox("-180,-90,180,90") == BBox(-180.0, -90.0, 180.0, 90.0)
    assert parse_bbox((-180, -90, 180, 90)).as_list() == [-180.0, -90.0, 180.0, 90.0]


def test_a_bbox_is_returned_as_given():
    box = BBox(-65.3, -26.9, -65.1, -26.7)
    assert parse_bbox(box) is box


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("1,2,3", "err.bbox_format"),
        ("a,b,c,d", "err.bbox_format"),
        (True, "err.bbox_format"),
        ("1,2,3,4,5", "err.bbox_format"),
        ("0,0,nan,1", "err.bbox_format"),
        ("-180.001,0,0,1", "err.bbox_range"),
        ("0,0,180.001,1", "err.bbox_range"),
        ("0,-90.001,1,0", "err.bbox_range"),
        ("0,0,1,90.001", "err.bbox_range"),
        ("1,0,1,1", "err.bbox_range"),  # west = east
        ("0,1,1,1", "err.bbox_range"),  # south = north
    ],
)
def test_a_bad_bbox_names_its_fault(raw, key):
    with pytest.raises(ValidationFailed) as raised:
        parse_bbox(raw)
    assert raised.value.key == key and raised.value.status == 422


def test_a_bbox_range_fault_shows_the_numbers():
    with pytest.raises(ValidationFailed) as raised:
        parse_bbox("10,0,5,1")
    assert raised.value.details == {"bbox": [10.0, 0.0, 5.0, 1.0]}
    assert raised.value.message == (
        "bbox needs -180 <= west < east <= 180 and -90 <= south < north <= 90 (no antimeridian crossing)"
    )


def test_a_bbox_format_fault_shows_the_input():
    with pytest.raises(ValidationFailed) as raised:
        parse_bbox("1,2,3")
    assert raised.value.details == {"bbox": "1,2,3"}
    assert raised.value.message == "bbox must be four numbers: west,south,east,north"


# --- days and instants -----------------------------------------------------------------------------------------


def test_an_instant_with_an_offset_is_read_in_utc_and_its_end_is_one_microsecond_later():
    moment = datetime(2026, 5, 1, 10, 30, tzinfo=timezone(timedelta(hours=-3)))
    assert start_of(moment) == datetime(2026, 5, 1, 13, 30, tzinfo=UTC)
    assert end_of(moment) == datetime(2026, 5, 1, 13, 30, 0, 1, tzinfo=UTC)
    assert end_of(datetime(2026, 5, 1, 10, 30)) == datetime(2026, 5, 1, 10, 30, 0, 1, tzinfo=UTC)
    assert start_of(datetime(2026, 5, 1, 10, 30)).tzinfo is UTC


def test_one_instant_is_a_valid_window_and_a_reversed_one_is_not():
    moment = "2026-05-01T10:30:00+00:00"
    assert build_filters(date_from=moment, date_to=moment).coverage(AS_OF)["created_before"] == (
        "2026-05-01T10:30:00.000001+00:00"
    )
    with pytest.raises(ValidationFailed):
        build_filters(date_from="2026-05-01T10:30:00.000001+00:00", date_to=moment)


def test_the_coverage_states_verdicts_validity_and_the_upload_window():
    filters = build_filters(date_from="2026-05-01", date_to="2026-05-02", verdict="pending")
    assert filters.coverage(AS_OF) == {
        "verdict": "pending",
        "validation_statuses": ["pending", "requires_review"],
        "validity": "active",
        "as_of": "2026-05-03T14:30:15.000250+00:00",
        "created_from": "2026-05-01T00:00:00+00:00",
        "created_before": "2026-05-03T00:00:00+00:00",
    }
    everything = build_filters(include_expired=True, verdict="all").coverage(AS_OF)
    assert everything["validity"] == "all"
    assert sorted(everything["validation_statuses"]) == [
        "pending", "requires_review", "validated_negative", "validated_positive"
    ]  # fmt: skip
    assert (everything["created_from"], everything["created_before"]) == (None, None)


def test_the_echo_holds_only_what_was_set():
    assert build_filters().echo() == {}
    assert build_filters(risk_level="bajo", has_gps=False, include_expired=True).echo() == {
        "risk_level": "BAJO",
        "has_gps": False,
        "include_expired": True,
    }
    assert build_filters(risk_level="", bbox="").echo() == {}


def test_a_bad_filter_is_a_422_naming_the_field():
    with pytest.raises(ValidationFailed) as raised:
        build_filters(risk_level="GRAVE")
    assert raised.value.key == "err.filters" and raised.value.message == "Invalid filters"
    (detail,) = raised.value.details
    assert detail["loc"] == ["risk_level"] and "ALTO" in detail["msg"]
    with pytest.raises(ValidationFailed) as raised:
        build_filters(bbox="1,2,3")
    assert raised.value.details[0]["loc"] == ["bbox"]
    assert "bbox must be four numbers" in raised.value.details[0]["msg"]


# --- snapping to public cells and days -------------------------------------------------------------------------


def test_a_bbox_grows_to_whole_cells_and_stops_just_short_of_the_next_ones():
    snapped = snap_filters(build_filters(bbox="-65.2345,-26.8123,-65.2011,-26.7999"), 0.01)
    # floor(-6523.45) = -6524, floor(-2681.23) = -2682, ceil(-6520.11) = -6520, ceil(-2679.99) = -2679
    assert snapped.bbox == [-65.24, -26.82, -65.2 - 1e-9, -26.79 - 1e-9]


def test_a_bbox_inside_one_cell_becomes_that_cell():
    snapped = snap_filters(build_filters(bbox="-65.2345,-26.8123,-65.2344,-26.8122"), 0.01)
    assert snapped.bbox == [-65.24, -26.82, -65.23 - 1e-9, -26.81 - 1e-9]


def test_instants_become_their_days_and_days_stay():
    filters = build_filters(date_from="2026-05-01T13:45:00Z", date_to="2026-05-03T00:00:00Z")
    snapped = snap_filters(filters, 0.01)
    assert (snapped.date_from, snapped.date_to) == (date(2026, 5, 1), date(2026, 5, 3))
    days = snap_filters(build_filters(date_from="2026-05-01", date_to="2026-05-03"), 0.01)
    assert (days.date_from, days.date_to) == (date(2026, 5, 1), date(2026, 5, 3))
    assert snap_filters(build_filters(date_to="2026-05-03T23:59:59Z"), 0.01).date_to == date(2026, 5, 3)


def test_nothing_to_snap_leaves_the_filters():
    filters = build_filters(risk_level="ALTO")
    assert snap_filters(filters, 0.01) is filters


def test_who_gets_snapped_answers():
    filters = build_filters(bbox="-65.2345,-26.8123,-65.2011,-26.7999", date_from="2026-05-01T13:45:00Z")
    for caller in (None, principal(Role.USER)):
        view = public_view(caller, filters, AS_OF, 0.01)
        assert view.snapped and view.as_of == datetime(2026, 5, 3, tzinfo=UTC)
        assert view.filters.bbox[0] == -65.24 and view.filters.date_from == date(2026, 5, 1)
        assert view.describe(0.01) == {"grid_deg": 0.01, "time": "day", "as_of": "2026-05-03T00:00:00+00:00"}
    moment_elsewhere = datetime(2026, 5, 3, 1, 0, tzinfo=timezone(timedelta(hours=3)))  # 2 May 22:00 UTC
    assert public_view(None, filters, moment_elsewhere, 0.01).as_of == datetime(2026, 5, 2, tzinfo=UTC)
    exact = public_view(principal(Role.EXPERT), filters, AS_OF, 0.01)
    assert not exact.snapped and exact.filters is filters and exact.as_of == AS_OF
    assert exact.describe(0.01) == {}


def test_only_the_anonymous_whole_data_map_reads_the_rollup():
    assert build_filters(include_expired=True) == ROLLUP_FILTERS
    assert public_rollup_applies(None, build_filters(include_expired=True), 0.01)
    assert not public_rollup_applies(principal(Role.USER), build_filters(include_expired=True), 0.01)
    assert not public_rollup_applies(None, build_filters(), 0.01)  # active only
    assert not public_rollup_applies(None, build_filters(include_expired=True), 0.02)


# --- which detections and analyses count -----------------------------------------------------------------------


def test_the_default_counts_detections_not_rejected_and_still_active():
    where = counted_detections(build_filters(), AS_OF)
    assert where.sql() == "(d.validation_status <> 'validated_negative') AND (d.expires_at > :d_as_of)"
    assert where.params == {"d_as_of": AS_OF}


@pytest.mark.parametrize(
    ("verdict", "condition"),
    [
        ("confirmed", "x.validation_status IN ('validated_positive')"),
        ("pending", "x.validation_status IN ('pending', 'requires_review')"),
        ("rejected", "x.validation_status IN ('validated_negative')"),
    ],
)
def test_a_verdict_filter_selects_its_statuses(verdict, condition):
    where = counted_detections(build_filters(verdict=verdict, include_expired=True), AS_OF, "x")
    assert where.clauses == [condition] and where.params == {}


def test_every_verdict_and_validity_counts_everything():
    assert counted_detections(build_filters(verdict="all", include_expired=True), AS_OF).sql() == "TRUE"


def test_what_was_found_ignores_validity_but_not_the_verdict():
    where = found_detections(build_filters(verdict="confirmed"), AS_OF)
    assert where.clauses == ["d.validation_status IN ('validated_positive')"]
    assert found_detections(build_filters(), AS_OF, "e").clauses == ["e.validation_status <> 'validated_negative'"]


def test_a_users_scope_is_their_own_counted_analyses():
    me = principal(Role.USER)
    scope = Scope.of(me)
    assert scope.describe() == f"user {me.user_id}"
    where = scope.analyses("b")
    assert where.clauses == ["b.status = 'completed'", "b.user_id = :scope_owner"]
    assert where.params == {"scope_owner": me.user_id}
    assert Scope.of(principal(Role.ADMIN)).analyses().clauses == ["a.status = 'completed'"]


def test_another_users_data_is_refused_with_its_key():
    from sentrix.errors import Forbidden

    with pytest.raises(Forbidden) as raised:
        Scope.of(principal(Role.USER), uuid.uuid4())
    assert raised.value.key == "err.others_data"


def test_map_audiences_by_role():
    user = principal(Role.USER)
    assert MapAudience(user).kind == "own"
    assert MapAudience(user).exact("b").clauses == ["b.user_id = :viewer"]
    assert MapAudience(principal(Role.ADMIN)).kind == "all"


def test_filters_become_conditions_on_the_analyses():
    where = apply_filters(
        Where.empty(),
        build_filters(date_from="2026-05-01", date_to="2026-05-02", risk_level="ALTO", has_gps=False,
                      territory="AR-T", bbox="-65.3,-26.9,-65.1,-26.7"),
        "b",
    )  # fmt: skip
    assert where.clauses[:4] == [
        "b.created_at >= :f_from",
        "b.created_at < :f_to",
        "b.risk_level = CAST(:f_risk AS risk_level)",
        "b.location IS NULL",
    ]
    assert where.clauses[4].startswith("b.territory_code IN (WITH RECURSIVE f_tree")
    assert where.clauses[5] == "b.location && ST_MakeEnvelope(:f_w, :f_s, :f_e, :f_n, 4326)"
    assert where.params == {
        "f_from": datetime(2026, 5, 1, tzinfo=UTC),
        "f_to": datetime(2026, 5, 3, tzinfo=UTC),
        "f_risk": "ALTO",
        "f_territory": "AR-T",
        "f_w": -65.3,
        "f_s": -26.9,
        "f_e": -65.1,
        "f_n": -26.7,
    }
    assert apply_filters(Where.empty(), build_filters()).sql() == "TRUE"


def test_times_are_utc_whatever_the_servers_zone(monkeypatch):
    """A time without a zone is UTC and every bound is stated in UTC, not in the zone the server runs in."""
    import time as clock

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14
    clock.tzset()
    try:
        assert start_of(datetime(2026, 5, 1, 10, 30)) == datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
        filters = build_filters(date_from="2026-05-01T10:30:00-03:00")
        assert filters.coverage(AS_OF)["created_from"] == "2026-05-01T13:30:00+00:00"
    finally:
        monkeypatch.delenv("TZ")
        clock.tzset()
