"""Over 500 malformed or hostile uploads through the real handler and the real image checks.

The store, S3 and YOLO are in-memory stand-ins here so the whole corpus runs in seconds; the same corpus
is sampled against PostGIS, moto's server and the YOLO stand-in in tests/integration/detect/test_detect_fuzz.py.
"""

from __future__ import annotations

import uuid

import pytest

from sentrix_detect.handler import handler
from sentrix_detect.logic.pipeline import DetectPipeline
from sentrix_detect.settings import DetectSettings
from tests.builders import LambdaContext, s3_notification, sqs_event
from tests.support.detect import FakeDetector, FakeObjects, FakeRow, FakeStore, upload_key
from tests.support.detect_fuzz import PAYLOADS, corpus

BUCKET = "fuzz-bucket"
# Hostile files make Pillow warn (corrupt EXIF, odd TIFF tags): expected, and not what is tested here.
pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
]


@pytest.fixture(scope="module")
def files():
    return corpus()


@pytest.fixture(scope="module")
def outcome(files):
    """Every file as one upload of its own, delivered in batches of 10 like the event source mapping does."""
    store, objects, detector = FakeStore(), FakeObjects(), FakeDetector()
    pipeline = DetectPipeline(store=store, objects=objects, detector=detector, bucket=BUCKET, settings=DetectSettings())
    rows = {}
    for item in files:
        user_id, analysis_id = uuid.uuid4(), uuid.uuid4()
        key = upload_key(user_id, analysis_id, item.filename)
        store.add(FakeRow(analysis_id, user_id, BUCKET, key))
        objects.objects[(BUCKET, key)] = item.data
        rows[item.name] = (analysis_id, key)
    failures = []
    names = [item.name for item in files]
    for start in range(0, len(names), 10):
        chunk = names[start : start + 10]
        event = sqs_event(*(s3_notification(BUCKET, rows[name][1]) for name in chunk))
        response = handler(event, LambdaContext("DetectFunction", 900), pipeline=pipeline)
        failures += response["batchItemFailures"]
    return {"store": store, "rows": rows, "failures": failures, "detector": detector}


def test_the_corpus_is_big_and_varied(files):
    must_fail = [f for f in files if f.must_fail]
    assert len(must_fail) >= 500
    categories = {f.name.split("-", 1)[0] for f in must_fail}
    assert {
        "empty",
        "prefix",
        "zeros",
        "noise",
        "truncated",
        "bitflip",
        "giant",
        "polyglot",
        "not",
        "exif",
    } <= categories


def test_no_record_is_handed_back_so_nothing_crashed(outcome):
    assert outcome["failures"] == []


def test_every_malformed_file_ends_failed_with_a_human_reason(files, outcome):
    store, rows = outcome["store"], outcome["rows"]
    for item in files:
        if not item.must_fail:
            continue
        row = store.rows[rows[item.name][0]]
        assert row.status == "failed", item.name
        assert row.failure_reason and not row.failure_reason.startswith("internal error"), (
            item.name,
            row.failure_reason,
        )
        assert row.attempts == 1


def test_yolo_sees_exactly_the_well_formed_files(files, outcome):
    # The pipeline names the file it sends after the analysis (`<analysis id>.jpg`): that is its identity.
    analysis_of = {name: analysis_id for name, (analysis_id, _key) in outcome["rows"].items()}
    well_formed = {f"{analysis_of[f.name]}.jpg" for f in files if not f.must_fail}
    sent = [call["filename"] for call in outcome["detector"].calls]

    assert len(sent) == len(set(sent))  # each file once
    assert set(sent) == well_formed


def test_survivors_complete_and_yolo_gets_a_clean_jpeg(files, outcome):
    store, rows = outcome["store"], outcome["rows"]
    for item in files:
        if item.must_fail:
            continue
        row = store.rows[rows[item.name][0]]
        assert row.status in ("completed", "failed", "duplicate"), item.name
        if row.status == "failed":
            assert row.failure_reason and not row.failure_reason.startswith("internal error")
    appended = [f for f in files if f.name.startswith("appended")]
    assert all(store.rows[rows[f.name][0]].status in ("completed", "duplicate") for f in appended)
    for call in outcome["detector"].calls:
        assert call["image"].startswith(b"\xff\xd8\xff")
        assert not any(payload in call["image"] for payload in PAYLOADS.values())
