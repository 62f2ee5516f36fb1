"""API Gateway REQUEST authorizer. No FastAPI, SQLAlchemy or supabase here: it runs on every request."""

from __future__ import annotations

from typing import Any

from sentrix.observability import logger


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Token verification arrives with the auth issue; until then every protected route is refused.
    # API Gateway maps the "Unauthorized" error message to a 401 response.
    raise Exception("Unauthorized")
