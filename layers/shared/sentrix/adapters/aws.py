"""boto3 clients built once per execution environment, honouring the endpoint override (moto locally)."""

from __future__ import annotations

import functools
import os
from typing import Any

from sentrix.config import get_settings


@functools.cache
def client(service: str) -> Any:
    """A boto3 client for `service` (s3, sqs, …) with short timeouts and standard retries."""
    import boto3
    from botocore.config import Config

    settings = get_settings()
    config = Config(
        connect_timeout=3,
        read_timeout=10,
        retries={"mode": "standard", "max_attempts": 3},
        # Presigned URLs must carry SigV4 with the regional endpoint, or browsers get redirects.
        signature_version="s3v4" if service == "s3" else None,
        s3={"addressing_style": "path"} if settings.aws_endpoint_url else None,
    )
    return boto3.client(
        service,
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url or None,
        config=config,
    )


def reset_clients() -> None:
    """Forget cached clients (tests that change the endpoint)."""
    client.cache_clear()


# Lambda's AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand" and "provisioned-concurrency" initialize an environment that
# serves requests itself; "snap-start" initializes one to be snapshotted (no credential may go into it).
_SERVING_INITIALIZATIONS = frozenset({"on-demand", "provisioned-concurrency"})


def prepare_clients(*services: str) -> None:
    """Build the clients every request needs during Lambda's init (its CPU is not throttled then) instead of on
    the first request; not for a SnapStart snapshot (sentrix.snapstart loads their models without credentials)
    and not outside Lambda (tests, the local stack)."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") in _SERVING_INITIALIZATIONS:
        for service in services:
            client(service)
