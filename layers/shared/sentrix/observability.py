"""One Logger and Metrics per execution environment (every entry point imports them), and a Tracer on demand."""

from __future__ import annotations

import functools
import os
import warnings

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
