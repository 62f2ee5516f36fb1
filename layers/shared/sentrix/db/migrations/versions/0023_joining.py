"""A photo joining a site updates it in the placing itself (issue 19: "merging at detect time costs <= 1.2x
detect's store step without it, at 1M detections"; measured 1.17-1.25x with 0021).

Profiling detect's store at 1M detections (pg_stat_statements, nested statements tracked) put a third of the
merge's cost in the refresh of the sites a photo joined: `sites_refresh` recomputed each from all its members
(an aggregate over its detections joined to their analyses), and as a SQL-language function it was planned
again on every call. The placing already holds everything the new figures need:

- `sites_place(..., members, reporters, reporter)`: with `members` (the detections of each family about to be
  stored), a site the call **joins** is written with its new figures at once, in the statement that reopens it
  when it was closed: `detection_count + n`, `report_count + 1` (one photo is one report), `reporter_count + 1`
  when `reporter` (the analysis' user) has no member on the site that an expert did not reject (0 for an
  analysis whose user was deleted), last report now; its point moves to the centroid of its members (the members'
  mean, kept as a running mean `point + (photo − point)·n/(k + n)` over the `k` members it counts), and its territory is
  read again only when the point moved. The caller then has no site to refresh.
- Without `members` (`sites_join`: the backfill, `sites.join_or_create`) nothing changes: sites start empty and
  the caller recomputes them (`sites_refresh`).

A caller of 0021's eight arguments (a detect deployed before this migration) passes no `reporter`: its joins get
the counts without the reporter and then refresh the site from its members as before, which sets them whole.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

from sentrix.db.migrations.earlier import migration

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


M21 = migration("0021_placing.py")

OLD_SIGNATURE = "sites_place(site_family[], float8[], float8, float8, integer, bigint[], integer[], integer)"
NEW_SIGNATURE = "sites_place(site_family[], float8[], float8, float8, integer, bigint[], integer[], integer, uuid)"

PLACE_FUNCTION = """
CREATE FUNCTION sites_place(
    families site_family[], radii float8[], latitude float8, longitude float8, recurrence_days integer,
    lock_keys bigint[], members integer[] DEFAULT NULL, reporters integer DEFAULT 0, reporter uuid DEFAULT NULL
) RETURNS TABLE (family site_family, site_id uuid, created boolean) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p geometry := ST_SetSRID(ST_MakePoint(longitude, latitude), 4326);
    g geography := CAST(ST_SetSRID(ST_MakePoint(longitude, latitude), 4326) AS geography);
    f record;
    found_id uuid;
    tag varchar;
    tagged boolean := false;
    moved geometry;
    new_reporter integer;
BEGIN
    -- The caller sorts the keys: every writer locks in one order, so two merges never deadlock.
    PERFORM pg_advisory_xact_lock(k) FROM unnest(coalesce(lock_keys, '{}')) AS k;
    -- Per family, the nearest site within the radius that takes detections: active before closed within the
    -- recurrence window (ST_DWithin on geography: ix_sites_location_geog), locked.
    FOR f IN
        SELECT u.family, u.radius, u.n, c.id, c.status, c.location, c.detection_count, c.territory_code
        FROM unnest(families, radii, members) AS u (family, radius, n)
        LEFT JOIN LATERAL (
            SELECT s.id, s.status, s.location, s.detection_count, s.territory_code FROM sites s
            WHERE s.family = u.family
              AND ST_DWithin(CAST(s.location AS geography), g, u.radius)
              AND (s.status IN ('open', 'assigned', 'treated', 'reopened')
                   OR (s.status = 'closed' AND s.closed_at >= now() - make_interval(days => recurrence_days)))
            ORDER BY s.status = 'closed', ST_Distance(CAST(s.location AS geography), g), s.id
            LIMIT 1
            FOR UPDATE
        ) AS c ON true
        WHERE u.family IS NOT NULL
        ORDER BY u.family
    LOOP
        found_id := f.id;
        created := found_id IS NULL;
        IF found_id IS NULL THEN
            IF NOT tagged THEN
                tag := territory_at(p);
                tagged := true;
            END IF;
            found_id := gen_random_uuid();
            WITH s AS (
                INSERT INTO sites (id, family, status, location, radius_m, first_report_at, last_report_at,
                                   territory_code, report_count, detection_count, reporter_count)
                VALUES (found_id, f.family, 'open', p, f.radius, now(), now(), tag,
                        CASE WHEN f.n IS NULL THEN 0 ELSE 1 END, coalesce(f.n, 0),
                        CASE WHEN f.n IS NULL THEN 0 ELSE coalesce(reporters, 0) END)
                RETURNING id
            )
            INSERT INTO site_actions (id, site_id, action, from_status, to_status)
            SELECT gen_random_uuid(), s.id, 'create', NULL, 'open' FROM s;
        ELSE
            IF f.n IS NOT NULL THEN
                -- Joined with these members: the new figures now (the site is locked; its members are the
                -- detections no expert rejected, which its counts and point describe).
                -- (x + (photo - x)·n/(k + n): exactly x again when the photo stands on the point)
                moved := CASE WHEN f.detection_count > 0
                              THEN ST_SetSRID(ST_MakePoint(
                                       ST_X(f.location) + (longitude - ST_X(f.location)) * f.n
                                           / (f.detection_count + f.n),
                                       ST_Y(f.location) + (latitude - ST_Y(f.location)) * f.n
                                           / (f.detection_count + f.n)), 4326)
                              ELSE p END;
                new_reporter := CASE WHEN reporter IS NOT NULL AND NOT EXISTS (
                                    SELECT 1 FROM detections d JOIN analyses a ON a.id = d.analysis_id
                                    WHERE d.site_id = found_id AND a.user_id = reporter
                                      AND d.validation_status <> 'validated_negative')
                                THEN 1 ELSE 0 END;
                UPDATE sites SET
                    location = moved,
                    detection_count = detection_count + f.n,
                    report_count = report_count + 1,
                    reporter_count = reporter_count + new_reporter,
                    first_report_at = least(first_report_at, now()),
                    last_report_at = greatest(last_report_at, now()),
                    territory_code = CASE WHEN ST_Equals(moved, f.location) THEN f.territory_code
                                          ELSE territory_at(moved) END,
                    status = CASE WHEN f.status = 'closed' THEN 'reopened' ELSE status END,
                    recurrences = recurrences + CASE WHEN f.status = 'closed' THEN 1 ELSE 0 END,
                    closed_at = CASE WHEN f.status = 'closed' THEN NULL ELSE closed_at END,
                    updated_at = now()
                WHERE id = found_id;
            ELSIF f.status = 'closed' THEN
                UPDATE sites SET status = 'reopened', recurrences = recurrences + 1, closed_at = NULL
                WHERE id = found_id;
            END IF;
            IF f.status = 'closed' THEN
                INSERT INTO site_actions (id, site_id, action, cause, from_status, to_status)
                VALUES (gen_random_uuid(), found_id, 'reopen', 'recurrence', 'closed', 'reopened');
            END IF;
        END IF;
        family := f.family;
        site_id := found_id;
        RETURN NEXT;
    END LOOP;
END $$
"""


def upgrade() -> None:
    # Callers with six (sites_join) or eight arguments (0021's detect) are answered by the new one's defaults.
    op.execute(f"DROP FUNCTION {OLD_SIGNATURE}")
    op.execute(PLACE_FUNCTION)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {NEW_SIGNATURE}")
    op.execute(M21.PLACE_FUNCTION)
