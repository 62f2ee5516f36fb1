"""The detect path of the running local stack: a photo lands in S3, S3 notifies SQS, the poller invokes the
detect function, YOLO (the stand-in) answers, and the analysis completes in PostGIS — nothing called directly."""

from __future__ import annotations

import uuid

import boto3
import pytest
from sqlalchemy import create_engine, text

from tests.support.detect import TUCUMAN, exif_coordinate, photo, upload_key
from tests.support.stack import local_stack, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from sentrix_local.postgres import LocalPostgres
    from sentrix_local.provision import resource_name

    with local_stack(tmp_path_factory.mktemp("detect-stack")) as running:
        engine = create_engine(LocalPostgres(running.state_dir / "pgdata", running.ports["PG"]).url("sentrix"))
        s3 = boto3.client("s3", endpoint_url=running.moto, region_name="us-east-1")
        try:
            yield {
                "engine": engine,
                "s3": s3,
                "bucket": resource_name("ImagesBucket", "sentrix-local"),
                "log": running.log,
            }
        finally:
            engine.dispose()


def query(stack, statement: str, **params):
    with stack["engine"].begin() as connection:
        return connection.execute(text(statement), params).mappings().all()


def pending_analysis(stack, filename: str = "foto.jpg") -> tuple[uuid.UUID, str]:
    """What POST /analyses/uploads leaves behind before the browser posts the photo to S3."""
    user_id, analysis_id = uuid.uuid4(), uuid.uuid4()
    key = upload_key(user_id, analysis_id, filename)
    with stack["engine"].begin() as connection:
        connection.execute(
            text("INSERT INTO users (id, email) VALUES (:id, :e)"), {"id": user_id, "e": f"{user_id}@x.org"}
        )
        connection.execute(
            text(
                "INSERT INTO analyses (id, user_id, status, image_bucket, image_key, original_filename) "
                "VALUES (:id, :user, 'pending_upload', :bucket, :key, :name)"
            ),
            {"id": analysis_id, "user": user_id, "bucket": stack["bucket"], "key": key, "name": filename},
        )
    return analysis_id, key


def test_a_photo_put_in_the_bucket_becomes_a_completed_analysis(stack):
    analysis_id, key = pending_analysis(stack, "IMG_2024.heic")

    stack["s3"].put_object(Bucket=stack["bucket"], Key=key, Body=photo("HEIF", gps=TUCUMAN))

    def finished():
        rows = query(stack, "SELECT status FROM analyses WHERE id = :id", id=analysis_id)
        return rows and rows[0]["status"] in ("completed", "failed")

    wait_for(finished, 60, f"the analysis to finish (log: {stack['log']})")
    (row,) = query(
        stack,
        "SELECT status, failure_reason, ST_X(location) AS lon, ST_Y(location) AS lat, processed_image_key, "
        "(SELECT count(*) FROM detections WHERE analysis_id = a.id) AS detections, total_detections "
        "FROM analyses a WHERE id = :id",
        id=analysis_id,
    )
    assert row["status"] == "completed", row["failure_reason"]
    assert (row["lon"], row["lat"]) == (exif_coordinate(TUCUMAN[1]), exif_coordinate(TUCUMAN[0]))
    assert row["detections"] == row["total_detections"]
    annotated = stack["s3"].get_object(Bucket=stack["bucket"], Key=row["processed_image_key"])["Body"].read()
    assert annotated.startswith(b"\xff\xd8\xff")


def test_a_photo_dropped_in_the_bucket_without_an_analysis_is_tagged_and_creates_nothing(stack):
    key = upload_key(uuid.uuid4(), uuid.uuid4(), "dropped.jpg")
    before = query(stack, "SELECT count(*) AS n FROM analyses")[0]["n"]

    stack["s3"].put_object(Bucket=stack["bucket"], Key=key, Body=photo("JPEG"))

    def tagged():
        tags = stack["s3"].get_object_tagging(Bucket=stack["bucket"], Key=key)["TagSet"]
        return {"Key": "sentrix-unmatched", "Value": "true"} in tags

    wait_for(tagged, 30, "the unmatched upload to be tagged")
    assert query(stack, "SELECT count(*) AS n FROM analyses")[0]["n"] == before
