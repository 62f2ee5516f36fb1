"""Load a function's handler from its code directory and invoke it like Lambda does."""

from __future__ import annotations

import importlib
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sentrix_local.logs import invocation
from sentrix_local.template import FunctionSpec


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object our handlers and Powertools read."""

    function_name: str
    timeout_s: int
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "local"
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_s - time.monotonic()) * 1000))


class LocalFunction:
    """One function, imported once (like a warm execution environment) and invoked one event at a time."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._handler: Callable[[dict, Any], Any] | None = None
        # Lambda runs one event per environment at a time; a lock per function keeps that true here.
        self._lock = threading.Lock()

    def _load(self) -> Callable[[dict, Any], Any]:
        if self._handler is None:
            code_dir = str(self.spec.code_dir)
            if code_dir not in sys.path:
                sys.path.insert(0, code_dir)
            module_name, _, attribute = self.spec.handler.rpartition(".")
            self._handler = getattr(importlib.import_module(module_name), attribute)
        return self._handler

    @property
    def service(self) -> str:
        """The function's POWERTOOLS_SERVICE_NAME from the template (its logical id when it sets none)."""
        name = self.spec.environment.get("POWERTOOLS_SERVICE_NAME")
        return name if isinstance(name, str) and name else self.spec.logical_id

    def literal_environment(self) -> dict[str, str]:
        """The template's variables for this function that have a value without a deployed stack."""
        return {
            name: str(value)
            for name, value in self.spec.environment.items()
            if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value) != ""
        }

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            handler = self._load()
            # Its own service on every record, and no logger key from an earlier invocation (sentrix_local.logs).
            namespace = self.literal_environment().get("POWERTOOLS_METRICS_NAMESPACE")
            with invocation(self.spec.logical_id, self.service, namespace):
                return handler(event, LambdaContext(self.spec.logical_id, self.spec.timeout))


# Variables the stack itself sets (the local endpoints, the database); the template's deployed values of
# these ('' until CloudFormation fills them) must never replace them.
_PER_INVOCATION = frozenset({"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"})


def apply_environment(functions: dict[str, LocalFunction], environ: dict[str, str]) -> dict[str, str]:
    """Set each function's literal template variables that the stack has not set; returns what was set.

    The functions share one process, so one value per name: a name whose value differs between functions
    (only POWERTOOLS_SERVICE_NAME) is applied per invocation instead, by `LocalFunction.invoke`.
    """
    values: dict[str, set[str]] = {}
    for function in functions.values():
        for name, value in function.literal_environment().items():
            values.setdefault(name, set()).add(value)
    applied = {}
    for name, seen in sorted(values.items()):
        if name in _PER_INVOCATION or name in environ or len(seen) != 1:
            continue
        applied[name] = environ[name] = next(iter(seen))
    return applied
