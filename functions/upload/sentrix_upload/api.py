"""API Gateway entry point of the upload function."""

from sentrix import snapstart
from sentrix.adapters import aws
from sentrix.http.app import create_app, lambda_handler
from sentrix.http.health import router as health_router
from sentrix_upload.routes import analyses, detections, intake, preview, sites, territories, visits

app = create_app(
    "Sentrix upload",
    [
        intake.router,
        preview.router,
        analyses.router,
        detections.router,
        sites.router,
        territories.router,
        visits.router,
        health_router,
    ],
    description="Analyses intake, reads, expert validation, sites, territories, field visits and larval indices.",
)
handler = lambda_handler(app)
snapstart.install("upload")  # SnapStart runtime hooks (docs/infra.md (SnapStart))
# Reads presign image URLs: the S3 client is built during init, not by the first request (docs/infra.md).
aws.prepare_clients("s3")
