"""Placing detections on their sites for less (issue 19: "merging at detect time costs <= 1.2x detect's store
step without it, at 1M detections"; measured 1.21-1.28x with 0018's `sites_place`).

`make bench ARGS=bench_sites` put most of the merge's cost in writing sites a photo starts (a site row and its
`create` action, each with its indexes) and in statements the function ran one by one. Now:

- `sites_place(families, radii, latitude, longitude, recurrence_days, lock_keys, members, reporters)` takes the
  advisory locks in one statement, searches every family in one statement (a LATERAL nearest-site lookup per
  family, each still `FOR UPDATE` as before), asks `territory_at` once per call instead of once per new site, and
  writes a new site with its `create` action in one statement.
- With `members` (the number of detections of each family about to be stored, in `families`' order) a site the
  call starts is written with its final figures at once: location = the photo's point (the centroid of members
  that all stand there), one report, `members` detections, `reporters` people (1, or 0 for an analysis whose
  user was deleted: `analyses.user_id` is then NULL, and the live count ignores it), not confirmed, first and
  last report now (the detections' `created_at`). It answers `created` for such a site, and the caller
  recomputes only the sites it joined (`sites_refresh`): a site it started needs no second write. Without
  `members` (`sites_join`, the backfill) new sites start empty and are recomputed, as before.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

from sentrix.db.migrations.earlier import migration

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


M18 = migration("0018_sites2.py")

OLD_SIGNATURE = "sites_place(site_family[], float8[], float8, float8, integer, bigint[])"
NEW_SIGNATURE = "sites_place(site_family[], float8[], float8, float8, integer, bigint[], integer[], integer)"

PLACE_FUNCTION = """
CREATE FUNCTION sites_place(
    families site_family[], radii float8[], latitude float8, longitude float8, recurrence_days integer,
    lock_keys bigint[], members integer[] DEFAULT NULL, reporters integer DEFAULT 0
) RETURNS TABLE (family site_family, site_id uuid, created boolean) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p geometry := ST_SetSRID(ST_MakePoint(longitude, latitude), 4326);
    g geography := CAST(ST_SetSRID(ST_MakePoint(longitude, latitude), 4326) AS geography);
    f record;
    found_id uuid;
    tag varchar;
    tagged boolean := false;
BEGIN
    -- The caller sorts the keys: every writer locks in one order, so two merges never deadlock.
    PERFORM pg_advisory_xact_lock(k) FROM unnest(coalesce(lock_keys, '{}')) AS k;
    -- Per family, the nearest site within the radius that takes detections: active before closed within the
    -- recurrence window (ST_DWithin on geography: ix_sites_location_geog), locked.
    FOR f IN
        SELECT u.family, u.radius, u.n, c.id, c.status
        FROM unnest(families, radii, members) AS u (family, radius, n)
        LEFT JOIN LATERAL (
            SELECT s.id, s.status FROM sites s
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
        ELSIF f.status = 'closed' THEN
            UPDATE sites SET status = 'reopened', recurrences = recurrences + 1, closed_at = NULL
            WHERE id = found_id;
            INSERT INTO site_actions (id, site_id, action, cause, from_status, to_status)
            VALUES (gen_random_uuid(), found_id, 'reopen', 'recurrence', 'closed', 'reopened');
        END IF;
        family := f.family;
        site_id := found_id;
        RETURN NEXT;
    END LOOP;
END $$
"""


def upgrade() -> None:
    # sites_join (0018) calls sites_place by name with six arguments: the new one answers it (the defaults),
    # and its extra `created` column is not read there.
    op.execute(f"DROP FUNCTION {OLD_SIGNATURE}")
    op.execute(PLACE_FUNCTION)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {NEW_SIGNATURE}")
    op.execute(M18.PLACE_FUNCTION)
