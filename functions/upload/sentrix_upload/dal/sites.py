"""Queries over sites: the filtered work list, one site with its members and timeline, actions, evidence.

Users see the sites one of their own detections (not rejected) belongs to, and of each only what their own
members make (their count, times, point, confirmation: `own_view`), never the site's totals, which others'
reports move; experts and admins see everything (docs/sites.md, "Who sees what").
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, cast, exists, func, literal, select
from sqlalchemy.orm import Session

from sentrix.db.geometry import GEOGRAPHY
from sentrix.db.models import Analysis, Detection, Site, SiteActionRecord, User
from sentrix.domain import sites as rules
from sentrix.domain.sites import SiteAction, SiteStatus
from sentrix.domain.status import REJECTED, ValidationStatus
from sentrix.http.identity import Principal
from sentrix.repositories.officials import is_official, scope_codes
from sentrix_upload.dal import territories as territories_dal
from sentrix_upload.logic.filters import SiteFilters


def _point(latitude: float, longitude: float) -> Any:
    return func.ST_SetSRID(func.ST_MakePoint(longitude, latitude), 4326)


def _own_member(principal: Principal) -> Any:
    """A site one of the caller's own detections (not rejected) belongs to."""
    return exists().where(
        Detection.site_id == Site.id,
        Detection.validation_status != REJECTED,
        Detection.analysis_id.in_(select(Analysis.id).where(Analysis.user_id == principal.user_id)),
    )


def _scope(principal: Principal) -> list[Any]:
    if principal.sees_everything:
        return []
    if is_official(principal):
        # Their territories and every one below (docs/territories.md); nothing outside, not even their own.
        return [Site.territory_code.in_(scope_codes(principal.user_id))]
    return [_own_member(principal)]


def priority_sql(now: datetime) -> Any:
    """The score of sentrix.domain.sites.priority as SQL (same constants), 0 for closed and dismissed sites."""
    family_points = case(*((Site.family == family, points) for family, points in rules.FAMILY_POINTS.items()), else_=0)
    confirmed = case((Site.confirmed, rules.CONFIRMED_POINTS), else_=0)
    recurrences = func.least(Site.recurrences * rules.RECURRENCE_POINTS, rules.RECURRENCE_POINTS_MAX)
    recency = case(
        (Site.last_report_at >= now - timedelta(days=rules.RECENT_DAYS), rules.RECENT_POINTS),
        (Site.last_report_at >= now - timedelta(days=rules.LATELY_DAYS), rules.LATELY_POINTS),
        else_=0,
    )
    reporters = func.least(func.greatest(Site.reporter_count - 1, 0) * rules.REPORTER_POINTS, rules.REPORTER_POINTS_MAX)
    score = family_points + confirmed + recurrences + recency + reporters
    return case((Site.status.in_(sorted(rules.ACTIVE)), cast(score, Integer)), else_=literal(0))


def _conditions(principal: Principal, filters: SiteFilters) -> list[Any]:
    where = _scope(principal)
    if filters.statuses:
        where.append(Site.status.in_(filters.statuses))
    if filters.families:
        where.append(Site.family.in_(filters.families))
    if filters.bbox is not None:
        b = filters.bbox
        where.append(Site.location.op("&&")(func.ST_MakeEnvelope(b.min_lon, b.min_lat, b.max_lon, b.max_lat, 4326)))
    if filters.near is not None:
        n = filters.near
        centre = cast(_point(n.latitude, n.longitude), GEOGRAPHY)
        where.append(func.ST_DWithin(cast(Site.location, GEOGRAPHY), centre, n.radius_m))
    if filters.confirmed is not None:
        where.append(Site.confirmed.is_(filters.confirmed))
    if filters.since is not None:
        where.append(Site.last_report_at >= filters.since)
    if filters.territory is not None:
        where.append(Site.territory_code.in_(territories_dal.descendants(filters.territory)))
    return where


def _columns() -> list[Any]:
    return [
        *(c for c in Site.__table__.columns if c.name != "location"),
        func.ST_Y(Site.location).label("latitude"),
        func.ST_X(Site.location).label("longitude"),
    ]


def sees_own_only(principal: Principal) -> bool:
    """A user: of a site, only what their own members make (docs/sites.md, "Who sees what")."""
    return not principal.sees_everything and not is_official(principal)


