"""Rate limits kept in PostgreSQL, so every Lambda instance sees the same counters.

Fixed windows per bucket (`hit`, `check`, `clear`), and streaks of consecutive failures per account with an
exponential backoff and a hard ceiling (`Backoff`, `record_failure`, `refuse_if_backing_off`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sentrix.db.tables import login_failure_streaks, rate_limit_hits
from sentrix.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    """At most `max_hits` per `window_s` seconds for one bucket."""

    max_hits: int
    window_s: int


def _window(now: datetime, window_s: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_s, tz=UTC)


def hit(
    session: Session,
    bucket: str,
    limit: Limit,
    *,
    now: datetime | None = None,
    message: str,
    key: str | None = None,
    **values: object,
) -> int:
    """Count one hit atomically; raise RateLimited (with Retry-After) once the window is full (`key` and
    `values`: the message in the catalogue, see SentrixError)."""
    now = now or datetime.now(UTC)
    start = _window(now, limit.window_s)
    statement = (
        insert(rate_limit_hits)
        .values(bucket=bucket, window_start=start, hits=1)
        .on_conflict_do_update(index_elements=["bucket", "window_start"], set_={"hits": rate_limit_hits.c.hits + 1})
        .returning(rate_limit_hits.c.hits)
    )
    hits = session.execute(statement).scalar_one()
    if hits > limit.max_hits:
        retry_after = int((start + timedelta(seconds=limit.window_s) - now).total_seconds()) + 1
        raise RateLimited(message, retry_after=retry_after, key=key, **values)
    return hits


def check(
    session: Session, bucket: str, limit: Limit, *, now: datetime | None = None, message: str, **error: object
) -> int:
    """Raise RateLimited if the bucket is already full, without counting a hit (e.g. before a login attempt);
    otherwise return the hits of the current window."""
    now = now or datetime.now(UTC)
    start = _window(now, limit.window_s)
    hits = session.scalar(
        select(rate_limit_hits.c.hits).where(
            rate_limit_hits.c.bucket == bucket, rate_limit_hits.c.window_start == start
        )
    )
    if hits is not None and hits >= limit.max_hits:
        retry_after = int((start + timedelta(seconds=limit.window_s) - now).total_seconds()) + 1
        raise RateLimited(message, retry_after=retry_after, **error)
    return hits or 0


def hits_lately(session: Session, bucket: str, limit: Limit, *, now: datetime | None = None) -> int:
    """The bucket's hits in the current window and the one before it, without counting a hit.

    "Has this source failed lately?" must not forget at a window boundary: a failure a second before the
    boundary is as recent as one a second after it. Memory is between one and two windows long."""
    now = now or datetime.now(UTC)
    start = _window(now, limit.window_s)
    earlier = start - timedelta(seconds=limit.window_s)
    total = session.scalar(
        select(func.coalesce(func.sum(rate_limit_hits.c.hits), 0)).where(
            rate_limit_hits.c.bucket == bucket, rate_limit_hits.c.window_start.in_([earlier, start])
        )
    )
    return int(total)


def clear(session: Session, bucket: str) -> None:
    """Forget a bucket's hits (e.g. failed logins after a successful one)."""
    session.execute(delete(rate_limit_hits).where(rate_limit_hits.c.bucket == bucket))


