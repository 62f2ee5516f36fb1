"""The body of POST /subscriptions: a territory's alert levels to be told about, how and where."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from sentrix_report.logic import subscription_targets
from sentrix_report.logic.alert_levels import Level


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class SubscriptionRequest(BaseModel):
    """What a subscription asks for: the territory's new levels to be told about, how and where."""

    model_config = ConfigDict(extra="forbid")

    territory: str = Field(min_length=1, max_length=64, description="a territory code (yours or below, officials)")
    channel: Channel
    target: str = Field(
        min_length=1,
        max_length=subscription_targets.MAX_URL_LENGTH,
        description="an e-mail address (email) or an https URL on the public internet (webhook)",
    )
    levels: list[Level] = Field(
        min_length=1, max_length=3, description="the new levels that are sent (a change to any other is not)"
    )
    weekly_bulletin: StrictBool = Field(
        default=True,
        description="also send the territory's weekly bulletin of each epidemiological week (true or false)",
    )
