"""Every answer stays far below Lambda's 6 MB (issue 17): a photo with 300 large, fragmented masks — rings of
thousands of points with repeated vertices, as the original service sends — goes through detect over HTTP
into PostGIS, then is read back through the upload and report handlers: detail, detection pages, the experts'
queue, the exports and the public preview."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.detect.helpers import analysis_row, run
from tests.support.detect import TUCUMAN, photo
from tests.support.planted_yolo import PlantedYolo, answer, detection, fragmented_mask

pytestmark = pytest.mark.integration

ONE_MB = 1_000_000
COUNT = 300
POINTS = 2_000  # per ring, before the repeats (every second point is sent twice: 3,000 points per detection)
SIZE = (1600, 1200)  # sent as is: polygons are already in original pixels


def _detections() -> list[dict[str, Any]]:
    found = []
    for i in range(COUNT):
        centre = (40 + 80 * (i % 20), 40 + 80 * (i // 20))
        ring = fragmented_mask(centre, 38, points=POINTS, fragments=5)
        # Confidences all different, so "highest confidence first" is one order.
        found.append(detection(i % 4, round(0.99 - i * 0.0015, 4), ring, 9_999.0))
    return found


@pytest.fixture(scope="module")
def host():
    body = answer(_detections(), model="dengue_original")
    with PlantedYolo(body) as planted:
        yield planted


@pytest.fixture
def upload_caches(detect_env):
    """The upload function's own caches forgotten before and after (detect_env resets the shared ones)."""
    from sentrix_upload.logic import image_urls
    from sentrix_upload.settings import get_upload_settings

    get_upload_settings.cache_clear()
    image_urls.clear()
    yield
    get_upload_settings.cache_clear()
    image_urls.clear()


@pytest.fixture
def completed(uploads, make_pipeline, host, upload_caches):
    """A completed analysis of the 300 detections, and its owner."""
    from tests.integration.upload.support import Caller

    owner = uploads.user()
    analysis_id, key = uploads.photo(photo("JPEG", size=SIZE, gps=TUCUMAN), owner)
    assert run(make_pipeline(yolo_service_url=host.base_url), uploads.bucket, key) == {"batchItemFailures": []}
    row = analysis_row(analysis_id)
    assert (row.status, row.total_detections) == ("completed", COUNT), row.failure_reason
    return analysis_id, Caller(owner, "user", f"{owner}@example.org")


def _size(answer: Any) -> int:
    return len(json.dumps(answer.body, separators=(",", ":")).encode())


def test_the_detail_of_300_large_detections_is_under_1_mb_and_pages_give_each_exactly_once(completed):
    from tests.integration.upload.support import call

    analysis_id, owner = completed

    # The detail: 50 detections, where the rest are, verdict counts over all 300
    detail = call("GET", f"/api/v1/analyses/{analysis_id}", user=owner)
    assert detail.status == 200, detail.body
    assert _size(detail) < ONE_MB
    assert len(detail.body["detections"]) == 50
    assert detail.body["validation"]["total"] == detail.body["validation"]["pending"] == COUNT
    page = detail.body["detections_page"]
    assert (page["total"], page["returned"], page["has_next"], page["next_offset"]) == (COUNT, 50, True, 50)
    assert page["next"] == f"/api/v1/analyses/{analysis_id}/detections?offset=50&limit=50"
    # every outline within the vertex bound, its area measured, the host's figure kept beside it
    for d in detail.body["detections"]:
        assert 3 <= len(d["polygon"]) <= 256
        assert d["shape"]["type"] == "MultiPolygon"
        assert sum(len(ring) - 1 for part in d["shape"]["coordinates"] for ring in part) <= 256
        assert d["area_square_pixels"] == d["mask_area"] > 0
        assert d["mask_area_model_px"] == 9_999.0

    # Following `next` from the detail gives every detection exactly once, highest confidence first
    seen = [d["id"] for d in detail.body["detections"]]
    confidences = [d["confidence"] for d in detail.body["detections"]]
    link = page["next"]
    while link:
        path, query = link.split("?")
        params = dict(pair.split("=") for pair in query.split("&"))
        following = call("GET", path, user=owner, query=params)
        assert following.status == 200, following.body
        assert _size(following) < ONE_MB
        seen += [d["id"] for d in following.body["items"]]
        confidences += [d["confidence"] for d in following.body["items"]]
        link = following.body["next"]
    assert len(seen) == len(set(seen)) == COUNT
    assert confidences == sorted(confidences, reverse=True)

    # A page of the most a caller may ask (100) is under 1 MB too; more is refused
    largest = call("GET", f"/api/v1/analyses/{analysis_id}/detections", user=owner, query={"limit": 100})
    assert largest.status == 200 and len(largest.body["items"]) == 100 and _size(largest) < ONE_MB
    assert call("GET", f"/api/v1/analyses/{analysis_id}/detections", user=owner, query={"limit": 101}).status == 422

    # The same access rules as the analysis: another user hears 404
    from tests.integration.upload.support import make_user

    stranger = make_user()
    assert call("GET", f"/api/v1/analyses/{analysis_id}/detections", user=stranger).status == 404


def test_the_queue_and_the_exports_of_300_large_detections_are_bounded(completed):
    from tests.integration.report.conftest import call as report_call
    from tests.integration.report.conftest import make_caller
    from tests.integration.upload.support import call, make_user

    reviewer = make_user("expert")
    queue = call("GET", "/api/v1/detections/pending", user=reviewer, query={"limit": 50})
    assert queue.status == 200, queue.body
    assert len(queue.body["items"]) == 50 and _size(queue) < ONE_MB
    assert call("GET", "/api/v1/detections/pending", user=reviewer, query={"limit": 51}).status == 422

    expert = make_caller("expert")

    # Asking for 5000 rows gets at most 1000 per page; all 300 fit in one, far below 1 MB
    for path in ("/api/v1/exports/detections.csv", "/api/v1/exports/detections.geojson"):
        export = report_call("GET", path, caller=expert, query={"limit": 5000, "include_expired": "true"})
        assert export.status == 200, export.body[:300]
        assert export.headers["x-total-count"] == str(COUNT)
        assert len(export.body) < ONE_MB


def test_the_public_preview_of_300_large_detections_keeps_its_vertex_budget(upload_caches, host, monkeypatch):
    import httpx

    from sentrix.adapters.yolo import reset_yolo_client
    from sentrix_upload.logic.preview import VERTEX_BUDGET
    from tests.integration.upload.support import call, multipart

    monkeypatch.setenv("YOLO_SERVICE_URL", host.base_url)
    reset_yolo_client()
    try:
        body, headers = multipart([("file", "foto.jpg", photo("JPEG", size=SIZE), "image/jpeg")])
        preview = call("POST", "/api/v1/analyses/public", body=body, headers=headers)
    finally:
        reset_yolo_client()
    assert preview.status == 200, preview.body
    assert preview.body["total_detections"] == COUNT
    # 12,000 vertices over 300 detections: 40 each at most
    assert sum(len(d["polygon"]) for d in preview.body["detections"]) <= VERTEX_BUDGET == 12_000
    assert max(len(d["polygon"]) for d in preview.body["detections"]) <= 40
    assert all(d["area_square_pixels"] > 0 and d["bbox"] for d in preview.body["detections"])
    assert _size(preview) < ONE_MB
    assert httpx.get(f"{host.base_url}/health").status_code == 200
