"""A sample of the hostile corpus (every category) through the real stack: S3, PostGIS, the stand-in."""

from __future__ import annotations

import pytest

from tests.builders import LambdaContext, s3_notification, sqs_event
from tests.integration.detect.helpers import analysis_row, sql, standin_calls
from tests.support.detect_fuzz import corpus

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
]


def sample() -> list:
    """Two files of every kind (e.g. truncated-HEIF, giant-png), plus every 40th file of the corpus."""
    files = corpus()
    chosen, per_category = [], {}
    for index, item in enumerate(files):
        category = "-".join(item.name.split("-")[:2])
        if per_category.get(category, 0) < 2 or index % 40 == 0:
            per_category[category] = per_category.get(category, 0) + 1
            chosen.append(item)
    return chosen


def test_a_sample_of_hostile_files_fails_cleanly_against_the_real_services(uploads, pipeline, yolo_standin):
    from sentrix_detect.handler import handler

    files = sample()
    user = uploads.user()
    uploaded = [(item, *uploads.photo(item.data, user_id=user, filename=item.filename)) for item in files]

    failures = []
    for start in range(0, len(uploaded), 10):
        chunk = uploaded[start : start + 10]
        event = sqs_event(*(s3_notification(uploads.bucket, key) for _, _, key in chunk))
        failures += handler(event, LambdaContext("DetectFunction", 900), pipeline=pipeline)["batchItemFailures"]

    assert failures == []
    must_fail = [(item, analysis_id) for item, analysis_id, _ in uploaded if item.must_fail]
    assert len(must_fail) >= 80
    for item, analysis_id in must_fail:
        row = analysis_row(analysis_id)
        assert row.status == "failed", item.name
        assert row.failure_reason and not row.failure_reason.startswith("internal error"), item.name
    survivors = [item for item, _, _ in uploaded if not item.must_fail]
    assert standin_calls(yolo_standin) <= len(survivors)
    assert (
        sql("SELECT count(*) FROM detections d JOIN analyses a ON a.id = d.analysis_id WHERE a.status <> 'completed'")[
            0
        ][0]
        == 0
    )
