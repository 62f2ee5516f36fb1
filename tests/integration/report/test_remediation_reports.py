"""The remediation figures inside GET /reports/statistics and the summary and statistics aggregate reports (JSON,
CSV, PDF), over the hand-written timeline of test_remediation.py (expected values worked out there by hand), and
the report fingerprint's site lines rebuilt in Python from plain SELECTs (docs/report.md, *Report fingerprint*).
"""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.integration.report.conftest import call
from tests.integration.report.pdf_tools import pdf_text
from tests.integration.report.test_remediation import (
    H1_WEEKS,
    H1_WINDOW,
    H2_WEEKS,
    H2_WINDOW,
    WINDOW,
    at,
    own_detection_on,
    timeline,  # noqa: F401 - the fixture
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("timeline")]

# The window's weeks end on Saturday 2026-11-28 24:00 UTC.
END = datetime(2026, 11, 29, tzinfo=UTC)


def report(caller, kind="summary", fmt="json", **filters):
    body = {"type": kind, "format": fmt, "filters": {**WINDOW, "include_expired": True, **filters}}
    return call("POST", "/api/v1/reports/generate", caller=caller, body=body)


def _time(value) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def site_fingerprint() -> str:
    """The canonical text when the report holds no analysis: the sites first reported before the window's end,
    then their timeline entries before it, each sorted by id (docs/report.md)."""
    with session_scope() as s:
        sites = s.execute(
            text("SELECT id::text AS id, territory_code, first_report_at FROM sites WHERE first_report_at < :end"),
            {"end": END},
        ).mappings()
        sites = list(sites)
        actions = s.execute(
            text(
                "SELECT id::text AS id, site_id::text AS site, action::text AS action, at, to_status::text AS st "
                "FROM site_actions WHERE at < :end"
            ),
            {"end": END},
        ).mappings()
        actions = list(actions)
    lines = [f"S|{r['id']}|{r['territory_code'] or ''}|{_time(r['first_report_at'])}" for r in sorted(
        sites, key=lambda r: r["id"])] + [
        f"T|{r['id']}|{r['site']}|{r['action']}|{_time(r['at'])}|{r['st'] or ''}"
        for r in sorted(actions, key=lambda r: r["id"])
    ]  # fmt: skip
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def test_statistics_carry_the_weekly_figures(expert):
    response = call("GET", "/api/v1/reports/statistics", caller=expert, query=WINDOW)

    assert response.status == 200, response.json()
    section = response.json()["remediation"]
    assert [(g["territory"], g["weeks"], g["window"]) for g in section["territories"]] == [
        ("H1", H1_WEEKS, H1_WINDOW),
        ("H2", H2_WEEKS, H2_WINDOW),
    ]
    assert (section["first_week_start"], section["weeks"], section["clamped_to_max_weeks"]) == ("2026-11-01", 4, False)
    assert section["week"]["starts_on"] == "sunday"


def test_statistics_of_a_user_show_no_site_histories(user):
    own_detection_on(user, "F", at(11, 9))

    section = call("GET", "/api/v1/reports/statistics", caller=user, query=WINDOW).json()["remediation"]

    # F's history (first report, territory, the team's work) is not the user's: nothing (docs/sites.md)
    assert section["territories"] == []
    assert section["audience"] == "own"


def test_a_year_and_more_is_cut_to_53_weeks_ending_at_date_to(expert):
    query = {"date_from": "2024-01-01", "date_to": "2026-11-22"}
    section = call("GET", "/api/v1/reports/statistics", caller=expert, query=query).json()["remediation"]

    # 53 Sundays back from 2026-11-22: 52 weeks before it is 2025-11-23
    assert (section["first_week_start"], section["weeks"], section["clamped_to_max_weeks"]) == ("2025-11-23", 53, True)
    # G, first reported on 2026-10-26, now falls inside the window: six sites opened in H1
    assert [g["window"] for g in section["territories"]] == [{**H1_WINDOW, "opened": 6}, H2_WINDOW]


