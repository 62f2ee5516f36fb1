"""The daily alert computation's SQL: the clusters (ST_ClusterDBSCAN), the open alerts, and the writes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from sentrix_report.dal.sql import UTM_SRID

# Statuses of a site that still needs work (docs/sites.md, *Lifecycle*): "open" in the alert rules.
ACTIVE = "('open', 'assigned', 'treated', 'reopened')"

# One advisory lock key for the whole computation: two runs at once would record a level change twice.
LOCK_KEY = 0x53_41_4C_45_52_54  # "SALERT"

# Eligible sites: confirmed, still needing work, last reported within the window ending at :now (and known by
# then), and not old news of an alert closed as quiet (re-reported after that closure they count again).
# DBSCAN with minpoints 1 joins every pair within eps: each cluster is a connected set of sites within eps of
# another. Distances in metres in each site's UTM zone (partitioned by zone: a cluster never straddles two).
_CLUSTERS = f"""
WITH eligible AS (
    SELECT s.id, s.location,
           {UTM_SRID.format(lat="ST_Y(s.location)", lon="ST_X(s.location)")} AS srid
    FROM sites s
    WHERE s.confirmed AND s.status IN {ACTIVE}
      AND s.last_report_at >= CAST(:now AS timestamptz) - make_interval(days => :window_days)
      AND s.first_report_at <= CAST(:now AS timestamptz)
      AND NOT EXISTS (
          SELECT 1 FROM alert_sites m JOIN alerts a ON a.id = m.alert_id
          WHERE m.site_id = s.id AND a.status = 'closed' AND a.closed_reason = 'quiet'
            AND a.closed_at >= s.last_report_at)
),
clustered AS (
    SELECT id, srid,
           ST_ClusterDBSCAN(ST_Transform(location, srid), eps => :eps, minpoints => 1)
               OVER (PARTITION BY srid ORDER BY id) AS cid
    FROM eligible
)
SELECT array_agg(CAST(id AS text) ORDER BY id) AS sites
FROM clustered
GROUP BY srid, cid
HAVING count(*) >= :min_sites
"""  # noqa: S608 - constants only


def lock(session: Session) -> None:
    """Serialise computations (transaction-level: released at commit)."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def clusters(session: Session, *, now: datetime, window_days: int, eps_m: float, min_sites: int) -> list[frozenset]:
    found = session.execute(
        text(_CLUSTERS), {"now": now, "window_days": window_days, "eps": eps_m, "min_sites": min_sites}
    )
    return [frozenset(uuid.UUID(s) for s in sites) for (sites,) in found]


def open_alerts(session: Session) -> list[dict[str, Any]]:
    """Open alerts with their current sites (the computation's advisory lock keeps other runs out)."""
    found = session.execute(
        text(
            "SELECT a.id, a.opened_at, a.level, a.last_growth_at, "
            "coalesce(array_agg(CAST(m.site_id AS text) ORDER BY m.site_id) "
            "FILTER (WHERE m.site_id IS NOT NULL), CAST(ARRAY[] AS text[])) AS sites "
            "FROM alerts a LEFT JOIN alert_sites m ON m.alert_id = a.id AND m.left_at IS NULL "
            "WHERE a.status = 'open' GROUP BY a.id ORDER BY a.opened_at, a.id"
        )
    ).mappings()
    return [{**row, "sites": frozenset(uuid.UUID(s) for s in row["sites"])} for row in found]


def create_alert(session: Session, *, now: datetime, level: str, split_from: uuid.UUID | None) -> uuid.UUID:
    alert_id = uuid.uuid4()
    session.execute(
        text(
            "INSERT INTO alerts (id, status, level, opened_at, last_growth_at, updated_at, split_from) "
            "VALUES (:id, 'open', :level, :now, :now, :now, :split_from)"
        ),
        {"id": alert_id, "level": level, "now": now, "split_from": split_from},
    )
    return alert_id


def add_sites(session: Session, alert_id: uuid.UUID, sites: Iterable[uuid.UUID], *, now: datetime, via: str) -> None:
    """Sites join the alert (one that had left it comes back: joined again now)."""
    ids = [str(s) for s in sites]
    if not ids:
        return
    session.execute(
        text(
            "INSERT INTO alert_sites (alert_id, site_id, joined_at, via) "
            "SELECT :alert, s, :now, :via FROM unnest(CAST(:ids AS uuid[])) AS s "
            "ON CONFLICT (alert_id, site_id) DO UPDATE SET joined_at = excluded.joined_at, left_at = NULL, "
            "via = excluded.via"
        ),
        {"alert": alert_id, "ids": ids, "now": now, "via": via},
    )