def prune(session: Session, *, older_than_s: int = 2 * 24 * 3600, now: datetime | None = None) -> int:
    """Delete windows that can no longer matter; returns how many rows went (failure streaks are kept)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=older_than_s)
    result = session.execute(
        delete(rate_limit_hits).where(
            rate_limit_hits.c.window_start < cutoff, rate_limit_hits.c.window_start != SLOT_WINDOW
        )
    )
    return result.rowcount or 0


# --------------------------------------------------------------------------------------------------
# Consecutive failures of one account
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Backoff:
    """How long an account's streak of consecutive failures refuses further attempts.

    From `start_after` consecutive failures on, an attempt from a source that has itself failed on the account
    waits `base_s · 2^(n − start_after)` seconds (at most `max_s`) after the last failure; a source without
    failures is not delayed, so an attacker elsewhere cannot lock the owner out. At `ceiling` consecutive
    failures (NIST SP 800-63B: at most 100) every attempt, from anywhere, is refused for `lockout_s` after the
    last failure. Only a success ends the streak.
    """

    start_after: int
    base_s: int
    max_s: int
    ceiling: int
    lockout_s: int

    def refusal_s(self, consecutive: int, *, source_failed: bool) -> int:
        """Seconds after the last failure during which this attempt is refused (0: go ahead)."""
        if consecutive >= self.ceiling:
            return self.lockout_s
        if not source_failed or consecutive < self.start_after:
            return 0
        # The exponent is capped so a huge streak cannot build a huge integer.
        return min(self.max_s, self.base_s * 2 ** min(consecutive - self.start_after, 32))


def refuse_if_backing_off(
    session: Session,
    account: str,
    backoff: Backoff,
    *,
    source_failed: bool,
    now: datetime | None = None,
    message: str,
    **error: object,
) -> None:
    """Raise RateLimited while the account's streak refuses this attempt (see `Backoff`)."""
    now = now or datetime.now(UTC)
    row = session.execute(
        select(login_failure_streaks.c.consecutive, login_failure_streaks.c.last_failure_at).where(
            login_failure_streaks.c.account == account
        )
    ).one_or_none()
    if row is None:
        return
    wait = backoff.refusal_s(row.consecutive, source_failed=source_failed)
    remaining = (row.last_failure_at + timedelta(seconds=wait) - now).total_seconds()
    if wait and remaining > 0:
        raise RateLimited(message, retry_after=int(remaining) + 1, **error)


def record_failure(session: Session, account: str, *, now: datetime | None = None) -> int:
    """Add one failure to the account's streak atomically; returns the streak's length."""
    now = now or datetime.now(UTC)
    statement = (
        insert(login_failure_streaks)
        .values(account=account, consecutive=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=["account"],
            set_={"consecutive": login_failure_streaks.c.consecutive + 1, "last_failure_at": now},
        )
        .returning(login_failure_streaks.c.consecutive)
    )
    return session.execute(statement).scalar_one()


def end_streak(session: Session, account: str) -> None:
    """A success: the account's failures are no longer consecutive."""
    session.execute(delete(login_failure_streaks).where(login_failure_streaks.c.account == account))


# Slot rows of `hold_slot` sit in this window: older than any hit, so no counting window ever meets them;
# `prune` leaves them (one row per user and family; deleting one would wait for its holder).
SLOT_WINDOW = datetime(1970, 1, 1, tzinfo=UTC)


def hold_slot(session: Session, bucket: str, slots: int, *, message: str, retry_after: int = 5, **kwargs) -> int:
    """Hold one of `slots` in-flight places of `bucket` until the session's transaction ends; RateLimited
    when all are held. A row lock (FOR UPDATE SKIP LOCKED), not an advisory lock: it never pins an RDS Proxy
    connection beyond the transaction, and it is released by COMMIT, ROLLBACK, a statement timeout or a dead
    connection alike, so an abandoned request frees its place with its transaction."""
    names = [f"{bucket}:{slot}" for slot in range(slots)]
    held = _lock_free_slot(session, names)
    if held is None and _create_slots(names):
        held = _lock_free_slot(session, names)
    if held is None:
        raise RateLimited(message, retry_after=retry_after, **kwargs)
    return names.index(held)


def _lock_free_slot(session: Session, names: list[str]) -> str | None:
    return session.scalar(
        select(rate_limit_hits.c.bucket)
        .where(rate_limit_hits.c.bucket.in_(names), rate_limit_hits.c.window_start == SLOT_WINDOW)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


def _create_slots(names: list[str]) -> int:
    """Make the missing slot rows in a transaction of their own, committed at once: a row another transaction
    inserted and has not committed would make every INSERT … ON CONFLICT wait for it. Returns how many."""
    from sentrix.db.engine import session_scope

    with session_scope() as own:
        result = own.execute(
            insert(rate_limit_hits)
            .values([{"bucket": name, "window_start": SLOT_WINDOW, "hits": 0} for name in names])
            .on_conflict_do_nothing()
        )
        return result.rowcount or 0
