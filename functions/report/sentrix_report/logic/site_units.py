"""`unit=sites` beside the default `unit=detections` (issue #19, point 3; docs/sites.md, *Sites as the unit*).

The default unit is `detections` for everyone but officials, whose default is `sites` (they work with places).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix.repositories.officials import is_official
from sentrix_report.dal.site_units import own_site_counts, site_counts
from sentrix_report.logic.filters import Where
from sentrix_report.logic.scope import OFFICIAL_SCOPE

UNIT_HELP = (
    "what the figures count: detections (default) or sites, the breeding sites those detections belong to "
    "(the default for officials; docs/sites.md)"
)


class Unit(StrEnum):
    DETECTIONS = "detections"
    SITES = "sites"


def unit_for(principal: Principal | None, asked: Unit | None) -> Unit:
    """The asked unit, else `sites` for officials and `detections` for everyone else."""
    if asked is not None:
        return asked
    return Unit.SITES if principal is not None and is_official(principal) else Unit.DETECTIONS


def sites_block(
    session: Session,
    *,
    where: Where,
    detections: Where,
    locale: Locale,
    per_cell_deg: float | None = None,
    own_view: bool = False,
) -> dict[str, Any]:
    """The `sites` object of an answer: counts and what they mean. `own_view` (a user's own analyses): the
    sites as the user's own detections make them, statuses withheld (docs/sites.md, *Who sees what*)."""
    if own_view:
        counts = own_site_counts(session, where=where, detections=detections)
    else:
        counts = site_counts(session, where=where, detections=detections, per_cell_deg=per_cell_deg)
    note = "note.sites_per_cell" if per_cell_deg else "note.sites_exact"
    return counts | {
        "counted_as": locale.t(note, cell=per_cell_deg or ""),
        "precision": {"per_cell_deg": per_cell_deg} if per_cell_deg else {"per_cell_deg": None},
    }


def own_view(principal: Principal | None) -> bool:
    """A user: of the sites of their own data, only what their own detections make (docs/sites.md)."""
    return principal is not None and not principal.sees_everything and not is_official(principal)


def whole_sites(principal: Principal | None, alias: str = "s") -> Where:
    """Condition on a site that the caller's maps draw as a place, at its own point: every site for experts and
    admins, their territories' (and below) for officials, none for anyone else (docs/sites.md, *Sites on the
    maps*). Sites of the caller's own detections are drawn at those detections' points instead."""
    if principal is None:
        return Where.empty().add("FALSE")
    if principal.sees_everything:
        return Where.empty()
    if is_official(principal):
        codes = OFFICIAL_SCOPE.format(name="w_scope", param="w_official")
        return Where.empty().add(f"{alias}.territory_code IN ({codes})", w_official=principal.user_id)
    return Where.empty().add("FALSE")
