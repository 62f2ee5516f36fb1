"""GET /reports/remediation: per territory and epidemiological week (Sunday to Saturday, UTC), sites opened,
closed, reopened, open at the week's end, median days to close and recurrence rate, from a hand-written timeline
(docs/sites.md, *Remediation figures*). Expected values are worked out by hand from the timeline below, not from
the code. The same figures sit in GET /reports/statistics and in the summary and statistics aggregate reports
(tests/integration/report/test_remediation_reports.py).

Weeks (Sunday to Saturday, UTC): W1 2026-11-01..07 (2026-SE44: 4 January 2026 is a Sunday, and 1 November is
301 days = 43 weeks later), W2 11-08..14 (SE45), W3 11-15..21 (SE46), W4 11-22..28 (SE47). Territories: C with
H1 and H2 below it. Sites (first report at 10:00 UTC the day given; every action at 10:00 too):

    H1  G  first 10-26 (before the window)                           close 11-14 (19 d)
    H1  A  first 11-02  assign 11-03, treat 11-04, close 11-05 (3 d), reopen (recurrence) 11-10, treat 11-11,
                        close 11-13 (11 d)
    H1  B  first 11-03  treat 11-06, close 11-08 (5 d: a Sunday, so in W2)
    H1  Cs first 11-04  treat 11-05, close 11-11 (7 d)
    H1  D  first 11-10  (stays open)
    H1  E  first 11-16  dismiss 11-17
    H2  F  first 11-09  treat 11-10, close 11-12 (3 d), reopen by a person 11-18
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.domain.roles import Role
from tests.integration.report.conftest import call, make_caller
from tests.integration.report.test_territory_filter import territory
from tests.support.seed import make_analysis, site_timeline

pytestmark = pytest.mark.integration

WINDOW = {"date_from": "2026-11-04", "date_to": "2026-11-22"}


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=UTC)


# (code, first report, [(action, month, day, from, to, cause)])
SITES = {
    "G": ("H1", at(10, 26), [("treat", 11, 12, "open", "treated", None), ("close", 11, 14, "treated", "closed", None)]),
    "A": ("H1", at(11, 2), [
        ("assign", 11, 3, "open", "assigned", None), ("treat", 11, 4, "assigned", "treated", None),
        ("close", 11, 5, "treated", "closed", None), ("reopen", 11, 10, "closed", "reopened", "recurrence"),
        ("treat", 11, 11, "reopened", "treated", None), ("close", 11, 13, "treated", "closed", None),
    ]),
    "B": ("H1", at(11, 3), [("treat", 11, 6, "open", "treated", None), ("close", 11, 8, "treated", "closed", None)]),
    "Cs": ("H1", at(11, 4), [("treat", 11, 5, "open", "treated", None), ("close", 11, 11, "treated", "closed", None)]),
    "D": ("H1", at(11, 10), []),
    "E": ("H1", at(11, 16), [("dismiss", 11, 17, "open", "dismissed", None)]),
    "F": ("H2", at(11, 9), [
        ("treat", 11, 10, "open", "treated", None), ("close", 11, 12, "treated", "closed", None),
        ("reopen", 11, 18, "closed", "reopened", None),
    ]),
}  # fmt: skip


@pytest.fixture
def timeline(db):
    with session_scope() as s:
        territory(s, "C", None, -65.30, -26.90, -65.10, -26.70)
        territory(s, "H1", "C", -65.30, -26.90, -65.20, -26.70)
        territory(s, "H2", "C", -65.20, -26.90, -65.15, -26.70)
        for code, first, actions in SITES.values():
            site = uuid.uuid4()
            last = actions[-1][4] if actions else "open"
            s.execute(
                text(
                    "INSERT INTO sites (id, family, status, location, radius_m, first_report_at, last_report_at, "
                    "territory_code) VALUES (:id, 'water', CAST(:status AS site_status), "
                    "ST_SetSRID(ST_MakePoint(-65.25, -26.8), 4326), 15, :first, :first, :code)"
                ),
                {"id": site, "status": last, "first": first, "code": code},
            )
            rows = [("create", first, None, "open", None)]
            rows += [(a, datetime(2026, m, d, 10, tzinfo=UTC), f, t, c) for a, m, d, f, t, c in actions]
            site_timeline(s, site, rows)


def week(start, end, opened, closed, reopened, open_at_end, median, closes, rate, epi=""):
    return {
        "week_start": start,
        "week_end": end,
        "epi_week": epi,
        "opened": opened,
        "closed": closed,
        "reopened": reopened,
        "open_at_end": open_at_end,
        "median_days_to_close": {"value": median, "closes": closes},
        "recurrence_rate": {"value": rate, "numerator": reopened, "denominator": closed, "of": "reopened",
                            "per": "closed"},
    }  # fmt: skip


def totals(*figures):
    row = week("", "", *figures[:3], None, *figures[3:])
    return {k: v for k, v in row.items() if k not in ("week_start", "week_end", "epi_week", "open_at_end")}


H1_WEEKS = [
    # W1: A, B, Cs opened; only A closed (3 d); G (open), B (open), Cs (treated) open at the end
    week("2026-11-01", "2026-11-07", 3, 1, 0, 3, 3.0, 1, 0.0, "2026-SE44"),
    # W2: D opened; B (5 d, Sunday 11-08), Cs (7 d), A (11 d), G (19 d) closed: median of an even count
    # (7 + 11) / 2; A reopened; only D open at the end
    week("2026-11-08", "2026-11-14", 1, 4, 1, 1, 9.0, 4, 0.25, "2026-SE45"),
    # W3: E opened and dismissed; nothing closed: no median, no rate; D open
    week("2026-11-15", "2026-11-21", 1, 0, 0, 1, None, 0, None, "2026-SE46"),
    # W4 (date_to 11-22 is a Sunday: a week of its own): nothing happens, D still open
    week("2026-11-22", "2026-11-28", 0, 0, 0, 1, None, 0, None, "2026-SE47"),
]
H2_WEEKS = [
    # F is first reported in W2, so H2 has no W1 row
    week("2026-11-08", "2026-11-14", 1, 1, 0, 0, 3.0, 1, 0.0, "2026-SE45"),
    # A reopening with no close in the week: the rate is null, its terms 1 and 0
    week("2026-11-15", "2026-11-21", 0, 0, 1, 1, None, 0, None, "2026-SE46"),
    week("2026-11-22", "2026-11-28", 0, 0, 0, 1, None, 0, None, "2026-SE47"),
]
# The window: closes of 3, 5, 7, 11, 19 days (median of an odd count: 7), one reopening per five closes
H1_WINDOW = totals(5, 5, 1, 7.0, 5, 0.2)
H2_WINDOW = totals(1, 1, 1, 3.0, 1, 1.0)


def test_every_figure_per_territory_and_week(timeline, expert):
    response = call("GET", "/api/v1/reports/remediation", caller=expert, query=WINDOW)

    assert response.status == 200, response.json()
    body = response.json()
    assert [g["territory"] for g in body["territories"]] == ["H1", "H2"]
    h1, h2 = body["territories"]
    assert h1["weeks"] == H1_WEEKS
    assert h2["weeks"] == H2_WEEKS
    assert h1["window"] == H1_WINDOW
    assert h2["window"] == H2_WINDOW
    assert body["week"]["kind"] == "epidemiological"
    assert body["week"]["starts_on"] == "sunday" and body["week"]["time_zone"] == "UTC"
    assert (body["date_from"], body["date_to"]) == ("2026-11-04", "2026-11-22")


def test_a_window_of_one_week_counts_only_it(timeline, admin):
    response = call(
        "GET", "/api/v1/reports/remediation", caller=admin, query={"date_from": "2026-11-10", "date_to": "2026-11-10"}
    )

    assert response.status == 200, response.json()
    assert [(g["territory"], g["weeks"]) for g in response.json()["territories"]] == [
        ("H1", [H1_WEEKS[1]]),
        ("H2", [H2_WEEKS[0]]),
    ]


def test_a_saturday_and_the_next_sunday_are_two_weeks(timeline, expert):
    response = call(
        "GET", "/api/v1/reports/remediation", caller=expert, query={"date_from": "2026-11-14", "date_to": "2026-11-15"}
    )

    assert response.status == 200, response.json()
    assert [(g["territory"], g["weeks"]) for g in response.json()["territories"]] == [
        ("H1", H1_WEEKS[1:3]),
        ("H2", H2_WEEKS[0:2]),
    ]


@pytest.mark.parametrize(("code", "expected"), [("H1", ["H1"]), ("H2", ["H2"]), ("C", ["H1", "H2"]), ("X", [])])
def test_territory_keeps_it_and_below(timeline, expert, code, expected):
    response = call("GET", "/api/v1/reports/remediation", caller=expert, query={**WINDOW, "territory": code})

    assert response.status == 200, response.json()
    assert [g["territory"] for g in response.json()["territories"]] == expected


def test_an_official_reads_only_their_territories(timeline):
    official = make_caller(Role.OFFICIAL, "funcionaria@example.org")
    with session_scope() as s:
        s.execute(
            text("INSERT INTO official_territories (user_id, territory_code) VALUES (:u, 'H2')"), {"u": official.id}
        )

    mine = call("GET", "/api/v1/reports/remediation", caller=official, query=WINDOW)
    asked_outside = call("GET", "/api/v1/reports/remediation", caller=official, query={**WINDOW, "territory": "H1"})

    assert mine.status == 200, mine.json()
    assert [(g["territory"], g["weeks"]) for g in mine.json()["territories"]] == [("H2", H2_WEEKS)]
    assert asked_outside.status == 403  # outside their territories (docs/territories.md, *Officials*)
    assert asked_outside.json()["error"]["code"] == "forbidden"


def own_detection_on(user, site_code, created):
    """An analysis of `user` whose one detection belongs to the site of the timeline `site_code` (its id looked up
    by first report time and territory)."""
    code, first, _ = SITES[site_code]
    with session_scope() as s:
        analysis = make_analysis(s, user=user.id, latitude=-26.8, longitude=-65.25, detections=[0], created_at=created)
        s.execute(
            text(
                "UPDATE detections SET site_id = (SELECT id FROM sites WHERE first_report_at = :first "
                "AND territory_code = :code) WHERE analysis_id = :a"
            ),
            {"first": first, "code": code, "a": analysis.id},
        )


def test_users_read_no_site_histories(timeline, user, other_user, expert):
    # A site's history is everyone's (its first report, territory, recurrences): a user who uploaded a photo
    # at a chosen point would learn from it that somebody else reported there (docs/sites.md, *Who sees what*)
    own_detection_on(user, "D", at(11, 10))
    own_detection_on(other_user, "F", at(11, 9))

    response = call("GET", "/api/v1/reports/remediation", caller=user, query={**WINDOW, "language": "en"})

    assert response.status == 200, response.json()
    assert response.json()["territories"] == []
    assert response.json()["scope"] == "own sites"
    # Experts still read the sites (D and F among them)
    everything = call("GET", "/api/v1/reports/remediation", caller=expert, query=WINDOW).json()["territories"]
    assert {t["territory"] for t in everything} >= {"H1"}


def test_a_rejected_detection_shows_its_user_nothing(timeline, user):
    own_detection_on(user, "D", at(11, 10))
    with session_scope() as s:
        s.execute(text("UPDATE detections SET validation_status = 'validated_negative'"))

    response = call("GET", "/api/v1/reports/remediation", caller=user, query=WINDOW)

    assert response.status == 200, response.json()
    assert response.json()["territories"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "2026-11-22", "date_to": "2026-11-04"},  # reversed
        {"date_from": "2020-01-01", "date_to": "2026-11-04"},  # more than 53 weeks
        {"date_from": "1900-01-01", "date_to": "1900-01-02"},  # before 2000
        {"date_to": "0001-01-01"},
        {"date_from": "yesterday"},
        {"weeks": "3"},  # unknown parameter
        {"territory": "x" * 65},
    ],
)
def test_bad_parameters_are_422(timeline, expert, query):
    response = call("GET", "/api/v1/reports/remediation", caller=expert, query=query)

    assert response.status == 422, response.json()
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("payload", ["' OR '1'='1", "%(user_id)s :r_official %%", "H1\x00"])
def test_sql_in_territory_counts_nothing(timeline, expert, payload):
    response = call("GET", "/api/v1/reports/remediation", caller=expert, query={**WINDOW, "territory": payload})

    assert response.status in (200, 422), response.json()
    if response.status == 200:
        assert response.json()["territories"] == []


def test_the_median_days_to_close_keeps_two_decimals(db, expert):
    """A site closed 8 hours after its first report took 1/3 day: 0.33 (docs/sites.md: days, 2 decimals)."""
    first = datetime(2026, 11, 3, 2, tzinfo=UTC)
    closed = datetime(2026, 11, 3, 10, tzinfo=UTC)
    with session_scope() as s:
        territory(s, "H1", None, -65.30, -26.90, -65.20, -26.70)
        site = uuid.uuid4()
        s.execute(
            text(
                "INSERT INTO sites (id, family, status, location, radius_m, first_report_at, last_report_at, "
                "territory_code) VALUES (:id, 'water', 'closed', ST_SetSRID(ST_MakePoint(-65.25, -26.8), 4326), "
                "15, :first, :first, 'H1')"
            ),
            {"id": site, "first": first},
        )
        for action, at_, before, after in (("create", first, None, "open"), ("close", closed, "open", "closed")):
            s.execute(
                text(
                    "INSERT INTO site_actions (id, site_id, action, at, from_status, to_status) VALUES "
                    "(gen_random_uuid(), :site, CAST(:action AS site_action), :at, CAST(:before AS site_status), "
                    "CAST(:after AS site_status))"
                ),
                {"site": site, "action": action, "at": at_, "before": before, "after": after},
            )

    query = {"date_from": "2026-11-03", "date_to": "2026-11-03"}
    body = call("GET", "/api/v1/reports/remediation", caller=expert, query=query).json()

    (h1,) = body["territories"]
    assert h1["weeks"][0]["median_days_to_close"] == {"value": 0.33, "closes": 1}
    assert h1["window"]["median_days_to_close"] == {"value": 0.33, "closes": 1}


def test_the_default_window_is_the_four_weeks_up_to_date_to(timeline, expert):
    """date_to and the 27 days before it (docs/sites.md); the definitions in the caller's language."""
    body = call(
        "GET", "/api/v1/reports/remediation", caller=expert, query={"date_to": "2026-11-22", "language": "en"}
    ).json()
    assert (body["date_from"], body["date_to"]) == ("2026-10-26", "2026-11-22")
    assert body["week"]["label"] == "epidemiological weeks, Sunday 00:00 to Saturday 24:00 UTC (week 1 holds 4 January)"
    assert body["definitions"]["opened"] == "sites whose first report falls in the week"


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])  # UTC+14 and UTC-12
def test_without_dates_the_window_ends_today_in_utc_whatever_the_servers_zone(db, expert, monkeypatch, zone):
    """One of the two zones is on another calendar day than UTC at any instant: the default `date_to` is the
    UTC day (docs/sites.md, weeks in UTC), not the server's."""
    import time as clock

    before = datetime.now(UTC).date()
    monkeypatch.setenv("TZ", zone)
    clock.tzset()
    try:
        body = call("GET", "/api/v1/reports/remediation", caller=expert).json()
    finally:
        monkeypatch.delenv("TZ")
        clock.tzset()
    after = datetime.now(UTC).date()
    assert body["date_to"] in {before.isoformat(), after.isoformat()}


