"""Subscriptions to territory alert levels: POST, GET, DELETE /subscriptions (docs/alerts.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Response

from sentrix.http.envelope import error_responses
from sentrix.http.identity import Principal, current_principal
from sentrix.http.paging import MAX_OFFSET
from sentrix.i18n import Locale
from sentrix_report.logic import subscriptions
from sentrix_report.routes.deps import caller_locale
from sentrix_report.schemas.subscriptions import SubscriptionRequest

router = APIRouter(prefix="/api/v1/subscriptions", tags=["subscriptions"])


@router.post(
    "",
    status_code=201,
    summary="Subscribe to a territory's alert level changes by e-mail or signed webhook (officials, admins)",
    responses=error_responses(
        403,
        404,
        409,
        s403="Users and experts may not subscribe",
        s404="The territory is unknown, or outside the official's territories",
        s409="The same subscription exists, or the caller has too many",
    ),
)
def post_subscription(
    request: SubscriptionRequest,
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return subscriptions.create(principal, request, locale)


@router.get(
    "",
    summary="The caller's subscriptions (every one for admins), with their deliveries pending, delivered and dead",
    responses=error_responses(403, s403="Users and experts have no subscriptions"),
)
def get_subscriptions(
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
    locale: Locale = Depends(caller_locale),
    principal: Principal = Depends(current_principal),
) -> dict[str, Any]:
    return subscriptions.listed(principal, locale, limit, offset)


@router.delete(
    "/{id}",
    status_code=204,
    response_class=Response,
    summary="Delete a subscription (its owner, or an admin); its pending deliveries are not sent",
    responses=error_responses(403, 404, s404="No such subscription of the caller's"),
)
def delete_subscription(
    id: str = Path(description="the subscription's id (anything else is 404, like an unknown one)"),
    principal: Principal = Depends(current_principal),
) -> Response:
    subscriptions.delete(principal, id)
    return Response(status_code=204)
