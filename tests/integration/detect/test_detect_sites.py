"""Detect puts each stored detection on its site in the transaction that stores it (docs/sites.md): photos of
the same place by different users share the site; a photo without a location starts none."""

from __future__ import annotations

import pytest

from tests.integration.detect.helpers import analysis_row, run, sql
from tests.support.detect import TUCUMAN, FakeDetector, photo, square_detection

pytestmark = pytest.mark.integration


def sites_by_class(analysis_id) -> dict[int, object]:
    return {
        row.class_id: row.site_id
        for row in sql("SELECT class_id, site_id FROM detections WHERE analysis_id = :a", a=analysis_id)
    }


def test_two_users_photographing_one_place_share_its_sites(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline

    # Given YOLO finding refuse (class 0) and a puddle (class 2) in every photo
    pipeline = DetectPipeline(detector=FakeDetector([square_detection(0, 0.9), square_detection(2, 0.8)]))
    # When two users' photos taken at the same point go through detect
    first, first_key = uploads.photo(photo("JPEG", index=1, gps=TUCUMAN))
    second, second_key = uploads.photo(photo("JPEG", index=2, gps=TUCUMAN))
    run(pipeline, uploads.bucket, first_key)
    run(pipeline, uploads.bucket, second_key)

    # Then both are complete and their detections sit on the same two sites (one per family)
    assert (analysis_row(first).status, analysis_row(second).status) == ("completed", "completed")
    assert sites_by_class(first) == sites_by_class(second)
    rows = sql("SELECT family::text, report_count, reporter_count, status::text FROM sites ORDER BY family")
    assert [tuple(r) for r in rows] == [("refuse", 2, 2, "open"), ("water", 2, 2, "open")]


def test_a_photo_without_location_starts_no_site(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline

    pipeline = DetectPipeline(detector=FakeDetector([square_detection(2, 0.8)]))
    analysis, key = uploads.photo(photo("JPEG", index=3))

    run(pipeline, uploads.bucket, key)

    assert analysis_row(analysis).status == "completed"
    assert sites_by_class(analysis) == {2: None}
    assert sql("SELECT count(*) FROM sites")[0][0] == 0


def test_a_photo_that_starts_sites_writes_them_with_their_figures_and_a_later_photo_updates_them(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline

    # Given a photo with refuse (class 0) and two kinds of water (puddle 2, hole 3) at a point with no site yet
    pipeline = DetectPipeline(
        detector=FakeDetector([square_detection(0, 0.9), square_detection(2, 0.8), square_detection(3, 0.7)])
    )
    first, first_key = uploads.photo(photo("JPEG", index=4, gps=TUCUMAN))
    run(pipeline, uploads.bucket, first_key)

    # Then it started two sites (sites_place writes them whole: migration 0021), each standing at the photo's
    # point, with one report by one person, its family's detections, unconfirmed, first and last seen when the
    # detections were stored, and one `create` in its timeline
    point = analysis_row(first)
    stored_at = sql("SELECT DISTINCT created_at FROM detections WHERE analysis_id = :a", a=first)
    assert len(stored_at) == 1
    rows = sql(
        "SELECT family::text, detection_count, report_count, reporter_count, confirmed, status::text, "
        "ST_X(location) AS lon, ST_Y(location) AS lat, first_report_at, last_report_at, "
        "(SELECT count(*) FROM site_actions a WHERE a.site_id = s.id AND a.action = 'create') AS creates "
        "FROM sites s ORDER BY family"
    )
    assert [tuple(r[:6]) for r in rows] == [("refuse", 1, 1, 1, False, "open"), ("water", 2, 1, 1, False, "open")]
    for row in rows:
        assert (row.lon, row.lat) == (point.lon, point.lat)
        assert row.first_report_at == row.last_report_at == stored_at[0][0]
        assert row.creates == 1

    # When another user's photo of a puddle at the same point joins the water site
    second, second_key = uploads.photo(photo("JPEG", index=5, gps=TUCUMAN))
    run(DetectPipeline(detector=FakeDetector([square_detection(2, 0.8)])), uploads.bucket, second_key)

    # Then the joined site is recomputed from its members (three detections, two reports, two people, last seen
    # now) and the refuse site is left as it was
    later = sql("SELECT DISTINCT created_at FROM detections WHERE analysis_id = :a", a=second)[0][0]
    rows = sql(
        "SELECT family::text, detection_count, report_count, reporter_count, first_report_at, last_report_at "
        "FROM sites ORDER BY family"
    )
    assert [tuple(r[:4]) for r in rows] == [("refuse", 1, 1, 1), ("water", 3, 2, 2)]
    assert (rows[0].first_report_at, rows[0].last_report_at) == (stored_at[0][0], stored_at[0][0])
    assert (rows[1].first_report_at, rows[1].last_report_at) == (stored_at[0][0], later)


M_PER_DEG_LAT = 111_320.0  # metres per degree of latitude (spherical, as the offsets below only need ≈)


def manual_photo(uploads, index: int, user, lat: float, lon: float):
    return uploads.photo(photo("JPEG", index=index), user_id=user, manual_latitude=lat, manual_longitude=lon)


def water_site():
    (row,) = sql(
        "SELECT id, detection_count, report_count, reporter_count, status::text, recurrences, closed_at, "
        "territory_code, ST_X(location) AS lon, ST_Y(location) AS lat, first_report_at, last_report_at "
        "FROM sites WHERE family = 'water'"
    )
    return row


def recomputed(site_id):
    """The site's figures recomputed from its members by sites_refresh (the verdict path's full recomputation),
    in a transaction rolled back: what the placing's running figures must equal."""
    from sqlalchemy import text

    from sentrix.db.engine import get_engine

    with get_engine().connect() as connection:
        connection.execute(text("SELECT count(*) FROM sites_refresh(ARRAY[CAST(:s AS uuid)])"), {"s": site_id})
        row = connection.execute(
            text(
                "SELECT detection_count, report_count, reporter_count, territory_code, ST_X(location) AS lon, "
                "ST_Y(location) AS lat, first_report_at, last_report_at FROM sites WHERE id = :s"
            ),
            {"s": site_id},
        ).one()
        connection.rollback()
    return row


def assert_running_figures_are_the_members(site) -> None:
    again = recomputed(site.id)
    assert (site.detection_count, site.report_count, site.reporter_count, site.territory_code) == tuple(again[:4])
    assert (site.lon, site.lat) == (pytest.approx(again.lon, abs=1e-12), pytest.approx(again.lat, abs=1e-12))
    assert (site.first_report_at, site.last_report_at) == (again.first_report_at, again.last_report_at)


def test_a_joined_site_moves_to_its_members_centroid_and_counts_each_person_once(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline

    lat, lon = TUCUMAN
    puddle = DetectPipeline(detector=FakeDetector([square_detection(2, 0.8)]))
    puddle_and_hole = DetectPipeline(detector=FakeDetector([square_detection(2, 0.8), square_detection(3, 0.7)]))
    ana, bea = uploads.user(), uploads.user()
    # Given Ana's puddle at the base point
    run(puddle, uploads.bucket, manual_photo(uploads, 1, ana, lat, lon)[1])
    # When Ana reports a puddle and a hole 6 m north (one photo, two members of the water family)
    run(puddle_and_hole, uploads.bucket, manual_photo(uploads, 2, ana, lat + 6 / M_PER_DEG_LAT, lon)[1])

    # Then the site has three members in two reports by one person, standing at their centroid: 4 m north
    site = water_site()
    assert (site.detection_count, site.report_count, site.reporter_count) == (3, 2, 1)
    assert site.lat == pytest.approx(lat + 4 / M_PER_DEG_LAT, abs=1e-9)
    assert site.lon == pytest.approx(lon, abs=1e-9)
    assert_running_figures_are_the_members(site)

    # When Bea reports a puddle at the base point
    run(puddle, uploads.bucket, manual_photo(uploads, 3, bea, lat, lon)[1])

    # Then four members, three reports, two people; the centroid of 0, 6, 6, 0 m north is 3 m north
    site = water_site()
    assert (site.detection_count, site.report_count, site.reporter_count) == (4, 3, 2)
    assert site.lat == pytest.approx(lat + 3 / M_PER_DEG_LAT, abs=1e-9)
    assert_running_figures_are_the_members(site)

    # When an expert rejects Ana's three detections (the verdict path settles the site: Bea is its one reporter)
    sql(
        "UPDATE detections SET validation_status = 'validated_negative' WHERE analysis_id IN "
        "(SELECT id FROM analyses WHERE user_id = :u)",
        u=ana,
    )
    sql("SELECT count(*) FROM sites_refresh(ARRAY[CAST(:s AS uuid)])", s=site.id)
    assert water_site().reporter_count == 1
    # and Ana reports a puddle 4 m north
    run(puddle, uploads.bucket, manual_photo(uploads, 4, ana, lat + 4 / M_PER_DEG_LAT, lon)[1])

    # Then she counts again (none of her members stands): two members (Bea's at 0 m, Ana's at 4 m), two people
    site = water_site()
    assert (site.detection_count, site.report_count, site.reporter_count) == (2, 2, 2)
    assert site.lat == pytest.approx(lat + 2 / M_PER_DEG_LAT, abs=1e-9)
    assert_running_figures_are_the_members(site)


def test_a_photo_standing_on_the_site_leaves_its_point_exactly_where_it_was(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline

    lat, lon = -26.8083, -65.2176  # a point whose coordinates no sum of binary fractions writes exactly
    pipeline = DetectPipeline(detector=FakeDetector([square_detection(2, 0.8)]))
    for index in range(1, 5):
        run(pipeline, uploads.bucket, manual_photo(uploads, index, uploads.user(), lat, lon)[1])

    site = water_site()
    assert (site.detection_count, site.reporter_count) == (4, 4)
    stored = analysis_row(sql("SELECT id FROM analyses LIMIT 1")[0][0])
    assert (site.lon, site.lat) == (stored.lon, stored.lat)


def test_a_photo_joining_a_recently_closed_site_reopens_it_with_its_new_figures(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline

    lat, lon = TUCUMAN
    pipeline = DetectPipeline(detector=FakeDetector([square_detection(2, 0.8)]))
    run(pipeline, uploads.bucket, manual_photo(uploads, 1, uploads.user(), lat, lon)[1])
    # Given the site closed 10 days ago
    sql("UPDATE sites SET status = 'closed', closed_at = now() - interval '10 days'")

    # When another person's puddle 8 m east joins it
    east = lon + 8 / (M_PER_DEG_LAT * 0.8925)  # cos(26.8°) ≈ 0.8925
    run(pipeline, uploads.bucket, manual_photo(uploads, 2, uploads.user(), lat, east)[1])

    # Then it is reopened once, recurrence counted, closing forgotten, with two members by two people halfway
    site = water_site()
    assert (site.status, site.recurrences, site.closed_at) == ("reopened", 1, None)
    assert (site.detection_count, site.report_count, site.reporter_count) == (2, 2, 2)
    assert site.lon == pytest.approx((lon + east) / 2, abs=1e-9)
    actions = sql("SELECT action::text, cause FROM site_actions WHERE site_id = :s ORDER BY at, action", s=site.id)
    assert [tuple(a) for a in actions] == [("create", None), ("reopen", "recurrence")]
    assert_running_figures_are_the_members(site)


def test_a_joined_site_whose_centroid_crosses_a_border_takes_the_territory_it_moved_into(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline

    lat, lon = TUCUMAN
    # Given a territory whose southern border runs 5 m north of the base point
    border = lat + 5 / M_PER_DEG_LAT
    sql(
        "INSERT INTO territories (code, name, geometry, area_m2) VALUES ('NORTE', 'Norte', "
        "ST_Multi(ST_MakeEnvelope(:w, :s, :e, :n, 4326)), 1)",
        w=lon - 0.01,
        e=lon + 0.01,
        s=border,
        n=border + 0.01,
    )
    pipeline = DetectPipeline(detector=FakeDetector([square_detection(2, 0.8)]))
    # and a site at the base point, outside it
    run(pipeline, uploads.bucket, manual_photo(uploads, 1, uploads.user(), lat, lon)[1])
    assert water_site().territory_code is None

    # When a photo 8 m north (inside) joins: the centroid moves to 4 m north, still outside
    run(pipeline, uploads.bucket, manual_photo(uploads, 2, uploads.user(), lat + 8 / M_PER_DEG_LAT, lon)[1])
    assert water_site().territory_code is None
    # and another 14 m north joins: the centroid of 0, 8, 14 m is 7.33 m north, inside
    run(pipeline, uploads.bucket, manual_photo(uploads, 3, uploads.user(), lat + 14 / M_PER_DEG_LAT, lon)[1])

    site = water_site()
    assert site.lat == pytest.approx(lat + 22 / 3 / M_PER_DEG_LAT, abs=1e-9)
    assert site.territory_code == "NORTE"
    assert_running_figures_are_the_members(site)
