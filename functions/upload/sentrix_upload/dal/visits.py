"""Queries over field visits and what the larval and potential-site indices read (docs/visits.md).

Experts and admins see every visit; an official the visits of their territories and every territory below
(sentrix.repositories.officials); users none (the logic refuses them before any query).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, cast, func, select
from sqlalchemy.orm import Session

from sentrix.db.geometry import GEOGRAPHY
from sentrix.db.models import Analysis, Site, Territory, Visit, VisitAnalysis, VisitContainers, VisitSite
from sentrix.domain.sites import SiteStatus
from sentrix.http.identity import Principal
from sentrix.repositories.analyses import visible_to
from sentrix.repositories.officials import is_official, scope_codes


def territory(session: Session, code: str) -> Any:
    """(code, name, depth) of a territory, or None."""
    return session.execute(
        select(Territory.code, Territory.name, Territory.depth).where(Territory.code == code)
    ).first()


def in_scope(session: Session, principal: Principal, code: str) -> bool:
    """May the caller record or read visits of this territory? Officials: their territories and below."""
    if not is_official(principal):
        return True
    scope = scope_codes(principal.user_id).subquery()
    # A code may come twice (an official given a territory and one below it): any row will do.
    return session.scalar(select(func.count()).select_from(scope).where(scope.c.code == code)) > 0


def visible_sites(session: Session, principal: Principal, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Of `ids`, the sites the caller may see (docs/sites.md, *Who sees what*; officials: their territories)."""
    if not ids:
        return set()
    statement = select(Site.id).where(Site.id.in_(ids))
    if is_official(principal):
        statement = statement.where(Site.territory_code.in_(scope_codes(principal.user_id)))
    return set(session.scalars(statement))


