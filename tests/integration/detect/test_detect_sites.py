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
