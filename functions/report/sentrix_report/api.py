"""API Gateway entry point of the report function: the routers, the app, and the Lambda handler."""

from __future__ import annotations

from sentrix.http.app import create_app
from sentrix.http.health import router as health_router
from sentrix_report.handler import report_lambda_handler
from sentrix_report.routes import analyses, exports, maps, reports, statistics

app = create_app(
    "Sentrix report",
    [analyses.router, reports.router, statistics.router, exports.router, maps.router, health_router],
    description="Reports, exports, maps and statistics, computed in PostGIS.",
)
handler = report_lambda_handler(app)
