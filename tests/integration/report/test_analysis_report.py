"""GET /analyses/{id}/report and /export: PDFs that open, render, read right and embed the image."""

from __future__ import annotations

import csv
import io
import json

import boto3
import httpx
import pytest
from PIL import Image
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.domain.risk import recommendations
from tests.integration.report.conftest import call
from tests.integration.report.pdf_tools import embedded_images, pdf_text, render_first_page
from tests.support.seed import D, make_analysis

pytestmark = pytest.mark.integration


def annotated_jpeg(width: int = 800, height: int = 600) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


@pytest.fixture
def analysis(user, aws):
    """A completed analysis of `user` with three detections and its annotated image on moto's S3."""
    with session_scope() as s:
        found = make_analysis(
            s,
            user=user.id,
            latitude=-26.8,
            longitude=-65.2,
            detections=[D(0, confidence=0.93), D(0, confidence=0.71), D(3, confidence=0.64)],
            model_name="yolo-standin",
            model_version="11s-seg",
            standardized_filename="SENTRIX_20260601_101010_UNKNOWN_LATn26p800_LONn65p200_abcdef12.jpg",
        )
        key = f"processed/{user.id}/{found.id}.jpg"
        found.processed_image_key = key
    boto3.client("s3", endpoint_url=aws.endpoint_url).put_object(
        Bucket=aws.bucket, Key=key, Body=annotated_jpeg(), ContentType="image/jpeg"
    )
    return found


def test_pdf_report_reads_right_renders_and_embeds_the_image(analysis, user):
    response = call("GET", f"/api/v1/analyses/{analysis.id}/report", caller=user)

    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.raw["isBase64Encoded"] is True  # what API Gateway needs with BinaryMediaTypes
    disposition = response.headers["content-disposition"]
    assert disposition.startswith(f'attachment; filename="sentrix_analysis_{str(analysis.id)[:8]}_')
    assert disposition.endswith('.pdf"')
    pdf = response.body
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")

    words = " ".join(pdf_text(pdf).split())
    for expected in (
        "Sentrix - Informe de análisis",
        str(analysis.id),
        "-26.800000, -65.200000 (fuente: ingresada a mano)",
        "yolo-standin 11s-seg",
        "Umbral de confianza 0.50",
        "Nivel de riesgo: Medio",  # two Basura + one Huecos: rule 4 of the DESIGN table
        "Basura 93%",
        "Huecos 64%",
        "Pendiente",
        recommendations("MEDIO", total=3, high=2, medium=1, unique=2)[0][:40],
    ):
        assert expected in words, expected

    assert Image.open(io.BytesIO(render_first_page(pdf))).size[0] > 300  # it renders
    [image] = embedded_images(pdf)
    # Embedded as stored; the numbered outlines are drawn over it as vectors.
    assert (image["width"], image["height"], image["enc"]) == ("800", "600", "jpeg")


def test_language_from_query_or_from_the_users_setting(analysis, user):
    english = pdf_text(call("GET", f"/api/v1/analyses/{analysis.id}/report", caller=user, query={"lang": "en"}).body)
    assert "Analysis report" in english and "Confidence threshold" in english
    with session_scope() as s:
        s.execute(
            text("INSERT INTO user_settings (user_id, settings) VALUES (:id, CAST(:s AS jsonb))"),
            {"id": user.id, "s": json.dumps({"language": "pt"})},
        )
    portuguese = pdf_text(call("GET", f"/api/v1/analyses/{analysis.id}/report", caller=user).body)
    assert "Relatório de análise" in portuguese


def test_missing_image_is_said_not_fatal(user, aws):
    with session_scope() as s:
        found = make_analysis(s, user=user.id, detections=[0], processed_image_key="processed/nowhere.jpg")
    response = call("GET", f"/api/v1/analyses/{found.id}/report", caller=user)
    assert response.status == 200
    assert "La imagen anotada no está disponible." in pdf_text(response.body)
    assert "Sin ubicación" in pdf_text(response.body)
    # Without the annotated image the detection's outline is still drawn and numbered (vectors, no image).
    assert "solo los contornos" in pdf_text(response.body)
    assert embedded_images(response.body) == []


def test_an_image_deleted_after_completion_still_gives_the_report(analysis, user, aws):
    # Given the annotated image of a completed analysis removed from the bucket
    s3 = boto3.client("s3", endpoint_url=aws.endpoint_url)
    s3.delete_object(Bucket=aws.bucket, Key=analysis.processed_image_key)

    response = call("GET", f"/api/v1/analyses/{analysis.id}/report", caller=user)

    # Then the PDF says the image is unavailable instead of failing (never a 503 or a 500)
    assert response.status == 200
    assert "La imagen anotada no está disponible." in pdf_text(response.body)
    assert embedded_images(response.body) == []


