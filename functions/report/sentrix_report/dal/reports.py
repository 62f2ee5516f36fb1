"""The data of aggregate reports: one dataset (analyses of the scope and filters, and their detections),
summarised by several statements that all start from the same definition."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sentrix_report.dal.sql import one, rows
from sentrix_report.logic.filters import Where

# `a`: the analyses a report covers; `d`: their detections that count (verdict and validity filters);
# `d_all`: every detection of those analyses, for the split by verdict (computed only where a statement reads it).
_DATASET = """
WITH a AS MATERIALIZED (
    SELECT a.id, a.user_id, a.created_at, a.risk_level, a.risk_score, a.total_detections, a.high_risk_count,
           a.medium_risk_count, a.location, a.location_source, a.confidence_threshold,
           coalesce(a.standardized_filename, a.original_filename) AS filename
    FROM analyses a
    WHERE {where}
),
d AS MATERIALIZED (
    SELECT d.id, d.analysis_id, d.created_at, d.breeding_site_type, d.class_name, d.risk_level, d.confidence,
           d.validation_status, d.expires_at, d.expires_at > :as_of AS active
    FROM detections d JOIN a ON a.id = d.analysis_id
    WHERE {detections}
),
d_all AS (
    SELECT d.id, d.analysis_id, d.risk_level, d.validation_status, d.expires_at > :as_of AS active
    FROM detections d JOIN a ON a.id = d.analysis_id
)
"""

# The canonical text of the dataset (docs/report.md, "Report fingerprint"): one line per analysis, then one
# per detection, then (reports showing remediation figures) one per site and one per timeline entry those figures
# read, each sorted by id, fields joined by '|', lines by '\n', hashed as UTF-8 with SHA-256.
_FINGERPRINT = """
, fs AS MATERIALIZED (
    SELECT s.id, s.territory_code, s.first_report_at FROM sites AS s
    WHERE ({sites}) AND s.first_report_at < :fp_sites_end
), us AS MATERIALIZED (
    SELECT s.id, s.status, s.family, s.confirmed, s.territory_code FROM sites AS s
    WHERE {unit_sites} AND s.id IN (SELECT dd.site_id FROM detections AS dd JOIN d ON d.id = dd.id)
), lines AS (
    SELECT 0 AS kind, a.id::text AS k, concat_ws('|', 'A', a.id,
               to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               coalesce(a.risk_level::text, ''), coalesce(a.risk_score::text, ''), a.total_detections,
               coalesce(ST_Y(a.location)::text, ''), coalesce(ST_X(a.location)::text, '')) AS line
    FROM a
    UNION ALL
    SELECT 1, d.id::text, concat_ws('|', 'D', d.id, d.analysis_id,
               to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               coalesce(d.breeding_site_type::text, ''), d.risk_level, d.confidence, d.validation_status,
               to_char(d.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    FROM d
    UNION ALL
    SELECT 2, s.id::text, concat_ws('|', 'S', s.id, coalesce(s.territory_code, ''),
               to_char(s.first_report_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    FROM fs AS s
    UNION ALL
    SELECT 3, sa.id::text, concat_ws('|', 'T', sa.id, sa.site_id, sa.action,
               to_char(sa.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), coalesce(sa.to_status::text, ''))
    FROM site_actions AS sa JOIN fs ON fs.id = sa.site_id
    WHERE sa.at < :fp_sites_end
    UNION ALL
    SELECT 4, u.id::text, concat_ws('|', 'U', {site_fields})
    FROM us AS u
)
SELECT encode(sha256(convert_to(coalesce(string_agg(line, E'\\n' ORDER BY kind, k COLLATE "C"), ''), 'UTF8')),
              'hex') AS sha256,
       (SELECT count(*) FROM a) AS analyses, (SELECT count(*) FROM d) AS detections,
       (SELECT count(*) FROM fs) AS sites, (SELECT count(*) FROM us) AS counted_sites,
       (SELECT count(*) FROM site_actions AS sa JOIN fs ON fs.id = sa.site_id WHERE sa.at < :fp_sites_end)
           AS site_actions,
       (SELECT min(created_at) FROM a) AS span_from, (SELECT max(created_at) FROM a) AS span_to
FROM lines
"""

_SUMMARY = """
SELECT
    (SELECT count(*) FROM a) AS analyses,
    (SELECT count(*) FROM a WHERE location IS NOT NULL) AS located_analyses,
    (SELECT count(*) FROM d) AS detections,
    (SELECT count(*) FROM d WHERE risk_level = 'ALTO') AS high_risk_detections,
    (SELECT count(*) FROM d WHERE risk_level = 'MEDIO') AS medium_risk_detections,
    (SELECT count(*) FROM d WHERE risk_level IN ('BAJO', 'MINIMO')) AS low_risk_detections,
    (SELECT count(*) FROM d WHERE active) AS active_detections,
    -- Detections of these analyses an expert rejected: outside the counts unless the verdict filter asks.
    (SELECT count(*) FROM d_all WHERE validation_status = 'validated_negative') AS rejected_detections,
    (SELECT json_agg(json_build_object('level', l.level, 'analyses', coalesce(c.n, 0)) ORDER BY l.ord)
       FROM (VALUES ('ALTO', 1), ('MEDIO', 2), ('BAJO', 3), ('MINIMO', 4)) AS l (level, ord)
       LEFT JOIN (SELECT risk_level::text AS level, count(*) AS n FROM a GROUP BY 1) AS c USING (level)
    ) AS analyses_by_risk,
    (SELECT coalesce(json_agg(json_build_object('type', t, 'detections', n, 'active', act, 'confirmed', c,
                                                'rejected', r, 'pending', p) ORDER BY n DESC, t), '[]')
       FROM (SELECT coalesce(breeding_site_type::text, 'Otro') AS t, count(*) AS n,
                    count(*) FILTER (WHERE active) AS act,
                    count(*) FILTER (WHERE validation_status = 'validated_positive') AS c,
                    count(*) FILTER (WHERE validation_status = 'validated_negative') AS r,
                    count(*) FILTER (WHERE validation_status IN ('pending', 'requires_review')) AS p
             FROM d GROUP BY 1) AS x
    ) AS detections_by_type,
    (SELECT json_build_object({by_verdict}) FROM d) AS detections_by_verdict,
    (SELECT json_build_object('no_detections', count(*) FILTER (WHERE n = 0),
                              'pending', count(*) FILTER (WHERE n > 0 AND decided = 0),
                              'partial', count(*) FILTER (WHERE decided > 0 AND decided < n),
                              'reviewed', count(*) FILTER (WHERE n > 0 AND decided = n))
       FROM (SELECT a.id, count(d.id) AS n,
                    count(d.id) FILTER (WHERE d.validation_status IN ('validated_positive', 'validated_negative'))
                        AS decided
             FROM a LEFT JOIN d ON d.analysis_id = a.id GROUP BY a.id) AS x
    ) AS analyses_by_review
"""

# Every detection count of the summary, split by the expert's verdict: confirmed (validated_positive),
# rejected (validated_negative), pending (pending or requires_review).
VERDICT_GROUPS = {
    "confirmed": "validation_status = 'validated_positive'",
    "rejected": "validation_status = 'validated_negative'",
    "pending": "validation_status IN ('pending', 'requires_review')",
}
SPLIT_METRICS = {
    "detections": "TRUE",
    "high_risk_detections": "risk_level = 'ALTO'",
    "medium_risk_detections": "risk_level = 'MEDIO'",
    "low_risk_detections": "risk_level IN ('BAJO', 'MINIMO')",
    "active_detections": "active",
}
_SUMMARY = _SUMMARY.replace(
    "{by_verdict}",
    ", ".join(
        f"'{metric}', json_build_object("
        + ", ".join(f"'{group}', count(*) FILTER (WHERE ({cond}) AND {test})" for group, test in VERDICT_GROUPS.items())
        + ")"
        for metric, cond in SPLIT_METRICS.items()
    ),
)

_STATISTICS = """
SELECT
    (SELECT coalesce(json_agg(json_build_object('status', s, 'detections', n) ORDER BY s), '[]')
       FROM (SELECT validation_status::text AS s, count(*) AS n FROM d_all GROUP BY 1) AS x)
        AS detections_by_validation,
    (SELECT coalesce(json_agg(json_build_object('source', s, 'analyses', n) ORDER BY s), '[]')
       FROM (SELECT location_source::text AS s, count(*) AS n FROM a GROUP BY 1) AS x) AS analyses_by_location_source,
    (SELECT coalesce(json_agg(json_build_object('type', t, 'mean_confidence', round(c::numeric, 4)) ORDER BY t), '[]')
       FROM (SELECT coalesce(breeding_site_type::text, 'Otro') AS t, avg(confidence) AS c FROM d GROUP BY 1) AS x
    ) AS mean_confidence_by_type,
    (SELECT coalesce(json_agg(json_build_object('month', m, 'analyses', na, 'detections', nd) ORDER BY m), '[]')
       FROM (SELECT to_char(date_trunc('month', a.created_at AT TIME ZONE :tz), 'YYYY-MM') AS m,
                    count(DISTINCT a.id) AS na,
                    count(d.id) AS nd
             FROM a LEFT JOIN d ON d.analysis_id = a.id GROUP BY 1) AS x) AS monthly
"""

_DETAILED = """
SELECT a.id::text AS id, a.user_id, a.created_at, a.filename, a.risk_level::text AS risk_level, a.risk_score,
       a.total_detections, a.high_risk_count, a.medium_risk_count, a.confidence_threshold,
       ST_Y(a.location) AS latitude, ST_X(a.location) AS longitude, a.location_source::text AS location_source,
       v.active_detections, v.confirmed_detections, v.rejected_detections, v.pending_detections
FROM a
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE d.active) AS active_detections,
           count(*) FILTER (WHERE d.validation_status = 'validated_positive') AS confirmed_detections,
           count(*) FILTER (WHERE d.validation_status = 'validated_negative') AS rejected_detections,
           count(*) FILTER (WHERE d.validation_status IN ('pending', 'requires_review')) AS pending_detections
    FROM d WHERE d.analysis_id = a.id
) AS v
ORDER BY a.created_at DESC, a.id
LIMIT :limit
"""

_EXTENT = """
SELECT ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, ST_YMax(e) AS north, count AS located
FROM (SELECT ST_Extent(location) AS e, count(location) AS count FROM a) AS x
"""

_GRID = """
, cells AS (
    SELECT floor(ST_X(a.location) / :cell)::int AS cx, floor(ST_Y(a.location) / :cell)::int AS cy,
           count(DISTINCT a.id) AS analyses, count(d.id) AS detections,
           count(d.id) FILTER (WHERE d.risk_level = 'ALTO') AS high_risk,
           count(d.id) FILTER (WHERE d.active) AS active,
           (mode() WITHIN GROUP (ORDER BY d.breeding_site_type))::text AS dominant_type
    FROM a LEFT JOIN d ON d.analysis_id = a.id
    WHERE a.location IS NOT NULL
    GROUP BY 1, 2
)
SELECT cx * CAST(:cell AS float8) AS west, cy * CAST(:cell AS float8) AS south,
       (cx + 1) * CAST(:cell AS float8) AS east, (cy + 1) * CAST(:cell AS float8) AS north,
       analyses::int, detections::int, high_risk::int, active::int, dominant_type
FROM cells
ORDER BY cy, cx
"""

_POINTS = """
SELECT ST_X(location) AS longitude, ST_Y(location) AS latitude, risk_level::text AS risk_level
FROM a WHERE location IS NOT NULL
ORDER BY created_at DESC, id
LIMIT :limit
"""


class Dataset:
    """Runs the report statements over one dataset definition."""

    def __init__(self, session: Session, where: Where, *, as_of: datetime, detections: Where) -> None:
        self.session = session
        self.prefix = _DATASET.format(where=where.sql(), detections=detections.sql())
        self.params: dict[str, Any] = {**where.params, **detections.params, "as_of": as_of}

    def _one(self, body: str, **params: Any) -> dict[str, Any]:
        return dict(one(self.session, self.prefix + body, {**self.params, **params}))

    def _rows(self, body: str, **params: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in rows(self.session, self.prefix + body, {**self.params, **params})]

    def fingerprint(
        self,
        sites: Where | None,
        sites_end: datetime | None,
        *,
        unit_sites: bool,
        own_view: bool,
    ) -> dict[str, Any]:
        """The dataset's canonical text hashed; with `sites` (alias `s`), also the sites first reported before
        `sites_end` and their timeline before it: what the report's remediation figures read; with `unit_sites`,
        the sites of the counted detections (`unit=sites`): for a user's `own_view` their ids and families only
        (the status, confirmation and territory others and the team change are not in their figures)."""
        body = _FINGERPRINT.format(
            sites=sites.sql() if sites is not None else "FALSE",
            unit_sites="TRUE" if unit_sites else "FALSE",
            site_fields="u.id, u.family" if own_view else "u.id, u.status, u.family, u.confirmed, u.territory_code",
        )
        params = sites.params if sites is not None else {}
        # Without `sites` the statement reads no site (`FALSE`): `fp_sites_end` is then NULL and unread.
        return self._one(body, fp_sites_end=sites_end, **params)

    def summary(self) -> dict[str, Any]:
        return self._one(_SUMMARY)

    def statistics(self, timezone: str) -> dict[str, Any]:
        """Statistics; months are calendar months in `timezone` (an IANA name)."""
        return self._one(_STATISTICS, tz=timezone)

    def detailed(self, limit: int) -> list[dict[str, Any]]:
        return self._rows(_DETAILED, limit=limit)

    def extent(self) -> dict[str, Any]:
        return self._one(_EXTENT)

    def grid(self, cell_deg: float) -> list[dict[str, Any]]:
        return self._rows(_GRID, cell=cell_deg)

    def points(self, limit: int) -> list[dict[str, Any]]:
        return self._rows(_POINTS, limit=limit)