def remove_sites(session: Session, alert_id: uuid.UUID, sites: Iterable[uuid.UUID], *, now: datetime) -> None:
    ids = [str(s) for s in sites]
    if ids:
        session.execute(
            text(
                "UPDATE alert_sites SET left_at = :now WHERE alert_id = :alert AND left_at IS NULL "
                "AND site_id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"alert": alert_id, "ids": ids, "now": now},
        )


def event(session: Session, alert_id: uuid.UUID, kind: str, *, now: datetime, **details: str | int | bool) -> None:
    """One entry of the alert's history; `details` are JSON values already (ids as text), kept as jsonb."""
    session.execute(
        text("INSERT INTO alert_events (alert_id, at, kind, details) VALUES (:a, :at, :kind, CAST(:d AS jsonb))"),
        {"a": alert_id, "at": now, "kind": kind, "d": json.dumps(details)},
    )


def grew(session: Session, alert_id: uuid.UUID, *, now: datetime) -> None:
    session.execute(
        text("UPDATE alerts SET last_growth_at = :now, updated_at = :now WHERE id = :id"), {"id": alert_id, "now": now}
    )


def close(
    session: Session, alert_id: uuid.UUID, *, now: datetime, reason: str, merged_into: uuid.UUID | None = None
) -> None:
    session.execute(
        text(
            "UPDATE alerts SET status = 'closed', closed_at = :now, closed_reason = :reason, "
            "merged_into = :into, updated_at = :now WHERE id = :id"
        ),
        {"id": alert_id, "now": now, "reason": reason, "into": merged_into},
    )


def summaries(session: Session, ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """Per alert: current sites (count, tags, centroid) and the times its sites joined as new sites."""
    found = session.execute(
        text(
            "SELECT a.id, a.opened_at, a.level, "
            "(SELECT count(*) FROM alert_sites m WHERE m.alert_id = a.id AND m.left_at IS NULL)::int AS site_count, "
            "(SELECT coalesce(array_agg(s.territory_code), CAST(ARRAY[] AS varchar[])) FROM alert_sites m "
            " JOIN sites s ON s.id = m.site_id WHERE m.alert_id = a.id AND m.left_at IS NULL) AS tags, "
            "(SELECT coalesce(array_agg(m.joined_at), CAST(ARRAY[] AS timestamptz[])) FROM alert_sites m "
            " WHERE m.alert_id = a.id AND m.via = 'cluster') AS growth "
            "FROM alerts a WHERE a.id = ANY(CAST(:ids AS uuid[])) ORDER BY a.opened_at, a.id"
        ),
        {"ids": [str(i) for i in ids]},
    ).mappings()
    return [dict(row) for row in found]


def update_alert(session: Session, alert_id: uuid.UUID, *, level: str, site_count: int, territory: str | None) -> None:
    session.execute(
        text(
            "UPDATE alerts SET level = :level, site_count = :n, territory_code = :territory, "
            "location = (SELECT ST_Centroid(ST_Collect(s.location)) FROM alert_sites m "
            "            JOIN sites s ON s.id = m.site_id WHERE m.alert_id = :id AND m.left_at IS NULL) "
            "WHERE id = :id"
        ),
        {"id": alert_id, "level": level, "n": site_count, "territory": territory},
    )


def touch(session: Session, alert_id: uuid.UUID, *, now: datetime) -> None:
    session.execute(text("UPDATE alerts SET updated_at = :now WHERE id = :id"), {"id": alert_id, "now": now})


def territory_parents(session: Session) -> dict[str, str | None]:
    return dict(session.execute(text("SELECT code, parent_code FROM territories")).all())


def record_level_change(
    session: Session, *, territory: str, alert_id: uuid.UUID | None, old: str, new: str, now: datetime
) -> int:
    return session.execute(
        text(
            "INSERT INTO alert_level_changes (territory_code, alert_id, old_level, new_level, changed_at) "
            "VALUES (:t, :a, :old, :new, :now) RETURNING id"
        ),
        {"t": territory, "a": alert_id, "old": old, "new": new, "now": now},
    ).scalar_one()
