"""The experts' review queue (docs/upload.md, "Expert validation": `GET /detections/pending`): who reported each
detection, working image URLs for the photo and its annotated copy in the bucket the analysis is stored in, the
`risk_level` filter, and pages that say whether another follows."""

from __future__ import annotations

from urllib.parse import urlsplit

import boto3
import httpx
import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from tests.integration.upload.support import call, days_ago, make_user, seed_analysis

pytestmark = pytest.mark.integration

BASURA, CALLES = 0, 1  # ALTO and MEDIO (sentrix.domain.classes)


def pending(user, **query):
    return call("GET", "/api/v1/detections/pending", user=user, query=query)


def test_each_item_names_its_reporter_and_serves_both_images_from_the_analysis_bucket(upload_env, older_bucket):
    # Given a completed analysis whose photo and annotated copy live in an older bucket (not IMAGES_BUCKET)
    owner, expert = make_user(), make_user("expert")
    analysis = seed_analysis(owner, classes=(BASURA,), bucket=older_bucket)
    photo, annotated = f"incoming/{owner.id}/{analysis}/photo.jpg", f"processed/{owner.id}/{analysis}.jpg"
    s3 = boto3.client("s3", endpoint_url=upload_env.endpoint_url)
    s3.put_object(Bucket=older_bucket, Key=photo, Body=b"the photo", ContentType="image/jpeg")
    s3.put_object(Bucket=older_bucket, Key=annotated, Body=b"the annotated copy", ContentType="image/jpeg")

    # When an expert reads the queue
    answer = pending(expert)

    # Then the item says whose report it is, and both URLs are presigned GETs S3 serves from that bucket
    assert answer.status == 200, answer.body
    (item,) = answer.body["items"]
    assert (item["analysis_id"], item["owner_id"], item["analysis_status"]) == (
        str(analysis),
        str(owner.id),
        "completed",
    )
    assert urlsplit(item["image_url"]).path == f"/{older_bucket}/{photo}"
    assert urlsplit(item["processed_image_url"]).path == f"/{older_bucket}/{annotated}"
    assert httpx.get(item["image_url"]).content == b"the photo"
    assert httpx.get(item["processed_image_url"]).content == b"the annotated copy"


def test_an_analysis_without_an_annotated_copy_has_no_processed_url(upload_env):
    owner, expert = make_user(), make_user("expert")
    analysis = seed_analysis(owner, classes=(BASURA,))
    with session_scope() as session:
        session.get(Analysis, analysis).processed_image_key = None

    (item,) = pending(expert).body["items"]

    assert item["processed_image_url"] is None
    assert urlsplit(item["image_url"]).path == f"/{upload_env.bucket}/incoming/{owner.id}/{analysis}/photo.jpg"


def test_the_risk_filter_keeps_only_the_levels_asked_for(upload_env):
    owner, expert = make_user(), make_user("expert")
    alto = seed_analysis(owner, classes=(BASURA,), created_at=days_ago(3))
    medio = seed_analysis(owner, classes=(CALLES,), created_at=days_ago(2))

    only_medio = pending(expert, risk_level="MEDIO")
    only_alto = pending(expert, risk_level="ALTO")

    assert [(i["analysis_id"], i["risk_level"]) for i in only_medio.body["items"]] == [(str(medio), "MEDIO")]
    assert only_medio.body["total"] == 1
    assert [(i["analysis_id"], i["risk_level"]) for i in only_alto.body["items"]] == [(str(alto), "ALTO")]


def test_pages_hold_at_most_limit_items_and_only_a_page_before_the_end_has_next(upload_env):
    # Given three pending detections: ALTO oldest first, then MEDIO
    owner, expert = make_user(), make_user("expert")
    first = seed_analysis(owner, classes=(BASURA,), created_at=days_ago(5))
    second = seed_analysis(owner, classes=(BASURA,), created_at=days_ago(4))
    third = seed_analysis(owner, classes=(CALLES,), created_at=days_ago(6))

    pages = [pending(expert, limit=2, offset=0), pending(expert, limit=2, offset=2), pending(expert, limit=1, offset=1)]

    summary = [
        (
            [i["analysis_id"] for i in p.body["items"]],
            p.body["total"],
            p.body["limit"],
            p.body["offset"],
            p.body["has_next"],
        )
        for p in pages
    ]
    assert summary == [
        ([str(first), str(second)], 3, 2, 0, True),
        ([str(third)], 3, 2, 2, False),  # the last page: offset 2 + 1 item = 3 = total
        ([str(second)], 3, 1, 1, True),
    ]
