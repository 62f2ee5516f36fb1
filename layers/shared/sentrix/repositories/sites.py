"""Sites in the database: detections join or start them (detect), verdicts and deletions settle them (upload).

Every function works inside the caller's transaction: a detection is on its site when its row commits, never
after. The rules are sentrix.domain.sites'; docs/sites.md tells them whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from sentrix.config import Settings, get_settings
from sentrix.domain.classes import BreedingSiteType
from sentrix.domain.sites import (
    ACTIVE,
    RECURRENCE_DAYS,
    SiteAction,
    SiteFamily,
    SiteStatus,
    family_of,
    lock_keys,
    merge_radius,
)

_ACTIVE = sorted(s.value for s in ACTIVE)


@dataclass(frozen=True, slots=True)
class MergeRules:
    """Radius per family, the recurrence window, and whether to lock (False only to show the race in tests)."""

    radii_m: dict[SiteFamily, float] = field(default_factory=lambda: dict.fromkeys(SiteFamily, 15.0))
    recurrence_days: int = RECURRENCE_DAYS
    lock: bool = True

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> MergeRules:
        settings = settings or get_settings()
        return cls(
            radii_m={family: settings.site_radius_m(family) for family in SiteFamily},
            recurrence_days=settings.site_recurrence_days,
        )


def _lock(session: Session, keys: Iterable[int]) -> None:
    # One round trip for the whole block, taken in ascending order (OFFSET 0 keeps the sorted subquery a
    # fence): every writer locks in the same order, so two merges never deadlock on each other.
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(k) FROM "
            "(SELECT k FROM unnest(CAST(:keys AS bigint[])) AS k ORDER BY k OFFSET 0) AS ordered"
        ),
        {"keys": sorted(set(keys))},
    ).all()


def _record(
    session: Session,
    site_id: uuid.UUID,
    action: SiteAction,
    from_status: SiteStatus | None,
    to_status: SiteStatus,
    *,
    actor_id: uuid.UUID | None = None,
    cause: str | None = None,
) -> None:
    session.execute(
        text(
            "INSERT INTO site_actions (id, site_id, action, actor_id, cause, from_status, to_status) VALUES "
            "(:id, :site, CAST(:action AS site_action), :actor, :cause, CAST(:from_status AS site_status), "
            "CAST(:to_status AS site_status))"
        ),
        {
            "id": uuid.uuid4(),
            "site": site_id,
            "action": action.value,
            "actor": actor_id,
            "cause": cause,
            "from_status": from_status.value if from_status else None,
            "to_status": to_status.value,
        },
    )


_POINT = "ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326)"

# The nearest site of the family within the radius that still takes detections: an active one before one
# closed within the recurrence window. ST_DWithin on geography uses ix_sites_location_geog.
_CANDIDATE = text(
    f"""
    SELECT id, status FROM sites
    WHERE family = CAST(:family AS site_family)
      AND ST_DWithin(CAST(location AS geography), CAST({_POINT} AS geography), :radius)
      AND (status = ANY(CAST(:active AS site_status[]))
           OR (status = 'closed' AND closed_at >= now() - make_interval(days => :days)))
    ORDER BY status = 'closed', ST_Distance(CAST(location AS geography), CAST({_POINT} AS geography)), id
    LIMIT 1
    FOR UPDATE
    """  # noqa: S608 - constant text, values bound
)


def _site_for(
    session: Session, family: SiteFamily, latitude: float, longitude: float, radius_m: float, rules: MergeRules
) -> uuid.UUID:
    found = session.execute(
        _CANDIDATE,
        {
            "family": family.value,
            "lat": latitude,
            "lon": longitude,
            "radius": radius_m,
            "active": _ACTIVE,
            "days": rules.recurrence_days,
        },
    ).first()
    if found is not None:
        if found.status == SiteStatus.CLOSED.value:
            # A recurrence: the closed site comes back rather than a new one starting beside it.
            session.execute(
                text(
                    "UPDATE sites SET status = 'reopened', recurrences = recurrences + 1, closed_at = NULL "
                    "WHERE id = :id"
                ),
                {"id": found.id},
            )
            _record(session, found.id, SiteAction.REOPEN, SiteStatus.CLOSED, SiteStatus.REOPENED, cause="recurrence")
        return found.id
    site_id = uuid.uuid4()
    session.execute(
        text(
            "INSERT INTO sites (id, family, status, location, radius_m, first_report_at, last_report_at) "  # noqa: S608
            f"VALUES (:id, CAST(:family AS site_family), 'open', {_POINT}, :radius, now(), now())"
        ),
        {"id": site_id, "family": family.value, "lat": latitude, "lon": longitude, "radius": radius_m},
    )
    _record(session, site_id, SiteAction.CREATE, None, SiteStatus.OPEN)
    return site_id


def join_or_create(
    session: Session,
    detections: Sequence[tuple[uuid.UUID, BreedingSiteType | str | None]],
    latitude: float,
    longitude: float,
    *,
    accuracy_m: float | None = None,
    rules: MergeRules | None = None,
) -> list[uuid.UUID]:
    """Put freshly stored detections (id, breeding-site type) taken at one point on their sites.

    Per family: the nearest site that takes them within the radius, else a new one; detections of unknown
    classes stay without a site. Returns the sites touched. Call it in the transaction that stored them.
    """
    rules = rules or MergeRules.from_settings()
    by_family: dict[SiteFamily, list[uuid.UUID]] = {}
    for detection_id, site_type in detections:
        family = family_of(site_type)
        if family is not None:
            by_family.setdefault(family, []).append(detection_id)
    if not by_family:
        return []
    if rules.lock:
        _lock(session, [key for family in by_family for key in lock_keys(family, latitude, longitude)])
    touched = []
    for family in sorted(by_family):
        radius = merge_radius(rules.radii_m[family], accuracy_m)
        site_id = _site_for(session, family, latitude, longitude, radius, rules)
        session.execute(
            text("UPDATE detections SET site_id = :site WHERE id = ANY(CAST(:ids AS uuid[]))"),
            {"site": site_id, "ids": [str(i) for i in by_family[family]]},
        )
        touched.append(site_id)
    refresh(session, touched)
    return touched


def refresh(session: Session, site_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Recompute what sites derive from their members (detections not rejected): centroid, report times,
    counts, confirmation. Returns each site's member count. A site without members keeps its last values."""
    if not site_ids:
        return {}
    rows = session.execute(
        text(
            """
            UPDATE sites s SET
                location = coalesce(m.centroid, s.location),
                first_report_at = coalesce(m.first_at, s.first_report_at),
                last_report_at = coalesce(m.last_at, s.last_report_at),
                report_count = m.reports,
                detection_count = m.members,
                reporter_count = m.reporters,
                confirmed = coalesce(m.confirmed, false),
                updated_at = now()
            FROM unnest(CAST(:ids AS uuid[])) AS t (id)
            CROSS JOIN LATERAL (
                SELECT ST_Centroid(ST_Collect(d.location)) AS centroid, min(d.created_at) AS first_at,
                       max(d.created_at) AS last_at, count(DISTINCT d.analysis_id) AS reports,
                       count(*) AS members, count(DISTINCT a.user_id) AS reporters,
                       bool_or(d.validation_status = 'validated_positive') AS confirmed
                FROM detections d JOIN analyses a ON a.id = d.analysis_id
                WHERE d.site_id = t.id AND d.validation_status <> 'validated_negative'
            ) AS m
            WHERE s.id = t.id
            RETURNING s.id, s.detection_count
            """
        ),
        {"ids": [str(i) for i in dict.fromkeys(site_ids)]},
    ).all()
    return {row.id: row.detection_count for row in rows}