def _own_members(principal: Principal) -> Any:
    """Per site, the caller's own members (detections not rejected): what a user is told of the site."""
    return (
        select(
            Detection.site_id.label("id"),
            func.count(func.distinct(Detection.analysis_id)).label("report_count"),
            func.count().label("detection_count"),
            func.min(Detection.created_at).label("first_report_at"),
            func.max(Detection.created_at).label("last_report_at"),
            func.bool_or(Detection.validation_status == ValidationStatus.VALIDATED_POSITIVE).label("confirmed"),
            func.ST_Centroid(func.ST_Collect(Analysis.location)).label("location"),
        )
        .join(Analysis, Analysis.id == Detection.analysis_id)
        .where(
            Analysis.user_id == principal.user_id,
            Detection.site_id.is_not(None),
            Detection.validation_status != REJECTED,
        )
        .group_by(Detection.site_id)
        .subquery("own")
    )


def _own_page(
    session: Session, principal: Principal, filters: SiteFilters, *, limit: int, offset: int, site_id: Any = None
) -> tuple[list[Any], int]:
    """A user's sites as their own members make them: the filters and the order read those figures only, and
    the site's status, totals, priority and territory (moved by others' reports and the team) stay null."""
    own = _own_members(principal)
    where: list[Any] = [own.c.id == Site.id]
    if site_id is not None:
        where.append(Site.id == site_id)
    if filters.families:
        where.append(Site.family.in_(filters.families))
    if filters.bbox is not None:
        b = filters.bbox
        where.append(own.c.location.op("&&")(func.ST_MakeEnvelope(b.min_lon, b.min_lat, b.max_lon, b.max_lat, 4326)))
    if filters.near is not None:
        n = filters.near
        centre = cast(_point(n.latitude, n.longitude), GEOGRAPHY)
        where.append(func.ST_DWithin(cast(own.c.location, GEOGRAPHY), centre, n.radius_m))
    if filters.confirmed is not None:
        where.append(own.c.confirmed.is_(filters.confirmed))
    if filters.since is not None:
        where.append(own.c.last_report_at >= filters.since)
    total = session.scalar(select(func.count()).select_from(own).join(Site, own.c.id == Site.id).where(*where)) or 0
    withheld = ("status", "radius_m", "reporter_count", "recurrences", "territory_code", "closed_at")
    rows = session.execute(
        select(
            own.c.id,
            Site.family,
            *(literal(None).label(name) for name in withheld),
            own.c.report_count,
            own.c.detection_count,
            own.c.first_report_at,
            own.c.last_report_at,
            own.c.confirmed,
            func.ST_Y(own.c.location).label("latitude"),
            func.ST_X(own.c.location).label("longitude"),
        )
        .select_from(own)
        .join(Site, own.c.id == Site.id)
        .where(*where)
        .order_by(own.c.last_report_at.desc(), own.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def list_page(
    session: Session, principal: Principal, filters: SiteFilters, *, order: str, now: datetime, limit: int, offset: int
) -> tuple[list[Any], int]:
    """A page of the sites the caller may see, and the total over all pages (a user's: `_own_page`)."""
    if sees_own_only(principal):
        return _own_page(session, principal, filters, limit=limit, offset=offset)
    where = _conditions(principal, filters)
    total = session.scalar(select(func.count()).select_from(Site).where(*where)) or 0
    if order == "priority":
        ordering = [priority_sql(now).desc(), Site.last_report_at.desc(), Site.id]
    else:
        ordering = [Site.last_report_at.desc(), Site.id]
    rows = session.execute(select(*_columns()).where(*where).order_by(*ordering).limit(limit).offset(offset)).all()
    return rows, total


def get_site(session: Session, principal: Principal, site_id: uuid.UUID, *, for_update: bool = False) -> Any:
    """The site if the caller may see it, else None (404 for the caller: never a hint that it exists); a user's
    as their own members make it."""
    if sees_own_only(principal) and not for_update:
        rows, _ = _own_page(session, principal, SiteFilters(), limit=1, offset=0, site_id=site_id)
        return rows[0] if rows else None
    statement = select(*_columns()).where(Site.id == site_id, *_scope(principal))
    if for_update:
        statement = statement.with_for_update(of=Site)
    return session.execute(statement).first()


def members(session: Session, principal: Principal, site_id: uuid.UUID) -> list[Any]:
    """The site's members (detections not rejected) with their analyses; a user's own only."""
    where = [Detection.site_id == site_id, Detection.validation_status != REJECTED]
    if sees_own_only(principal):
        where.append(Analysis.user_id == principal.user_id)
    return session.execute(
        select(
            Detection.id,
            Detection.class_name,
            Detection.breeding_site_type,
            Detection.confidence,
            Detection.risk_level,
            Detection.validation_status,
            Detection.created_at,
            Detection.expires_at,
            Analysis.id.label("analysis_id"),
            Analysis.user_id.label("owner_id"),
            Analysis.created_at.label("analysis_created_at"),
            Analysis.image_bucket,
            Analysis.image_key,
            Analysis.processed_image_key,
            func.ST_Y(Analysis.location).label("latitude"),
            func.ST_X(Analysis.location).label("longitude"),
        )
        .join(Analysis, Analysis.id == Detection.analysis_id)
        .where(*where)
        .order_by(Detection.created_at, Detection.id)
    ).all()


def timeline(session: Session, site_id: uuid.UUID) -> list[Any]:
    """Every action on the site, oldest first."""
    return session.execute(
        select(SiteActionRecord, User.email.label("actor_email"))
        .outerjoin(User, User.id == SiteActionRecord.actor_id)
        .where(SiteActionRecord.site_id == site_id)
        .order_by(SiteActionRecord.at, SiteActionRecord.id)
    ).all()


def last_action(session: Session, site_id: uuid.UUID, action: SiteAction) -> SiteActionRecord | None:
    """The site's latest action of one kind, or None."""
    return session.scalars(
        select(SiteActionRecord)
        .where(SiteActionRecord.site_id == site_id, SiteActionRecord.action == action)
        .order_by(SiteActionRecord.at.desc(), SiteActionRecord.id.desc())
        .limit(1)
    ).first()


def analysis_exists(session: Session, analysis_id: uuid.UUID) -> bool:
    """Whether an analysis with this id exists (whoever owns it)."""
    return session.scalar(select(exists().where(Analysis.id == analysis_id))) is True


def after_photo(session: Session, analysis_id: uuid.UUID, site_id: uuid.UUID) -> rules.AfterPhoto | None:
    """What verification needs of an evidence analysis, measured against the site; None when it does not exist."""
    site_point = select(Site.location).where(Site.id == site_id).scalar_subquery()
    found = session.execute(
        select(
            Analysis.status,
            Analysis.created_at,
            func.ST_Distance(cast(Analysis.location, GEOGRAPHY), cast(site_point, GEOGRAPHY)).label("distance_m"),
        ).where(Analysis.id == analysis_id)
    ).first()
    if found is None:
        return None
    family = session.scalar(select(Site.family).where(Site.id == site_id))
    kinds = session.execute(
        select(Detection.breeding_site_type, Detection.class_name).where(
            Detection.analysis_id == analysis_id, Detection.validation_status != REJECTED
        )
    ).all()
    same = sum(1 for site_type, name in kinds if rules.family_of(site_type or name) is family)
    return rules.AfterPhoto(
        completed=found.status == "completed",
        distance_m=found.distance_m,
        uploaded_at=found.created_at,
        same_family_detections=same,
    )


def record_action(
    session: Session,
    site_id: uuid.UUID,
    action: SiteAction,
    from_status: SiteStatus,
    to_status: SiteStatus,
    *,
    actor_id: uuid.UUID,
    team: str | None,
    notes: str | None,
    evidence_analysis_id: uuid.UUID | None,
    override: bool,
) -> SiteActionRecord:
    """The action in the timeline, and the site moved to its new status (closing stamps `closed_at`)."""
    values: dict[str, Any] = {"status": to_status, "updated_at": func.now()}
    if to_status is SiteStatus.CLOSED and from_status is not SiteStatus.CLOSED:
        values["closed_at"] = func.now()
    elif to_status is not SiteStatus.CLOSED:
        values["closed_at"] = None
    session.execute(Site.__table__.update().where(Site.id == site_id).values(values))
    record = SiteActionRecord(
        site_id=site_id,
        action=action,
        actor_id=actor_id,
        team=team,
        notes=notes,
        evidence_analysis_id=evidence_analysis_id,
        override=override,
        from_status=from_status,
        to_status=to_status,
    )
    session.add(record)
    session.flush()
    session.refresh(record)
    return record