@pytest.mark.parametrize("kind", ["summary", "statistics"])
def test_json_report_figures_rows_and_fingerprint(expert, kind):
    response = report(expert, kind)

    assert response.status == 200, response.body[:300]
    body = response.json()
    section = body["data"]["remediation"]
    assert [(g["territory"], g["weeks"], g["window"]) for g in section["territories"]] == [
        ("H1", H1_WEEKS, H1_WINDOW),
        ("H2", H2_WEEKS, H2_WINDOW),
    ]
    # 7 sites; timeline: 7 creations + G 2, A 6, B 2, Cs 2, E 1, F 3 actions = 23 entries
    assert body["report"]["rows"] == {"analyses": 0, "detections": 0, "sites": 7, "site_actions": 23}
    assert body["report"]["fingerprint"]["version"] == 2
    assert body["report"]["fingerprint"]["value"] == site_fingerprint()


def test_the_fingerprint_follows_what_the_figures_read(expert):
    first = report(expert).json()["report"]["fingerprint"]["value"]
    with session_scope() as s:
        # After the window's end: the figures cannot see it, nor does the fingerprint
        s.execute(
            text(
                "INSERT INTO site_actions (id, site_id, action, at, from_status, to_status) "
                "SELECT gen_random_uuid(), id, 'close', :at, 'open', 'closed' FROM sites WHERE first_report_at = :d"
            ),
            {"at": datetime(2026, 12, 1, tzinfo=UTC), "d": at(11, 10)},
        )
    later = report(expert).json()["report"]["fingerprint"]["value"]
    with session_scope() as s:
        s.execute(text("UPDATE sites SET territory_code = 'H2' WHERE first_report_at = :d"), {"d": at(11, 10)})
    moved = report(expert).json()["report"]
    detailed = report(expert, "detailed").json()["report"]

    assert later == first
    assert moved["fingerprint"]["value"] != first and moved["fingerprint"]["value"] == site_fingerprint()
    # A detailed report shows no site: its fingerprint covers its analyses and detections only (none: empty text)
    assert detailed["fingerprint"]["value"] == hashlib.sha256(b"").hexdigest()
    assert "sites" not in detailed["rows"]


def test_a_users_report_shows_and_fingerprints_no_site_histories(user):
    own_detection_on(user, "D", at(11, 10))
    before = report(user).json()
    with session_scope() as s:  # the user's own site changes (the team, others' reports), and another one
        s.execute(text("UPDATE sites SET territory_code = 'H2' WHERE first_report_at IN (:d, :e)"),
                  {"d": at(11, 9), "e": at(11, 10)})  # fmt: skip
    after = report(user).json()

    section = before["data"]["remediation"]
    assert section["territories"] == [] and section["audience"] == "own"
    # One analysis with one detection; no site, no timeline entry read
    assert before["report"]["rows"] == {"analyses": 1, "detections": 1, "sites": 0, "site_actions": 0}
    assert after["report"]["fingerprint"] == before["report"]["fingerprint"]


def test_csv_rows_per_territory_and_week(expert):
    response = report(expert, "summary", "csv")

    assert response.status == 200
    lines = response.body.decode().splitlines()
    assert "# rows: analyses=0 detections=0 sites=7 site_actions=23" in lines
    rows = list(csv.reader(line for line in lines if not line.startswith("# ")))
    found = {(r[0], r[1]): r[2:5] for r in rows if r[0].startswith("remediation_")}
    assert found[("remediation_closed", "H1|2026-11-08")] == ["4", "", ""]
    assert found[("remediation_open_at_end", "H1|2026-11-01")] == ["3", "", ""]
    assert found[("remediation_median_days_to_close", "H1|2026-11-08")] == ["9.0", "", "4"]
    assert found[("remediation_recurrence_rate", "H1|window")] == ["0.2", "", "1/5"]
    assert found[("remediation_recurrence_rate", "H2|2026-11-15")] == ["", "", "1/0"]
    assert ("remediation_open_at_end", "H2|window") not in found
    assert len({len(r) for r in rows}) == 1


def test_pdf_prints_the_table_in_the_callers_language(expert):
    response = call(
        "POST",
        "/api/v1/reports/generate",
        caller=expert,
        body={"type": "statistics", "format": "pdf", "language": "en", "filters": {**WINDOW}},
    )

    assert response.status == 200
    words = " ".join(pdf_text(response.body).split())
    assert "Breeding sites: remediation per territory and epidemiological week" in words
    # H1's W2: opened, closed, reopened, open at end, median days, the recurrence rate with its terms
    assert "H1 2026-SE45 1 4 1 1 9 0.25 (1 / 4) (2026-11-08)" in words
    assert "H2 all weeks 1 1 1 3 1 (1 / 1)" in words
    assert "7 breeding sites, 23 timeline entries" in words
