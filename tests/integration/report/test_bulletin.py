"""The weekly bulletin: POST /reports/generate with type weekly, for territory C and 2025-SE53 (Sunday 28 December
2025 to Saturday 3 January 2026), over the timeline of test_weekly.py (read its docstring). Expected values are
worked out by hand from that timeline:

- figures: reports 7 against 3, 2, 3, 4; new sites 2 against 0, 1, 1, 0; confirmed 1 against 0s; closed 1
  against 0, 1, 0, 0; reopened 1 against 0s; open at the end 3 against 0, 0, 1, 1.
- open at the week's end (Sun 4 Jan 00:00 in Buenos Aires = 03:00 UTC): S2, S3, S4 (S1 closed, S5 not yet).
  Priority then: S2 refuse 20 + confirmed (1 Jan) 40 + reported within 7 days 20 = 80;
  S3 water 30 + recent 20 + two reporters 5 = 55; S4 road 10 + one recurrence 15 + recent 20 = 45.
- closures: S1 on 31 Dec, 11 days after its first report (20 Dec); recurrences: S4 on 1 Jan (cause recurrence),
  24 days after its first report (8 Dec). Reopenings per closure 1 / 1; median days to close 11 over 1 closure.
- read: 4 sites, 9 timeline entries, 5 member detections before the week's end; 19 analyses in SE49–SE53.
"""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import bindparam, text

from sentrix.db.engine import session_scope
from sentrix.domain.roles import Role
from tests.integration.report.conftest import call, make_caller
from tests.integration.report.test_weekly import at, change
from tests.integration.report.test_weekly import sites as sites  # the fixture

pytestmark = pytest.mark.integration

ROUTE = "/api/v1/reports/generate"
BODY = {"type": "weekly", "territory": "C", "week": "2025-SE53"}
FIGURES = {
    "reports": (7, [3, 2, 3, 4]),
    "new_sites": (2, [0, 1, 1, 0]),
    "confirmed_sites": (1, [0, 0, 0, 0]),
    "closed": (1, [0, 1, 0, 0]),
    "reopened": (1, [0, 0, 0, 0]),
    "open_at_end": (3, [0, 0, 1, 1]),
}


def generate(caller, fmt="json", language="en", **body):
    return call("POST", ROUTE, caller=caller, body={**BODY, "format": fmt, "language": language, **body})


def test_json_figures_by_hand(sites, expert):
    response = generate(expert)

    assert response.status == 200, response.json()
    report, data = response.json()["report"], response.json()["data"]
    assert data["week"] | {"complete": None} == {
        "year": 2025, "week": 53, "label": "2025-SE53", "start": "2025-12-28", "end": "2026-01-03", "complete": None,
    }  # fmt: skip
    assert data["week"]["complete"] is True
    assert data["territory"] == {"code": "C", "name": "C"}
    for figure in data["figures"]:
        current, previous = FIGURES[figure["figure"]]
        assert {k: v for k, v in figure.items() if k not in ("figure", "label")} == change(current, previous)
    top = data["top_sites"]
    assert (top["shown"], top["open_sites"]) == (3, 3)
    assert top["share_shown"] | {"of": None, "per": None} == {
        "value": 1.0, "numerator": 3, "denominator": 3, "of": None, "per": None,
    }  # fmt: skip
    assert [(s["id"], s["priority"]["score"], s["status"]) for s in top["sites"]] == [
        (str(sites["S2"]), 80, "open"),
        (str(sites["S3"]), 55, "open"),
        (str(sites["S4"]), 45, "reopened"),
    ]
    assert [(r["code"], r["points"]) for r in top["sites"][0]["priority"]["reasons"]] == [
        ("confirmed", 40), ("family", 20), ("recent", 20),
    ]  # fmt: skip
    closures = data["closures"]
    assert (closures["closed"], closures["reopened"]) == (1, 1)
    assert closures["recurrence_rate"] == {"value": 1.0, "numerator": 1, "denominator": 1, "of": "reopened",
                                           "per": "closed"}  # fmt: skip
    assert closures["median_days_to_close"] == {"value": 11.0, "closes": 1}
    assert [(e["site_id"], e["days_since_first_report"]) for e in closures["closures"]] == [(str(sites["S1"]), 11.0)]
    assert [(e["site_id"], e["days_since_first_report"], e["cause"]) for e in closures["recurrences"]] == [
        (str(sites["S4"]), 24.0, "recurrence"),
    ]
    assert data["alerts"] == {"rows": [], "note": "No territory was on yellow or red alert at the week's end."}
    assert report["rows"] == {"analyses": 19, "detections": 5, "sites": 4, "actions": 9}
    assert response.headers["x-report-fingerprint"] == f"sha256={report['fingerprint']['value']}"


