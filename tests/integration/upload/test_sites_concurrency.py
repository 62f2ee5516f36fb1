"""Two detects storing near each other at the same moment make one site: the merge's advisory locks serialise
them. Without the locks the race is real and makes two (shown with the same two writers).

The first writer stores its report and merges it in a transaction it keeps open; the second runs in a thread
on its own connection. With the locks the second waits (PostgreSQL reports it waiting for a lock) until the
first commits, then finds the first's site; without them it cannot see the uncommitted site and starts one.
"""

from __future__ import annotations

import threading
import time

import pytest

from sentrix.db.engine import session_scope
from sentrix.domain.sites import SiteFamily
from sentrix.repositories import sites
from tests.integration.upload.sites_support import BASE_LON, CHARCOS, insert_report, lock_waits, north, site_count
from tests.integration.upload.support import make_user

pytestmark = pytest.mark.integration

WAIT_FOR_LOCK_S = 60.0  # how long the second writer gets to reach the lock; failing to is an error


# Two points 6 m apart on either side of a public map cell's edge (0.01°): the map rollup's own row locks
# (migration 0004) would serialise two writers inside one cell; across the edge only the sites' locks can.
EDGE = -26.79
FIRST, SECOND = north(3, EDGE), north(-3, EDGE)


def race(lock: bool) -> tuple[int, list[str]]:
    """(sites made, what the second writer waited for) for two reports 6 m apart stored at the same moment."""
    rules = sites.MergeRules(radii_m=dict.fromkeys(SiteFamily, 15.0), lock=lock)
    first_user, second_user = make_user(), make_user()
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            with session_scope() as session:
                _, detections = insert_report(session, second_user, SECOND, BASE_LON, (CHARCOS,))
                sites.join_or_create(session, detections, SECOND, BASE_LON, rules=rules)
        except BaseException as exc:  # surfaced below: a silent thread would look like a pass
            errors.append(exc)

    waits: list[str] = []
    with session_scope() as session:
        _, detections = insert_report(session, first_user, FIRST, BASE_LON, (CHARCOS,))
        sites.join_or_create(session, detections, FIRST, BASE_LON, rules=rules)
        thread = threading.Thread(target=second_writer, name="second-detect")
        thread.start()
        deadline = time.monotonic() + WAIT_FOR_LOCK_S
        # Either the second writer waits for a lock we hold, or it finishes on its own
        while thread.is_alive() and not waits:
            assert time.monotonic() < deadline, "the second writer neither waited nor finished"
            waits = lock_waits()
    thread.join(WAIT_FOR_LOCK_S)
    assert not thread.is_alive()
    assert not errors, errors
    return site_count(), waits


def test_two_concurrent_writers_near_each_other_make_one_site(upload_env):
    made, waits = race(lock=True)
    assert waits == ["advisory"]  # the second writer waited for the sites' lock, nothing else
    assert made == 1


def test_without_the_lock_the_same_race_makes_two_sites(upload_env):
    made, waits = race(lock=False)
    assert waits == []  # nothing held it back
    assert made == 2
