"""`unit=sites`: the breeding sites (docs/sites.md) of the detections a read counts, instead of the detections.

A read counts a site when at least one of its detections is among those the read counts (the same scope,
analysis filters, verdict and validity filters), so every filter of the read keeps its meaning. For an audience
that sees other people's data only aggregated, a site is counted once per public cell holding one of its counted
detections (`per_cell`): counts of areas made of whole cells then add up exactly, and no difference of two areas
can tell that a site lies astride a cell edge (a position finer than the grid). Experts count each site once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sentrix_report.dal.sql import one
from sentrix_report.logic.filters import Where

STATUSES = ("open", "assigned", "treated", "reopened", "closed", "dismissed")
FAMILIES = ("water", "refuse", "road")

_SQL = """
WITH a AS MATERIALIZED (SELECT a.id, a.location FROM analyses a WHERE {where}),
m AS MATERIALIZED (
    SELECT DISTINCT d.site_id{cell}
    FROM detections d JOIN a ON a.id = d.analysis_id
    WHERE d.site_id IS NOT NULL AND {detections}
),
x AS (SELECT s.status::text AS status, s.family::text AS family, s.confirmed FROM m JOIN sites s ON s.id = m.site_id)
SELECT count(*)::int AS total,
       count(*) FILTER (WHERE confirmed)::int AS confirmed,
       count(*) FILTER (WHERE status IN ('open', 'assigned', 'treated', 'reopened'))::int AS needing_work,
       {by_status}, {by_family}
FROM x
"""


# A user's own sites (docs/sites.md, *Who sees what*): what their own counted detections make of each site —
# confirmed when an expert confirmed one of them; the site's status (the team's work, recurrences others'
# reports cause) and its confirmation by others' detections are not theirs to learn.
_OWN_SQL = """
WITH a AS MATERIALIZED (SELECT a.id FROM analyses a WHERE {where}),
x AS (
    SELECT s.family::text AS family, bool_or(d.validation_status = 'validated_positive') AS confirmed
    FROM detections d JOIN a ON a.id = d.analysis_id JOIN sites s ON s.id = d.site_id
    WHERE {detections}
    GROUP BY d.site_id, s.family
)
SELECT count(*)::int AS total, count(*) FILTER (WHERE confirmed)::int AS confirmed, {by_family}
FROM x
"""


def own_site_counts(session: Session, *, where: Where, detections: Where) -> dict[str, Any]:
    """site_counts() of a user's own analyses as their own detections make the sites: total, per family and
    confirmed by their own members; `needing_work` and the statuses null (withheld)."""
    by_family = ", ".join(f"count(*) FILTER (WHERE family = '{f}')::int AS family_{f}" for f in FAMILIES)
    sql = _OWN_SQL.format(where=where.sql(), detections=detections.sql(), by_family=by_family)
    row = dict(one(session, sql, {**where.params, **detections.params}))
    return {
        "total": row["total"],
        "needing_work": None,
        "confirmed": row["confirmed"],
        "by_status": dict.fromkeys(STATUSES),
        "by_family": {f: row[f"family_{f}"] for f in FAMILIES},
    }


def site_counts(session: Session, *, where: Where, detections: Where, per_cell_deg: float | None) -> dict[str, Any]:
    """Totals, per status, per family and confirmed, of the sites of the counted detections of `where`'s
    analyses; with `per_cell_deg`, a site counts once per public cell of that size holding one of them."""
    cell = (
        ", floor(ST_X(a.location) / CAST(:site_cell AS float8)), floor(ST_Y(a.location) / CAST(:site_cell AS float8))"
        if per_cell_deg
        else ""
    )
    by_status = ", ".join(f"count(*) FILTER (WHERE status = '{s}')::int AS status_{s}" for s in STATUSES)
    by_family = ", ".join(f"count(*) FILTER (WHERE family = '{f}')::int AS family_{f}" for f in FAMILIES)
    sql = _SQL.format(
        where=where.sql(), detections=detections.sql(), cell=cell, by_status=by_status, by_family=by_family
    )
    params = {**where.params, **detections.params, **({"site_cell": per_cell_deg} if per_cell_deg else {})}
    row = dict(one(session, sql, params))
    return {
        "total": row["total"],
        "needing_work": row["needing_work"],
        "confirmed": row["confirmed"],
        "by_status": {s: row[f"status_{s}"] for s in STATUSES},
        "by_family": {f: row[f"family_{f}"] for f in FAMILIES},
    }
