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