def test_csv_figures_by_hand(sites, admin):
    response = generate(admin, "csv", "es")

    assert response.status == 200
    lines = response.body.decode().splitlines()
    assert lines[0] == "# Boletín epidemiológico semanal"
    table = list(csv.DictReader(io.StringIO("\n".join(line for line in lines if not line.startswith("# ")))))
    rows = {(r["section"], r["item"]): r for r in table}
    assert rows[("week", "reports")]["value"] == "7"
    assert rows[("previous_week", "reports:2025-SE49")]["value"] == "3"
    assert rows[("previous_week", "reports:2025-SE52")]["value"] == "4"
    assert (rows[("change_pct", "reports")]["value"], rows[("change_pct", "reports")]["numerator"],
            rows[("change_pct", "reports")]["denominator"]) == ("133.33", "16", "12")  # fmt: skip
    # Below the base: no percentage, the terms and the reason
    assert rows[("change_pct", "new_sites")]["value"] == ""
    assert (rows[("change_pct", "new_sites")]["numerator"], rows[("change_pct", "new_sites")]["denominator"]) == (
        "6", "2",
    )  # fmt: skip
    assert rows[("change_pct", "new_sites")]["label"] == "base_below_minimum"
    assert rows[("top_site", str(sites["S2"]))]["value"] == "80"
    assert (rows[("top_site", str(sites["S4"]))]["numerator"], rows[("top_site", str(sites["S4"]))]["denominator"]) == (
        "3", "3",
    )  # fmt: skip
    assert rows[("top_site", str(sites["S3"]))]["latitude"] == "-26.8"
    rate = rows[("closures", "recurrence_rate")]
    assert (rate["value"], rate["numerator"], rate["denominator"]) == ("1.0", "1", "1")
    assert rows[("closures", "median_days_to_close")]["value"] == "11.0"
    assert rows[("close", str(sites["S1"]))]["value"] == "11.0"
    assert rows[("reopen", str(sites["S4"]))]["value"] == "24.0"
    assert (
        rows[("alerts", "none")]["label"]
        == "Ningún territorio estaba en alerta amarilla o roja al cierre de la semana."
    )


def _pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("es", ["Boletín epidemiológico semanal", "Esta semana frente a las 4 anteriores", "Criaderos nuevos",
                "Reaperturas por cierre", "Ningún territorio estaba en alerta", "abierto", "reabierto"]),
        ("en", ["Weekly epidemiological bulletin", "This week against the previous 4", "New sites",
                "Reopenings per closure", "No territory was on yellow or red alert", "open", "reopened"]),
        ("pt", ["Boletim epidemiológico semanal", "Esta semana frente às 4 anteriores", "Criadouros novos",
                "Reaberturas por fechamento", "Nenhum território estava em alerta", "aberto", "reaberto"]),
    ],
)  # fmt: skip
def test_pdf_text_in_three_languages(sites, expert, language, words):
    response = generate(expert, "pdf", language)

    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    page = " ".join(_pdf_text(response.body).split())
    for word in words:
        assert word in page, word
    # The figures, computed by hand: reports 7 against 3 2 3 4 (total 12, mean 3): +133.33 % (16 / 12)
    assert "7 3 2 3 4 12 3 +133.33 % (16 / 12)" in page
    # New sites 2 against 0 1 1 0: below the base of 10
    assert "2 0 1 1 0 2 0.5 – (base 2 < 10)" in page
    assert "2025-SE53" in page
    for name, score in (("S2", 80), ("S3", 55), ("S4", 45)):
        assert f"{str(sites[name])[:8]}" in page
        assert str(score) in page
    assert "1 (1 / 1)" in page  # reopenings per closure
    assert "11 (" in page  # median days to close over one closure


