"""Expert validation of detections (experts and admins) and validity of detections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request

from sentrix.domain.classes import BreedingSiteType, normalize_class_name
from sentrix.domain.roles import Role
from sentrix.domain.status import ValidationStatus
from sentrix.domain.validity import Weather
from sentrix.errors import ValidationFailed
from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal, require_role
from sentrix.http.locale import request_language
from sentrix.http.paging import MAX_OFFSET
from sentrix.http.query import reject_unknown_query_params
from sentrix_upload.logic import filters as f
from sentrix_upload.logic import validation, validity
from sentrix_upload.schemas.detections import (
    BatchValidateRequest,
    BatchValidateResult,
    DetectionPage,
    DetectionValidity,
    ExtendValidityRequest,
    ExtendValidityResult,
    RevalidateRequest,
    RevalidateResult,
    ReviewQueue,
    ValidatedDetection,
    ValidateRequest,
    ValidityStats,
)
from sentrix_upload.settings import get_upload_settings

router = APIRouter(prefix="/api/v1", tags=["detections"])
expert = require_role(Role.EXPERT)
OPEN_VERDICTS = (ValidationStatus.PENDING, ValidationStatus.REQUIRES_REVIEW)


@router.get(
    "/detections/pending",
    response_model=ReviewQueue,
    summary="Experts' queue: highest risk, oldest first",
    dependencies=[Depends(reject_unknown_query_params)],
)
def pending(
    status: list[str] = Query(default=[], description="pending and/or requires_review (default both)"),
    risk_level: list[str] = Query(default=[]),
    bbox: str | None = Query(default=None, description="minLon,minLat,maxLon,maxLat"),
    limit: int = Query(default=50, ge=1, le=50, description="At most 50: each detection carries its outline"),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(expert),
) -> dict[str, Any]:
    statuses = f.parse_enum_list(status, ValidationStatus, "status") or OPEN_VERDICTS
    if not set(statuses) <= set(OPEN_VERDICTS):
        raise ValidationFailed(key="err.queue_statuses")
    return validation.review_queue(
        statuses=statuses,
        risk_levels=f.parse_risk_levels(risk_level),
        bbox=f.parse_bbox(bbox),
        limit=limit,
        offset=offset,
    )


@router.post("/detections/batch-validate", response_model=BatchValidateResult, summary="Many verdicts; per-item errors")
def batch_validate(
    body: BatchValidateRequest, request: Request, principal: Principal = Depends(expert)
) -> dict[str, Any]:
    items = body.items()
    limit = get_upload_settings().batch_validate_max_items
    if len(items) > limit:
        raise ValidationFailed(key="err.verdicts_too_many", details={"max_items": limit}, most=limit)
    return validation.batch_validate(principal, items, language=request_language(request))


@router.post(
    "/detections/extend-validity",
    response_model=ExtendValidityResult,
    summary="Extend a detection's validity",
    responses=error_responses(404, 409, s409="the detection was rejected: it has no validity to extend"),
)
def extend_validity(body: ExtendValidityRequest, principal: Principal = Depends(expert)) -> dict[str, Any]:
    return validity.extend(principal, body.detection_id, body.extension_days, body.reason)


@router.get(
    "/detections/expired",
    response_model=DetectionPage,
    summary="Detections whose validity ran out",
    dependencies=[Depends(reject_unknown_query_params)],
)
def expired(
    breeding_site_type: str | None = Query(default=None, description="Basura, Charcos/Cumulo de agua, …"),
    limit: int = Query(default=50, ge=1, le=100, description="At most 100: each detection carries its outline"),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    site = None
    if breeding_site_type is not None:
        site = normalize_class_name(breeding_site_type)
        if site is None:
            raise ValidationFailed(
                key="err.upload_unknown_value",
                details={"allowed": [t.value for t in BreedingSiteType]},
                name="breeding_site_type",
                value=repr(breeding_site_type),
            )
    return validity.expired(principal, site=site, limit=limit, offset=offset)


@router.get(
    "/detections/expiring-soon",
    response_model=DetectionPage,
    summary="Detections about to expire",
    dependencies=[Depends(reject_unknown_query_params)],
)
def expiring_soon(
    days_threshold: int = Query(default=1, ge=1, le=30, description="Expiring within this many days"),
    limit: int = Query(default=50, ge=1, le=100, description="At most 100: each detection carries its outline"),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return validity.expiring_soon(principal, days=days_threshold, limit=limit, offset=offset)


@router.get("/detections/validity-stats", response_model=ValidityStats, summary="Validity counts, computed in SQL")
def validity_stats(principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    return validity.stats(principal)


@router.post(
    "/detections/{id}/validate",
    response_model=ValidatedDetection,
    summary="An expert's verdict",
    responses=error_responses(404),
)
def validate(id: str, body: ValidateRequest, principal: Principal = Depends(expert)) -> dict[str, Any]:
    return validation.validate_detection(principal, id, body.validation_status, body.validation_notes)


@router.post(
    "/detections/{id}/revalidate",
    response_model=RevalidateResult,
    summary="Confirm a site again; validity restarts",
    responses=error_responses(404),
)
def revalidate(
    id: str,
    weather_condition: Weather | None = Query(default=None, description="SUNNY, RAINY, CLOUDY, DRY_SEASON, …"),
    body: RevalidateRequest | None = Body(default=None),
    principal: Principal = Depends(expert),
) -> dict[str, Any]:
    weather = weather_condition
    if body is not None and body.weather_condition is not None:
        if weather is not None and weather != body.weather_condition:
            raise ValidationFailed(key="err.weather_mismatch")
        weather = body.weather_condition
    return validity.revalidate(principal, id, weather, body.validation_notes if body else None)


@router.get(
    "/detections/{id}/validity",
    response_model=DetectionValidity,
    summary="One detection's validity",
    responses=error_responses(404),
)
def detection_validity(id: str, principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    return validity.detection_validity(principal, id)
