"""A sample of the hostile corpus (every category) through the real stack: S3, PostGIS, the stand-in."""

from __future__ import annotations

import hashlib

import pytest

from tests.builders import LambdaContext, s3_notification, sqs_event
from tests.integration.detect.helpers import admin, analysis_row, sql
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
    # One uploader per file: no well-formed file is a duplicate of another, so each must reach YOLO itself.
    uploaded = [(item, *uploads.photo(item.data, filename=item.filename)) for item in files]

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
    # What the stand-in received, by identity: the pipeline names each file `<analysis id>.jpg`.
    received = admin().get(f"{yolo_standin.base_url}/_admin/received").json()
    well_formed = {f"{analysis_id}.jpg" for item, analysis_id, _ in uploaded if not item.must_fail}
    assert len(well_formed) >= 5
    assert sorted(entry["filename"] for entry in received) == sorted(well_formed)
    # And never the bytes of a malformed file under another name.
    malformed_hashes = {hashlib.sha256(item.data).hexdigest() for item in files if item.must_fail}
    assert not malformed_hashes & {entry["sha256"] for entry in received}
    assert (
        sql("SELECT count(*) FROM detections d JOIN analyses a ON a.id = d.analysis_id WHERE a.status <> 'completed'")[
            0
        ][0]
        == 0
    )
