"""API Gateway entry point of the report function: the routers, the app, and the Lambda handler."""

from __future__ import annotations

from sentrix import snapstart
from sentrix.http.app import create_app, lambda_handler
from sentrix.http.health import router as health_router
from sentrix_report.routes import alerts, analyses, exports, maps, reports, statistics, subscriptions

app = create_app(
    "Sentrix report",
    [
        health_router,  # first: FastAPI tries the routers in order, and the liveness probe is the most frequent
        analyses.router,
        reports.router,
        statistics.router,
        exports.router,
        maps.router,
        alerts.router,
        subscriptions.router,
    ],
    description="Reports, exports, maps, statistics, cluster alerts and their subscriptions, computed in PostGIS.",
    # A typo in a filter (`?validation_status=`, `?active_only_typo=`) must not answer 200, unfiltered.
    strict_query=True,
)
# GeoJSON is text, but Mangum would base64 it: API Gateway only decodes the BinaryMediaTypes (PDF, MVT).
handler = lambda_handler(app, extra_text_types=["application/geo+json"])
snapstart.install("report")  # SnapStart runtime hooks (docs/infra.md (SnapStart))