def settle(session: Session, site_ids: Iterable[uuid.UUID | None], actor_id: uuid.UUID | None) -> None:
    """After members left or came back (a verdict, a deleted analysis): recompute the sites, dismiss those
    with no member left, and restore those that a lack of members had dismissed once one is back.

    The sites are locked first (in id order): the recomputation that follows reads the members as committed
    by whoever held them before.
    """
    ids = sorted({i for i in site_ids if i is not None})
    if not ids:
        return
    statuses = dict(
        session.execute(
            text("SELECT id, status FROM sites WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE"),
            {"ids": [str(i) for i in ids]},
        ).all()
    )
    members = refresh(session, ids)
    for site_id in ids:
        status = SiteStatus(statuses[site_id])
        if members.get(site_id, 0) == 0 and status is not SiteStatus.DISMISSED:
            _set_status(session, site_id, SiteStatus.DISMISSED)
            _record(
                session,
                site_id,
                SiteAction.DISMISS,
                status,
                SiteStatus.DISMISSED,
                actor_id=actor_id,
                cause="no_members",
            )
        elif members.get(site_id, 0) > 0 and status is SiteStatus.DISMISSED:
            # Back only if the lack of members dismissed it: an expert's own dismissal stands.
            last = session.execute(
                text(
                    "SELECT action, cause, from_status FROM site_actions WHERE site_id = :id "
                    "ORDER BY at DESC, id DESC LIMIT 1"
                ),
                {"id": site_id},
            ).first()
            if last is not None and last.action == SiteAction.DISMISS.value and last.cause == "no_members":
                previous = SiteStatus(last.from_status)
                _set_status(session, site_id, previous)
                _record(
                    session,
                    site_id,
                    SiteAction.RESTORE,
                    SiteStatus.DISMISSED,
                    previous,
                    actor_id=actor_id,
                    cause="member_restored",
                )


def _set_status(session: Session, site_id: uuid.UUID, status: SiteStatus) -> None:
    session.execute(
        text("UPDATE sites SET status = CAST(:status AS site_status), updated_at = now() WHERE id = :id"),
        {"id": site_id, "status": status.value},
    )


def sites_of(session: Session, detection_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The sites these detections belong to (whatever their verdict)."""
    if not detection_ids:
        return []
    return list(
        session.scalars(
            text(
                "SELECT DISTINCT site_id FROM detections WHERE id = ANY(CAST(:ids AS uuid[])) AND site_id IS NOT NULL"
            ),
            {"ids": [str(i) for i in detection_ids]},
        )
    )
