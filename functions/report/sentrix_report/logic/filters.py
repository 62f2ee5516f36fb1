"""Request filters shared by maps, exports and reports: parsed and validated once, then turned into SQL."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sentrix.domain import moments
from sentrix.domain.classes import RiskLevel, parse_risk_level
from sentrix.domain.status import Verdict
from sentrix.errors import ValidationFailed

RISK_HELP = "risk level of the analysis: ALTO, MEDIO, BAJO or MINIMO (any case; high/medium/low/minimal too)"
VERDICT_HELP = (
    "which detections count, by expert verdict: not_rejected (default: pending, under review and confirmed), "
    "confirmed, pending (pending + requires_review), rejected, all"
)
INCLUDE_EXPIRED_HELP = "also count detections whose validity has ended (default: active detections only)"


class BBox(NamedTuple):
    """west, south, east, north in degrees (WGS 84), the order OGC and GeoJSON use."""

    west: float
    south: float
    east: float
    north: float

    def as_list(self) -> list[float]:
        return [self.west, self.south, self.east, self.north]


def parse_bbox(value: str | list | tuple | BBox | None) -> BBox | None:
    """A bbox from "west,south,east,north" (or a 4-list), range-checked; antimeridian crossing is refused."""
    if value is None or value == "":
        return None
    if isinstance(value, BBox):
        return value
    try:
        # A JSON body may carry anything here (true, 5, {...}): every non-list is refused as a bbox, not a 500.
        parts = value.split(",") if isinstance(value, str) else list(value)
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(details={"bbox": value}, key="err.bbox_format") from exc
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise ValidationFailed(details={"bbox": value}, key="err.bbox_format")
    west, south, east, north = numbers
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise ValidationFailed(
            details={"bbox": numbers},
            key="err.bbox_range",
        )
    return BBox(west, south, east, north)


def _utc(moment: datetime) -> datetime:
    # A time without zone is read as UTC: that is how every timestamp is stored and returned.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def start_of(value: date | datetime | None) -> datetime | None:
    """Inclusive lower bound: a date means its first instant (UTC)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc(value)
    return datetime.combine(value, time.min, tzinfo=UTC)


def end_of(value: date | datetime | None) -> datetime | None:
    """Exclusive upper bound: a date covers its whole day, a datetime is included itself."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc(value) + timedelta(microseconds=1)
    return datetime.combine(value + timedelta(days=1), time.min, tzinfo=UTC)


# A calendar day (YYYY-MM-DD, a whole UTC day) or an instant (ISO 8601; without a zone it is UTC), read and
# range-checked by the shared bounded parser: extremes such as 0001-01-01T00:00:00+14:00 are 422, never 500.
DayOrInstant = moments.DayOrInstant


TERRITORY_HELP = "a territory's code: analyses tagged with it or any territory below it (docs/territories.md)"


class DataFilters(BaseModel):
    """Filters of reports and exports; every one is echoed back in the output that used it."""

    model_config = ConfigDict(extra="forbid")

    date_from: DayOrInstant = Field(default=None, description="inclusive; a date means 00:00 UTC")
    date_to: DayOrInstant = Field(default=None, description="inclusive; a date covers the whole day")
    risk_level: RiskLevel | None = Field(default=None, description="risk level of the analysis")
    has_gps: bool | None = Field(default=None, description="true: located analyses only; false: unlocated only")
    bbox: str | list[float] | None = Field(default=None, description="west,south,east,north (degrees)")
    user_id: uuid.UUID | None = Field(default=None, description="experts and admins only, for other users")
    verdict: Verdict = Field(default=Verdict.NOT_REJECTED, description=VERDICT_HELP)
    include_expired: bool = Field(default=False, description=INCLUDE_EXPIRED_HELP)
    territory: str | None = Field(default=None, max_length=64, description=TERRITORY_HELP)

    @field_validator("risk_level", mode="before")
    @classmethod
    def _risk(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        try:
            return parse_risk_level(value)
        except ValueError as exc:
            raise ValueError(f"risk_level must be one of {[r.value for r in RiskLevel]}") from exc

    @field_validator("bbox", mode="before")
    @classmethod
    def _bbox(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        try:
            return parse_bbox(value).as_list()
        except ValidationFailed as exc:
            raise ValueError(exc.message) from exc

    @model_validator(mode="after")
    def _ordered(self) -> DataFilters:
        low, high = start_of(self.date_from), end_of(self.date_to)
        if low is not None and high is not None and low >= high:
            raise ValueError("date_from must not be after date_to")
        return self

    @property
    def box(self) -> BBox | None:
        return parse_bbox(self.bbox)

    @property
    def active_only(self) -> bool:
        """Only detections whose validity has not ended (the default of every operational view)."""
        return not self.include_expired

    def coverage(self, as_of: datetime) -> dict[str, Any]:
        """What an answer counts: the verdicts, the validity window and the upload-time window, stated."""
        return {
            "verdict": self.verdict.value,
            "validation_statuses": [s.value for s in self.verdict.statuses],
            "validity": "active" if self.active_only else "all",
            "as_of": as_of.isoformat(),
            "created_from": _iso(start_of(self.date_from)),
            "created_before": _iso(end_of(self.date_to)),
        }

    def echo(self) -> dict[str, Any]:
        """The filters as stated in an output: JSON-safe, only those that were set."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