def test_an_image_read_refused_by_s3_still_gives_the_report(analysis, user, aws):
    from botocore.awsrequest import AWSResponse

    from sentrix.adapters.aws import client

    # Given S3 refusing the function's read (403 AccessDenied, as without s3:ListBucket for a missing object);
    # moto's server enforces no IAM, so the refusal is given on the function's own client
    def refuse(**_):
        parsed = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}
        return AWSResponse("https://s3.example", 403, {}, None), parsed

    events = client("s3").meta.events
    events.register("before-call.s3.GetObject", refuse, unique_id="refuse-get")
    try:
        response = call("GET", f"/api/v1/analyses/{analysis.id}/report", caller=user)
    finally:
        events.unregister("before-call.s3.GetObject", unique_id="refuse-get")

    # Then the report is the documented degraded one
    assert response.status == 200
    assert "La imagen anotada no está disponible." in pdf_text(response.body)


def test_visibility_and_state(analysis, other_user, expert, user):
    assert call("GET", f"/api/v1/analyses/{analysis.id}/report", caller=other_user).status == 404
    assert call("GET", f"/api/v1/analyses/{analysis.id}/report", caller=expert).status == 200
    assert call("GET", "/api/v1/analyses/not-a-uuid/report", caller=user).status == 404
    assert call("GET", f"/api/v1/analyses/{analysis.id}/report").status == 401
    with session_scope() as s:
        pending = make_analysis(s, user=user.id, status="processing")
    response = call("GET", f"/api/v1/analyses/{pending.id}/report", caller=user)
    error = response.json()["error"]
    assert (response.status, error["code"], error["details"]) == (409, "conflict", {"status": "processing"})


def test_export_json_with_a_short_lived_image_url(analysis, user):
    query = {"format": "json", "include_images": "true"}
    response = call("GET", f"/api/v1/analyses/{analysis.id}/export", caller=user, query=query)
    assert response.headers["content-type"] == "application/json"
    assert 'filename="sentrix_analysis_' in response.headers["content-disposition"]
    body = response.json()
    assert body["analysis"]["id"] == str(analysis.id)
    assert body["analysis"]["latitude"] == -26.8 and body["analysis"]["longitude"] == -65.2
    assert [d["class_name"] for d in body["detections"]] == ["Basura", "Basura", "Huecos"]
    assert body["recommendations"] == list(recommendations("MEDIO", total=3, high=2, medium=1, unique=2))
    assert "X-Amz-Signature" in body["processed_image_url"]
    assert httpx.get(body["processed_image_url"]).content == annotated_jpeg()
    assert "processed_image_key" not in body["analysis"]
    slim = call("GET", f"/api/v1/analyses/{analysis.id}/export", caller=user,
                query={"include_detections": "false"}).json()  # fmt: skip
    assert "detections" not in slim and "processed_image_url" not in slim


