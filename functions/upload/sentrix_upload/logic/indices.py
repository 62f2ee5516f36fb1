"""Larval indices per territory and survey cycle, and the photo-derived potential-site figures kept apart
(docs/visits.md, issue #20 points 5 and 6).

Rows: the territory asked for (its visits and those of every territory below it), then each territory directly
below it (with those below it). Larval indices come from field visits only (sentrix.domain.larval_indices);
potential sites come from photos (confirmed sites per km² and their family mix) and are labelled so, never as
larval indices.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.domain import larval_indices as rules
from sentrix.domain import survey_cycles
from sentrix.domain.larval_indices import ContainerClass
from sentrix.domain.sites import SiteFamily
from sentrix.domain.survey_cycles import CycleKind
from sentrix.errors import NotFound, ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix_upload.dal import visits as dal
from sentrix_upload.logic.visits import EARLIEST_DAY, LATEST_DAY, require_visit_role

MAX_CYCLES = 60
EARLIEST, LATEST = EARLIEST_DAY, LATEST_DAY


def _check_window(first: date, last: date, kind: CycleKind) -> None:
    if first < EARLIEST or last > LATEST:
        field = "from" if first < EARLIEST else "to"
        raise ValidationFailed(key="err.indices_dates_range", details={"field": field})
    if last < first:
        raise ValidationFailed(key="err.visit_window", details={"field": "to"})
    if survey_cycles.count(first, last, kind) > MAX_CYCLES:
        raise ValidationFailed(
            key="err.indices_too_many_cycles",
            details={"field": "cycle", "max_cycles": MAX_CYCLES},
            max_cycles=MAX_CYCLES,
        )


def _counts(visit: Any, containers: dict[ContainerClass, tuple[int, int]]) -> rules.VisitCounts:
    return rules.VisitCounts(
        visited=visit.premises_visited,
        closed=visit.premises_closed,
        refused=visit.premises_refused,
        inspected=visit.premises_inspected,
        positive=visit.premises_positive,
        containers=containers,
        pupae=visit.pupae,
    )


def _cycle_view(cycle: survey_cycles.Cycle, totals: rules.SurveyTotals, locale: Locale) -> dict[str, Any]:
    figures = rules.indices(totals)
    classification = figures["house_index"]["classification"]
    figures["house_index"]["classification_label"] = (
        locale.t(f"visit.house_index.{classification}") if classification else None
    )
    return {
        "label": cycle.label,
        "start": cycle.start,
        "end": cycle.end,
        "visits": totals.visits,
        "premises": {
            "visited": totals.visited,
            "closed": totals.closed,
            "refused": totals.refused,
            "inspected": totals.inspected,
            "positive": totals.positive,
        },
        "containers": {k.value: {"inspected": v[0], "positive": v[1]} for k, v in totals.containers.items()},
        "pupae": totals.pupae,
        "visits_counting_pupae": totals.pupae_visits,
        **figures,
    }


def _ref(row: Any) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "level": row.depth}


def _potential(row: Any, area_km2: float, by_family: dict[str, int]) -> dict[str, Any]:
    sites = sum(by_family.values())
    return {
        "territory": _ref(row),
        "area_km2": round(area_km2, 4),
        "confirmed_sites": sites,
        # Sites per km², 6 decimals (a city has a few per km²); a territory of zero area (degenerate) gives null.
        "density_per_km2": {
            "value": round(sites / area_km2, 6) if area_km2 > 0 else None,
            "numerator": sites,
            "denominator": round(area_km2, 4),
            "of": "confirmed_potential_sites",
            "per": "km2",
        },
        "class_mix": {
            family.value: rules.ratio(
                by_family.get(family.value, 0), sites, scale=100, of=f"sites_{family.value}", per="confirmed_sites"
            )
            for family in SiteFamily
        },
    }


def indices(
    principal: Principal, *, territory: str, first: date, last: date, kind: CycleKind, locale: Locale
) -> dict[str, Any]:
    """Larval indices per territory and cycle, and the potential-site figures beside them."""
    require_visit_role(principal)
    _check_window(first, last, kind)
    cycles = survey_cycles.cycles(first, last, kind)
    with session_scope() as session:
        asked = dal.territory(session, territory)
        if asked is None or not dal.in_scope(session, principal, territory):
            raise NotFound(
                key="err.visit_territory_out_of_scope",
                details={"field": "territory", "territory": territory},
                code=territory,
            )
        children, branch_of = dal.branches(session, territory)
        codes = sorted(branch_of)
        visits, containers = dal.survey_rows(session, codes, first, last)
        sites = dal.potential_sites(session, codes, first, last)
        areas = dal.areas_km2(session, [territory, *(c.code for c in children)])

    rows = [asked, *children]
    # Per row (None: the territory asked for) and cycle, the totals of the visits below it.
    totals: dict[tuple[str | None, int], rules.SurveyTotals] = defaultdict(rules.SurveyTotals)
    for visit in visits:
        counts = _counts(visit, containers.get(visit.id, {}))
        index = next(i for i, cycle in enumerate(cycles) if cycle.holds(visit.visited_on))
        totals[(None, index)].add(counts)
        branch = branch_of.get(visit.territory_code)
        if branch is not None:
            totals[(branch, index)].add(counts)

    larval = []
    for row in rows:
        key = None if row.code == territory else row.code
        larval.append(
            {
                "territory": _ref(row),
                "cycles": [_cycle_view(cycle, totals[(key, i)], locale) for i, cycle in enumerate(cycles)],
            }
        )

    families: dict[str | None, dict[str, int]] = defaultdict(dict)
    for code, family, count in sites:
        family = family.value if hasattr(family, "value") else str(family)
        keys = [None] if branch_of.get(code) is None else [None, branch_of[code]]
        for key in keys:
            families[key][family] = families[key].get(family, 0) + count
    potential = []
    for row in rows:
        key = None if row.code == territory else row.code
        potential.append(_potential(row, areas.get(row.code, 0.0), families.get(key, {})))

    return {
        "territory": _ref(asked),
        "from": first,
        "to": last,
        "cycle": kind.value,
        "larval_indices": {"label": locale.t("visit.label.larval_indices"), "territories": larval},
        "potential_sites": {"label": locale.t("visit.label.potential_sites"), "territories": potential},
    }
