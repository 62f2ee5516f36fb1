"""End to end: the detect function against our own inference host (`python -m yolo_host`) over HTTP, instead of
the stand-in — PostGIS, moto's server and the host's real process on a planted model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.detect.helpers import analysis_row, detection_rows, run
from tests.support.detect import TUCUMAN, exif_coordinate, photo
from tests.support.yolo_host import HostProcess
from tests.support.yolo_models import anchors, planted_model, rectangle_protos

pytestmark = pytest.mark.integration

# One Charcos box centred at model pixel (320, 320), 200 × 100, its mask the whole box.
PLANTED = anchors([{"box": (320.0, 320.0, 200.0, 100.0), "scores": {2: 0.9}, "coeffs": {0: 1.0}}])


@pytest.fixture(scope="module")
def yolo_host(tmp_path_factory) -> Iterator[HostProcess]:
    path = tmp_path_factory.mktemp("detect-yolo-host") / "best.onnx"
    path.write_bytes(planted_model(PLANTED, rectangle_protos({0: (0, 0, 160, 160)})))
    with HostProcess(str(path)) as host:
        yield host


def test_a_photo_completes_with_the_hosts_detection_in_original_pixels(uploads, make_pipeline, yolo_host):
    # Given a 3200×2400 photo with GPS: detect sends it halved (1600×1200, long side ≥ 1600) to the host
    analysis_id, key = uploads.photo(photo("JPEG", size=(3200, 2400), gps=TUCUMAN))
    pipeline = make_pipeline(yolo_service_url=yolo_host.base_url)

    # When the notification reaches the handler
    response = run(pipeline, uploads.bucket, key)

    # Then the analysis is complete with the host's one detection
    assert response == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert row.status == "completed", row.failure_reason
    assert row.model_name == "best.onnx"
    assert (row.lon, row.lat) == (exif_coordinate(TUCUMAN[1]), exif_coordinate(TUCUMAN[0]))
    [detection] = detection_rows(analysis_id)
    assert (detection.class_id, detection.class_name, detection.risk_level) == (2, "Charcos/Cumulo de agua", "ALTO")
    assert detection.confidence == pytest.approx(0.9, abs=1e-6)
    # The host answers in the sent 1600×1200 image (gain 0.4, 80 rows of padding): model x 220–420 → 550–1050,
    # y 270–370 → (270 − 80) / 0.4 = 475 … 725; detect doubles that to the original's pixels
    assert (detection.bbox_x_min, detection.bbox_y_min, detection.bbox_x_max, detection.bbox_y_max) == (
        1100.0,
        950.0,
        2100.0,
        1450.0,
    )
    assert {tuple(p) for p in detection.polygon} == {
        (1100.0, 950.0),
        (2100.0, 950.0),
        (2100.0, 1450.0),
        (1100.0, 1450.0),
    }
    # and the area is the polygon's: 1000 × 500 original pixels (the host's area is in sent pixels)
    assert detection.mask_area == pytest.approx(500_000.0, abs=0.01)
    assert row.risk_level == "MEDIO"  # one high-risk site alone: DESIGN §4's "high ≥ 1" rule
