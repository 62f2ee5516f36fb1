"""API Gateway entry point of the auth function: sessions, profile and settings, user administration."""

from sentrix import snapstart
from sentrix.http.app import create_app, lambda_handler
from sentrix.http.health import router as health_router
from sentrix_auth.routes import admin, profile, sessions

app = create_app(
    "Sentrix auth",
    [health_router, sessions.router, profile.router, admin.router],
    description="Users, tokens, profile, settings and user administration.",
)
handler = lambda_handler(app)
snapstart.install("auth")  # SnapStart runtime hooks (docs/infra.md (SnapStart))
