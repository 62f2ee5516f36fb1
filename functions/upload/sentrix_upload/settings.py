"""Settings of the upload function: limits and quotas, validated once per execution environment."""

from __future__ import annotations

import functools

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sentrix.domain.confidence import DEFAULT_CONFIDENCE_THRESHOLD

# Lambda takes at most 6 MB (6,291,456 bytes) of request payload, and API Gateway base64-encodes
# multipart bodies (BinaryMediaTypes), which grows them by 4/3: 4 MiB of file plus the form's other
# fields and the event's headers stays under that. Anything bigger goes through the presigned POST.
DEFAULT_MULTIPART_MAX_BYTES = 4 * 1024 * 1024


class UploadSettings(BaseSettings):
    """Limits of the upload routes; each one can be changed with an UPLOAD_* environment variable."""

    model_config = SettingsConfigDict(env_prefix="UPLOAD_", env_file=None, extra="ignore", case_sensitive=False)

    quota_per_minute: int = Field(default=10, ge=1)
    quota_per_day: int = Field(default=200, ge=1)
    public_preview_per_minute: int = Field(default=3, ge=1)
    multipart_max_bytes: int = Field(default=DEFAULT_MULTIPART_MAX_BYTES, ge=1024, le=5 * 1024 * 1024)
    presigned_post_ttl_s: int = Field(default=600, ge=60, le=3600)
    batch_max_items: int = Field(default=50, ge=1, le=50)
    batch_validate_max_items: int = Field(default=100, ge=1, le=500)
    # Used when neither the request nor the user's setting gives one (domain constant, docs/upload.md).
    default_confidence_threshold: float = Field(default=DEFAULT_CONFIDENCE_THRESHOLD, ge=0.1, le=1.0)


@functools.cache
def get_upload_settings() -> UploadSettings:
    """The settings of this execution environment (tests call `get_upload_settings.cache_clear()`)."""
    return UploadSettings()
