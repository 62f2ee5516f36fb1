"""Settings of the auth function (the authorizer reads its few settings with the stdlib instead)."""

from __future__ import annotations

import functools
from enum import StrEnum

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Provider(StrEnum):
    BUILTIN = "builtin"
    SUPABASE = "supabase"


class AuthSettings(BaseSettings):
    """Providers, refresh-token lifetime and brute-force limits; Supabase secrets arrive by ARN in the cloud."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    auth_provider: Provider = Provider.BUILTIN
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=3600, le=365 * 24 * 3600)

    # Failed logins counted per account and per source IP within one window; the next attempt gets 429.
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_ip: int = Field(default=20, ge=1)
    login_failure_window_s: int = Field(default=900, ge=10)
    registrations_per_ip: int = Field(default=10, ge=1)
    registration_window_s: int = Field(default=3600, ge=10)

    # Supabase Auth (AUTH_PROVIDER=supabase): the project URL and its public anon key; the service-role key
    # (admin calls: password change, deleting users) inline locally, or as `service_role_key` of the
    # SUPABASE_SECRET_ARN secret in the cloud.
    supabase_url: str | None = None
    supabase_anon_key: str | None = None
    supabase_service_role_key: str | None = None
    supabase_secret_arn: str | None = None


@functools.cache
def get_auth_settings() -> AuthSettings:
    """The auth settings of this execution environment (tests call `get_auth_settings.cache_clear()`)."""
    return AuthSettings()