def test_reproducible_and_blind_to_what_came_after(sites, expert):
    first = generate(expert).json()
    again = generate(expert, language="pt").json()
    csv_copy = generate(expert, "csv")
    with session_scope() as s:  # after the week: S2 closed on 6 January, a new analysis on 7 January
        s.execute(
            text(
                "INSERT INTO site_actions (id, site_id, action, at, from_status, to_status) VALUES "
                "(gen_random_uuid(), :site, 'close', :at, 'treated', 'closed')"
            ),
            {"site": sites["S2"], "at": at(2026, 1, 6)},
        )
    later = generate(expert).json()
    with session_scope() as s:  # inside the week: a team action on S3 on 2 January
        s.execute(
            text(
                "INSERT INTO site_actions (id, site_id, action, at, from_status, to_status) VALUES "
                "(gen_random_uuid(), :site, 'assign', :at, 'open', 'assigned')"
            ),
            {"site": sites["S3"], "at": at(2026, 1, 2, hour=18)},
        )
    changed = generate(expert).json()

    value = first["report"]["fingerprint"]["value"]
    assert again["report"]["fingerprint"]["value"] == value
    assert csv_copy.headers["x-report-fingerprint"] == f"sha256={value}"
    assert later["report"]["fingerprint"]["value"] == value
    assert later["data"]["figures"] == first["data"]["figures"]
    assert later["data"]["top_sites"]["sites"] == first["data"]["top_sites"]["sites"]
    assert changed["report"]["fingerprint"]["value"] != value
    assert changed["report"]["rows"]["actions"] == 10


def test_who_may_have_a_bulletin(sites, user):
    official = make_caller(Role.OFFICIAL, "funcionaria@example.org")
    with session_scope() as s:
        s.execute(
            text("INSERT INTO official_territories (user_id, territory_code) VALUES (:u, 'H2')"), {"u": official.id}
        )

    assert generate(user).status == 403
    assert generate(official).status == 404  # C lies above the official's H2
    mine = generate(official, territory="H2")
    assert mine.status == 200, mine.json()
    # H2 at the week's end: S3 and S4 open; S4's recurrence; no closure
    data = mine.json()["data"]
    assert [s["id"] for s in data["top_sites"]["sites"]] == [str(sites["S3"]), str(sites["S4"])]
    assert data["closures"]["closed"] == 0
    assert data["closures"]["recurrence_rate"]["value"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"territory": None},  # a bulletin needs its territory
        {"week": "2025-SE54"},  # 2025 has 53 weeks
        {"week": "2026-SE53"},  # 2026 has 52
        {"week": "2025-W53"},
        {"week": "1999-SE10"},
        {"filters": {"risk_level": "ALTO"}},
        {"date_from": "2025-12-01"},
        {"type": "summary"},  # territory and week belong to the bulletin
        {"territory": "x" * 65},
    ],
)
def test_bad_bulletin_requests_are_422(sites, expert, body):
    response = call("POST", ROUTE, caller=expert, body={**BODY, **body})

    assert response.status == 422, response.json()
    assert response.json()["error"]["code"] == "validation_error"


def test_a_large_bulletin_goes_through_s3(sites, expert, monkeypatch):
    from sentrix_report.settings import get_report_settings

    monkeypatch.setenv("REPORT_INLINE_MAX_BYTES", "1000")
    get_report_settings.cache_clear()
    response = generate(expert, "pdf")

    stored = response.json()
    assert response.status == 200, stored
    assert stored["delivery"] == "s3" and stored["content_type"] == "application/pdf"
    assert stored["filename"].startswith("sentrix_bulletin_C_2025-SE53_")
    download = httpx.get(stored["download_url"])
    assert download.status_code == 200 and download.content.startswith(b"%PDF-")
    assert "Weekly epidemiological bulletin" in _pdf_text(download.content)
    assert stored["report"]["fingerprint"]["value"] == response.headers["x-report-fingerprint"][7:]


