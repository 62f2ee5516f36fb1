"""The pure rules of sites: families, radius, lifecycle, verification, priority and the lock grid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sentrix.domain.roles import Role
from sentrix.domain.sites import (
    AfterPhoto,
    SiteAction,
    SiteFamily,
    SiteStatus,
    VerificationRefusal,
    family_of,
    lock_keys,
    may_act_on_sites,
    merge_radius,
    next_status,
    priority,
    verification_refusal,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("Charcos/Cumulo de agua", SiteFamily.WATER),
        ("Huecos", SiteFamily.WATER),
        ("  cúmulo de agua ", SiteFamily.WATER),  # an alias, accents and case folded
        ("Basura", SiteFamily.REFUSE),
        ("Trash", SiteFamily.REFUSE),
        ("Calles mal hechas", SiteFamily.ROAD),
        ("CALLES_MAL_HECHAS", SiteFamily.ROAD),
        ("Clase_7", None),
        (None, None),
    ],
)
def test_families_come_from_the_class_normalisation(name, family):
    assert family_of(name) is family


def test_the_radius_widens_to_a_worse_gps_accuracy_and_never_past_100_m():
    assert merge_radius(15.0) == 15.0
    assert merge_radius(15.0, 8.0) == 15.0
    assert merge_radius(15.0, 32.5) == 32.5
    assert merge_radius(15.0, 400.0) == 100.0
    assert merge_radius(15.0, float("nan")) == 15.0


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (SiteStatus.OPEN, SiteAction.ASSIGN, SiteStatus.ASSIGNED),
        (SiteStatus.ASSIGNED, SiteAction.TREAT, SiteStatus.TREATED),
        (SiteStatus.OPEN, SiteAction.TREAT, SiteStatus.TREATED),
        (SiteStatus.TREATED, SiteAction.VERIFY, SiteStatus.TREATED),
        (SiteStatus.TREATED, SiteAction.CLOSE, SiteStatus.CLOSED),
        (SiteStatus.CLOSED, SiteAction.REOPEN, SiteStatus.REOPENED),
        (SiteStatus.DISMISSED, SiteAction.REOPEN, SiteStatus.REOPENED),
        (SiteStatus.REOPENED, SiteAction.ASSIGN, SiteStatus.ASSIGNED),
        (SiteStatus.ASSIGNED, SiteAction.DISMISS, SiteStatus.DISMISSED),
        # refused
        (SiteStatus.OPEN, SiteAction.CLOSE, None),
        (SiteStatus.ASSIGNED, SiteAction.CLOSE, None),
        (SiteStatus.OPEN, SiteAction.VERIFY, None),
        (SiteStatus.OPEN, SiteAction.REOPEN, None),
        (SiteStatus.CLOSED, SiteAction.ASSIGN, None),
        (SiteStatus.CLOSED, SiteAction.CLOSE, None),
        (SiteStatus.DISMISSED, SiteAction.DISMISS, None),
    ],
)
def test_the_lifecycle_allows_only_its_transitions(current, action, expected):
    assert next_status(current, action) is expected


def test_experts_and_admins_may_act_users_may_not():
    assert [may_act_on_sites(role) for role in (Role.USER, Role.EXPERT, Role.ADMIN)] == [False, True, True]


TREATED_AT = NOW - timedelta(days=2)


def after(**changes) -> AfterPhoto:
    values = {"completed": True, "distance_m": 9.0, "uploaded_at": NOW - timedelta(days=1), "same_family_detections": 0}
    return AfterPhoto(**{**values, **changes})


@pytest.mark.parametrize(
    ("treated_at", "evidence", "refusal"),
    [
        (TREATED_AT, after(), None),
        (TREATED_AT, after(distance_m=15.0), None),  # at the radius itself
        (None, after(), VerificationRefusal.NOT_TREATED),
        (TREATED_AT, None, VerificationRefusal.NO_EVIDENCE),
        (TREATED_AT, after(completed=False), VerificationRefusal.NOT_COMPLETED),
        (TREATED_AT, after(distance_m=None), VerificationRefusal.NO_LOCATION),
        (TREATED_AT, after(distance_m=15.01), VerificationRefusal.TOO_FAR),
        (TREATED_AT, after(uploaded_at=TREATED_AT), VerificationRefusal.BEFORE_TREATMENT),
        (TREATED_AT, after(same_family_detections=1), VerificationRefusal.STILL_THERE),
    ],
)
def test_an_after_photo_verifies_only_near_after_the_treatment_and_without_the_site(treated_at, evidence, refusal):
    assert verification_refusal(treated_at, 15.0, evidence) is refusal


def test_priority_adds_every_reason_worked_out_by_hand():
    # Given a confirmed water site that came back twice, reported 3 days ago by 4 people
    found = priority(
        status=SiteStatus.REOPENED,
        family=SiteFamily.WATER,
        confirmed=True,
        recurrences=2,
        last_report_at=NOW - timedelta(days=3),
        reporters=4,
        now=NOW,
    )
    # Then 40 (confirmed) + 30 (water) + 30 (2 x 15) + 20 (within 7 days) + 15 (3 more reporters x 5) = 135
    assert found.score == 135
    assert [(r.code, r.points) for r in found.reasons] == [
        ("confirmed", 40),
        ("family", 30),
        ("recurrences", 30),
        ("recent", 20),
        ("reporters", 15),
    ]


def test_priority_caps_and_the_older_reports():
    # A road site, unconfirmed, 5 recurrences (capped at 45), last report 20 days ago, 9 reporters (capped at 20)
    found = priority(
        status=SiteStatus.OPEN,
        family=SiteFamily.ROAD,
        confirmed=False,
        recurrences=5,
        last_report_at=NOW - timedelta(days=20),
        reporters=9,
        now=NOW,
    )
    # 10 + 45 + 10 + 20 = 85
    assert found.score == 85
    # A refuse site of one reporter, last seen 31 days ago: its family only
    old = priority(
        status=SiteStatus.ASSIGNED,
        family=SiteFamily.REFUSE,
        confirmed=False,
        recurrences=0,
        last_report_at=NOW - timedelta(days=31),
        reporters=1,
        now=NOW,
    )
    assert (old.score, [r.code for r in old.reasons]) == (20, ["family"])


@pytest.mark.parametrize("status", [SiteStatus.CLOSED, SiteStatus.DISMISSED])
def test_closed_and_dismissed_sites_have_no_priority(status):
    assert (
        priority(
            status=status,
            family=SiteFamily.WATER,
            confirmed=True,
            recurrences=0,
            last_report_at=NOW,
            reporters=1,
            now=NOW,
        )
        is None
    )


def test_points_within_100_m_share_a_lock_key_and_families_do_not():
    # 90 m north (0.00081°), 90 m east at -26.8° (0.000907°), across the antimeridian, and each family alone
    here = set(lock_keys(SiteFamily.WATER, -26.80000, -65.22000))
    assert here & set(lock_keys(SiteFamily.WATER, -26.79919, -65.22000))
    assert here & set(lock_keys(SiteFamily.WATER, -26.80000, -65.21909))
    assert not here & set(lock_keys(SiteFamily.REFUSE, -26.80000, -65.22000))
    assert set(lock_keys(SiteFamily.ROAD, 10.0, 179.9999)) & set(lock_keys(SiteFamily.ROAD, 10.0, -179.9999))
    # Near the pole's edge the polar key is shared with the cap
    assert set(lock_keys(SiteFamily.ROAD, 83.9995, 3.0)) & set(lock_keys(SiteFamily.ROAD, 84.0001, 3.0))
    # And keys are sorted and fit a PostgreSQL bigint
    keys = lock_keys(SiteFamily.ROAD, 89.0, 0.0) + lock_keys(SiteFamily.WATER, -83.0, 179.99)
    assert all(0 < k < 2**63 for k in keys)
    assert lock_keys(SiteFamily.WATER, 1.0, 1.0) == sorted(lock_keys(SiteFamily.WATER, 1.0, 1.0))
