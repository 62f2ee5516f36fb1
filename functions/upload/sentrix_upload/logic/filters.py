"""List filters of `GET /analyses` (and the expert queue), parsed from query strings into checked values."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, TypeVar

from sentrix.domain.classes import RiskLevel, parse_risk_level
from sentrix.domain.location import is_valid_coordinate
from sentrix.domain.moments import parse_bound
from sentrix.domain.sites import SiteFamily, SiteStatus
from sentrix.domain.status import AnalysisStatus
from sentrix.errors import ValidationFailed

MAX_RADIUS_M = 100_000.0
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


@dataclass(frozen=True, slots=True)
class Near:
    latitude: float
    longitude: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class AnalysisFilters:
    statuses: tuple[AnalysisStatus, ...] = ()
    risk_levels: tuple[RiskLevel, ...] = ()
    created_from: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    has_gps: bool | None = None
    validated_only: bool = False
    bbox: BBox | None = None
    near: Near | None = None
    user_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class SiteFilters:
    """Filters of `GET /sites` (docs/sites.md)."""

    statuses: tuple[SiteStatus, ...] = ()
    families: tuple[SiteFamily, ...] = ()
    bbox: BBox | None = None
    near: Near | None = None
    confirmed: bool | None = None
    since: datetime | None = None  # last report at or after
    territory: str | None = None  # the territory's code: it and every territory below it


@dataclass(frozen=True, slots=True)
class AnalysisQuery:
    """The query string of `GET /analyses` as the client sent it (routes/params.py reads it)."""

    status: list[str]
    risk_level: list[str]
    date_from: str | None
    date_to: str | None
    since: str | None
    until: str | None
    has_gps: bool | None
    validated_only: bool
    bbox: str | None
    near: str | None
    radius_m: float | None
    user_id: uuid.UUID | None
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class SiteQuery:
    """The query string of `GET /sites` as the client sent it (routes/params.py reads it)."""

    status: list[str]
    family: list[str]
    bbox: str | None
    near: str | None
    radius_m: float | None
    confirmed: bool | None
    since: str | None
    territory: str | None
    order: Literal["priority", "recent"]
    limit: int
    offset: int


def _numbers(raw: str, count: int, name: str, shape: str) -> list[float]:
    parts = [p.strip() for p in raw.split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise ValidationFailed(key="err.upload_filter_shape", details={name: raw}, name=name, shape=shape)
    return values


def parse_bbox(raw: str | None) -> BBox | None:
    """`minLon,minLat,maxLon,maxLat` in degrees (WGS 84), min below max."""
    if raw is None:
        return None
    min_lon, min_lat, max_lon, max_lat = _numbers(raw, 4, "bbox", "minLon,minLat,maxLon,maxLat")
    if not (is_valid_coordinate(min_lat, min_lon) and is_valid_coordinate(max_lat, max_lon)):
        raise ValidationFailed(key="err.upload_bbox_corners", details={"bbox": raw})
    if min_lon >= max_lon or min_lat >= max_lat:
        raise ValidationFailed(key="err.upload_bbox_order", details={"bbox": raw})
    return BBox(min_lon, min_lat, max_lon, max_lat)


def parse_near(raw: str | None, radius_m: float | None) -> Near | None:
    """`near=lat,lon` with `radius_m` in metres: both or neither."""
    if raw is None and radius_m is None:
        return None
    if raw is None or radius_m is None:
        raise ValidationFailed(key="err.upload_near_pair", details={"near": raw, "radius_m": radius_m})
    latitude, longitude = _numbers(raw, 2, "near", "lat,lon")
    if not is_valid_coordinate(latitude, longitude):
        raise ValidationFailed(key="err.upload_near_coordinate", details={"near": raw})
    if not (math.isfinite(radius_m) and 0 < radius_m <= MAX_RADIUS_M):
        raise ValidationFailed(key="err.upload_radius", details={"radius_m": radius_m}, most=f"{MAX_RADIUS_M:g}")
    return Near(latitude, longitude, radius_m)


def parse_moment(raw: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    """An ISO date or date-time (naive means UTC) as a UTC bound, by the shared bounded parser (sentrix.domain.moments).

    A bare date as an upper bound includes that whole day; an instant as upper bound is inclusive too ("until 12:00"
    keeps what was created at 12:00 exactly): the bound returned is exclusive. Extremes are 422, never 500.
    """
    return parse_bound(raw, name, upper=end_of_day)


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_enum_list(values: Iterable[str], enum: type[E], name: str) -> tuple[E, ...]:
    """Repeated or comma-separated enum values (`status=queued,failed`)."""
    parsed = []
    for value in _split(values):
        try:
            parsed.append(enum(value))
        except ValueError as exc:
            allowed = [m.value for m in enum]
            raise ValidationFailed(
                key="err.upload_unknown_value", details={name: value, "allowed": allowed}, name=name, value=repr(value)
            ) from exc
    return tuple(dict.fromkeys(parsed))


def parse_risk_levels(values: Iterable[str]) -> tuple[RiskLevel, ...]:
    """Risk levels in Spanish (ALTO…) or English (high…), repeated or comma-separated."""
    parsed = []
    for value in _split(values):
        try:
            parsed.append(parse_risk_level(value))
        except ValueError as exc:
            allowed = [r.value for r in RiskLevel]
            raise ValidationFailed(
                key="err.upload_unknown_value",
                details={"risk_level": value, "allowed": allowed},
                name="risk_level",
                value=repr(value),
            ) from exc
    return tuple(dict.fromkeys(parsed))


def check_range(created_from: datetime | None, created_before: datetime | None) -> None:
    """422 unless the lower date bound is before the upper one."""
    if created_from and created_before and created_from >= created_before:
        raise ValidationFailed(key="err.upload_date_order")


def analysis_filters(query: AnalysisQuery) -> AnalysisFilters:
    """The checked filters of `GET /analyses` (`since`/`until` are the original client's names of the dates)."""
    created_from = parse_moment(query.date_from or query.since, "date_from", end_of_day=False)
    created_before = parse_moment(query.date_to or query.until, "date_to", end_of_day=True)
    check_range(created_from, created_before)
    return AnalysisFilters(
        statuses=parse_enum_list(query.status, AnalysisStatus, "status"),
        risk_levels=parse_risk_levels(query.risk_level),
        created_from=created_from,
        created_before=created_before,
        has_gps=query.has_gps,
        validated_only=query.validated_only,
        bbox=parse_bbox(query.bbox),
        near=parse_near(query.near, query.radius_m),
        user_id=query.user_id,
    )


def site_filters(query: SiteQuery) -> SiteFilters:
    """The checked filters of `GET /sites` (whether the territory exists is the caller's check)."""
    return SiteFilters(
        statuses=parse_enum_list(query.status, SiteStatus, "status"),
        families=parse_enum_list(query.family, SiteFamily, "family"),
        bbox=parse_bbox(query.bbox),
        near=parse_near(query.near, query.radius_m),
        confirmed=query.confirmed,
        since=parse_moment(query.since, "since", end_of_day=False),
        territory=query.territory,
    )