@pytest.mark.parametrize("language", ["es", "en", "pt"])
def test_one_language_in_every_format(sites, expert, language):
    """The rule of test_languages.py (no phrase or word of another language's catalogue) over the bulletin."""
    from tests.integration.report.test_languages import assert_one_language, csv_human_text, json_human_text

    pdf = generate(expert, "pdf", language).body
    table = generate(expert, "csv", language).body.decode()
    answer = generate(expert, "json", language).json()

    assert_one_language(_pdf_text(pdf), language, "weekly pdf")
    assert_one_language(csv_human_text(table), language, "weekly csv")
    human = json_human_text(answer, keys={"label", "title", "note"})
    assert human, "the JSON carries words"
    assert_one_language("\n".join(human), language, "weekly json")


@pytest.mark.parametrize("payload", ["' OR '1'='1", "%(user_id)s :w_tree %%", "C\x00"])
def test_sql_in_territory_finds_nothing(sites, expert, payload):
    statistics = call("GET", "/api/v1/reports/statistics/weekly", caller=expert, query={"territory": payload})
    bulletin = generate(expert, territory=payload)

    assert statistics.status in (404, 422), statistics.json()
    assert bulletin.status in (404, 422), bulletin.json()


def test_a_week_not_over_says_so(sites, expert):
    response = generate(expert, "pdf", week="2100-SE10")  # a week that has not ended whatever the clock says
    answer = generate(expert, week="2100-03-03").json()

    assert "This week is not over yet" in " ".join(_pdf_text(response.body).split())
    assert answer["data"]["week"]["label"] == "2100-SE09"  # Wednesday 3 March 2100 is in week 9 (starts Feb 28)
    assert answer["data"]["week"]["complete"] is False
    assert answer["data"]["top_sites"]["open_sites"] == 4  # S2, S3, S4 and S5, nothing closed since


def test_the_twenty_highest_of_more(sites, expert):
    """22 more open sites of C first reported in SE53 without members (no recency, no reporters): 10 water-holding
    (30 points) and 12 road defects (10). Open at the end: 25; shown: S2 80, S3 55, S4 45, the 10 water-holding
    ones, then 7 of the 12 road defects (equal scores: by last report, then id)."""
    from tests.integration.report.test_weekly import _site

    with session_scope() as s:
        water = {str(_site(s, "H1", "water", at(2025, 12, 29), [], "open")) for _ in range(10)}
        road = {str(_site(s, "H1", "road", at(2025, 12, 29), [], "open")) for _ in range(12)}

    data = generate(expert).json()["data"]["top_sites"]

    assert (data["shown"], data["open_sites"]) == (20, 25)
    assert data["share_shown"]["value"] == 0.8
    shown = data["sites"]
    assert [s["priority"]["score"] for s in shown] == [80, 55, 45] + [30] * 10 + [10] * 7
    assert [s["id"] for s in shown[:3]] == [str(sites["S2"]), str(sites["S3"]), str(sites["S4"])]
    assert {s["id"] for s in shown[3:13]} == water
    assert {s["id"] for s in shown[13:]} < road
    assert [s["rank"] for s in shown] == list(range(1, 21))


