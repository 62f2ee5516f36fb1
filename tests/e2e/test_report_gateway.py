"""The report function behind the local API Gateway emulator, over real HTTP with real tokens.

Checks what only the gateway path shows: binary bodies (PDF, vector tiles) survive Mangum's base64 and the
gateway's decoding byte for byte, GeoJSON stays text, public routes work without the authorizer and give
signed-in callers their own detail, and protected routes go through the authorizer.
"""

from __future__ import annotations

import io
import math
import subprocess
import tempfile
from pathlib import Path

import boto3
import httpx
import mapbox_vector_tile
import pytest
from PIL import Image

from sentrix.db.engine import session_scope
from tests.support.gateway import in_process_gateway
from tests.support.identity import bearer, create_user, ensure_signing_key
from tests.support.seed import make_analysis

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gateway(database_url, aws):
    """An in-process gateway with the report function and the real authorizer."""
    ensure_signing_key()
    with in_process_gateway(["ReportFunction", "AuthorizerFunction"]) as url:
        yield url


@pytest.fixture
def world(clean_db, aws):
    """A user with one completed, located analysis whose annotated JPEG is on moto's S3."""
    user = create_user(email="gateway@example.org")
    buffer = io.BytesIO()
    Image.effect_noise((640, 480), 60).convert("RGB").save(buffer, format="JPEG", quality=85)
    jpeg = buffer.getvalue()
    with session_scope() as s:
        analysis = make_analysis(s, user=user.id, latitude=-26.8012, longitude=-65.2012, detections=[0, 3])
        analysis.processed_image_key = key = f"processed/{user.id}/{analysis.id}.jpg"
    boto3.client("s3", endpoint_url=aws.endpoint_url).put_object(Bucket=aws.bucket, Key=key, Body=jpeg)
    return {"user": user, "analysis": analysis, "jpeg": jpeg}


def test_pdf_arrives_intact_through_the_gateway(gateway, world):
    response = httpx.get(f"{gateway}/analyses/{world['analysis'].id}/report", headers=bearer(world["user"]), timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith('attachment; filename="sentrix_analysis_')
    assert int(response.headers["content-length"]) == len(response.content)
    with tempfile.TemporaryDirectory() as directory:
        pdf = Path(directory) / "report.pdf"
        pdf.write_bytes(response.content)
        subprocess.run(["pdfimages", "-j", str(pdf), f"{directory}/img"], check=True)
        [extracted] = Path(directory).glob("img-*.jpg")
        # The JPEG inside the PDF is byte-identical to the stored one: nothing was mangled on the way.
        assert extracted.read_bytes() == world["jpeg"]
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    assert str(world["analysis"].id) in text


def test_protected_routes_need_the_authorizer(gateway, world):
    assert httpx.get(f"{gateway}/analyses/{world['analysis'].id}/report").status_code == 401
    assert httpx.get(f"{gateway}/reports/statistics", headers={"Authorization": "Bearer nope"}).status_code == 401
    stats = httpx.get(f"{gateway}/reports/statistics", headers=bearer(world["user"])).json()
    assert stats["total_analyses"] == 1


def test_vector_tile_through_the_gateway(gateway, world, without_k_anonymity):
    """(One reporter in the cell: k-anonymity, tested on its own, would withhold it.)"""
    z = 12
    n = 2**z
    lat, lon = -26.805, -65.205  # the public cell centre of the seeded analysis
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    response = httpx.get(f"{gateway}/map/tiles/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    [feature] = mapbox_vector_tile.decode(response.content)["grid"]["features"]
    assert feature["properties"]["count"] == 2


def test_geojson_stays_text_and_public_routes_know_signed_in_callers(gateway, world):
    geojson = httpx.get(f"{gateway}/exports/detections.geojson", headers=bearer(world["user"]))
    assert geojson.headers["content-type"] == "application/geo+json"
    assert len(geojson.json()["features"]) == 2
    anonymous = httpx.get(f"{gateway}/heatmap-data").json()
    signed_in = httpx.get(f"{gateway}/heatmap-data", headers=bearer(world["user"])).json()
    assert anonymous["audience"] == "anonymous" and all(p["aggregated"] for p in anonymous["data"])
    assert signed_in["audience"] == "own" and {p["latitude"] for p in signed_in["data"]} == {-26.8012}


def test_generated_pdf_report_through_the_gateway(gateway, world):
    response = httpx.post(f"{gateway}/reports/generate", json={"type": "map", "format": "pdf"},
                          headers=bearer(world["user"]), timeout=30)  # fmt: skip
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert response.headers["x-report-rows"] == "analyses=1; detections=2"
