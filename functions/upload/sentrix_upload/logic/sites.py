"""Sites for people: the work list, one site whole, and the actions of its lifecycle (docs/sites.md). A user is
told of a site only what their own members make (`own_view`), never what others' reports add."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.domain import sites as rules
from sentrix.domain.sites import SiteAction, SiteFamily, SiteStatus
from sentrix.errors import Conflict, Forbidden, NotFound, ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix.observability import logger
from sentrix.repositories.analyses import parse_id
from sentrix_upload.dal import sites as sites_dal
from sentrix_upload.logic.filters import SiteFilters
from sentrix_upload.logic.image_urls import image_url
from sentrix_upload.schemas.sites import SiteActionRequest


def _priority(row: Any, now: datetime, locale: Locale) -> dict[str, Any] | None:
    if row.status is None:  # a user's own view: the score reads the site's totals
        return None
    found = rules.priority(
        status=SiteStatus(row.status),
        family=SiteFamily(row.family),
        confirmed=row.confirmed,
        recurrences=row.recurrences,
        last_report_at=row.last_report_at,
        reporters=row.reporter_count,
        now=now,
    )
    if found is None:
        return None
    reasons = []
    for reason in found.reasons:
        value = reason.value
        if reason.code == "family":
            value = locale.t(f"site.family.{reason.value}")
        reasons.append(
            {
                "code": reason.code,
                "points": reason.points,
                "message": locale.t(f"site.priority.{reason.code}", points=reason.points, value=value),
            }
        )
    return {"score": found.score, "reasons": reasons}


def _site_view(row: Any, now: datetime, locale: Locale) -> dict[str, Any]:
    return {
        "id": row.id,
        "family": row.family,
        "status": row.status,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "radius_m": row.radius_m,
        "first_report_at": row.first_report_at,
        "last_report_at": row.last_report_at,
        "report_count": row.report_count,
        "detection_count": row.detection_count,
        "reporter_count": row.reporter_count,
        "confirmed": row.confirmed,
        "recurrences": row.recurrences,
        "territory_code": row.territory_code,
        "closed_at": row.closed_at,
        "priority": _priority(row, now, locale),
        "own_view": row.status is None,
    }


def list_sites(
    principal: Principal, filters: SiteFilters, *, order: str, limit: int, offset: int, locale: Locale
) -> dict[str, Any]:
    """A page of the sites the caller may see: by priority (the team's work list) or most recent report."""
    if sites_dal.sees_own_only(principal) and (filters.statuses or filters.territory is not None):
        # A site's status and territory are the team's and everyone's: a filter on them would tell a user what
        # they are not shown.
        raise ValidationFailed(
            key="err.site_filter_own_view",
            details={
                "fields": [
                    name for name, value in (("status", filters.statuses), ("territory", filters.territory)) if value
                ]
            },
        )
    now = datetime.now(UTC)
    with session_scope() as session:
        rows, total = sites_dal.list_page(session, principal, filters, order=order, now=now, limit=limit, offset=offset)
    return {
        "items": [_site_view(row, now, locale) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_next": offset + len(rows) < total,
    }


def _member_view(row: Any, principal: Principal) -> dict[str, Any]:
    return {
        "detection_id": row.id,
        "class_name": row.class_name,
        "breeding_site_type": row.breeding_site_type,
        "confidence": row.confidence,
        "risk_level": row.risk_level,
        "validation_status": row.validation_status,
        "detected_at": row.created_at,
        "expires_at": row.expires_at,
        "analysis": {
            "id": row.analysis_id,
            "created_at": row.analysis_created_at,
            "latitude": row.latitude,
            "longitude": row.longitude,
            "owner_id": row.owner_id if principal.sees_everything else None,
            "image_url": image_url(row.image_bucket, row.image_key),
            "processed_image_url": image_url(row.image_bucket, row.processed_image_key),
        },
    }


def _action_view(record: Any, actor_email: str | None, locale: Locale) -> dict[str, Any]:
    return {
        "id": record.id,
        "action": record.action,
        "actor_id": record.actor_id,
        "actor_email": actor_email,
        "at": record.at,
        "team": record.team,
        "notes": record.notes,
        "evidence_analysis_id": record.evidence_analysis_id,
        "override": record.override,
        "cause": record.cause,
        "cause_message": locale.t(f"site.cause.{record.cause}") if record.cause else None,
        "from_status": record.from_status,
        "to_status": record.to_status,
    }


def _detail(session: Any, principal: Principal, site_id: uuid.UUID, locale: Locale) -> dict[str, Any]:
    row = sites_dal.get_site(session, principal, site_id)
    if row is None:
        raise NotFound(key="err.site_not_found")
    now = datetime.now(UTC)
    view = _site_view(row, now, locale)
    view["members"] = [_member_view(m, principal) for m in sites_dal.members(session, principal, site_id)]
    # The timeline is the site's whole history (when it began, recurrences, the team's work): not a user's.
    history = [] if sites_dal.sees_own_only(principal) else sites_dal.timeline(session, site_id)
    view["timeline"] = [_action_view(r, email, locale) for r, email in history]
    return view


def _site_id(raw_id: str) -> uuid.UUID:
    """The path id; a malformed one is not found, in the same words as an unknown one (no oracle)."""
    try:
        return parse_id(raw_id, "Site")
    except NotFound:
        raise NotFound(key="err.site_not_found") from None


def site_detail(principal: Principal, raw_id: str, locale: Locale) -> dict[str, Any]:
    """One site: members with their analyses and images (short-lived URLs), timeline, priority and reasons."""
    site_id = _site_id(raw_id)
    with session_scope() as session:
        return _detail(session, principal, site_id, locale)


def _refuse_close(refusal: rules.VerificationRefusal) -> Conflict:
    return Conflict(key=f"err.site_verify.{refusal.value}", details={"reason": refusal.value})


def _check_evidence(session: Any, site_id: uuid.UUID, radius_m: float, evidence_id: uuid.UUID | None) -> None:
    """Raise 409 unless `evidence_id` is an "after" analysis that verifies the latest treatment."""
    treated = sites_dal.last_action(session, site_id, SiteAction.TREAT)
    # (act() has refused an evidence id that does not exist; one deleted since reads as no evidence: 409)
    evidence = sites_dal.after_photo(session, evidence_id, site_id) if evidence_id is not None else None
    refusal = rules.verification_refusal(treated.at if treated else None, radius_m, evidence)
    if refusal is not None:
        raise _refuse_close(refusal)


def _verified_since_treatment(session: Any, site_id: uuid.UUID) -> uuid.UUID | None:
    """The evidence of a verification recorded after the latest treatment, if there is one."""
    treated = sites_dal.last_action(session, site_id, SiteAction.TREAT)
    verified = sites_dal.last_action(session, site_id, SiteAction.VERIFY)
    if treated is None or verified is None or verified.at <= treated.at:
        return None
    return verified.evidence_analysis_id


def act(principal: Principal, raw_id: str, request: SiteActionRequest, locale: Locale) -> dict[str, Any]:
    """Record one lifecycle action; invalid transitions and unverified closes are 409 with the reason."""
    if not rules.may_act_on_sites(principal.role):
        raise Forbidden(key="err.site_permissions")
    site_id = _site_id(raw_id)
    action = SiteAction(request.action)
    with session_scope() as session:
        site = sites_dal.get_site(session, principal, site_id, for_update=True)
        if site is None:
            raise NotFound(key="err.site_not_found")
        current = SiteStatus(site.status)
        target = rules.next_status(current, action)
        if target is None:
            raise Conflict(
                f"A site that is {current.value} cannot take the action {action.value}",
                key="err.site_transition",
                details={"status": current.value, "action": action.value},
                current=current.value,
                requested=action.value,
            )
        evidence_id = request.evidence_analysis_id
        if request.override and action is not SiteAction.CLOSE:
            raise ValidationFailed(key="err.site_override_close_only")
        if evidence_id is not None and not sites_dal.analysis_exists(session, evidence_id):
            raise NotFound(key="err.site_evidence_not_found")
        if action is SiteAction.VERIFY:
            _check_evidence(session, site_id, site.radius_m, evidence_id)
        elif action is SiteAction.CLOSE and not request.override:
            if evidence_id is not None:
                _check_evidence(session, site_id, site.radius_m, evidence_id)
            else:
                evidence_id = _verified_since_treatment(session, site_id)
                if evidence_id is None:
                    raise _refuse_close(rules.VerificationRefusal.NO_EVIDENCE)
        sites_dal.record_action(
            session,
            site_id,
            action,
            current,
            target,
            actor_id=principal.user_id,
            team=request.team,
            notes=request.notes,
            evidence_analysis_id=evidence_id,
            override=request.override,
        )
        detail = _detail(session, principal, site_id, locale)
    logger.info("site action", extra={"site_id": str(site_id), "action": action.value, "to": target.value})
    return detail
