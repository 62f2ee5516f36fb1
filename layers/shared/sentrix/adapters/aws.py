"""boto3 clients built once per execution environment, honouring the endpoint override (moto locally)."""

from __future__ import annotations

import functools
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
