"""The daily alert computation on PostGIS (docs/alerts.md): clusters, levels, closing, identity across runs and
level changes recorded once. Sites lie on a line going east from a base point in H1 at the metres given; the
expected alerts and levels are worked out by hand from those distances and dates, with the defaults k = 3,
150 m, 14 days, red at 10 sites or 2 weeks of growth, closed after 21 quiet days.

Epidemiological weeks of November 2026 (Sunday to Saturday): S0 = 1-7, S1 = 8-14, S2 = 15-21, S3 = 22-28,
S4 = 29 Nov - 5 Dec.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from sentrix.db.engine import session_scope
from sentrix.repositories.alerts import level_changes_since
from tests.integration.report.alert_world import (
    H2_LON,
    alerts,
    at,
    changes,
    events,
    members,
    report_again,
    run,
    set_status,
    site,
    territories,
)

pytestmark = pytest.mark.integration

NOW = at(11, 2)


@pytest.fixture
def world(db):
    territories()


def test_two_sites_make_no_alert_and_three_a_yellow_one(world):
    # given two confirmed open sites 100 m apart
    site(0, at(11, 1))
    site(100, at(11, 1))

    first = run(NOW)

    assert first.clusters == 0 and alerts() == [] and changes() == []

    # when a third comes 100 m further (200 m from the first, 100 m from the second)
    third = site(200, at(11, 2, 9))
    second = run(NOW)

    (alert,) = alerts()
    assert (alert["status"], alert["level"], alert["site_count"], alert["territory_code"]) == (
        "open",
        "yellow",
        3,
        "H1",
    )
    assert third in members(alert["id"])
    # H1 holds the sites, C is above it: both turn yellow; H2 has no site and stays green (nothing recorded)
    assert changes() == [("C", alert["id"], "green", "yellow", NOW), ("H1", alert["id"], "green", "yellow", NOW)]
    assert [(c.territory_code, c.old_level, c.new_level) for c in second.level_changes] == [
        ("C", "green", "yellow"),
        ("H1", "green", "yellow"),
    ]
    assert events(alert["id"]) == [("opened", {"sites": 3})]


@pytest.mark.parametrize(("gap_m", "expected"), [(149, 1), (151, 0)])
def test_each_site_within_150_m_of_another(world, gap_m, expected):
    # 0, 149, 149 + gap: the third is gap_m from the second and farther from the first
    site(0, at(11, 1))
    site(149, at(11, 1))
    site(149 + gap_m, at(11, 1))

    result = run(NOW)

    assert result.clusters == expected
    assert len(alerts()) == expected


@pytest.mark.parametrize(
    ("age", "expected"),
    [(timedelta(days=14), 1), (timedelta(days=14, seconds=1), 0), (timedelta(days=13), 1)],
)
def test_sites_reported_within_14_days(world, age, expected):
    site(0, NOW - timedelta(days=1))
    site(100, NOW - timedelta(days=2))
    site(200, NOW - age, first=NOW - timedelta(days=30))

    assert run(NOW).clusters == expected


@pytest.mark.parametrize(
    "third", [{"confirmed": False}, {"status": "closed"}, {"status": "dismissed"}, {"status": "treated", "ok": True}]
)
def test_only_confirmed_sites_still_needing_work_count(world, third):
    third = dict(third)  # the parameter is shared by every run of this case (mutmut runs it more than once)
    ok = third.pop("ok", False)
    site(0, at(11, 1))
    site(100, at(11, 1))
    site(200, at(11, 1), **third)

    assert run(NOW).clusters == (1 if ok else 0)


def test_a_site_first_reported_after_the_run_is_not_counted(world):
    site(0, at(11, 1))
    site(100, at(11, 1))
    site(200, at(11, 3), first=at(11, 3))

    assert run(NOW).clusters == 0


@pytest.mark.parametrize(("count", "level"), [(9, "yellow"), (10, "red")])
def test_ten_sites_make_a_red_alert(world, count, level):
    for i in range(count):
        site(100 * i, at(11, 1))

    run(NOW)

    (alert,) = alerts()
    assert (alert["site_count"], alert["level"]) == (count, level)
    assert changes()[-1][2:4] == ("green", level)
    assert events(alert["id"]) == [("opened", {"sites": count})]  # born at its level: no level change


def test_growing_two_weeks_running_is_red_then_yellow_when_it_stops(world):
    # S0: three sites, the alert opens (formation, not growth)
    first = [site(0, at(11, 1)), site(100, at(11, 1)), site(200, at(11, 2, 9))]
    run(at(11, 2))
    (alert,) = alerts()
    # S1: a fourth site 100 m on; the three are photographed again (still in the 14 days)
    for s in first:
        report_again(s, at(11, 9, 9))
    site(300, at(11, 9, 9))
    run(at(11, 9))
    # S2: a fifth
    site(400, at(11, 16, 9))
    run(at(11, 16))
    assert alerts()[0]["level"] == "yellow"  # complete weeks before S2: S1 grew, S0 was the formation

    # S3: S1 and S2, both complete and after the formation week, brought sites
    run(at(11, 22))
    assert (alerts()[0]["level"], alerts()[0]["site_count"]) == ("red", 5)

    # S4: S3 brought none
    run(at(11, 29))
    assert alerts()[0]["level"] == "yellow"

    assert [(c[0], c[2], c[3], c[4]) for c in changes()] == [
        ("C", "green", "yellow", at(11, 2)),
        ("H1", "green", "yellow", at(11, 2)),
        ("C", "yellow", "red", at(11, 22)),
        ("H1", "yellow", "red", at(11, 22)),
        ("C", "red", "yellow", at(11, 29)),
        ("H1", "red", "yellow", at(11, 29)),
    ]
    assert [kind for kind, _ in events(alert["id"])] == ["opened", "grew", "grew", "level", "level"]


def test_an_alert_closes_after_21_days_without_a_new_site(world):
    for m in (0, 100, 200):
        site(m, at(11, 2, 9))
    run(at(11, 2))
    (alert,) = alerts()

    run(at(11, 23, 11))  # 20 days 23 hours: still under surveillance (the cluster itself ended after 14 days)
    assert alerts()[0]["status"] == "open"

    result = run(at(11, 23))  # 21 days
    closed = alerts()[0]
    assert (closed["status"], closed["closed_reason"], closed["closed_at"]) == ("closed", "quiet", at(11, 23))
    assert result.closed == [alert["id"]]
    assert changes()[-2:] == [("C", None, "yellow", "green", at(11, 23)), ("H1", None, "yellow", "green", at(11, 23))]


def test_sites_of_a_quiet_alert_start_no_new_one_unless_reported_again(world):
    sites = [site(m, at(11, 2, 9)) for m in (0, 100, 200)]
    run(at(11, 2))
    for s in sites:
        report_again(s, at(11, 20))  # photographed again: the cluster lives on, but no new site
    run(at(11, 23))  # 21 days without a new site: closed although the sites are still reported
    assert alerts()[0]["status"] == "closed"

    run(at(11, 24))
    assert len(alerts()) == 1  # old news

    for s in sites:
        report_again(s, at(11, 25))
    run(at(11, 25))
    assert [a["status"] for a in alerts()] == ["closed", "open"]


def test_level_changes_are_recorded_once_across_runs(world):
    for m in (0, 100, 200):
        site(m, at(11, 1))

    results = [run(NOW), run(NOW), run(NOW + timedelta(hours=1)), run(NOW + timedelta(days=1))]

    assert [len(r.level_changes) for r in results] == [2, 0, 0, 0]
    assert len(changes()) == 2
    with session_scope() as s:
        everything = level_changes_since(s, 0)
        after_first = level_changes_since(s, everything[0].id)
        after_last = level_changes_since(s, everything[-1].id)
    assert [(c.territory_code, c.old_level, c.new_level) for c in everything] == [
        ("C", "green", "yellow"),
        ("H1", "green", "yellow"),
    ]
    assert [c.territory_code for c in after_first] == ["H1"]
    assert after_last == []
    assert len(alerts()) == 1


def test_an_alert_continues_while_its_cluster_grows(world):
    for m in (0, 100, 200):
        site(m, at(11, 1))
    run(NOW)
    (alert,) = alerts()

    added = site(300, at(11, 3))
    run(at(11, 3))

    (same,) = alerts()
    assert same["id"] == alert["id"] and same["site_count"] == 4
    assert added in members(alert["id"])
    assert events(alert["id"])[-1] == ("grew", {"sites": 1})


def test_two_alerts_whose_clusters_join_merge_into_the_older(world):
    older = [site(m, at(11, 1)) for m in (0, 100, 200)]
    run(NOW)
    younger = [site(m, at(11, 2, 9)) for m in (600, 700, 800)]
    run(at(11, 2, 13))
    first, second = alerts()

    # two sites bridge the 400 m gap: 200 → 320 (120 m) → 460 (140 m) → 600 (140 m)
    site(320, at(11, 3))
    site(460, at(11, 3))
    run(at(11, 3))

    survivor, merged = alerts()
    assert survivor["id"] == first["id"] and survivor["status"] == "open" and survivor["site_count"] == 8
    assert (merged["id"], merged["status"], merged["closed_reason"], merged["merged_into"]) == (
        second["id"],
        "closed",
        "merged",
        first["id"],
    )
    assert members(first["id"]) >= set(older) | set(younger)
    assert members(second["id"]) == set()
    assert ("merged", {"alert": str(second["id"]), "sites": 3}) in events(first["id"])
    # the territories were yellow already: the merge changes no level
    assert len(changes()) == 2


def test_a_cluster_cut_in_two_splits_its_alert(world):
    chain = [site(100 * i, at(11, 1)) for i in range(7)]  # 0 … 600 m
    run(NOW)
    (alert,) = alerts()

    set_status(chain[3], "closed")  # the site at 300 m is treated and closed: 200 and 400 are 200 m apart
    run(at(11, 3))

    original, new = alerts()
    assert original["id"] == alert["id"] and original["status"] == "open"
    assert new["split_from"] == alert["id"] and new["status"] == "open"
    west, east = set(chain[:3]), set(chain[4:])
    assert {frozenset(members(original["id"])) - {chain[3]}, frozenset(members(new["id"]))} == {
        frozenset(west),
        frozenset(east),
    }
    assert new["site_count"] == 3
    assert ("split", {"into": str(new["id"]), "sites": 3}) in events(alert["id"])


def test_levels_follow_the_territory_of_the_sites(world):
    for m in (0, 100, 200):
        site(m, at(11, 1), lon=H2_LON)

    run(NOW)

    (alert,) = alerts()
    assert alert["territory_code"] == "H2"
    assert [(c[0], c[3]) for c in changes()] == [("C", "yellow"), ("H2", "yellow")]
