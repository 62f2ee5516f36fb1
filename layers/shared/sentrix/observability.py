"""One Logger and Metrics per execution environment (every entry point imports them), and a Tracer on demand."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

# Powertools reads POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE from the environment.
# Locally there is no X-Ray daemon, so tracing is off unless the stack turns it on.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Sentrix")
if "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

# Most requests emit no custom metric; Powertools would warn about that on every invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(log_uncaught_exceptions=True)
metrics = Metrics()


@functools.cache
def get_tracer():
    """The X-Ray tracer, built on first use: importing the X-Ray SDK (and botocore with it) costs ~0.5 s of
    cold start, which the HTTP functions, with API Gateway and Lambda tracing already on, do not need."""
    from aws_lambda_powertools import Tracer

    return Tracer()


def tracing_enabled() -> bool:
    """False when Powertools' tracing is switched off (POWERTOOLS_TRACE_DISABLED; set above outside Lambda)."""
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() not in ("1", "true", "yes", "on")


def traced(handler: Callable[..., Any]) -> Callable[..., Any]:
    """`capture_lambda_handler` when tracing is on; the handler itself when it is off, without importing the
    X-Ray SDK (~350 ms of a cold start) for a tracer that would record nothing."""
    if not tracing_enabled():
        return handler
    return get_tracer().capture_lambda_handler(capture_response=False)(handler)
