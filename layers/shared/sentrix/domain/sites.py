"""Sites: one record per breeding site however many photos show it (docs/sites.md). Pure rules, no I/O.

- A detection's *family* comes from its breeding-site type (classes.normalize_class_name): water-holding
  (puddles, holes), refuse, road defect. Unknown classes belong to no family and start no site.
- A detection joins the nearest site of its family within the family's radius (widened by the GPS accuracy
  when one is known), else it starts one. A site closed less than RECURRENCE_DAYS ago takes it too and
  reopens, counting a recurrence.
- Lifecycle: open → assigned → treated → closed, plus reopened and dismissed (TRANSITIONS).
- Priority: a score and the reasons that make it (`priority`), for the team's work list.
- Concurrency: merging takes PostgreSQL advisory locks on a coarse grid around the point (`lock_keys`), so
  two detections near each other stored at the same moment are serialised and make one site.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sentrix.domain.classes import BreedingSiteType, normalize_class_name
from sentrix.domain.roles import Role


class SiteFamily(StrEnum):
    WATER = "water"
    REFUSE = "refuse"
    ROAD = "road"


class SiteStatus(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    TREATED = "treated"
    CLOSED = "closed"
    REOPENED = "reopened"
    DISMISSED = "dismissed"


class SiteAction(StrEnum):
    """What the timeline records. The first six are what people ask for (POST /sites/{id}/actions); the
    others are recorded by the system: a site started, a verdict that dismissed it or brought it back."""

    ASSIGN = "assign"
    TREAT = "treat"
    VERIFY = "verify"
    CLOSE = "close"
    REOPEN = "reopen"
    DISMISS = "dismiss"
    CREATE = "create"
    RESTORE = "restore"


REQUESTED_ACTIONS = (
    SiteAction.ASSIGN,
    SiteAction.TREAT,
    SiteAction.VERIFY,
    SiteAction.CLOSE,
    SiteAction.REOPEN,
    SiteAction.DISMISS,
)

FAMILY_BY_TYPE: dict[BreedingSiteType, SiteFamily] = {
    BreedingSiteType.CHARCOS_CUMULO_AGUA: SiteFamily.WATER,
    BreedingSiteType.HUECOS: SiteFamily.WATER,
    BreedingSiteType.BASURA: SiteFamily.REFUSE,
    BreedingSiteType.CALLES_MAL_HECHAS: SiteFamily.ROAD,
}

# Sites that take new detections as they are; a closed one takes them only within the recurrence window.
ACTIVE = frozenset({SiteStatus.OPEN, SiteStatus.ASSIGNED, SiteStatus.TREATED, SiteStatus.REOPENED})
DEFAULT_RADIUS_M = 15.0
# The lock grid (below) is only sound for radii up to this: a setting above it is refused.
MAX_RADIUS_M = 100.0
RECURRENCE_DAYS = 60


def family_of(site_type: BreedingSiteType | str | None) -> SiteFamily | None:
    """The site family of a breeding-site type or class name (aliases too); None for unknown classes."""
    normalized = normalize_class_name(site_type) if site_type is not None else None
    return FAMILY_BY_TYPE.get(normalized) if normalized is not None else None


def merge_radius(base_m: float, accuracy_m: float | None = None) -> float:
    """The radius a detection searches within: its family's, widened to the GPS accuracy when that is larger
    (a fix good to ±30 m cannot tell 15 m apart), never beyond MAX_RADIUS_M."""
    radius = base_m
    if accuracy_m is not None and math.isfinite(accuracy_m) and accuracy_m > radius:
        radius = accuracy_m
    return min(radius, MAX_RADIUS_M)


def recurrence_cutoff(now: datetime, days: int = RECURRENCE_DAYS) -> datetime:
    """Sites closed at or after this moment reopen when a new detection joins them."""
    return now - timedelta(days=days)


# --- Lifecycle -----------------------------------------------------------------------------------------------
TRANSITIONS: dict[SiteAction, tuple[frozenset[SiteStatus], SiteStatus | None]] = {
    # action: (statuses it may be taken from, status it leads to; None keeps the status)
    SiteAction.ASSIGN: (frozenset(ACTIVE), SiteStatus.ASSIGNED),
    SiteAction.TREAT: (frozenset(ACTIVE), SiteStatus.TREATED),
    SiteAction.VERIFY: (frozenset({SiteStatus.TREATED}), None),
    SiteAction.CLOSE: (frozenset({SiteStatus.TREATED}), SiteStatus.CLOSED),
    SiteAction.REOPEN: (frozenset({SiteStatus.CLOSED, SiteStatus.DISMISSED}), SiteStatus.REOPENED),
    SiteAction.DISMISS: (frozenset(ACTIVE), SiteStatus.DISMISSED),
}


def next_status(current: SiteStatus, action: SiteAction) -> SiteStatus | None:
    """The status `action` leads to from `current`, or None when the transition is not allowed."""
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        return None
    return target or current


def may_act_on_sites(role: Role) -> bool:
    """Whether a role may record actions on sites: the ONE permission check of the lifecycle.

    Experts, admins and officials; an official acts only on the sites of their territories, which is the
    caller's scope (functions/upload dal/sites._scope: a site outside is 404).
    """
    return role.at_least(Role.EXPERT) or role is Role.OFFICIAL


# --- Verification --------------------------------------------------------------------------------------------
class VerificationRefusal(StrEnum):
    """Why an "after" analysis does not verify a treated site (catalogue key `site.verify.<value>`)."""

    NOT_TREATED = "not_treated"
    NO_EVIDENCE = "no_evidence"
    NOT_COMPLETED = "not_completed"
    NO_LOCATION = "no_location"
    TOO_FAR = "too_far"
    BEFORE_TREATMENT = "before_treatment"
    STILL_THERE = "still_there"


@dataclass(frozen=True, slots=True)
class AfterPhoto:
    """What verification needs to know of the evidence analysis."""

    completed: bool
    distance_m: float | None  # None: the analysis has no location
    uploaded_at: datetime
    same_family_detections: int  # detections of the site's family that are not rejected


def verification_refusal(
    treated_at: datetime | None, radius_m: float, evidence: AfterPhoto | None
) -> VerificationRefusal | None:
    """None when `evidence` verifies the treatment, else the first reason it does not."""
    if treated_at is None:
        return VerificationRefusal.NOT_TREATED
    if evidence is None:
        return VerificationRefusal.NO_EVIDENCE
    if not evidence.completed:
        return VerificationRefusal.NOT_COMPLETED
    if evidence.distance_m is None:
        return VerificationRefusal.NO_LOCATION
    if evidence.distance_m > radius_m:
        return VerificationRefusal.TOO_FAR
    if evidence.uploaded_at <= treated_at:
        return VerificationRefusal.BEFORE_TREATMENT
    if evidence.same_family_detections > 0:
        return VerificationRefusal.STILL_THERE
    return None


# --- Priority ------------------------------------------------------------------------------------------------
CONFIRMED_POINTS = 40
FAMILY_POINTS = {SiteFamily.WATER: 30, SiteFamily.REFUSE: 20, SiteFamily.ROAD: 10}
RECURRENCE_POINTS = 15
RECURRENCE_POINTS_MAX = 45
RECENT_DAYS = 7
RECENT_POINTS = 20
LATELY_DAYS = 30
LATELY_POINTS = 10
REPORTER_POINTS = 5  # per distinct reporter beyond the first
REPORTER_POINTS_MAX = 20


@dataclass(frozen=True, slots=True)
class PriorityReason:
    code: str  # catalogue key `site.priority.<code>`
    points: int
    value: int | str | None = None


@dataclass(frozen=True, slots=True)
class Priority:
    score: int
    reasons: tuple[PriorityReason, ...]


def priority(
    *,
    status: SiteStatus,
    family: SiteFamily,
    confirmed: bool,
    recurrences: int,
    last_report_at: datetime,
    reporters: int,
    now: datetime,
) -> Priority | None:
    """The work-list score of a site that still needs work (None for closed and dismissed sites).

    Points: confirmed by an expert 40; family water 30, refuse 20, road 10; 15 per recurrence (at most 45);
    last report within 7 days 20, within 30 days 10; 5 per distinct reporter beyond the first (at most 20).
    The reasons list every part that scored, largest first.
    """
    if status not in ACTIVE:
        return None
    reasons = [PriorityReason("family", FAMILY_POINTS[family], family.value)]
    if confirmed:
        reasons.append(PriorityReason("confirmed", CONFIRMED_POINTS))
    if recurrences > 0:
        reasons.append(
            PriorityReason("recurrences", min(recurrences * RECURRENCE_POINTS, RECURRENCE_POINTS_MAX), recurrences)
        )
    age = now - last_report_at
    if age <= timedelta(days=RECENT_DAYS):
        reasons.append(PriorityReason("recent", RECENT_POINTS, RECENT_DAYS))
    elif age <= timedelta(days=LATELY_DAYS):
        reasons.append(PriorityReason("lately", LATELY_POINTS, LATELY_DAYS))
    if reporters > 1:
        reasons.append(
            PriorityReason("reporters", min((reporters - 1) * REPORTER_POINTS, REPORTER_POINTS_MAX), reporters)
        )
    reasons.sort(key=lambda r: -r.points)
    return Priority(sum(r.points for r in reasons), tuple(reasons))


# --- Lock grid -----------------------------------------------------------------------------------------------
# Cells of 0.001° of latitude (≈111 m) by 0.01° of longitude (≥ 100 m up to 84° of latitude): two points
# closer than MAX_RADIUS_M are in the same or adjacent cells, so their 3×3 blocks share a cell and the
# second writer waits for the first. Beyond 84° one polar key per hemisphere.
LOCK_NAMESPACE = 0x5173  # "Si(te)s": keeps these keys apart from any other advisory lock
_LAT_CELL = 0.001
_LON_CELL = 0.01
_LON_CELLS = 36_000
_POLAR_LAT = 84.0


def _key(family: SiteFamily, row: int, column: int) -> int:
    family_index = list(SiteFamily).index(family)
    # 15 + 4 + 18 + 16 bits: fits PostgreSQL's bigint.
    return (LOCK_NAMESPACE << 38) | (family_index << 34) | ((row + 90_001) << 16) | column


def lock_keys(family: SiteFamily, latitude: float, longitude: float) -> list[int]:
    """The advisory lock keys a merge at this point takes, sorted (every writer locks in one order: no deadlock)."""
    polar = _key(family, 90_000 if latitude > 0 else -90_000, 0)
    if abs(latitude) >= _POLAR_LAT:
        return [polar]
    row = math.floor(latitude / _LAT_CELL)
    column = math.floor((longitude + 180.0) / _LON_CELL)
    keys = {_key(family, row + dr, (column + dc) % _LON_CELLS) for dr in (-1, 0, 1) for dc in (-1, 0, 1)}
    if abs(latitude) >= _POLAR_LAT - 0.01:  # near the polar cap's edge: its key too (0.01° ≈ 1.1 km)
        keys.add(polar)
    return sorted(keys)
