"""Sites: detect places its detections on their sites *before* inserting them (docs/sites.md, *Merging*).

`make bench ARGS=bench_sites` measured merging at detect time above the issue's 1.2x of the store step: after
the detections were inserted, `sites_join` updated them to set `site_id` (a second version of each row, and a
new entry in every index of `detections`, since `site_id` is indexed), and each touched site row was written
three times (created, recomputed, re-tagged). Now:

- `sites_place(families, radii, latitude, longitude, recurrence_days, lock_keys)` does the locking, the search,
  the creation (tagged with its territory at once) or the reopening, and returns (family, site) pairs; detect
  then inserts its detections with their `site_id` and calls `sites_refresh`.
- `sites_refresh` also re-tags the sites it recomputes (their centroid moves): detect's territory tag no longer
  updates them a second time, and a verdict that moves a centroid re-tags its site too.
- `sites_join` (the backfill's and the one-call path) is `sites_place`, the update of `site_id`, then
  `sites_refresh`: the same rule in one place.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

from sentrix.db.migrations.earlier import migration

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


M12 = migration("0012_sites.py")

PLACE_FUNCTION = """
CREATE FUNCTION sites_place(
    families site_family[], radii float8[], latitude float8, longitude float8, recurrence_days integer,
    lock_keys bigint[]
) RETURNS TABLE (family site_family, site_id uuid) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    p geometry := ST_SetSRID(ST_MakePoint(longitude, latitude), 4326);
    g geography := CAST(ST_SetSRID(ST_MakePoint(longitude, latitude), 4326) AS geography);
    k bigint;
    f record;
    found_id uuid;
    found_status site_status;
BEGIN
    -- The caller sorts the keys: every writer locks in one order, so two merges never deadlock.
    FOREACH k IN ARRAY coalesce(lock_keys, '{}') LOOP
        PERFORM pg_advisory_xact_lock(k);
    END LOOP;
    FOR f IN SELECT u.family, u.radius FROM unnest(families, radii) AS u (family, radius) ORDER BY u.family LOOP
        -- The nearest site of the family within the radius that takes detections: active before closed
        -- within the recurrence window (ST_DWithin on geography: ix_sites_location_geog).
        SELECT s.id, s.status INTO found_id, found_status FROM sites s
        WHERE s.family = f.family
          AND ST_DWithin(CAST(s.location AS geography), g, f.radius)
          AND (s.status IN ('open', 'assigned', 'treated', 'reopened')
               OR (s.status = 'closed' AND s.closed_at >= now() - make_interval(days => recurrence_days)))
        ORDER BY s.status = 'closed', ST_Distance(CAST(s.location AS geography), g), s.id
        LIMIT 1
        FOR UPDATE;
        IF found_id IS NULL THEN
            found_id := gen_random_uuid();
            INSERT INTO sites (id, family, status, location, radius_m, first_report_at, last_report_at,
                               territory_code)
            VALUES (found_id, f.family, 'open', p, f.radius, now(), now(), territory_at(p));
            INSERT INTO site_actions (id, site_id, action, from_status, to_status)
            VALUES (gen_random_uuid(), found_id, 'create', NULL, 'open');
        ELSIF found_status = 'closed' THEN
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

# sites_refresh as 0012 wrote it, plus the territory of the new centroid; a site whose row would not change
# (same centroid, counts and tag) is not written again.
REFRESH_FUNCTION = """
CREATE OR REPLACE FUNCTION sites_refresh(ids uuid[]) RETURNS TABLE (site_id uuid, members integer)
LANGUAGE sql AS $$
    UPDATE sites s SET
        location = coalesce(m.centroid, s.location),
        first_report_at = coalesce(m.first_at, s.first_report_at),
        last_report_at = coalesce(m.last_at, s.last_report_at),
        report_count = m.reports,
        detection_count = m.members,
        reporter_count = m.reporters,
        confirmed = coalesce(m.confirmed, false),
        territory_code = CASE WHEN m.centroid IS NULL OR ST_Equals(m.centroid, s.location) THEN s.territory_code
                              ELSE territory_at(m.centroid) END,
        updated_at = now()
    FROM unnest(ids) AS t (id)
    CROSS JOIN LATERAL (
        SELECT ST_Centroid(ST_Collect(d.location)) AS centroid, min(d.created_at) AS first_at,
               max(d.created_at) AS last_at, count(DISTINCT d.analysis_id) AS reports,
               count(*) AS members, count(DISTINCT a.user_id) AS reporters,
               bool_or(d.validation_status = 'validated_positive') AS confirmed
        FROM detections d JOIN analyses a ON a.id = d.analysis_id
        WHERE d.site_id = t.id AND d.validation_status <> 'validated_negative'
    ) AS m
    WHERE s.id = t.id
    RETURNING s.id, s.detection_count
$$
"""

JOIN_FUNCTION = """
CREATE OR REPLACE FUNCTION sites_join(
    detection_ids uuid[], detection_families site_family[], families site_family[], radii float8[],
    latitude float8, longitude float8, recurrence_days integer, lock_keys bigint[]
) RETURNS uuid[] LANGUAGE plpgsql AS $$
DECLARE
    touched uuid[];
    merged site_family[];
BEGIN
    SELECT coalesce(array_agg(p.site_id ORDER BY p.family), '{}'),
           coalesce(array_agg(p.family ORDER BY p.family), '{}')
    INTO touched, merged
    FROM sites_place(families, radii, latitude, longitude, recurrence_days, lock_keys) AS p;
    UPDATE detections d SET site_id = m.site_id
    FROM unnest(detection_ids, detection_families) AS x (id, family)
    JOIN unnest(merged, touched) AS m (family, site_id) ON m.family = x.family
    WHERE d.id = x.id;
    PERFORM * FROM sites_refresh(touched);
    RETURN touched;
END $$
"""


def upgrade() -> None:
    op.execute(PLACE_FUNCTION)
    op.execute(REFRESH_FUNCTION)
    op.execute(JOIN_FUNCTION)


def downgrade() -> None:
    op.execute(M12.JOIN_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute(M12.REFRESH_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute("DROP FUNCTION sites_place(site_family[], float8[], float8, float8, integer, bigint[])")
