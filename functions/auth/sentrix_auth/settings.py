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

    # Failed sign-ins (docs/auth.md, "Brute force"): per (account, source IP) and per source IP within one
    # window — an IP's bar is higher because carrier NAT puts many people behind one address; per account only
    # a streak of consecutive failures with backoff for the sources that failed, and a ceiling that refuses
    # everyone (NIST SP 800-63B 5.2.2: no more than 100 consecutive failures, hence le=100).
    login_failures_per_account_ip: int = Field(default=5, ge=1)
    login_failures_per_ip: int = Field(default=100, ge=1)
    login_failure_window_s: int = Field(default=900, ge=10)
    login_backoff_after: int = Field(default=10, ge=1)
    login_backoff_base_s: int = Field(default=1, ge=1)
    login_backoff_max_s: int = Field(default=300, ge=1)
    login_account_ceiling: int = Field(default=100, ge=1, le=100)
    login_account_lockout_s: int = Field(default=900, ge=1)
    # Wrong current passwords on change-password: per account, a bucket of their own (not the sign-in ones).
    password_change_failures: int = Field(default=5, ge=1)
    password_change_window_s: int = Field(default=900, ge=10)
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
