"""Lambda entry point of the migrate function: the doorway of the DatabaseMigrations custom resource."""

from __future__ import annotations

from typing import Any

from sentrix.db.deploy_hook import handle
from sentrix.observability import logger


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Apply the migrations (Create/Update) or do nothing (Delete), and answer CloudFormation either way."""
    # Never the event itself: its ResponseURL is a presigned URL that can answer for this deployment.
    logger.info("custom resource request", request_type=event.get("RequestType"), stack=event.get("StackId"))
    response = handle(event, context)
    logger.info("answered CloudFormation", status=response["Status"], reason=response["Reason"])
    return response