# A point on a cell's west or south edge belongs to that cell (floor): a snapped bbox ends this far before the
# next cell's edge, so a bbox never takes a point of a cell it does not cover whole.
EDGE_DEG = 1e-9


def snap_filters(filters: DataFilters, grid_deg: float) -> DataFilters:
    """The filters widened to whole public cells and whole UTC days: a bbox grows outwards to cell edges (and
    stops just short of the next cell's west and south edges, which belong to that cell), instants become
    their days. What an aggregate then counts changes only cell by cell and day by day."""
    changes: dict[str, Any] = {}
    box = filters.box
    if box is not None:
        # Cell indices are whole numbers: floor/ceil on the quotient, then back to degrees (no float drift).
        west, south = math.floor(box.west / grid_deg), math.floor(box.south / grid_deg)
        east, north = math.ceil(box.east / grid_deg), math.ceil(box.north / grid_deg)
        east, north = max(east, west + 1), max(north, south + 1)
        changes["bbox"] = [
            max(-180.0, round(west * grid_deg, 9)),
            max(-90.0, round(south * grid_deg, 9)),
            min(180.0, round(east * grid_deg, 9) - EDGE_DEG),
            min(90.0, round(north * grid_deg, 9) - EDGE_DEG),
        ]
    low, high = start_of(filters.date_from), end_of(filters.date_to)
    if low is not None:
        changes["date_from"] = low.date()
    if high is not None:
        changes["date_to"] = (high - timedelta(microseconds=1)).date()
    return filters.model_copy(update=changes) if changes else filters


def build_filters(**values: Any) -> DataFilters:
    """DataFilters from query parameters; a bad value is a 422 in the envelope, never a 500."""
    try:
        return DataFilters(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        details = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise ValidationFailed(details=details, key="err.filters") from exc


def time_and_verdict_values(
    *,
    date_from: str | None,
    date_to: str | None,
    since: str | None,
    risk_level: str | None,
    verdict: str | None,
    include_expired: bool | None,
    active_only: bool | None,
) -> dict:
    """The query's time window, risk, verdict and validity as build_filters' values: `since` is an alias of
    `date_from` (both at once must agree), `active_only` the deprecated inverse of `include_expired`."""
    if since is not None and date_from is not None and since != date_from:
        raise ValidationFailed(
            "since is an alias of date_from: give one of them",
            details={"since": since, "date_from": date_from},
            key="err.since_alias",
        )
    if active_only is not None:
        if include_expired is not None and include_expired == active_only:
            raise ValidationFailed(
                details={"active_only": active_only, "include_expired": include_expired},
                key="err.active_only_conflict",
            )
        include_expired = not active_only
    return {
        "date_from": date_from if date_from is not None else since,
        "date_to": date_to,
        "risk_level": risk_level,
        "verdict": verdict,
        "include_expired": bool(include_expired),
    }


@dataclass
class Where:
    """SQL conditions joined by AND, with their bound parameters; fragments come from code, values are bound."""

    clauses: list[str]
    params: dict[str, Any]

    @classmethod
    def empty(cls) -> Where:
        return cls([], {})

    def add(self, clause: str, **params: Any) -> Where:
        self.clauses.append(clause)
        self.params.update(params)
        return self

    def sql(self) -> str:
        return " AND ".join(f"({c})" for c in self.clauses) if self.clauses else "TRUE"
