"""API Gateway entry point of the upload function."""

from sentrix import snapstart
from sentrix.http.app import create_app, lambda_handler
from sentrix.http.health import router as health_router
from sentrix_upload.routes import analyses, detections, intake, preview, sites, territories, visits

app = create_app(
    "Sentrix upload",
    [
        health_router,  # first: FastAPI tries the routers in order, and the liveness probe is the most frequent
        intake.router,
        preview.router,
        analyses.router,
        detections.router,
        sites.router,
        territories.router,
        visits.router,
    ],
    description="Analyses intake, reads, expert validation, sites, territories, field visits and larval indices.",
)
handler = lambda_handler(app)
snapstart.install("upload")  # SnapStart runtime hooks (docs/infra.md (SnapStart))
# No S3 client at init: reads and intakes presign without boto3 (sentrix.adapters.sigv4, docs/infra.md).
