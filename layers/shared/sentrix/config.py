"""Configuration as one validated model, read once per execution environment."""

from __future__ import annotations

import functools
import json
from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sentrix.domain.sites import DEFAULT_RADIUS_M, MAX_RADIUS_M, RECURRENCE_DAYS, SiteFamily


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Everything a function reads from its environment. Secrets arrive by ARN, never inline, in the cloud."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    environment: Environment = Environment.DEVELOPMENT
    service_name: str = Field(default="sentrix", alias="POWERTOOLS_SERVICE_NAME")
    version: str = "0.1.0"
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")

    # Database: a full URL locally; in the cloud a Secrets Manager secret (RDS format) plus the proxy host.
    database_url: str | None = None
    db_secret_arn: str | None = None
    db_host: str | None = None
    db_name: str = "sentrix"
    # The role the functions log in as (migration 0009 creates it); the migrate function alone also reads the
    # application secret (DB_APP_SECRET_ARN) to set that role's password, and logs in as the owner.
    db_app_role: str = Field(default="sentrix_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    db_app_secret_arn: str | None = None
    db_pool_size: int = Field(default=2, ge=1, le=20)
    # pg8000 applies its timeout to every socket read, not only the connect: it bounds the slowest query too,
    # so it sits just under API Gateway's 29 s integration limit.
    db_socket_timeout_s: int = Field(default=28, ge=1, le=900)
    # statement_timeout of every transaction by route class (sentrix.db.budget, docs/report.md "Bounded
    # queries"), never longer than the Lambda's remaining time minus the margin: public maps are short so one
    # caller cannot hold the database, expert aggregates stay under API Gateway's 29 s.
    db_timeout_public_s: float = Field(default=5.0, gt=0, le=900)
    db_timeout_user_s: float = Field(default=10.0, gt=0, le=900)
    db_timeout_expert_s: float = Field(default=25.0, gt=0, le=900)
    db_timeout_worker_s: float = Field(default=30.0, gt=0, le=900)
    # Kept back from the Lambda's remaining time: enough to roll back and answer 503 before Lambda kills us.
    db_timeout_margin_ms: int = Field(default=1000, ge=0, le=60_000)
    # Retry-After of a 503 for a cancelled query.
    db_timeout_retry_after_s: int = Field(default=30, ge=1, le=3600)

    # AWS resources; `aws_endpoint_url` points boto3 at moto's server locally.
    aws_endpoint_url: str | None = None
    images_bucket: str = "sentrix-images"
    detect_queue_url: str | None = None
    presigned_url_ttl_s: int = Field(default=900, ge=60, le=7 * 24 * 3600)

    yolo_service_url: str = "http://127.0.0.1:8001"

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Internal detail (exception text, traceback) in a 500's envelope: the local stack's own switch, set by
    # sentrix_local only. Never derived from ENVIRONMENT: the template deploys every non-prod stage as
    # "development", and a deployed stage must not show a traceback or SQL to its callers.
    debug_errors: bool = Field(default=False, alias="SENTRIX_DEBUG_ERRORS")
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1)

    # Sites (docs/sites.md): the radius within which a detection joins a site, per family (SITE_RADIUS_*_M;
    # at most 100 m, what the merge's lock grid allows), and how long a closed site still takes detections
    # (and reopens) rather than a new site starting beside it.
    site_radius_water_m: float = Field(default=DEFAULT_RADIUS_M, gt=0, le=MAX_RADIUS_M)
    site_radius_refuse_m: float = Field(default=DEFAULT_RADIUS_M, gt=0, le=MAX_RADIUS_M)
    site_radius_road_m: float = Field(default=DEFAULT_RADIUS_M, gt=0, le=MAX_RADIUS_M)
    site_recurrence_days: int = Field(default=RECURRENCE_DAYS, ge=0, le=3650)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # Accept a JSON list or a comma-separated string: SAM parameters are plain strings.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    def site_radius_m(self, family: SiteFamily) -> float:
        """The merge radius of a site family."""
        return {
            SiteFamily.WATER: self.site_radius_water_m,
            SiteFamily.REFUSE: self.site_radius_refuse_m,
            SiteFamily.ROAD: self.site_radius_road_m,
        }[family]

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def shows_internal_errors(self) -> bool:
        """Whether a 500 explains itself: only with SENTRIX_DEBUG_ERRORS, and never in production."""
        return self.debug_errors and not self.is_production


@functools.cache
def get_settings() -> Settings:
    """The settings of this execution environment (validated once; tests call `get_settings.cache_clear()`)."""
    return Settings()
