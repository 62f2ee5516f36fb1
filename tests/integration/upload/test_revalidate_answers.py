"""Revalidation (`POST /detections/{id}/revalidate`, docs/upload.md "Validity"): the detection is read locked, so
a revalidation that meets a concurrent deletion of its analysis waits for it and answers "not found"; and the
season is read in the analysis' own zone at the moment of revalidation (docs/detect.md: detect's season)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sentrix.db.engine import session_scope
from sentrix.db.models import Detection
from sentrix.domain.roles import Role
from sentrix.errors import NotFound
from sentrix.http.identity import Principal
from tests.integration.upload.sites_support import lock_waits
from tests.integration.upload.support import Caller, make_user, seed_analysis

pytestmark = pytest.mark.integration

WAIT_FOR_LOCK_S = 60.0  # how long the revalidation gets to reach the lock; failing to is an error
BASURA = 0
SYDNEY = (-33.8688, 151.2093)


def principal_of(caller: Caller) -> Principal:
    return Principal(caller.id, Role(caller.role), caller.email)


def the_detection(analysis_id) -> Detection:
    with session_scope() as session:
        return session.query(Detection).filter(Detection.analysis_id == analysis_id).one()


def test_a_revalidation_meeting_the_deletion_of_its_analysis_waits_and_finds_nothing(upload_env):
    from sentrix_upload.logic import validity

    owner, expert = make_user(), make_user("expert")
    analysis = seed_analysis(owner, classes=(BASURA,))
    detection_id = the_detection(analysis).id
    outcome: list[object] = []

    def revalidate() -> None:
        try:
            outcome.append(validity.revalidate(principal_of(expert), str(detection_id), None, "seen again"))
        except BaseException as exc:  # surfaced below: a silent thread would look like a pass
            outcome.append(exc)

    # Given the owner deleting the analysis (its detections go with it) in a transaction not yet committed
    waits: list[str] = []
    with session_scope() as session:
        session.execute(text("DELETE FROM analyses WHERE id = :id"), {"id": analysis})
        # When an expert revalidates its detection meanwhile
        thread = threading.Thread(target=revalidate, name="revalidate")
        thread.start()
        deadline = time.monotonic() + WAIT_FOR_LOCK_S
        while thread.is_alive() and not waits:
            assert time.monotonic() < deadline, "the revalidation neither waited nor finished"
            waits = lock_waits()
    thread.join(WAIT_FOR_LOCK_S)

    # Then it waited for the deletion and, once it was committed, found no detection: 404's error, not a crash
    assert not thread.is_alive()
    assert waits, "the revalidation did not wait for the deleting transaction"
    (result,) = outcome
    assert isinstance(result, NotFound), repr(result)
    assert (result.message, result.key) == ("Detection not found", "err.detection_not_found")


def test_the_season_is_the_month_in_the_analysis_zone_at_revalidation(upload_env):
    # Given trash photographed in Sydney, stored with its local zone, and a process running in UTC (a Lambda's
    # zone; the process zone must not decide the month)
    import os
    import time

    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        _revalidate_in_sydney()
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def _revalidate_in_sydney() -> None:
    from sentrix_upload.logic import validity

    owner, expert = make_user(), make_user("expert")
    analysis = seed_analysis(owner, classes=(BASURA,), latitude=SYDNEY[0], longitude=SYDNEY[1])
    with session_scope() as session:
        session.execute(
            text("UPDATE analyses SET local_time_zone = 'Australia/Sydney' WHERE id = :id"), {"id": analysis}
        )
    detection_id = the_detection(analysis).id

    # When an expert revalidates it at 14:00 UTC on 30 November 2026: 1 December, 01:00 in Sydney (UTC+11)
    now = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    answer = validity.revalidate(principal_of(expert), str(detection_id), None, None, now=now)

    # Then the southern summer (wet season) counts: 7 days × ALTO 1.2 × wet 1.8 × validated 1.3 = 19.656 → 19,
    # not November's seasonless 7 × 1.2 × 1.3 = 10.92 → 10
    assert answer["detection"]["validity_days"] == 19
    stored = the_detection(analysis)
    assert (stored.validity_days, stored.expires_at) == (19, now + timedelta(days=19))
