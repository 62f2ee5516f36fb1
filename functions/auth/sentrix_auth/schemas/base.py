"""What every request body of the auth API shares: unknown fields are refused (a typo is a 422, not a no-op)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