def test_alert_rows_when_an_alert_module_gives_them(sites, expert, monkeypatch):
    """The alert section is one function of (territory, level, clusters) rows: what the cluster-alert module
    will hand over (bulletin.alert_rows). Levels red first, then yellow, then green; words from the catalogue."""
    from sentrix_report.logic import bulletin

    monkeypatch.setattr(bulletin, "alert_rows", lambda session, codes, week: [("H2", "yellow", 1), ("H1", "red", 2),
                                                                               ("C", "green", 0)])  # fmt: skip
    answer = generate(expert, language="pt").json()["data"]["alerts"]
    page = " ".join(_pdf_text(generate(expert, "pdf", "es").body).split())

    assert answer == {
        "rows": [
            {"territory": "H1", "level": "red", "level_label": "vermelho", "clusters": 2},
            {"territory": "H2", "level": "yellow", "level_label": "amarelo", "clusters": 1},
            {"territory": "C", "level": "green", "level_label": "verde", "clusters": 0},
        ],
        "note": None,
    }
    assert "Territorio Nivel Conglomerados H1 rojo 2 H2 amarillo 1 C verde 0" in page
    assert "Ningún territorio estaba en alerta" not in page
    monkeypatch.setattr(bulletin, "alert_rows", lambda session, codes, week: [])
    none = generate(expert).json()["data"]["alerts"]
    assert none == {"rows": [], "note": "No territory was on yellow or red alert at the week's end."}


