"""Reading, deleting and retrying analyses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, TokenIdentity, current_principal, unchecked_identity
from sentrix.http.paging import MAX_OFFSET
from sentrix.http.query import reject_unknown_query_params
from sentrix_upload.logic import filters as f
from sentrix_upload.logic import lifecycle, reads, views
from sentrix_upload.logic.filters import AnalysisQuery
from sentrix_upload.routes.params import analysis_query
from sentrix_upload.schemas.analyses import AnalysisDetail, AnalysisPage, DetectionList
from sentrix_upload.schemas.intake import AnalysisAccepted

router = APIRouter(prefix="/api/v1", tags=["analyses"])


@router.get(
    "/analyses",
    response_model=AnalysisPage,
    summary="The caller's analyses (experts and admins: everyone's), filtered, newest first",
    dependencies=[Depends(reject_unknown_query_params)],
    responses=error_responses(403, s403="user_id names another user and the caller is not an expert"),
)
def list_analyses(
    query: AnalysisQuery = Depends(analysis_query), principal: Principal = Depends(current_principal)
) -> dict[str, Any]:
    filters = f.analysis_filters(query)
    return reads.list_analyses(principal, filters, limit=query.limit, offset=query.offset)


@router.get(
    "/analyses/{id}",
    response_model=AnalysisDetail,
    summary="Everything about one analysis, with its first 50 detections (detections_page says where the rest are)",
    responses=error_responses(404),
)
def get_analysis(id: str, identity: TokenIdentity = Depends(unchecked_identity)) -> dict[str, Any]:
    return reads.analysis_detail(identity, id)  # checks the caller in its own statement


@router.get(
    "/analyses/{id}/detections",
    response_model=DetectionList,
    summary="A page of one analysis' detections, highest confidence first",
    dependencies=[Depends(reject_unknown_query_params)],
    responses=error_responses(404),
)
def get_detections(
    id: str,
    limit: int = Query(default=reads.DETAIL_DETECTIONS, ge=1, le=reads.MAX_DETECTIONS_PAGE),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    identity: TokenIdentity = Depends(unchecked_identity),
) -> dict[str, Any]:
    # Checks the caller in its own statement, as the detail does: the same access rules.
    return reads.analysis_detections(identity, id, limit=limit, offset=offset)


@router.delete(
    "/analyses/{id}",
    status_code=204,
    response_class=Response,
    summary="Delete an analysis (owner or admin)",
    responses=error_responses(403, 404),
)
def delete_analysis(id: str, principal: Principal = Depends(current_principal)) -> Response:
    lifecycle.delete_analysis(principal, id)
    return Response(status_code=204)


@router.post(
    "/analyses/{id}/retry",
    status_code=202,
    response_model=AnalysisAccepted,
    summary="Send a failed analysis back to the detector (owner or admin)",
    responses=error_responses(403, 404, 409, s409="Not failed, or its photo is no longer stored"),
)
def retry_analysis(id: str, principal: Principal = Depends(current_principal)) -> dict[str, Any]:
    analysis_id, status = lifecycle.retry_analysis(principal, id)
    return {
        "analysis_id": analysis_id,
        "status": status,
        "status_url": views.status_url(analysis_id),
        "replayed": False,
    }