def visible_analyses(session: Session, principal: Principal, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Those of `ids` the principal may see."""
    if not ids:
        return set()
    return set(session.scalars(visible_to(principal, select(Analysis.id)).where(Analysis.id.in_(ids))))


def insert(
    session: Session, visit: Visit, containers: list[VisitContainers], sites: list[uuid.UUID], analyses: list[uuid.UUID]
) -> None:
    """Store a visit with its container counts and its links to sites and analyses."""
    session.add(visit)
    session.flush()
    session.add_all(containers)
    session.add_all(VisitSite(visit_id=visit.id, site_id=site_id) for site_id in sites)
    session.add_all(VisitAnalysis(visit_id=visit.id, analysis_id=analysis_id) for analysis_id in analyses)
    session.flush()


def _subtree(code: str) -> Any:
    """A select of `code` and the codes of every territory below it."""
    tree = select(Territory.code).where(Territory.code == code).cte("visit_tree", recursive=True)
    tree = tree.union_all(select(Territory.code).where(Territory.parent_code == tree.c.code))
    return select(tree.c.code)


def _scope(principal: Principal) -> list[ColumnElement]:
    if is_official(principal):
        return [Visit.territory_code.in_(scope_codes(principal.user_id))]
    return []


@dataclass(frozen=True)
class VisitFilters:
    territory: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    team: str | None = None
    site_id: uuid.UUID | None = None
    analysis_id: uuid.UUID | None = None


def _conditions(principal: Principal, filters: VisitFilters) -> list[ColumnElement]:
    where = _scope(principal)
    if filters.territory is not None:
        where.append(Visit.territory_code.in_(_subtree(filters.territory)))
    if filters.date_from is not None:
        where.append(Visit.visited_on >= filters.date_from)
    if filters.date_to is not None:
        where.append(Visit.visited_on <= filters.date_to)
    if filters.team is not None:
        where.append(func.lower(Visit.team) == filters.team.lower())
    if filters.site_id is not None:
        where.append(Visit.id.in_(select(VisitSite.visit_id).where(VisitSite.site_id == filters.site_id)))
    if filters.analysis_id is not None:
        where.append(
            Visit.id.in_(select(VisitAnalysis.visit_id).where(VisitAnalysis.analysis_id == filters.analysis_id))
        )
    return where


def list_page(
    session: Session, principal: Principal, filters: VisitFilters, *, limit: int, offset: int
) -> tuple[list[Visit], int]:
    """A page of the visits the principal may see, latest visit first, with the total."""
    where = _conditions(principal, filters)
    total = session.scalar(select(func.count()).select_from(Visit).where(*where)) or 0
    rows = session.scalars(
        select(Visit)
        .where(*where)
        .order_by(Visit.visited_on.desc(), Visit.created_at.desc(), Visit.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def get(session: Session, principal: Principal, visit_id: uuid.UUID) -> Visit | None:
    """One visit if the principal may see it, else None."""
    return session.scalars(select(Visit).where(Visit.id == visit_id, *_scope(principal))).first()


def links(session: Session, visit_ids: Sequence[uuid.UUID]) -> tuple[dict, dict, dict]:
    """Per visit: its containers by class, its site ids, its analysis ids."""
    containers: dict[uuid.UUID, dict[str, tuple[int, int]]] = {v: {} for v in visit_ids}
    sites: dict[uuid.UUID, list[uuid.UUID]] = {v: [] for v in visit_ids}
    analyses: dict[uuid.UUID, list[uuid.UUID]] = {v: [] for v in visit_ids}
    if not visit_ids:
        return containers, sites, analyses
    for row in session.scalars(select(VisitContainers).where(VisitContainers.visit_id.in_(visit_ids))):
        containers[row.visit_id][row.container_class] = (row.inspected, row.positive)
    for visit_id, site_id in session.execute(
        select(VisitSite.visit_id, VisitSite.site_id)
        .where(VisitSite.visit_id.in_(visit_ids))
        .order_by(VisitSite.site_id)
    ):
        sites[visit_id].append(site_id)
    for visit_id, analysis_id in session.execute(
        select(VisitAnalysis.visit_id, VisitAnalysis.analysis_id)
        .where(VisitAnalysis.visit_id.in_(visit_ids))
        .order_by(VisitAnalysis.analysis_id)
    ):
        analyses[visit_id].append(analysis_id)
    return containers, sites, analyses


def branches(session: Session, code: str) -> tuple[list[Any], dict[str, str | None]]:
    """The territories directly below `code` (code, name, depth), and for `code` and every territory below it,
    which of those it lies under (None for `code` itself)."""
    children = session.execute(
        select(Territory.code, Territory.name, Territory.depth)
        .where(Territory.parent_code == code)
        .order_by(Territory.code)
    ).all()
    tree = (
        select(Territory.code, Territory.code.label("branch"))
        .where(Territory.parent_code == code)
        .cte("visit_branches", recursive=True)
    )
    tree = tree.union_all(select(Territory.code, tree.c.branch).where(Territory.parent_code == tree.c.code))
    branch_of: dict[str, str | None] = {code: None}
    branch_of.update({row.code: row.branch for row in session.execute(select(tree.c.code, tree.c.branch))})
    return list(children), branch_of


def survey_rows(session: Session, codes: Sequence[str], first: date, last: date) -> tuple[list[Visit], dict]:
    """The visits of these territories between two days (inclusive), with their containers by class (one join,
    not a list of ids: a city's survey may hold thousands of visits)."""
    where = (Visit.territory_code.in_(codes), Visit.visited_on >= first, Visit.visited_on <= last)
    visits = list(session.scalars(select(Visit).where(*where)))
    containers: dict[uuid.UUID, dict[str, tuple[int, int]]] = {v.id: {} for v in visits}
    rows = session.execute(
        select(
            VisitContainers.visit_id,
            VisitContainers.container_class,
            VisitContainers.inspected,
            VisitContainers.positive,
        )
        .join(Visit, Visit.id == VisitContainers.visit_id)
        .where(*where)
    )
    for visit_id, container_class, inspected, positive in rows:
        containers[visit_id][container_class] = (inspected, positive)
    return visits, containers


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def potential_sites(session: Session, codes: Sequence[str], first: date, last: date) -> list[Any]:
    """Confirmed, not dismissed sites of these territories reported in the window, by territory tag and family."""
    return session.execute(
        select(Site.territory_code, Site.family, func.count().label("sites"))
        .where(
            Site.territory_code.in_(codes),
            Site.confirmed.is_(True),
            Site.status != SiteStatus.DISMISSED,
            and_(Site.first_report_at < _midnight(last + timedelta(days=1)), Site.last_report_at >= _midnight(first)),
        )
        .group_by(Site.territory_code, Site.family)
    ).all()


def areas_km2(session: Session, codes: Sequence[str]) -> dict[str, float]:
    """Each territory's area on the spheroid (PostGIS geography), in km²."""
    rows = session.execute(
        select(Territory.code, func.ST_Area(cast(Territory.geometry, GEOGRAPHY)).label("m2")).where(
            Territory.code.in_(codes)
        )
    ).all()
    return {row.code: row.m2 / 1e6 for row in rows}
