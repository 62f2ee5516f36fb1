"""The report function behind the local API Gateway emulator, over real HTTP with real tokens.

Checks what only the gateway path shows: binary bodies (PDF, vector tiles) survive Mangum's base64 and the
gateway's decoding byte for byte, GeoJSON stays text, public routes work without the authorizer and give
signed-in callers their own detail, and protected routes go through the authorizer.
"""

from __future__ import annotations

import base64
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


# --- binary delivery: what API Gateway decodes depends on the request's first Accept type ----------------------
ACCEPTS = [
    pytest.param("*/*", id="any"),  # fetch(), curl, httpx, requests
    pytest.param("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", id="nav"),
    pytest.param("application/pdf", id="pdf"),
]


def _tile_url(gateway: str) -> str:
    z, n = 12, 2**12
    lat, lon = -26.805, -65.205  # the public cell centre of the seeded analysis
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"{gateway}/map/tiles/{z}/{x}/{y}.mvt"


@pytest.mark.parametrize("accept", ACCEPTS)
def test_files_arrive_as_bytes_whatever_the_client_accepts(gateway, world, without_k_anonymity, accept):
    # Given a browser following a link, a fetch() or a plain HTTP client, each with its own Accept
    signed_in = {**bearer(world["user"]), "Accept": accept}
    analysis = world["analysis"].id
    # When it downloads each kind of file the API serves
    pdf = httpx.get(f"{gateway}/analyses/{analysis}/report", headers=signed_in, timeout=30)
    tile = httpx.get(_tile_url(gateway), headers={"Accept": accept})
    csv = httpx.get(f"{gateway}/exports/detections.csv", headers=signed_in)
    geojson = httpx.get(f"{gateway}/exports/detections.geojson", headers=signed_in)
    # Then each body is the file itself, never its base64 text
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-"), pdf.content[:20]
    assert tile.status_code == 200
    assert mapbox_vector_tile.decode(tile.content)["grid"]["features"][0]["properties"]["count"] == 2
    assert csv.status_code == 200 and "," in csv.text.splitlines()[0], csv.text[:200]
    assert len(csv.text.splitlines()) == 3, csv.text[:200]  # a header and the two detections
    assert geojson.status_code == 200 and len(geojson.json()["features"]) == 2


def test_without_any_media_type_a_browsers_navigation_gets_base64_text(database_url, aws, world):
    # Given the gateway with the binary media types the template had before (exact types, no "*/*")
    from dataclasses import replace

    from sentrix_local.gateway import Gateway, serve
    from sentrix_local.invoke import LocalFunction
    from sentrix_local.processes import free_port
    from sentrix_local.template import stack_spec

    spec = stack_spec()
    exact = replace(spec, api=replace(spec.api, binary_media_types=("application/pdf", "image/png")))
    functions = {name: LocalFunction(spec.functions[name]) for name in ("ReportFunction", "AuthorizerFunction")}
    server = serve(Gateway(exact, functions), "127.0.0.1", port := free_port())
    try:
        url = f"http://127.0.0.1:{port}/api/v1/analyses/{world['analysis'].id}/report"
        nav = ACCEPTS[1].values[0]
        # When a browser follows the link, and when a client asks for the PDF first
        followed = httpx.get(url, headers={**bearer(world["user"]), "Accept": nav}, timeout=30)
        asked = httpx.get(url, headers={**bearer(world["user"]), "Accept": "application/pdf"}, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    # Then, as in API Gateway, only the request whose first Accept type matched gets bytes
    assert base64.b64decode(followed.content).startswith(b"%PDF-")
    assert asked.content.startswith(b"%PDF-")
