"""Requests and answers of the field visit and larval index routes (docs/visits.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

# Counts of one block or area: far above any real block (LIRAa strata hold 8–12 k premises), below int4.
MAX_COUNT = 100_000
MAX_LINKS = 200


class ContainerCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inspected: int = Field(ge=0, le=MAX_COUNT, description="Water-holding containers inspected")
    positive: int = Field(ge=0, le=MAX_COUNT, description="Of those, holding larvae or pupae")


class ContainersByClass(BaseModel):
    """Per LIRAa class; a class left out had no water-holding container (0 inspected, 0 positive)."""

    model_config = ConfigDict(extra="forbid")

    A1: ContainerCounts | None = Field(default=None, description="Elevated water tanks connected to the mains")
    A2: ContainerCounts | None = Field(default=None, description="Water stored at ground level: drums, barrels, wells")
    B: ContainerCounts | None = Field(default=None, description="Small movable containers: pots, saucers, bottles")
    C: ContainerCounts | None = Field(default=None, description="Fixed containers: gutters, drains, slabs, pools")
    D1: ContainerCounts | None = Field(default=None, description="Tyres and other rolling material")
    D2: ContainerCounts | None = Field(default=None, description="Solid waste: cans, plastic, scrap")
    E: ContainerCounts | None = Field(default=None, description="Natural: bromeliads, tree holes, rock holes")


class PremisesCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visited: int = Field(ge=0, le=MAX_COUNT, description="Premises the team went to")
    closed: int = Field(default=0, ge=0, le=MAX_COUNT, description="Closed: nobody let the team in")
    refused: int = Field(default=0, ge=0, le=MAX_COUNT, description="The occupants refused the inspection")
    inspected: int | None = Field(
        default=None, ge=0, le=MAX_COUNT, description="visited - closed - refused; if sent, it must agree"
    )
    positive: int = Field(
        ge=0, le=MAX_COUNT, description="Inspected premises with at least one container holding larvae or pupae"
    )


class VisitRequest(BaseModel):
    """One inspection of a block or area by a team, as the field form sums it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    territory: str = Field(min_length=1, max_length=64, description="The territory's code (the stratum or below)")
    visited_on: date = Field(description="The day of the inspection (the team's local date)")
    area: str = Field(min_length=1, max_length=200, description="The block or area inspected, as the team names it")
    team: str = Field(min_length=1, max_length=200)
    premises: PremisesCounts
    containers: ContainersByClass = Field(default_factory=ContainersByClass)
    pupae: int | None = Field(default=None, ge=0, le=10 * MAX_COUNT, description="Pupae counted; null: not counted")
    site_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_LINKS, description="Sites it checked")
    analysis_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=MAX_LINKS, description="Analyses photographed during it"
    )
    notes: str | None = Field(default=None, max_length=2000)


class PremisesOut(BaseModel):
    visited: int
    closed: int
    refused: int
    inspected: int
    positive: int


class ContainerCountsOut(BaseModel):
    inspected: int
    positive: int


class VisitOut(BaseModel):
    id: uuid.UUID
    territory: str
    visited_on: date
    area: str
    team: str
    premises: PremisesOut
    containers: dict[str, ContainerCountsOut] = Field(description="Every LIRAa class, A1 to E")
    pupae: int | None
    site_ids: list[uuid.UUID]
    analysis_ids: list[uuid.UUID]
    notes: str | None
    recorded_by: uuid.UUID | None
    created_at: datetime


class VisitPage(BaseModel):
    items: list[VisitOut]
    total: int
    limit: int
    offset: int
    has_next: bool


class IndexRatio(BaseModel):
    value: float | None = Field(description="Null when the denominator is 0")
    numerator: int
    denominator: int
    of: str
    per: str


class HouseIndex(IndexRatio):
    classification: str | None = Field(description="LIRAa: satisfactory (< 1 %), alert (1–3.9 %), risk (≥ 4 %)")
    classification_label: str | None = None


class CycleIndices(BaseModel):
    label: str
    start: date
    end: date
    visits: int
    premises: PremisesOut
    containers: dict[str, ContainerCountsOut]
    pupae: int
    visits_counting_pupae: int
    house_index: HouseIndex
    container_index: IndexRatio
    breteau_index: IndexRatio
    container_type_index: dict[str, IndexRatio]
    pupae_per_premises: IndexRatio
    pupal_index: IndexRatio


class IndexTerritory(BaseModel):
    code: str
    name: str
    level: int


class LarvalIndicesRow(BaseModel):
    territory: IndexTerritory
    cycles: list[CycleIndices]


class SiteDensity(BaseModel):
    value: float | None = Field(description="Sites per km²; null for a territory of no area")
    numerator: int
    denominator: float = Field(description="The territory's area in km² (PostGIS geography)")
    of: str
    per: str


class PotentialSitesRow(BaseModel):
    territory: IndexTerritory
    area_km2: float
    confirmed_sites: int
    density_per_km2: SiteDensity
    class_mix: dict[str, IndexRatio] = Field(description="Share (%) of the confirmed sites per family")


class LarvalIndicesSection(BaseModel):
    label: str = Field(description="What these figures are: larval indices from field inspections")
    territories: list[LarvalIndicesRow] = Field(
        description="The territory asked for (its visits and those of every territory below), then each territory "
        "directly below it (with those below it)"
    )


class PotentialSitesSection(BaseModel):
    label: str = Field(description="What these figures are: potential breeding sites from photos, not larval indices")
    territories: list[PotentialSitesRow]


class IndicesAnswer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    territory: IndexTerritory
    date_from: date = Field(alias="from")
    date_to: date = Field(alias="to")
    cycle: str = Field(description="window, epiweek or month")
    larval_indices: LarvalIndicesSection
    potential_sites: PotentialSitesSection