def _utc(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else ""


def test_fingerprint_rebuilt_from_plain_selects(sites, expert):
    """docs/report.md, *Bulletin fingerprint (version weekly-2)*, written out in Python over plain SELECTs:
    2025-SE53 in Buenos Aires ends on 4 January 2026 at 03:00 UTC; the five weeks start on 30 November at 03:00."""
    end, first = datetime(2026, 1, 4, 3, tzinfo=UTC), datetime(2025, 11, 30, 3, tzinfo=UTC)
    codes = ("C", "H1", "H2")
    with session_scope() as s:
        site_rows = s.execute(
            text(
                "SELECT id::text, family::text, territory_code, first_report_at, ST_Y(location), ST_X(location) "
                "FROM sites WHERE territory_code IN :codes AND first_report_at < :end"
            ).bindparams(bindparam("codes", expanding=True)),
            {"codes": codes, "end": end},
        ).all()
        ids = [r[0] for r in site_rows]
        actions = s.execute(
            text(
                "SELECT id::text, site_id::text, action::text, at, to_status::text, cause FROM site_actions "
                "WHERE site_id::text IN :ids AND at < :end"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": ids, "end": end},
        ).all()
        members = s.execute(
            text(
                "SELECT d.id::text, d.site_id::text, d.created_at, d.validation_status::text, d.validated_at, "
                "a.user_id::text FROM detections d JOIN analyses a ON a.id = d.analysis_id "
                "WHERE d.site_id::text IN :ids AND d.created_at < :end AND d.validation_status <> 'validated_negative'"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": ids, "end": end},
        ).all()
        analyses = s.execute(
            text(
                "SELECT id::text, created_at FROM analyses WHERE status = 'completed' AND territory_code IN :codes "
                "AND created_at >= :first AND created_at < :end"
            ).bindparams(bindparam("codes", expanding=True)),
            {"codes": codes, "first": first, "end": end},
        ).all()
    lines = [f"S|{i}|{f}|{t or ''}|{_utc(at_)}|{lat!r}|{lon!r}" for i, f, t, at_, lat, lon in sorted(site_rows)]
    lines += [f"T|{i}|{site}|{a}|{_utc(when)}|{to}|{c or ''}" for i, site, a, when, to, c in sorted(actions)]
    lines += [f"M|{i}|{site}|{_utc(c)}|{v}|{_utc(va)}|{u}" for i, site, c, v, va, u in sorted(members)]
    lines += [f"A|{i}|{_utc(c)}" for i, c in sorted(analyses)]
    data_digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    expected = hashlib.sha256(data_digest.encode()).hexdigest()  # no territory on alert: the digest line alone

    report = generate(expert).json()["report"]

    assert (len(site_rows), len(actions), len(members), len(analyses)) == (4, 9, 5, 19)
    assert report["fingerprint"] == {
        "algorithm": "SHA-256",
        "version": "weekly-2",
        "value": expected,
        "covers": report["fingerprint"]["covers"],
    }


def _alert(s, opened, site_ids, closed=None) -> uuid.UUID:
    alert_id = uuid.uuid4()
    s.execute(
        text(
            "INSERT INTO alerts (id, status, level, territory_code, site_count, opened_at, last_growth_at, "
            "closed_at, closed_reason, updated_at) VALUES (:id, :status, 'yellow', 'C', :n, :opened, :opened, "
            ":closed, :reason, :opened)"
        ),
        {"id": alert_id, "status": "closed" if closed else "open", "n": len(site_ids), "opened": opened,
         "closed": closed, "reason": "quiet" if closed else None},
    )  # fmt: skip
    for site_id in site_ids:
        s.execute(
            text("INSERT INTO alert_sites (alert_id, site_id, joined_at, via) VALUES (:a, :s, :at, 'cluster')"),
            {"a": alert_id, "s": site_id, "at": opened},
        )
    return alert_id


def _level(s, code, old, new, when, alert_id=None) -> None:
    s.execute(
        text(
            "INSERT INTO alert_level_changes (territory_code, alert_id, old_level, new_level, changed_at) "
            "VALUES (:code, :alert, :old, :new, :at)"
        ),
        {"code": code, "alert": alert_id, "old": old, "new": new, "at": when},
    )


def test_alert_levels_at_the_weeks_end_from_the_recorded_history(sites, expert):
    """The section reads the level history the daily computation records (docs/alerts.md). 2025-SE53 ends on
    4 January 2026 at 03:00 UTC (midnight in Buenos Aires). Recorded, by hand:
    - alert A open from 2 Jan with S2 (H1) and S3 (H2); alert B opened 5 Jan (after the end) with S5 (H1);
      alert Z with S4 (H2) closed on 1 Jan;
    - C green→yellow 2 Jan, yellow→red 4 Jan 02:00 UTC (before the end); H1 green→yellow 2 Jan; H2 green→yellow
      2 Jan then back to green 3 Jan.
    At the week's end: C red with one open cluster (A: S2 and S3 are below C; Z closed, B not yet open), H1
    yellow with one (A, through S2), H2 green — left out. A change after the end (H1 red on 5 Jan) changes
    neither the section nor the fingerprint."""
    before = generate(expert).json()["report"]["fingerprint"]["value"]
    with session_scope() as s:
        a = _alert(s, at(2026, 1, 2), [sites["S2"], sites["S3"]])
        _alert(s, at(2026, 1, 5), [sites["S5"]])
        _alert(s, at(2025, 12, 20), [sites["S4"]], closed=at(2026, 1, 1))
        _level(s, "C", "green", "yellow", at(2026, 1, 2), a)
        _level(s, "H1", "green", "yellow", at(2026, 1, 2), a)
        _level(s, "H2", "green", "yellow", at(2026, 1, 2), a)
        _level(s, "H2", "yellow", "green", at(2026, 1, 3))
        _level(s, "C", "yellow", "red", datetime(2026, 1, 4, 2, tzinfo=UTC), a)

    first = generate(expert, language="es").json()
    with session_scope() as s:
        _level(s, "H1", "yellow", "red", at(2026, 1, 5), a)
    again = generate(expert, language="es").json()

    assert first["data"]["alerts"] == {
        "rows": [
            {"territory": "C", "level": "red", "level_label": "rojo", "clusters": 1},
            {"territory": "H1", "level": "yellow", "level_label": "amarillo", "clusters": 1},
        ],
        "note": None,
    }
    assert again["data"]["alerts"] == first["data"]["alerts"]
    value = first["report"]["fingerprint"]["value"]
    assert value != before
    assert again["report"]["fingerprint"]["value"] == value


def test_a_health_areas_bulletin_lists_only_its_own_closures_and_recurrences(sites, expert):
    # H1 holds S1 (closed 31 Dec); S4's recurrence on 1 Jan happened in H2, C's other health area
    response = generate(expert, territory="H1")

    assert response.status == 200, response.json()
    closures = response.json()["data"]["closures"]
    assert [e["site_id"] for e in closures["closures"]] == [str(sites["S1"])]
    assert closures["recurrences"] == []
    assert (closures["closed"], closures["reopened"]) == (1, 0)
