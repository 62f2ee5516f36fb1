"""Multipart batches and the upload limits (docs/upload.md, "Quotas" and "Batches"): a batch is one call against
the caller's per-minute limit whatever its number of files, each file one analysis against the daily quota; an
idempotency key names one upload, so a batch that brings one is refused whole."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sentrix.db.engine import session_scope
from sentrix.db.models import Analysis
from tests.integration.upload.support import call, jpeg_bytes, make_user, multipart, png_bytes

pytestmark = pytest.mark.integration


class HalfPastTheMinute(datetime):
    """`datetime` for sentrix.ratelimit whose now() is 10:00:30 UTC: every call of a test falls in one minute's
    window (and one day's) whatever the machine's load."""

    @classmethod
    def now(cls, tz=None):
        return cls(2026, 12, 3, 10, 0, 30, tzinfo=UTC)


@pytest.fixture
def limits(upload_env, monkeypatch):
    """Set the per-minute and daily limits (env names of docs/upload.md) on a pinned clock."""
    from sentrix import ratelimit
    from sentrix_upload.settings import get_upload_settings

    monkeypatch.setattr(ratelimit, "datetime", HalfPastTheMinute)

    def set_limits(per_minute: int, per_day: int) -> None:
        monkeypatch.setenv("UPLOAD_QUOTA_PER_MINUTE", str(per_minute))
        monkeypatch.setenv("UPLOAD_QUOTA_PER_DAY", str(per_day))
        get_upload_settings.cache_clear()

    return set_limits


def send_batch(user, count: int, fields=None, headers=None):
    files = [("files", f"{i}.jpg", jpeg_bytes(), "image/jpeg") for i in range(count)]
    body, multipart_headers = multipart(files, fields)
    return call(
        "POST", "/api/v1/analyses/batch", user=user, body=body, headers={**multipart_headers, **(headers or {})}
    )


def send_one(user):
    body, headers = multipart([("file", "one.png", png_bytes(), "image/png")])
    return call("POST", "/api/v1/analyses", user=user, body=body, headers=headers)


def test_a_multipart_batch_counts_once_against_its_callers_per_minute_limit(limits):
    # Given one upload call per minute and room for many analyses a day
    limits(per_minute=1, per_day=10)
    alice, bob = make_user(), make_user()

    # When Alice sends three files in one batch, Bob two in his, then Alice one more upload in the same minute
    hers = send_batch(alice, 3)
    his = send_batch(bob, 2)
    again = send_one(alice)

    # Then each batch was one call of its own caller: every file stored; Alice's next call is her second
    assert (hers.status, his.status) == (200, 200), (hers.body, his.body)
    assert [(r["ok"], r["filename"]) for r in hers.body["items"]] == [(True, "0.jpg"), (True, "1.jpg"), (True, "2.jpg")]
    assert [(r["ok"], r["filename"]) for r in his.body["items"]] == [(True, "0.jpg"), (True, "1.jpg")]
    assert (again.status, again.error["code"]) == (429, "rate_limited")
    assert again.error["message"] == "Upload limit reached: 1 uploads per minute"
    assert again.headers["retry-after"] == "31"  # 30 s left in the minute, rounded up
    with session_scope() as session:
        assert session.query(Analysis).filter(Analysis.user_id == alice.id).count() == 3
        assert session.query(Analysis).filter(Analysis.user_id == bob.id).count() == 2


def test_each_file_of_a_batch_counts_against_the_daily_quota(limits):
    limits(per_minute=5, per_day=2)
    user = make_user()

    answer = send_batch(user, 3)

    assert answer.status == 200, answer.body
    assert [r["ok"] for r in answer.body["items"]] == [True, True, False]
    error = answer.body["items"][2]["error"]
    assert (error["code"], error["status"]) == ("rate_limited", 429)
    assert error["message"] == "Daily upload quota reached: 2 analyses per day"


@pytest.mark.parametrize(
    ("headers", "title", "message"),
    [
        ({}, None, "idempotency_key names one upload; it cannot be shared by a batch"),
        (
            {"Accept-Language": "pt"},
            "Erro de validação",
            "idempotency_key nomeia um único envio; um lote não pode compartilhá-la",
        ),
    ],
    ids=["stated-none", "pt"],
)
def test_a_batch_with_an_idempotency_key_is_refused_whole(upload_env, headers, title, message):
    user = make_user()

    answer = send_batch(user, 2, fields={"idempotency_key": "phone-7"}, headers=headers)

    assert answer.status == 422, answer.body
    error = answer.error
    assert (error["code"], error["status"]) == ("validation_error", 422)
    # The catalogue's words in the stated language (English without one), and the code's title
    assert error["message"] == message
    assert error.get("title") == title
    with session_scope() as session:
        assert session.query(Analysis).count() == 0


@pytest.mark.parametrize("kind", ["multipart", "presigned"])
def test_an_idempotency_key_header_on_a_batch_is_refused_whole_too(upload_env, kind):
    user = make_user()
    key = {"Idempotency-Key": "phone-7"}

    if kind == "multipart":
        answer = send_batch(user, 2, headers=key)
    else:
        items = {"items": [{"filename": "a.jpg"}, {"filename": "b.jpg"}]}
        answer = call("POST", "/api/v1/analyses/batch", user=user, body=items, headers=key)

    assert answer.status == 422, answer.body
    assert answer.error["message"] == "idempotency_key names one upload; it cannot be shared by a batch"
    with session_scope() as session:
        assert session.query(Analysis).count() == 0
