"""Areas and shapes we can trust (issue 17, point 1): the detect function against a YOLO host that answers
like the original service — polygons in the sent image's pixels, `mask_area` in its model's 640 px mask
grid — over HTTP, with PostGIS and moto's server. Expected values are worked out by hand below."""

from __future__ import annotations

import pytest

from tests.integration.detect.helpers import analysis_row, run, sql
from tests.support.detect import photo
from tests.support.planted_yolo import PlantedYolo, answer, detection

pytestmark = pytest.mark.integration

# A 3200 × 2400 photo is sent halved (1600 × 1200; long side ≥ 1600), so the original is 2× the sent image.
# The original service letterboxes 1600 × 1200 into 640 × 640 at gain 0.4, and counts mask pixels there.
RECTANGLE = [[100, 100], [100, 100], [400, 100], [400, 100], [400, 300], [100, 300], [100, 300], [100, 100]]
RECTANGLE_MODEL_PX = (300 * 0.4) * (200 * 0.4)  # 120 × 80 = 9,600 model-grid pixels
RECTANGLE_AREA = (300 * 2) * (200 * 2)  # 600 × 400 = 240,000 original pixels
# A ring crossing itself at (600, 600) sent = (1200, 1200) original: two triangles of base 400 and height 200.
BOW_TIE = [[500, 500], [700, 700], [700, 500], [500, 700]]
BOW_TIE_AREA = 2 * (400 * 200 / 2)


@pytest.fixture
def original_like_host():
    body = answer(
        [detection(2, 0.9, RECTANGLE, RECTANGLE_MODEL_PX), detection(1, 0.7, BOW_TIE, 1234.0)],
        model="dengue_original",
    )
    with PlantedYolo(body) as host:
        yield host


def test_areas_are_the_outlines_in_original_pixels_and_the_hosts_figure_is_kept_as_sent(
    uploads, make_pipeline, original_like_host
):
    # Given a 3200×2400 photo and a host answering like the original service
    analysis_id, key = uploads.photo(photo("JPEG", size=(3200, 2400)))

    # When detect runs
    response = run(make_pipeline(yolo_service_url=original_like_host.base_url), uploads.bucket, key)

    # Then the stored area is the outline's in original pixels, never the model-grid figure scaled (9,600 × 4)
    assert response == {"batchItemFailures": []}
    assert analysis_row(analysis_id).status == "completed"
    rows = sql(
        "SELECT class_id, polygon, mask_area, mask_area_model_px, bbox_x_min, bbox_y_min, bbox_x_max, bbox_y_max, "
        "ST_AsText(shape) AS wkt, ST_SRID(shape) AS srid, ST_NumGeometries(shape) AS parts, ST_Area(shape) AS "
        "shape_area, ST_IsValid(shape) AS valid FROM detections WHERE analysis_id = :id ORDER BY class_id DESC",
        id=analysis_id,
    )
    rectangle, bow_tie = rows
    assert rectangle.mask_area == RECTANGLE_AREA == 240_000
    assert rectangle.mask_area_model_px == RECTANGLE_MODEL_PX == 9_600
    # the repeated points are gone and the box follows the outline
    assert rectangle.polygon == [[200, 200], [800, 200], [800, 600], [200, 600]]
    assert (rectangle.bbox_x_min, rectangle.bbox_y_min, rectangle.bbox_x_max, rectangle.bbox_y_max) == (
        200,
        200,
        800,
        600,
    )
    assert rectangle.wkt == "MULTIPOLYGON(((200 200,800 200,800 600,200 600,200 200)))"
    assert (rectangle.srid, rectangle.parts, rectangle.shape_area, rectangle.valid) == (0, 1, 240_000, True)

    # and the self-crossing ring is stored as a valid MultiPolygon of its two triangles
    assert (bow_tie.parts, bow_tie.valid, bow_tie.srid) == (2, True, 0)
    assert bow_tie.mask_area == bow_tie.shape_area == BOW_TIE_AREA == 80_000
    assert bow_tie.mask_area_model_px == 1234.0
    assert (bow_tie.bbox_x_min, bow_tie.bbox_y_min, bow_tie.bbox_x_max, bow_tie.bbox_y_max) == (1000, 1000, 1400, 1400)
    assert len(bow_tie.polygon) == 3  # the outline clients draw: one of the triangles
