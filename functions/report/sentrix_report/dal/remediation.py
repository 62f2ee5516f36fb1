"""Remediation figures of breeding sites per territory and week, from the sites' timeline (docs/sites.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping
from sqlalchemy.orm import Session

from sentrix_report.dal.sql import rows
from sentrix_report.logic.filters import Where

# Statuses of a site that still needs work (docs/sites.md, *Lifecycle*).
ACTIVE = "('open', 'assigned', 'treated', 'reopened')"

# One row per (territory tag, week) with at least one site of the territory known by the week's end. `:first` is
# the first week's start (UTC, from logic.remediation.week_start), `:weeks` how many 7-day weeks follow.
_WEEKLY = """
WITH weeks AS (
    SELECT ws, ws + interval '7 days' AS we
    FROM generate_series(CAST(:first AS timestamp), CAST(:first AS timestamp) + (:weeks - 1) * interval '7 days',
                         interval '7 days') AS g (ws_local)
    CROSS JOIN LATERAL (SELECT g.ws_local AT TIME ZONE 'UTC' AS ws) AS w
),
s AS MATERIALIZED (SELECT s.id, s.territory_code, s.first_report_at FROM sites s WHERE {where}),
act AS MATERIALIZED (
    SELECT sa.site_id, sa.action::text AS action, sa.at, sa.to_status::text AS to_status, s.territory_code,
           s.first_report_at
    FROM site_actions sa JOIN s ON s.id = sa.site_id
    WHERE sa.at < (SELECT max(we) FROM weeks)
),
cells AS (SELECT DISTINCT s.territory_code, weeks.ws, weeks.we FROM s, weeks WHERE s.first_report_at < weeks.we)
SELECT c.territory_code, c.ws AS week_start,
    (SELECT count(*) FROM s WHERE s.territory_code IS NOT DISTINCT FROM c.territory_code
        AND s.first_report_at >= c.ws AND s.first_report_at < c.we)::int AS opened,
    (SELECT count(*) FROM act WHERE act.territory_code IS NOT DISTINCT FROM c.territory_code
        AND act.action = 'close' AND act.at >= c.ws AND act.at < c.we)::int AS closed,
    (SELECT count(*) FROM act WHERE act.territory_code IS NOT DISTINCT FROM c.territory_code
        AND act.action = 'reopen' AND act.at >= c.ws AND act.at < c.we)::int AS reopened,
    (SELECT count(*) FROM (
        SELECT DISTINCT ON (act.site_id) act.to_status FROM act
        WHERE act.territory_code IS NOT DISTINCT FROM c.territory_code AND act.at < c.we
        ORDER BY act.site_id, act.at DESC
     ) AS last_ WHERE last_.to_status IN {active})::int AS open_at_end,
    (SELECT coalesce(array_agg(extract(epoch FROM act.at - act.first_report_at) / 86400.0 ORDER BY act.at),
                     CAST(ARRAY[] AS float8[]))
        FROM act WHERE act.territory_code IS NOT DISTINCT FROM c.territory_code
        AND act.action = 'close' AND act.at >= c.ws AND act.at < c.we) AS days_to_close
FROM cells c
ORDER BY c.territory_code NULLS LAST, c.ws
"""


def weekly(session: Session, *, where: Where, first: datetime, weeks: int) -> Sequence[RowMapping]:
    """Per territory tag and week: opened, closed, reopened, open at the week's end, and each close's days."""
    sql = _WEEKLY.format(where=where.sql(), active=ACTIVE)
    return rows(session, sql, {**where.params, "first": first.replace(tzinfo=None), "weeks": weeks})
