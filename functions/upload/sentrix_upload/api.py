"""API Gateway entry point of the upload function."""

from sentrix.http.app import create_app, lambda_handler
from sentrix.http.health import router as health_router

app = create_app("Sentrix upload", [health_router], description="Analyses intake, reads and expert validation.")
handler = lambda_handler(app)
