"""The Lambda wrapper of the report app: the shared one, plus the text types this function returns.

Mangum base64-encodes every body whose type it does not know as text, and API Gateway only decodes the
types listed in BinaryMediaTypes. GeoJSON (application/geo+json) is text but not in Mangum's list, so
without this it would reach clients as base64. PDFs and vector tiles stay binary (base64 + BinaryMediaTypes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from mangum import Mangum
from mangum.adapter import DEFAULT_TEXT_MIME_TYPES

from sentrix.http import app as shared_app
from sentrix.observability import logger, metrics

TEXT_MIME_TYPES = [*DEFAULT_TEXT_MIME_TYPES, "application/geo+json"]


def report_lambda_handler(app: FastAPI) -> Callable[[dict, Any], dict]:
    """Like `sentrix.http.app.lambda_handler`, with GeoJSON treated as text."""
    shared_app._run_sync_code_inline()
    adapter = Mangum(app, lifespan="off", text_mime_types=TEXT_MIME_TYPES)

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict, context: Any) -> dict:
        shared_app._ensure_event_loop()
        return adapter(event, context)

    return handler
