"""Rate limits in PostgreSQL: counted atomically across sessions, Retry-After until the window ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sentrix import ratelimit
from sentrix.db.engine import session_scope
from sentrix.errors import RateLimited

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 28, 12, 0, 20, tzinfo=UTC)
LIMIT = ratelimit.Limit(max_hits=3, window_s=60)


def hit(bucket: str, now: datetime = NOW) -> int:
    with session_scope() as session:
        return ratelimit.hit(session, bucket, LIMIT, now=now, message="slow down")


def test_hits_count_up_to_the_limit_then_refuse_with_retry_after(clean_db):
    assert [hit("ip:1"), hit("ip:1"), hit("ip:1")] == [1, 2, 3]
    with pytest.raises(RateLimited) as refused:
        hit("ip:1")
    assert refused.value.retry_after == 41  # 40 s left in the minute, rounded up
    assert hit("ip:2") == 1  # another bucket is unaffected


def test_a_new_window_starts_fresh(clean_db):
    for _ in range(3):
        hit("ip:1")
    assert hit("ip:1", NOW + timedelta(seconds=40)) == 1


def test_check_refuses_a_full_bucket_without_counting(clean_db):
    with session_scope() as session:
        ratelimit.check(session, "acct:a", LIMIT, now=NOW, message="locked")
    for _ in range(3):
        hit("acct:a")
    with session_scope() as session, pytest.raises(RateLimited):
        ratelimit.check(session, "acct:a", LIMIT, now=NOW, message="locked")


def test_clear_and_prune(clean_db):
    for _ in range(3):
        hit("acct:b")
    hit("old", NOW - timedelta(days=3))
    with session_scope() as session:
        ratelimit.clear(session, "acct:b")
        assert ratelimit.prune(session, now=NOW) == 1
    assert hit("acct:b") == 1