@pytest.mark.parametrize(
    ("date_from", "date_to", "status"),
    [
        ("2025-12-28", "2026-12-27", 200),  # Sunday 28 Dec 2025 (2025-SE53) to Sunday 27 Dec 2026: 53 weeks, the most
        ("2025-12-28", "2027-01-03", 422),  # one Sunday more: 54 weeks
        ("2000-01-01", "2000-01-02", 200),  # the first day allowed
        ("1999-12-31", "2000-01-02", 422),
        ("2100-12-30", "2100-12-31", 200),  # the last day allowed
    ],
)
def test_the_window_bounds_are_inclusive(db, expert, date_from, date_to, status):
    query = {"date_from": date_from, "date_to": date_to}
    assert call("GET", "/api/v1/reports/remediation", caller=expert, query=query).status == status


def test_a_window_out_of_bounds_says_which_bounds(db, expert):
    query = {"date_from": "2020-01-01", "date_to": "2026-11-04", "language": "en"}
    error = call("GET", "/api/v1/reports/remediation", caller=expert, query=query).json()["error"]
    assert error["message"] == (
        "date_from must not be after date_to, both within 2000-01-01 to 2100-12-31, and the range must fit in 53 weeks"
    )
    assert error["details"] == {"date_from": "2020-01-01", "date_to": "2026-11-04", "max_weeks": 53}
    query["language"] = "pt"
    error = call("GET", "/api/v1/reports/remediation", caller=expert, query=query).json()["error"]
    assert error["message"] == (
        "date_from não pode ser posterior a date_to, ambas entre 2000-01-01 e 2100-12-31, e o intervalo deve caber "
        "em 53 semanas"
    )


def test_weeks_start_on_sundays_in_utc_whatever_the_servers_zone(timeline, expert, monkeypatch):
    """Epidemiological weeks, Sunday to Saturday in UTC: 4 to 22 November 2026 spans the weeks from Sunday 1, 8,
    15 and 22 November."""
    import time as clock

    monkeypatch.setenv("TZ", "Etc/GMT+12")  # UTC-12: Sunday 00:00 UTC is Saturday noon there
    clock.tzset()
    try:
        body = call("GET", "/api/v1/reports/remediation", caller=expert, query=WINDOW).json()
    finally:
        monkeypatch.delenv("TZ")
        clock.tzset()
    h1 = body["territories"][0]
    assert [w["week_start"] for w in h1["weeks"]] == ["2026-11-01", "2026-11-08", "2026-11-15", "2026-11-22"]
    assert [w["week_end"] for w in h1["weeks"]] == ["2026-11-07", "2026-11-14", "2026-11-21", "2026-11-28"]
