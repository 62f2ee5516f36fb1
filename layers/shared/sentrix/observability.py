"""One Logger, Metrics and Tracer per execution environment; every entry point imports these."""

from __future__ import annotations

import os
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

# Powertools reads POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE from the environment.
# Locally there is no X-Ray daemon, so tracing is off unless the stack turns it on.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Sentrix")
if "AWS_LAMBDA_FUNCTION_NAME" not in os.environ:
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

# Most requests emit no custom metric; Powertools would warn about that on every invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger(log_uncaught_exceptions=True)
metrics = Metrics()
tracer = Tracer()
