"""Detections join sites as detect stores them: distance per family, across users, recurrence after a close,
and per-family radius settings. Positions are metres north/east of a base point (sites_support)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sentrix.domain.sites import SiteFamily
from sentrix.repositories.sites import MergeRules
from tests.integration.upload.sites_support import (
    BASE_LAT,
    BASE_LON,
    BASURA,
    CALLES,
    CHARCOS,
    HUECOS,
    M_PER_DEG_LAT,
    east,
    north,
    report,
    site,
    site_count,
    sites_of,
    sql,
    timeline,
)
from tests.integration.upload.support import make_user

pytestmark = pytest.mark.integration


def test_a_detection_14_m_away_joins_the_site_and_the_centroid_moves_halfway(upload_env):
    # Given a puddle reported at the base point
    owner = make_user()
    first = report(owner, BASE_LAT, BASE_LON, (CHARCOS,))
    # When a hole (same family: water-holding) is reported 14 m north
    second = report(owner, north(14), BASE_LON, (HUECOS,))

    # Then both are on one site, whose point is the midpoint (7 m north)
    (site_id,) = sites_of(first)
    assert sites_of(second) == [site_id]
    row = site(site_id)
    assert (row.family, row.status, row.report_count, row.detection_count, row.reporter_count) == (
        "water",
        "open",
        2,
        2,
        1,
    )
    assert row.lat == pytest.approx(BASE_LAT + 7 / M_PER_DEG_LAT, abs=1e-9)
    assert row.lon == pytest.approx(BASE_LON, abs=1e-9)
    assert row.radius_m == 15.0
    assert site_count() == 1
    assert timeline(site_id) == [("create", None, None, "open")]


def test_a_detection_16_m_away_starts_a_site_of_its_own(upload_env):
    owner = make_user()
    first = report(owner, BASE_LAT, BASE_LON)
    second = report(owner, BASE_LAT, east(16))

    assert sites_of(first) != sites_of(second)
    assert site_count() == 2


def test_another_family_at_the_same_point_is_another_site(upload_env):
    # Given one photo showing refuse and a puddle, and a later photo of a bad road at the same spot
    owner = make_user()
    photo = report(owner, BASE_LAT, BASE_LON, (BASURA, CHARCOS))
    road = report(owner, BASE_LAT, BASE_LON, (CALLES,))

    refuse_site, water_site = sites_of(photo)
    (road_site,) = sites_of(road)
    assert len({refuse_site, water_site, road_site}) == 3
    assert [site(s).family for s in (refuse_site, water_site, road_site)] == ["refuse", "water", "road"]


def test_unknown_classes_start_no_site(upload_env):
    owner = make_user()
    photo = report(owner, BASE_LAT, BASE_LON, (7,))
    assert sites_of(photo) == [None]
    assert site_count() == 0


def test_the_same_canal_photographed_by_three_users_is_one_site_with_three_reporters(upload_env):
    # Given three users photographing the same canal within a few metres, one of them twice
    a, b, c = make_user(), make_user(), make_user()
    photos = [
        report(a, BASE_LAT, BASE_LON),
        report(b, north(3), east(4)),
        report(c, north(-5), BASE_LON),
        report(a, BASE_LAT, east(-2)),
    ]

    # Then one site: four reports, three distinct reporters
    assert len({s for p in photos for s in sites_of(p)}) == 1
    row = site(sites_of(photos[0])[0])
    assert (row.report_count, row.detection_count, row.reporter_count) == (4, 4, 3)


def test_a_site_closed_10_days_ago_reopens_and_counts_a_recurrence(upload_env):
    # Given a site that was closed 10 days ago
    owner = make_user()
    (site_id,) = sites_of(report(owner, BASE_LAT, BASE_LON))
    sql(
        "UPDATE sites SET status = 'closed', closed_at = now() - interval '10 days' WHERE id = :id",
        id=site_id,
    )

    # When the puddle is reported again 5 m away
    again = report(make_user(), north(5), BASE_LON)

    # Then it joins the closed site, which is reopened with one recurrence; the timeline says why
    assert sites_of(again) == [site_id]
    row = site(site_id)
    assert (row.status, row.recurrences, row.closed_at, row.report_count) == ("reopened", 1, None, 2)
    assert timeline(site_id)[-1] == ("reopen", "recurrence", "closed", "reopened")


def test_a_site_closed_61_days_ago_stays_closed_and_a_new_one_starts(upload_env):
    owner = make_user()
    (site_id,) = sites_of(report(owner, BASE_LAT, BASE_LON))
    sql("UPDATE sites SET status = 'closed', closed_at = now() - interval '61 days' WHERE id = :id", id=site_id)

    (new_site,) = sites_of(report(owner, BASE_LAT, BASE_LON))

    assert new_site != site_id
    assert site(site_id).status == "closed"
    assert (site(new_site).status, site(new_site).recurrences) == ("open", 0)


def test_a_dismissed_site_takes_no_detection(upload_env):
    owner = make_user()
    (site_id,) = sites_of(report(owner, BASE_LAT, BASE_LON))
    sql("UPDATE sites SET status = 'dismissed' WHERE id = :id", id=site_id)

    (new_site,) = sites_of(report(owner, BASE_LAT, BASE_LON))

    assert new_site != site_id


def test_the_radius_is_a_setting_per_family(upload_env, monkeypatch):
    from sentrix.config import get_settings

    # Given road defects merged within 30 m, water within the default 15 m
    monkeypatch.setenv("SITE_RADIUS_ROAD_M", "30")
    get_settings.cache_clear()
    rules = MergeRules.from_settings()
    assert rules.radii_m == {SiteFamily.WATER: 15.0, SiteFamily.REFUSE: 15.0, SiteFamily.ROAD: 30.0}
    owner = make_user()
    road = report(owner, BASE_LAT, BASE_LON, (CALLES,), rules=rules)
    water = report(owner, BASE_LAT, BASE_LON, (CHARCOS,), rules=rules)

    # When both are reported again 25 m north
    road_again = report(owner, north(25), BASE_LON, (CALLES,), rules=rules)
    water_again = report(owner, north(25), BASE_LON, (CHARCOS,), rules=rules)

    # Then the road defect joins its site (radius 30 m), the puddle starts another
    assert sites_of(road_again) == sites_of(road)
    assert sites_of(water_again) != sites_of(water)
    assert site(sites_of(road)[0]).radius_m == 30.0
    get_settings.cache_clear()


def test_the_report_times_are_those_of_the_members(upload_env):
    owner = make_user()
    early = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    report(owner, BASE_LAT, BASE_LON, created_at=early)
    photo = report(owner, BASE_LAT, BASE_LON, created_at=early + timedelta(days=3))

    row = site(sites_of(photo)[0])
    assert (row.first_report_at, row.last_report_at) == (early, early + timedelta(days=3))


@pytest.mark.parametrize(("class_id", "family"), [(CHARCOS, "water"), (BASURA, "refuse"), (CALLES, "road")])
@pytest.mark.parametrize(("metres", "joins"), [(14, True), (16, False)])
def test_every_family_merges_within_15_m_and_not_beyond(upload_env, class_id, family, metres, joins):
    # Given a site of the family, and a detection of it `metres` east (and one of another family there too)
    owner = make_user()
    (site_id,) = sites_of(report(owner, BASE_LAT, BASE_LON, (class_id,)))
    other = HUECOS if class_id != CHARCOS else BASURA
    # When a report `metres` east shows the same class and a class of another family
    found = sites_of(report(owner, BASE_LAT, east(metres), tuple(sorted((class_id, other)))))

    # Then the same class joins the site only within the radius; the other family never does
    same = found[sorted((class_id, other)).index(class_id)]
    different = found[sorted((class_id, other)).index(other)]
    assert (same == site_id) is joins
    assert different != site_id
    assert site(site_id).family == family
