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


BACKOFF = ratelimit.Backoff(start_after=10, base_s=1, max_s=300, ceiling=100, lockout_s=900)


def fail(account: str, times: int, now: datetime = NOW) -> int:
    with session_scope() as session:
        for _ in range(times):
            streak = ratelimit.record_failure(session, account, now=now)
    return streak


def refusal(account: str, *, source_failed: bool, now: datetime) -> int | None:
    """Retry-After of the refusal, or None if the attempt may go ahead."""
    try:
        with session_scope() as session:
            ratelimit.refuse_if_backing_off(
                session, account, BACKOFF, source_failed=source_failed, now=now, message="x"
            )
    except RateLimited as refused:
        return refused.retry_after
    return None


@pytest.mark.parametrize(
    ("consecutive", "source_failed", "seconds"),
    [
        (9, True, 0),  # below the start of the backoff
        (10, True, 1),
        (11, True, 2),
        (14, True, 16),
        (19, True, 300),  # 512 s, capped
        (99, True, 300),
        (99, False, 0),  # a source without failures is never delayed below the ceiling
        (100, False, 900),  # NIST SP 800-63B: at 100 consecutive failures everyone waits
        (10_000, True, 900),
    ],
)
def test_backoff_grows_with_the_streak_and_the_ceiling_refuses_everyone(consecutive, source_failed, seconds):
    assert BACKOFF.refusal_s(consecutive, source_failed=source_failed) == seconds


def test_a_streak_refuses_until_its_wait_after_the_last_failure_then_a_success_ends_it(clean_db):
    assert fail("acct:s", 12) == 12  # a 4 s wait for sources that failed
    assert refusal("acct:s", source_failed=True, now=NOW + timedelta(seconds=1)) == 4  # 3 s left, as `hit` rounds
    assert refusal("acct:s", source_failed=True, now=NOW + timedelta(seconds=4)) is None
    assert refusal("acct:s", source_failed=False, now=NOW) is None
    fail("acct:s", 88)
    assert refusal("acct:s", source_failed=False, now=NOW + timedelta(seconds=100)) == 801
    with session_scope() as session:
        ratelimit.end_streak(session, "acct:s")
    assert refusal("acct:s", source_failed=True, now=NOW) is None
    assert fail("acct:s", 1) == 1


def test_check_returns_the_current_windows_hits_without_counting(clean_db):
    with session_scope() as session:
        assert ratelimit.check(session, "ip:c", LIMIT, now=NOW, message="x") == 0
    hit("ip:c")
    with session_scope() as session:
        assert ratelimit.check(session, "ip:c", LIMIT, now=NOW, message="x") == 1
        assert ratelimit.check(session, "ip:c", LIMIT, now=NOW, message="x") == 1
        assert ratelimit.check(session, "ip:c", LIMIT, now=NOW + timedelta(seconds=60), message="x") == 0


def test_hits_lately_counts_this_window_and_the_one_before_only(clean_db):
    boundary = datetime(2026, 11, 28, 12, 1, 0, tzinfo=UTC)  # LIMIT's windows start on the minute
    hit("pair:x", boundary - timedelta(seconds=1))  # the last second of the window before
    with session_scope() as session:
        assert ratelimit.hits_lately(session, "pair:x", LIMIT, now=boundary) == 1  # a second later, still seen
        assert ratelimit.check(session, "pair:x", LIMIT, now=boundary, message="x") == 0  # the window alone forgot
        assert ratelimit.hits_lately(session, "pair:x", LIMIT, now=boundary + timedelta(seconds=59)) == 1
        assert ratelimit.hits_lately(session, "pair:x", LIMIT, now=boundary + timedelta(seconds=60)) == 0
    hit("pair:x", boundary + timedelta(seconds=5))
    hit("pair:x", boundary + timedelta(seconds=6))
    hit("pair:y", boundary + timedelta(seconds=6))  # another bucket is not counted
    with session_scope() as session:
        assert ratelimit.hits_lately(session, "pair:x", LIMIT, now=boundary + timedelta(seconds=30)) == 3
