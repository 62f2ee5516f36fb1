"""Field visits for people: record one, list them, read one (docs/visits.md).

Experts, admins and officials (inside their territories and below) record and read visits; users are 403.
A territory outside an official's scope, or a linked site or analysis the caller cannot see, is 404 naming the
field; counts that break a rule are 422 naming the field (sentrix.domain.larval_indices.visit_refusals).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.db.models import Visit, VisitContainers
from sentrix.domain import larval_indices as rules
from sentrix.domain.larval_indices import ContainerClass
from sentrix.domain.roles import Role
from sentrix.errors import Forbidden, NotFound, ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix.observability import logger
from sentrix.repositories.analyses import parse_id
from sentrix_upload.dal import visits as dal
from sentrix_upload.schemas.visits import VisitRequest

# UTC+14 (Line Islands) is the furthest any local date runs ahead of UTC's: a later visit day is in the future
# everywhere on Earth.
AHEAD_OF_UTC = timedelta(hours=14)
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)  # as the remediation figures bound their days (report function)


def may_record_visits(principal: Principal) -> bool:
    """Experts, admins and officials (officials inside their territories); never users."""
    return principal.has_role(Role.EXPERT) or principal.role is Role.OFFICIAL


def require_visit_role(principal: Principal) -> None:
    """Forbidden unless the principal may record and read field visits."""
    if not may_record_visits(principal):
        raise Forbidden(key="err.visit_permissions")


def latest_visit_day(now: datetime) -> date:
    """The latest day a visit may be dated: today where the local date is furthest ahead (UTC+14)."""
    return (now.astimezone(UTC) + AHEAD_OF_UTC).date()


def _counts(request: VisitRequest) -> rules.VisitCounts:
    premises = request.premises
    containers = {
        ContainerClass(name): (counts.inspected, counts.positive)
        for name, counts in request.containers
        if counts is not None
    }
    inspected = premises.inspected
    if inspected is None:
        inspected = rules.inspected_premises(premises.visited, premises.closed, premises.refused)
    return rules.VisitCounts(
        visited=premises.visited,
        closed=premises.closed,
        refused=premises.refused,
        inspected=inspected,
        positive=premises.positive,
        containers=containers,
        pupae=request.pupae,
    )


def _refuse(refusals: list[rules.Refusal], locale: Locale) -> ValidationFailed:
    first = refusals[0]
    return ValidationFailed(
        f"{first.field}: {first.reason.replace('_', ' ')}",
        key=f"visit.refusal.{first.reason}",
        field=first.field,
        details={
            "field": first.field,
            "reason": first.reason,
            "refusals": [
                {"field": r.field, "reason": r.reason, "message": locale.t(f"visit.refusal.{r.reason}", field=r.field)}
                for r in refusals
            ],
        },
    )


def _territory_in_scope(session: Any, principal: Principal, code: str) -> Any:
    """The territory row; unknown is 422, outside an official's scope is 404 (both name the field)."""
    found = dal.territory(session, code)
    if found is None:
        raise ValidationFailed(
            "Unknown territory",
            key="err.territory_unknown",
            details={"field": "territory", "territory": code},
            code=code,
        )
    if not dal.in_scope(session, principal, code):
        raise NotFound(
            key="err.visit_territory_out_of_scope",
            details={"field": "territory", "territory": code},
            code=code,
        )
    return found


def _check_links(session: Any, principal: Principal, request: VisitRequest) -> tuple[list, list]:
    sites = list(dict.fromkeys(request.site_ids))
    analyses = list(dict.fromkeys(request.analysis_ids))
    visible = dal.visible_sites(session, principal, sites)
    missing_sites = [s for s in sites if s not in visible]
    if missing_sites:
        raise NotFound(key="err.site_not_found", details={"field": "site_ids", "ids": missing_sites})
    visible = dal.visible_analyses(session, principal, analyses)
    missing_analyses = [a for a in analyses if a not in visible]
    if missing_analyses:
        raise NotFound(
            key="err.visit_analysis_not_found",
            details={"field": "analysis_ids", "ids": missing_analyses},
        )
    return sites, analyses


