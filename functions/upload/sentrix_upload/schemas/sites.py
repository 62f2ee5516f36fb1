"""Requests and answers of the site routes (docs/sites.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sentrix.domain.sites import SiteAction, SiteFamily, SiteStatus
from sentrix.domain.status import ValidationStatus

RequestedAction = Literal["assign", "treat", "verify", "close", "reopen", "dismiss"]


class SiteActionRequest(BaseModel):
    """One lifecycle action. `close` needs a verifying "after" analysis (given here, or by an earlier `verify`)
    unless `override` is true, which needs the reason in `notes`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: RequestedAction
    team: str | None = Field(default=None, max_length=200, description="The team assigned or that treated")
    notes: str | None = Field(default=None, max_length=2000)
    evidence_analysis_id: uuid.UUID | None = Field(
        default=None, description='An "after" analysis: verify and close check it against the site'
    )
    override: bool = Field(default=False, description="Close without verifying evidence; the reason in `notes`")

    @model_validator(mode="after")
    def _override_has_a_reason(self) -> SiteActionRequest:
        if self.override and not self.notes:
            raise ValueError("an override needs its reason in `notes`")
        return self


class PriorityReasonOut(BaseModel):
    code: str = Field(description="confirmed, family, recurrences, recent, lately or reporters")
    points: int
    message: str


class PriorityOut(BaseModel):
    score: int
    reasons: list[PriorityReasonOut]


_OWN = " (a user's own view: of their own members only)"
_WITHHELD = "; null in a user's own view (others' reports and the team's work move it)"


class SiteOut(BaseModel):
    id: uuid.UUID
    family: SiteFamily
    status: SiteStatus | None = Field(description="The lifecycle status" + _WITHHELD)
    latitude: float = Field(description="The members' centroid" + _OWN)
    longitude: float = Field(description="The members' centroid" + _OWN)
    radius_m: float | None = Field(description="The radius the site was started with" + _WITHHELD)
    first_report_at: datetime = Field(description="The earliest member's time" + _OWN)
    last_report_at: datetime = Field(description="The latest member's time" + _OWN)
    report_count: int = Field(description="Analyses among the members" + _OWN)
    detection_count: int = Field(description="Members: detections on the site that no expert rejected" + _OWN)
    reporter_count: int | None = Field(description="Distinct people among the members" + _WITHHELD)
    confirmed: bool = Field(description="An expert confirmed at least one member" + _OWN)
    recurrences: int | None = Field(description="Times the site came back after being closed" + _WITHHELD)
    territory_code: str | None = Field(default=None, description="The smallest territory holding the site" + _WITHHELD)
    closed_at: datetime | None = None
    priority: PriorityOut | None = Field(description="Null for closed and dismissed sites" + _WITHHELD)
    own_view: bool = Field(
        description="True for a user: every figure is of their own members only, the site's totals are withheld"
    )


class SitePage(BaseModel):
    items: list[SiteOut]
    total: int
    limit: int
    offset: int
    has_next: bool


class MemberAnalysisOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    latitude: float | None = None
    longitude: float | None = None
    owner_id: uuid.UUID | None = Field(default=None, description="Experts and admins only")
    image_url: str | None = Field(default=None, description="Presigned, short-lived")
    processed_image_url: str | None = None


class MemberOut(BaseModel):
    detection_id: uuid.UUID
    class_name: str
    breeding_site_type: str | None = None
    confidence: float
    risk_level: str
    validation_status: ValidationStatus
    detected_at: datetime
    expires_at: datetime
    analysis: MemberAnalysisOut


class SiteActionOut(BaseModel):
    id: uuid.UUID
    action: SiteAction
    actor_id: uuid.UUID | None = Field(default=None, description="Null when the system acted")
    actor_email: str | None = None
    at: datetime
    team: str | None = None
    notes: str | None = None
    evidence_analysis_id: uuid.UUID | None = None
    override: bool
    cause: str | None = Field(default=None, description="recurrence or no_members, when the system acted")
    cause_message: str | None = None
    from_status: SiteStatus | None = None
    to_status: SiteStatus


class SiteDetail(SiteOut):
    members: list[MemberOut] = Field(description="A user sees only their own")
    timeline: list[SiteActionOut]
