"""Detect tags each stored analysis, and the sites its detections joined, with the smallest territory covering
its point, in the transaction that stores it (docs/territories.md)."""

from __future__ import annotations

import pytest

from tests.integration.detect.helpers import analysis_row, run, sql
from tests.support.detect import TUCUMAN, FakeDetector, photo, square_detection

pytestmark = pytest.mark.integration

SQUARE = "ST_Multi(ST_MakeEnvelope(:w, :s, :e, :n, 4326))"


def territory(code: str, parent: str | None, half_side_deg: float) -> None:
    lat, lon = TUCUMAN
    sql(
        f"INSERT INTO territories (code, name, parent_code, geometry, area_m2) "  # noqa: S608 - constant
        f"VALUES (:code, :code, :parent, {SQUARE}, ST_Area(CAST({SQUARE} AS geography)))",
        code=code,
        parent=parent,
        w=lon - half_side_deg,
        e=lon + half_side_deg,
        s=lat - half_side_deg,
        n=lat + half_side_deg,
    )


def test_an_analysis_and_its_sites_get_the_smallest_territory_covering_the_point(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline

    # Given a city (0.2° square) and a neighbourhood inside it (0.002° square), both around the photo's point
    territory("CITY", None, 0.1)
    territory("BARRIO", "CITY", 0.001)
    pipeline = DetectPipeline(detector=FakeDetector([square_detection(2, 0.8)]))
    analysis, key = uploads.photo(photo("JPEG", index=1, gps=TUCUMAN))

    run(pipeline, uploads.bucket, key)

    # Then the analysis and its site are the neighbourhood's (the smaller of the two)
    assert analysis_row(analysis).status == "completed"
    assert sql("SELECT territory_code FROM analyses WHERE id = :a", a=analysis)[0][0] == "BARRIO"
    assert [r[0] for r in sql("SELECT territory_code FROM sites")] == ["BARRIO"]


def test_a_point_outside_every_territory_and_a_photo_without_location_stay_untagged(uploads, detect_env):
    from sentrix_detect.logic.pipeline import DetectPipeline

    # Given a territory far from the photo (1° east of it)
    lat, lon = TUCUMAN
    sql(
        f"INSERT INTO territories (code, name, geometry, area_m2) VALUES ('FAR', 'Far', {SQUARE}, 1)",  # noqa: S608
        w=lon + 1,
        e=lon + 1.1,
        s=lat - 0.05,
        n=lat + 0.05,
    )
    pipeline = DetectPipeline(detector=FakeDetector([square_detection(2, 0.8)]))
    located, located_key = uploads.photo(photo("JPEG", index=2, gps=TUCUMAN))
    unlocated, unlocated_key = uploads.photo(photo("JPEG", index=3))

    run(pipeline, uploads.bucket, located_key)
    run(pipeline, uploads.bucket, unlocated_key)

    rows = sql("SELECT id, territory_code FROM analyses WHERE id IN (:a, :b)", a=located, b=unlocated)
    assert {r.id: r.territory_code for r in rows} == {located: None, unlocated: None}
    assert [r[0] for r in sql("SELECT territory_code FROM sites")] == [None]