def record(principal: Principal, request: VisitRequest, locale: Locale, now: datetime | None = None) -> dict[str, Any]:
    """Check and store one visit; answers it as GET /visits/{id} does."""
    require_visit_role(principal)
    counts = _counts(request)
    refusals = rules.visit_refusals(
        counts, request.visited_on, latest_visit_day(now or datetime.now(UTC)), EARLIEST_DAY
    )
    if refusals:
        raise _refuse(refusals, locale)
    with session_scope() as session:
        _territory_in_scope(session, principal, request.territory)
        sites, analyses = _check_links(session, principal, request)
        visit = Visit(
            id=uuid.uuid4(),
            territory_code=request.territory,
            visited_on=request.visited_on,
            area=request.area,
            team=request.team,
            premises_visited=counts.visited,
            premises_closed=counts.closed,
            premises_refused=counts.refused,
            premises_inspected=counts.inspected,
            premises_positive=counts.positive,
            pupae=counts.pupae,
            notes=request.notes,
            recorded_by=principal.user_id,
        )
        containers = [
            VisitContainers(visit_id=visit.id, container_class=k, inspected=inspected, positive=positive)
            for k, (inspected, positive) in counts.containers.items()
        ]
        dal.insert(session, visit, containers, sites, analyses)
        session.refresh(visit)
        view = _views(session, [visit])[0]
    logger.info("visit recorded", extra={"visit_id": str(visit.id), "territory": request.territory})
    return view


def _views(session: Any, visits: list[Visit]) -> list[dict[str, Any]]:
    containers, sites, analyses = dal.links(session, [v.id for v in visits])
    out = []
    for visit in visits:
        by_class = containers[visit.id]
        out.append(
            {
                "id": visit.id,
                "territory": visit.territory_code,
                "visited_on": visit.visited_on,
                "area": visit.area,
                "team": visit.team,
                "premises": {
                    "visited": visit.premises_visited,
                    "closed": visit.premises_closed,
                    "refused": visit.premises_refused,
                    "inspected": visit.premises_inspected,
                    "positive": visit.premises_positive,
                },
                "containers": {
                    k.value: dict(zip(("inspected", "positive"), by_class.get(k, (0, 0)), strict=True))
                    for k in ContainerClass
                },
                "pupae": visit.pupae,
                "site_ids": sites[visit.id],
                "analysis_ids": analyses[visit.id],
                "notes": visit.notes,
                "recorded_by": visit.recorded_by,
                "created_at": visit.created_at,
            }
        )
    return out


def list_visits(principal: Principal, filters: dal.VisitFilters, *, limit: int, offset: int) -> dict[str, Any]:
    """A page of the visits the caller may see, latest day first."""
    require_visit_role(principal)
    for field, day in (("from", filters.date_from), ("to", filters.date_to)):
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise ValidationFailed(
                key="err.indices_dates_range",
                details={"field": field},
            )
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise ValidationFailed(key="err.visit_window", details={"field": "to"})
    with session_scope() as session:
        if filters.territory is not None:
            _territory_in_scope(session, principal, filters.territory)
        rows, total = dal.list_page(session, principal, filters, limit=limit, offset=offset)
        items = _views(session, rows)
    return {"items": items, "total": total, "limit": limit, "offset": offset, "has_next": offset + len(rows) < total}


def visit_detail(principal: Principal, raw_id: str) -> dict[str, Any]:
    """One visit; outside an official's scope (or unknown, or a malformed id) it is 404."""
    require_visit_role(principal)
    try:
        visit_id = parse_id(raw_id, "Visit")
    except NotFound:
        raise NotFound(key="err.visit_not_found") from None
    with session_scope() as session:
        visit = dal.get(session, principal, visit_id)
        if visit is None:
            raise NotFound(key="err.visit_not_found")
        return _views(session, [visit])[0]
