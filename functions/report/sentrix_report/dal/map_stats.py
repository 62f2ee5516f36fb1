"""Map statistics in one statement: totals, risk distribution, active zones, types and the 7-day trend."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sentrix_report.dal.sql import one
from sentrix_report.logic.filters import Where

# Active zones are cells of this size (degrees, ≈ 110 m) holding at least one active detection: the
# original counted distinct coordinates rounded to 3 decimals.
ZONE_DEG = 0.001

# The totals over the per-type groups: the same in the live query and the rollup's (both name theirs `per_type`).
_DETECTION_TOTALS = """detection_totals AS (
    SELECT coalesce(sum(n), 0)::bigint AS total_detections, coalesce(sum(active_n), 0)::bigint AS active_detections,
           coalesce(sum(high_n), 0)::bigint AS high_risk_detections,
           coalesce(sum(mask_area), 0)::float8 AS total_mask_area_px,
           coalesce(sum(validated_positive), 0)::bigint AS validated_positive,
           coalesce(sum(validated_negative), 0)::bigint AS validated_negative,
           coalesce(sum(awaiting_validation), 0)::bigint AS awaiting_validation
    FROM per_type
),"""

_SQL = """
WITH a AS MATERIALIZED (
    SELECT a.id, a.user_id, a.risk_level, a.created_at, a.location IS NOT NULL AS located,
           floor(ST_X(a.location) / :zone) AS zx, floor(ST_Y(a.location) / :zone) AS zy
    FROM analyses a
    WHERE {where}
),
analysis_totals AS (
    SELECT count(*) AS total_analyses, count(DISTINCT user_id) AS reporters,
           count(*) FILTER (WHERE located) AS locations_with_gps,
           count(*) FILTER (WHERE risk_level = 'ALTO') AS alto,
           count(*) FILTER (WHERE risk_level = 'MEDIO') AS medio,
           count(*) FILTER (WHERE risk_level = 'BAJO') AS bajo,
           count(*) FILTER (WHERE risk_level = 'MINIMO') AS minimo,
           count(*) FILTER (WHERE risk_level IS NULL) AS sin_nivel,
           max(created_at) AS last_updated,
           min(created_at) AS first_analysis
    FROM a
),
-- Totals and per-type counts in one pass over the join (a handful of groups, hashed); the trend and the
-- active cells touch only recent or unexpired detections, through the created_at and expires_at indexes.
-- Every detection of the analyses once: `counted` (verdict and validity filters) decides what the figures
-- count; the verdict tallies count every detection, so a default read still says how many were rejected.
per_type AS (
    SELECT coalesce(d.breeding_site_type::text, 'Otro') AS site_type,
           count(*) FILTER (WHERE d.counted) AS n,
           count(*) FILTER (WHERE d.counted AND d.expires_at > :as_of) AS active_n,
           count(*) FILTER (WHERE d.counted AND d.risk_level = 'ALTO') AS high_n,
           coalesce(sum(d.mask_area) FILTER (WHERE d.counted), 0) AS mask_area,
           count(*) FILTER (WHERE d.validation_status = 'validated_positive') AS validated_positive,
           count(*) FILTER (WHERE d.validation_status = 'validated_negative') AS validated_negative,
           count(*) FILTER (WHERE d.validation_status IN ('pending', 'requires_review')) AS awaiting_validation
    FROM (
        SELECT d.breeding_site_type, d.expires_at, d.risk_level, d.mask_area, d.validation_status,
               ({detections}) AS counted
        FROM detections d JOIN a ON a.id = d.analysis_id
    ) AS d
    GROUP BY 1
),
{detection_totals}
zones AS (
    SELECT count(*) AS active_zones FROM (
        SELECT DISTINCT a.zx, a.zy
        FROM detections d JOIN a ON a.id = d.analysis_id
        WHERE d.expires_at > :as_of AND a.located AND {detections}
    ) AS cells
),
types AS (
    SELECT coalesce(json_agg(json_build_object('name', site_type, 'value', n, 'active', active_n)
                             ORDER BY n DESC, site_type), '[]') AS detection_types
    FROM per_type WHERE n > 0
),
-- Days are the caller's calendar days (their time-zone setting), not UTC days.
per_day AS (
    SELECT (d.created_at AT TIME ZONE CAST(:tz AS text))::date AS day, count(*) AS n
    FROM detections d JOIN a ON a.id = d.analysis_id
    WHERE d.created_at >= :trend_start AND {found}
    GROUP BY 1
),
days AS (
    SELECT generate_series(CAST(:first_day AS date), CAST(:last_day AS date), interval '1 day')::date AS day
),
trend AS (
    SELECT json_agg(json_build_object(
               'date', days.day,
               'detections', coalesce(s.n, 0))
           ORDER BY days.day) AS weekly_trend
    FROM days LEFT JOIN per_day s ON s.day = days.day
)
SELECT * FROM analysis_totals, detection_totals, zones, types, trend
"""


def map_stats(
    session: Session, *, where: Where, detections: Where, found: Where, as_of: datetime, timezone: str
) -> dict[str, Any]:
    """Every figure of GET /map-stats for the analyses `where` selects: `detections` are those that count,
    `found` those a trend counts (the verdict filter without validity), `as_of` deciding what is active; the
    trend's days are calendar days in `timezone` (an IANA name), the last 7 up to as_of's."""
    last_day = as_of.astimezone(ZoneInfo(timezone)).date()
    first_day = last_day - timedelta(days=6)
    trend_start = datetime.combine(first_day, time.min, tzinfo=ZoneInfo(timezone))
    params = {**where.params, **detections.params, **found.params, "as_of": as_of, "zone": ZONE_DEG}
    sql = _SQL.format(
        where=where.sql(), detections=detections.sql(), found=found.sql(), detection_totals=_DETECTION_TOTALS
    )
    days = {"trend_start": trend_start, "first_day": first_day, "last_day": last_day, "tz": timezone}
    return dict(one(session, sql, params | days))


# The same figures for the public view of everything (no bbox, date, risk or territory filter, verdict
# not_rejected, validity judged at a UTC midnight), from the trigger-maintained rollup of migration 0019: a few
# thousand grouped rows instead of every detection. Each sum is cast back to the type the live query returns.
_ROLLUP_SQL = """
WITH analysis_totals AS (
    SELECT coalesce(sum(n), 0)::bigint AS total_analyses,
           coalesce(sum(n) FILTER (WHERE located), 0)::bigint AS locations_with_gps,
           coalesce(sum(n) FILTER (WHERE risk_key = 'ALTO'), 0)::bigint AS alto,
           coalesce(sum(n) FILTER (WHERE risk_key = 'MEDIO'), 0)::bigint AS medio,
           coalesce(sum(n) FILTER (WHERE risk_key = 'BAJO'), 0)::bigint AS bajo,
           coalesce(sum(n) FILTER (WHERE risk_key = 'MINIMO'), 0)::bigint AS minimo,
           coalesce(sum(n) FILTER (WHERE risk_key = ''), 0)::bigint AS sin_nivel,
           max(day) FILTER (WHERE n > 0)::timestamp AT TIME ZONE 'UTC' AS last_updated,
           min(day) FILTER (WHERE n > 0)::timestamp AT TIME ZONE 'UTC' AS first_analysis
    -- A group's shards add up to its count (one shard alone may even be negative).
    FROM (SELECT day, risk_key, located, sum(n) AS n FROM map_stats_analyses GROUP BY 1, 2, 3) AS g
),
reporters AS (SELECT count(*) AS reporters FROM map_stats_reporters WHERE n > 0),
per_type AS (
    SELECT site_key AS site_type,
           coalesce(sum(n) FILTER (WHERE counted), 0)::bigint AS n,
           coalesce(sum(n) FILTER (WHERE counted AND expiry_day >= :day), 0)::bigint AS active_n,
           coalesce(sum(n) FILTER (WHERE counted AND alto), 0)::bigint AS high_n,
           coalesce(sum(mask_area) FILTER (WHERE counted), 0) AS mask_area,
           coalesce(sum(n) FILTER (WHERE status = 'validated_positive'), 0)::bigint AS validated_positive,
           coalesce(sum(n) FILTER (WHERE status = 'validated_negative'), 0)::bigint AS validated_negative,
           coalesce(sum(n) FILTER (WHERE status IN ('pending', 'requires_review')), 0)::bigint AS awaiting_validation
    FROM (
        SELECT *, status <> 'validated_negative' AND (NOT :active_only OR expiry_day >= :day) AS counted
        FROM map_stats_detections
    ) AS g
    GROUP BY 1
),
{detection_totals}
zones AS (SELECT count(*) AS active_zones FROM map_stats_zones WHERE expires > :as_of),
types AS (
    SELECT coalesce(json_agg(json_build_object('name', site_type, 'value', n, 'active', active_n)
                             ORDER BY n DESC, site_type), '[]') AS detection_types
    FROM per_type WHERE n > 0
),
days AS (
    SELECT generate_series(CAST(:first_day AS date), CAST(:last_day AS date), interval '1 day')::date AS day
),
trend AS (
    SELECT json_agg(json_build_object(
               'date', days.day,
               'detections', coalesce(s.n, 0))
           ORDER BY days.day) AS weekly_trend
    FROM days LEFT JOIN (
        SELECT day, sum(n)::bigint AS n FROM map_stats_found
        WHERE day BETWEEN :first_day AND :last_day AND status <> 'validated_negative'
        GROUP BY 1
    ) AS s ON s.day = days.day
)
SELECT * FROM analysis_totals, reporters, detection_totals, zones, types, trend
""".replace("{detection_totals}", _DETECTION_TOTALS)


def map_stats_rollup(session: Session, *, as_of: datetime, active_only: bool) -> dict[str, Any]:
    """map_stats() for every counted analysis, verdict not_rejected, active at `as_of` (a UTC midnight: the
    rollup knows expiries by day) or all (`active_only` False), trend days in UTC: read from the rollup."""
    utc = ZoneInfo("UTC")
    if as_of.astimezone(utc).timetz() != time.min.replace(tzinfo=utc):
        raise ValueError("the map-stats rollup judges validity at a UTC midnight only")
    last_day = as_of.astimezone(utc).date()
    params = {
        "as_of": as_of,
        "day": last_day,
        "active_only": active_only,
        "first_day": last_day - timedelta(days=6),
        "last_day": last_day,
    }
    return dict(one(session, _ROLLUP_SQL, params))