def test_export_csv_has_a_row_per_detection(analysis, user):
    response = call("GET", f"/api/v1/analyses/{analysis.id}/export", caller=user, query={"format": "csv"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert [(r["class_name"], float(r["confidence"])) for r in rows] == [("Basura", 0.93), ("Basura", 0.71),
                                                                         ("Huecos", 0.64)]  # fmt: skip
    assert {r["analysis_id"] for r in rows} == {str(analysis.id)}
    assert rows[0]["latitude"] == "-26.8"


def test_export_pdf_is_the_report(analysis, user):
    response = call("GET", f"/api/v1/analyses/{analysis.id}/export", caller=user, query={"format": "pdf"})
    assert response.headers["content-type"] == "application/pdf"
    assert str(analysis.id) in pdf_text(response.body)
    assert call("GET", f"/api/v1/analyses/{analysis.id}/export", caller=user, query={"format": "xml"}).status == 422


def test_export_json_carries_every_stored_field_and_orders_detections_by_risk_then_confidence(user, aws):
    """Every field of the analysis and of each detection in the JSON export, written out here; detections
    highest risk first, then most confident, then by id (two equal ones here, inserted in the other order)."""
    import uuid
    from datetime import UTC, datetime

    made, taken = datetime(2026, 6, 1, 13, 10, tzinfo=UTC), datetime(2026, 6, 1, 12, 58, 30, tzinfo=UTC)
    validated, expires = datetime(2026, 6, 2, 9, 0, tzinfo=UTC), datetime(2026, 6, 15, 13, 10, tzinfo=UTC)
    low, high = uuid.UUID(int=1), uuid.UUID(int=2**128 - 1)
    with session_scope() as s:
        found = make_analysis(
            s,
            user=user.id,
            latitude=-26.8,
            longitude=-65.2,
            created_at=made,
            risk_level="ALTO",
            risk_score=0.77,
            detections=[
                # a MEDIO hole more confident than the two ALTO puddles: it still comes last
                D(3, confidence=0.95, mask_area=None, created_at=made),
                D(2, confidence=0.6, created_at=made, extra={"id": high}),
                D(
                    2,
                    confidence=0.6,
                    mask_area=321.5,
                    validation_status="validated_positive",
                    validated_at=validated,
                    expires_at=expires,
                    created_at=made,
                    latitude=-26.80012,
                    longitude=-65.20034,
                    extra={"id": low},
                ),
            ],
            taken_at=taken,
            altitude_m=431.5,
            original_filename="charco.heic",
            standardized_filename="SENTRIX_20260601_125830_APPLE_LATn26p800_LONn65p200_abcdef12.jpg",
            width=4032,
            height=3024,
            camera_make="Apple",
            camera_model="iPhone 13",
            model_version="11s-seg",
        )
        analysis_id = found.id
    body = call("GET", f"/api/v1/analyses/{analysis_id}/export", caller=user, query={"format": "json"}).json()

    a = body["analysis"]
    assert {k: a[k] for k in ("id", "user_id", "status", "created_at", "completed_at", "taken_at")} == {
        "id": str(analysis_id), "user_id": str(user.id), "status": "completed",
        "created_at": "2026-06-01T13:10:00+00:00", "completed_at": "2026-06-01T13:10:00+00:00",
        "taken_at": "2026-06-01T12:58:30+00:00",
    }  # fmt: skip
    assert (a["latitude"], a["longitude"], a["altitude_m"], a["location_source"]) == (-26.8, -65.2, 431.5, "MANUAL")
    assert (a["original_filename"], a["width"], a["height"], a["camera"]) == ("charco.heic", 4032, 3024,
                                                                            "Apple iPhone 13")  # fmt: skip
    assert a["standardized_filename"] == "SENTRIX_20260601_125830_APPLE_LATn26p800_LONn65p200_abcdef12.jpg"
    assert (a["model_name"], a["model_version"], a["confidence_threshold"]) == ("yolo-standin", "11s-seg", 0.5)
    # as stored; the counts are the seed's: two ALTO detections (one type) and a MEDIO one
    assert (a["risk_level"], a["risk_score"], a["total_detections"]) == ("ALTO", 0.77, 3)
    assert (a["high_risk_count"], a["medium_risk_count"], a["unique_types"]) == (2, 1, 2)

    detections = body["detections"]
    assert [(d["id"], d["class_id"], d["confidence"]) for d in detections] == [
        (str(low), 2, 0.6), (str(high), 2, 0.6), (detections[2]["id"], 3, 0.95),
    ]  # fmt: skip
    first = detections[0]
    assert {k: v for k, v in first.items() if k.endswith("_label") is False and k != "number"} == {
        "id": str(low),
        "class_id": 2,
        "class_name": "Charcos/Cumulo de agua",
        "breeding_site_type": "Charcos/Cumulo de agua",
        "confidence": 0.6,
        "risk_level": "ALTO",
        "mask_area": 321.5,
        "validation_status": "validated_positive",
        "validated_at": "2026-06-02T09:00:00+00:00",
        "expires_at": "2026-06-15T13:10:00+00:00",
        "created_at": "2026-06-01T13:10:00+00:00",
        "latitude": -26.80012,
        "longitude": -65.20034,
    }
    assert (detections[1]["latitude"], detections[1]["longitude"]) == (-26.8, -65.2)  # at the analysis' point
    assert (detections[2]["risk_level"], detections[2]["mask_area"], detections[2]["breeding_site_type"]) == (
        "MEDIO", None, "Huecos",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("make", "model", "camera"),
    [("Apple", None, "Apple"), (None, "Pixel 8", "Pixel 8"), (None, None, None), ("", "", None)],
)
def test_the_camera_is_make_and_model_as_far_as_known(user, aws, make, model, camera):
    with session_scope() as s:
        analysis_id = make_analysis(s, user=user.id, camera_make=make, camera_model=model).id
    body = call("GET", f"/api/v1/analyses/{analysis_id}/export", caller=user, query={"format": "json"}).json()
    assert body["analysis"]["camera"] == camera
