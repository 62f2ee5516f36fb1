"""Settings of the report function (REPORT_* environment variables), validated once per environment."""

from __future__ import annotations

import functools

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportSettings(BaseSettings):
    """Privacy, map and delivery knobs; the shared settings (database, bucket) stay in `sentrix.config`."""

    model_config = SettingsConfigDict(env_prefix="REPORT_", env_file=None, extra="ignore", case_sensitive=False)

    # Public (aggregated) map data is snapped to cells of this grid (degrees; 0.01° ≈ 1.1 km north-south)
    # and drawn at the cell centre, never at a centroid of reports (see docs/report.md, privacy).
    public_grid_deg: float = Field(default=0.01, ge=0.001, le=1.0)
    # k-anonymity of public cells: a cell (or a map-stats area) whose counted analyses come from fewer distinct
    # reporters is not shown to anyone who sees other people's data only aggregated (docs/report.md, privacy).
    public_min_reporters: int = Field(default=3, ge=1, le=100)
    # Tiles at this zoom and above carry individual detections (for callers allowed to see them). Below it every
    # caller gets the same grid of public cells; z15 tiles (~0.011° wide) are about one public cell.
    tile_detail_min_zoom: int = Field(default=15, ge=0, le=22)
    # Grid cells per tile side for the aggregated layer at lower zooms.
    tile_grid_cells: int = Field(default=64, ge=4, le=512)
    tile_public_max_age_s: int = Field(default=300, ge=0)
    tile_private_max_age_s: int = Field(default=60, ge=0)
    heatmap_default_limit: int = Field(default=1000, ge=1)
    heatmap_max_limit: int = Field(default=10_000, ge=1)
    hotspot_eps_m: float = Field(default=150.0, gt=0, le=5000)
    hotspot_min_points: int = Field(default=3, ge=2, le=1000)
    # A DBSCAN cluster is a hotspot (a place) only with detections of at least this many distinct analyses
    # at at least this many distinct points: one photo, or photos taken at one spot, never is (issue 13).
    hotspot_min_analyses: int = Field(default=2, ge=2, le=1000)
    hotspot_min_distinct_points: int = Field(default=2, ge=2, le=1000)
    # A change between periods is only given when the earlier period counts at least this many.
    change_min_base: int = Field(default=10, ge=1)
    # Getis-Ord Gi*: the grid may not exceed this many cells (the study area is every cell of the bbox).
    gistar_max_cells: int = Field(default=250_000, ge=100)
    # Hotspot parameters are refused (422) before they run when DBSCAN would compare more pairs of points than
    # this: estimated points × their expected neighbours within eps_m (the planner's row estimate and the area
    # of the bbox, or of the data's estimated extent). Measured on 2 shared vCPUs: about 1.7e7 estimated pairs a
    # second, so 5e7 is 3-4 s, well inside the expert class's statement_timeout; the default radius over a city of
    # 1M detections estimates under 2e7.
    hotspot_max_pairs: float = Field(default=5e7, ge=1)
    # Per-user limits of the costly routes, counted in PostgreSQL (sentrix.ratelimit) per window.
    costly_window_s: int = Field(default=600, ge=1, le=24 * 3600)
    hotspots_per_window: int = Field(default=60, ge=1)
    reports_per_window: int = Field(default=30, ge=1)
    exports_per_window: int = Field(default=120, ge=1)
    # Costly requests of one user running at once (per family): a row lock held for the query's transaction.
    # Eight parallel worst cases of one user must not starve everyone else's maps (issue 14).
    costly_in_flight_per_user: int = Field(default=1, ge=1, le=100)
    # work_mem of the report function's transactions (SET LOCAL), so city-sized aggregates stay in memory.
    work_mem_mb: int = Field(default=64, ge=4, le=1024)
    export_default_limit: int = Field(default=1000, ge=1)
    # Rows per export page: 1000 keep a page near 0.5 MB (GeoJSON), far below Lambda's 6 MB answer limit.
    export_max_limit: int = Field(default=1000, ge=1, le=1000)
    detailed_report_max_rows: int = Field(default=1000, ge=1)
    # Above this size a generated report goes to S3 (reports/…) and the response carries a presigned URL;
    # Lambda's response payload limit is 6 MB and base64 inflates binary bodies by a third.
    # The limit applies to the body as Lambda returns it (base64 for binary types).
    inline_max_bytes: int = Field(default=5_000_000, ge=1)
    download_url_ttl_s: int = Field(default=900, ge=60, le=7 * 24 * 3600)
    # Reports name reporters by a pseudonym: the first 8 hex digits of HMAC-SHA256(key, user id). The key is
    # random per deployment and kept in the database (`deployment_keys`, made on first use), so pseudonyms cannot
    # be recomputed elsewhere and no key sits in code or configuration; this setting overrides it (tests).
    pseudonym_salt: SecretStr | None = Field(default=None, min_length=8)
    # Cluster alerts (docs/alerts.md, *Rules and their sources*): Singapore NEA's dengue cluster rules transposed
    # to confirmed breeding sites. k: sites that make a cluster (the default; NEA counts 2 cases).
    alert_min_sites: int = Field(default=3, ge=2, le=1000)
    # NEA: cases within 150 m of each other (also a typical Aedes flight range, 100-200 m).
    alert_radius_m: float = Field(default=150.0, gt=0, le=2000)
    # NEA: onsets within 14 days; here, sites last reported within the 14 days before the computation.
    alert_window_days: int = Field(default=14, ge=1, le=365)
    # NEA: a red cluster has 10 cases or more (yellow below).
    alert_red_sites: int = Field(default=10, ge=2, le=100_000)
    # The issue: red also when the cluster grew in each of the last 2 complete epidemiological weeks.
    alert_growth_weeks: int = Field(default=2, ge=0, le=52)
    # NEA: a cluster closes after 21 days without a new case (its "green", under surveillance).
    alert_quiet_days: int = Field(default=21, ge=1, le=365)

    # Subscriptions and delivery (docs/alerts.md, "Subscriptions and delivery"). The SNS topic e-mail goes
    # through (one e-mail subscription per alert subscription, each with a filter policy on its id).
    subscriptions_topic_arn: str | None = None
    # The key that encrypts webhook signing secrets: a Secrets Manager secret in the cloud (its text, hashed
    # with SHA-256, is the AES-256 key); `webhook_key` overrides it (tests); neither, outside production: a
    # random per-deployment key in `deployment_keys`.
    webhook_key_secret_arn: str | None = None
    webhook_key: SecretStr | None = Field(default=None, min_length=16)
    # Plain-http webhooks to loopback addresses (a receiver on this machine): the local stack's switch only,
    # never in production, never set by the template (tests/infra check_no_local_switches). Tests
    # (ENVIRONMENT=test) have it on.
    webhook_allow_loopback: bool = Field(default=False, alias="SENTRIX_WEBHOOK_LOOPBACK")
    # A delivery is dead-lettered after this many failed attempts; the wait after failure k is
    # min(base * 2^(k-1), max): 30 s, 1 min, 2 min, ... about an hour and a quarter over 8 attempts.
    delivery_max_attempts: int = Field(default=8, ge=1, le=50)
    delivery_backoff_base_s: float = Field(default=30.0, gt=0, le=3600)
    delivery_backoff_max_s: float = Field(default=3600.0, gt=0, le=24 * 3600)
    # A claimed delivery is someone's for this long: a worker that died mid-send leaves it to the next run.
    delivery_lease_s: int = Field(default=300, ge=30, le=3600)
    delivery_batch: int = Field(default=50, ge=1, le=1000)
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=30)
    # How long the link to a weekly bulletin's PDF works, from the moment its delivery is sent: a week by
    # default, the most a SigV4 presigned URL allows (docs/alerts.md, *Schedule*).
    bulletin_url_ttl_s: int = Field(default=7 * 24 * 3600, ge=60, le=7 * 24 * 3600)


@functools.cache
def get_report_settings() -> ReportSettings:
    """The report settings of this execution environment (tests call `get_report_settings.cache_clear()`)."""
    return ReportSettings()
