"""Cluster alerts as callers read them (docs/alerts.md, *Routes* and *Who sees what*).

Experts and admins read every alert; officials the alerts with a site in their territories or below (any other
is 404), and of those alerts only the sites inside their scope; users are 403 (an alert names sites they may not
see) but, like every signed-in caller, read the territories' levels (`levels`), which name no site.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.errors import Forbidden, NotFound, ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix.repositories.officials import is_official
from sentrix_report.dal import alerts as data
from sentrix_report.logic.filters import Where
from sentrix_report.settings import get_report_settings

_BELOW = (
    "WITH RECURSIVE {name} (code) AS ({seed} "
    "UNION ALL SELECT t.code FROM territories AS t JOIN {name} ON t.parent_code = {name}.code) "
    "SELECT {name}.code FROM {name}"
)
_OFFICIAL_SEED = "SELECT o.territory_code FROM official_territories AS o WHERE o.user_id = :a_official"
_TERRITORY_SEED = "SELECT t.code FROM territories AS t WHERE t.code = :a_territory"
_HAS_SITE_IN = (
    "EXISTS (SELECT 1 FROM alert_sites m JOIN sites s ON s.id = m.site_id "
    "WHERE m.alert_id = a.id AND s.territory_code IN ({codes}))"
)


def _scope_codes() -> str:
    """The codes of the official's scope (bound: a_official): their territories and every one below."""
    return _BELOW.format(name="a_scope", seed=_OFFICIAL_SEED)


def _require_reader(principal: Principal, locale: Locale) -> None:
    if not principal.sees_everything and not is_official(principal):
        raise Forbidden(locale.t("err.alerts_role"), key="err.alerts_role")


def _alert_scope(principal: Principal) -> Where:
    where = Where.empty()
    if not principal.sees_everything:
        where.add(_HAS_SITE_IN.format(codes=_scope_codes()), a_official=principal.user_id)
    return where


def _site_scope(principal: Principal) -> Where:
    """Which of an alert's sites the caller may see (alias `s`)."""
    if principal.sees_everything:
        return Where.empty()
    return Where.empty().add(f"s.territory_code IN ({_scope_codes()})", a_official=principal.user_id)


