"""Sites placed by distance for the alert tests: a line of sites going east from a base point, at metres chosen by
the test (ST_Project on the spheroid), tagged with their territory as detect would (`territory_at`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from sentrix.db.engine import session_scope
from tests.integration.report.test_territory_filter import territory

# In H1 (docs: C covers H1 west and H2 east); UTM zone 20S, 2.25° from its central meridian.
BASE_LON, BASE_LAT = -65.25, -26.80
H2_LON = -65.17


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def territories() -> None:
    with session_scope() as s:
        territory(s, "C", None, -65.30, -26.90, -65.10, -26.70)
        territory(s, "H1", "C", -65.30, -26.90, -65.20, -26.70)
        territory(s, "H2", "C", -65.20, -26.90, -65.15, -26.70)


def site(
    east_m: float,
    reported: datetime,
    *,
    first: datetime | None = None,
    confirmed: bool = True,
    status: str = "open",
    lon: float = BASE_LON,
) -> uuid.UUID:
    """A site `east_m` metres east of the base point (or of `lon`), first and last reported as given."""
    site_id = uuid.uuid4()
    with session_scope() as s:
        s.execute(
            text(
                "INSERT INTO sites (id, family, status, location, radius_m, first_report_at, last_report_at, "
                "confirmed) VALUES (:id, 'water', CAST(:status AS site_status), "
                "CAST(ST_Project(CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geography), :m, radians(90)) "
                "AS geometry), 15, :first, :last, :confirmed)"
            ),
            {
                "id": site_id,
                "status": status,
                "lon": lon,
                "lat": BASE_LAT,
                "m": east_m,
                "first": first or reported,
                "last": reported,
                "confirmed": confirmed,
            },
        )
        s.execute(text("UPDATE sites SET territory_code = territory_at(location) WHERE id = :id"), {"id": site_id})
    return site_id


def report_again(site_id: uuid.UUID, when: datetime) -> None:
    """A new photo of the site (detect moves last_report_at)."""
    with session_scope() as s:
        s.execute(text("UPDATE sites SET last_report_at = :w WHERE id = :id"), {"w": when, "id": site_id})


def set_status(site_id: uuid.UUID, status: str) -> None:
    with session_scope() as s:
        s.execute(
            text("UPDATE sites SET status = CAST(:st AS site_status) WHERE id = :id"), {"st": status, "id": site_id}
        )


def run(now: datetime):
    from sentrix_report.logic.alert_run import compute

    with session_scope() as s:
        return compute(s, now)


def alerts() -> list[dict]:
    with session_scope() as s:
        return [
            dict(r)
            for r in s.execute(
                text(
                    "SELECT id, status, level, site_count, territory_code, closed_reason, merged_into, split_from, "
                    "opened_at, closed_at FROM alerts ORDER BY opened_at, id"
                )
            ).mappings()
        ]


def members(alert_id: uuid.UUID, *, current: bool = True) -> set[uuid.UUID]:
    with session_scope() as s:
        sql = "SELECT site_id FROM alert_sites WHERE alert_id = :a AND (left_at IS NULL OR NOT :current)"
        return {r for (r,) in s.execute(text(sql), {"a": alert_id, "current": current})}


def changes() -> list[tuple]:
    with session_scope() as s:
        return [
            tuple(r)
            for r in s.execute(
                text(
                    "SELECT territory_code, alert_id, old_level, new_level, changed_at FROM alert_level_changes "
                    "ORDER BY id"
                )
            )
        ]


def events(alert_id: uuid.UUID) -> list[tuple[str, dict]]:
    with session_scope() as s:
        return [
            (kind, details)
            for kind, details in s.execute(
                text("SELECT kind, details FROM alert_events WHERE alert_id = :a ORDER BY id"), {"a": alert_id}
            )
        ]