def parse_since(value: str | None, locale: Locale) -> datetime | None:
    """An ISO date (00:00 UTC) or date-time (UTC when it names no offset)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(locale.t("err.alerts_since"), details={"since": value}, key="err.alerts_since") from None
    if not 2000 <= moment.year <= 2100:
        raise ValidationFailed(locale.t("err.alerts_since"), details={"since": value}, key="err.alerts_since")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _view(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "level": row["level"],
        "territory": row["territory_code"],
        "site_count": row["site_count"],
        "latitude": row["latitude"],
        "longitude": row["longitude"],
        "opened_at": row["opened_at"].isoformat(),
        "last_growth_at": row["last_growth_at"].isoformat(),
        "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
        "closed_reason": row["closed_reason"],
        "merged_into": str(row["merged_into"]) if row["merged_into"] else None,
        "split_from": str(row["split_from"]) if row["split_from"] else None,
        "updated_at": row["updated_at"].isoformat(),
    }


def list_alerts(
    principal: Principal,
    *,
    territory: str | None,
    level: str | None,
    status: str | None,
    since: str | None,
    limit: int,
    offset: int,
    locale: Locale,
) -> dict[str, Any]:
    _require_reader(principal, locale)
    moment = parse_since(since, locale)
    where = _alert_scope(principal)
    if territory is not None:
        codes = _BELOW.format(name="a_tree", seed=_TERRITORY_SEED)
        where.add(_HAS_SITE_IN.format(codes=codes), a_territory=territory)
    if level is not None:
        where.add("a.level = :a_level", a_level=level)
    if status is not None:
        where.add("a.status = :a_status", a_status=status)
    if moment is not None:
        where.add("a.updated_at >= :a_since", a_since=moment)
    with session_scope() as session:
        found, total = data.page(session, where, limit=limit, offset=offset)
    return {
        "items": [_view(row) for row in found],
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_next": offset + len(found) < total,
        "filters": {"territory": territory, "level": level, "status": status, "since": since},
        "scope": "all alerts" if principal.sees_everything else "official territories",
    }


def _event_message(kind: str, details: dict[str, Any], locale: Locale) -> str:
    settings = get_report_settings()
    if kind == "opened":
        if details.get("split_from"):
            return locale.t("alert.event.opened_split", sites=details.get("sites", 0))
        return locale.t("alert.event.opened", sites=details.get("sites", 0), radius_m=round(settings.alert_radius_m))
    if kind == "closed":
        reason = "merged" if details.get("reason") == "merged" else "quiet"
        return locale.t(f"alert.event.closed_{reason}", quiet_days=details.get("quiet_days", settings.alert_quiet_days))
    if kind == "level":
        return locale.t("alert.event.level", old=details.get("old"), new=details.get("new"))
    return locale.t(f"alert.event.{kind}", sites=details.get("sites", 0))


def alert_detail(principal: Principal, alert_id: str, locale: Locale) -> dict[str, Any]:
    _require_reader(principal, locale)
    try:
        key = uuid.UUID(alert_id)
    except ValueError:
        raise NotFound(locale.t("err.alert_not_found"), key="err.alert_not_found") from None
    with session_scope() as session:
        row = data.alert(session, key, _alert_scope(principal))
        if row is None:
            raise NotFound(locale.t("err.alert_not_found"), key="err.alert_not_found")
        sites = data.sites(session, key, _site_scope(principal))
        events = data.events(session, key)
    visible = [s for s in sites if s["visible"]]
    return {
        **_view(row),
        "sites": [
            {
                "site_id": str(s["site_id"]),
                "current": s["left_at"] is None,
                "joined_at": s["joined_at"].isoformat(),
                "left_at": s["left_at"].isoformat() if s["left_at"] else None,
                "via": s["via"],
                "status": s["status"],
                "family": s["family"],
                "confirmed": s["confirmed"],
                "territory": s["territory_code"],
                "latitude": s["latitude"],
                "longitude": s["longitude"],
                "first_report_at": s["first_report_at"].isoformat(),
                "last_report_at": s["last_report_at"].isoformat(),
            }
            for s in visible
        ],
        "sites_outside_scope": len(sites) - len(visible),
        "timeline": [
            {
                "at": e["at"].isoformat(),
                "kind": e["kind"],
                "details": e["details"],
                "message": _event_message(e["kind"], e["details"], locale),
            }
            for e in events
        ],
    }


def rules(locale: Locale) -> dict[str, Any]:
    """The thresholds in force and what each level means, in the caller's language."""
    s = get_report_settings()
    return {
        "min_sites": s.alert_min_sites,
        "radius_m": s.alert_radius_m,
        "window_days": s.alert_window_days,
        "red_sites": s.alert_red_sites,
        "growth_weeks": s.alert_growth_weeks,
        "quiet_days": s.alert_quiet_days,
        "levels": {
            level: locale.t(f"alert.level.{level}", red_sites=s.alert_red_sites, growth_weeks=s.alert_growth_weeks)
            for level in ("green", "yellow", "red")
        },
    }


def territory_levels(
    principal: Principal, *, territory: str | None, level: str | None, limit: int, offset: int, locale: Locale
) -> dict[str, Any]:
    """Every territory's current level (any signed-in caller: no site, no alert is named)."""
    where = Where.empty()
    if territory is not None:
        where.add(f"l.code IN ({_BELOW.format(name='l_tree', seed=_TERRITORY_SEED)})", a_territory=territory)
    if level is not None:
        where.add("l.level = :l_level", l_level=level)
    with session_scope() as session:
        found, total = data.levels(session, where, limit=limit, offset=offset)
    return {
        "items": [
            {
                "territory": row["code"],
                "name": row["name"],
                "parent": row["parent_code"],
                "level": row["level"],
                "since": row["since"].isoformat() if row["since"] else None,
            }
            for row in found
        ],
        "total": total,
        "limit": limit,
        "offset": offset,
        "has_next": offset + len(found) < total,
        "rules": rules(locale),
    }
