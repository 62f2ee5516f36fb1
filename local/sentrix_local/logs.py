"""The local stack's logs: every function logs as itself, nothing carries from one invocation to the next.

Deployed, each function has its own execution environment, its own Logger (service from its
POWERTOOLS_SERVICE_NAME) and its own CloudWatch log group. Locally every function shares one process and
the one `sentrix.observability.logger`, and the gateway and the SQS poller invoke them from different
threads at the same time. So, locally only:

- the logger's keys (correlation id, `analysis_id`, `attempt`, …) are kept per thread, and each
  invocation starts and ends with none (`invocation`);
- each record says the service and function of the invocation that wrote it, from the template;
- each record goes, as the JSON line CloudWatch would hold, to `<log dir>/<function>.log`, and as one
  readable line (time, function, level, message, key fields) to the stack's output;
- the shared `metrics` collect per thread too, under the invocation's service and namespace, so one
  function's flush never publishes another's metrics.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

_current = threading.local()  # .function, .service, .namespace of the invocation running on this thread

# Keys every record has, or that say nothing a reader of the stack's output needs on each line.
_QUIET_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "sampling_rate",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "xray_trace_id",
        "stack_trace",
        "exception",
        "exception_name",
        "exception_notes",
        "taskName",
    }
)


def current_function() -> str | None:
    return getattr(_current, "function", None)


@contextlib.contextmanager
def invocation(function: str, service: str, namespace: str | None = None) -> Iterator[None]:
    """Run one invocation of `function` on this thread: its service on every record and metric, no logger
    key or pending metric before or after."""
    formatter = _installed_formatter()
    if formatter is not None:
        formatter.clear_thread()
    provider = _per_thread_provider()
    if provider is not None:
        provider.clear_metrics()  # this thread's: what an earlier invocation here left unflushed
    _current.function, _current.service, _current.namespace = function, service, namespace
    try:
        yield
    finally:
        _current.function = _current.service = _current.namespace = None
        if formatter is not None:
            formatter.clear_thread()


def _thread_local_attribute(name: str, default: Any) -> property:
    def get(self: Any) -> Any:
        values = self._sentrix_local.__dict__
        if name not in values:
            values[name] = default() if callable(default) else default
        return values[name]

    def put(self: Any, value: Any) -> None:
        self._sentrix_local.__dict__[name] = value

    return property(get, put)


def _per_thread_metrics(provider: Any) -> None:
    """Give Powertools' EMF provider per-thread metric, dimension and metadata sets, and the invocation's
    service and namespace (its class is swapped for a subclass; local only)."""
    base = type(provider)
    if getattr(base, "_sentrix_per_thread", False):
        return
    fallback_service, fallback_namespace = provider.service, provider.namespace

    def service(self: Any) -> Any:
        return getattr(_current, "service", None) or fallback_service

    def namespace(self: Any) -> Any:
        return getattr(_current, "namespace", None) or fallback_namespace

    attributes = {
        "_sentrix_per_thread": True,
        "metric_set": _thread_local_attribute("metric_set", dict),
        "dimension_set": _thread_local_attribute("dimension_set", dict),
        "dimension_sets": _thread_local_attribute("dimension_sets", list),
        "metadata_set": _thread_local_attribute("metadata_set", dict),
        "service": property(service, lambda self, value: None),
        "namespace": property(namespace, lambda self, value: None),
    }
    provider._sentrix_local = threading.local()
    provider.__class__ = type(f"PerThread{base.__name__}", (base,), attributes)


class InvocationFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter with its appended keys kept per thread, and the invocation's service."""

    def __init__(self, **kwargs: Any) -> None:
        self._local = threading.local()
        super().__init__(**kwargs)

    @property  # type: ignore[override]
    def log_format(self) -> dict[str, Any]:
        keys = getattr(self._local, "keys", None)
        if keys is None:
            keys = self._local.keys = {**dict.fromkeys(self.log_record_order), **self.keys_combined}
        return keys

    @log_format.setter
    def log_format(self, value: dict[str, Any]) -> None:
        self._local.keys = value

    def clear_thread(self) -> None:
        self.clear_state()
        self.thread_safe_clear_keys()

    def _extract_log_keys(self, log_record: logging.LogRecord) -> dict[str, Any]:
        keys = super()._extract_log_keys(log_record)
        service = getattr(_current, "service", None)
        if service:
            keys["service"] = service
        return keys


class FunctionLogSink(logging.Handler):
    """One JSON line per record in `<log_dir>/<function>.log`; one readable line on `console`."""

    def __init__(self, log_dir: Path, console: TextIO | None = None) -> None:
        super().__init__()
        self.log_dir = log_dir
        self.console = console or sys.stdout
        self._write_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            data = json.loads(line)
            self.write(current_function() or data.get("function_name") or data.get("service") or "stack", line, data)
        except Exception:  # a log line must never break an invocation
            self.handleError(record)

    def write(self, function: str, line: str, data: dict[str, Any]) -> None:
        """`line` (JSON) into the function's file, its readable form onto the console."""
        readable = metrics_line(data, function) if "_aws" in data else readable_line(data, function)
        with self._write_lock:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with (self.log_dir / f"{function}.log").open("a", encoding="utf-8") as log:
                log.write(line.replace("\n", " ") + "\n")
            self.console.write(readable + "\n")
            self.console.flush()


class InvocationStdout:
    """sys.stdout for the stack: a JSON line a function prints (Powertools' metrics in EMF, the authorizer's
    own records) goes where its logger's records go; everything else passes through unchanged."""

    def __init__(self, sink: FunctionLogSink, passthrough: TextIO) -> None:
        self.sink = sink
        self.passthrough = passthrough
        self._pending = threading.local()

    def write(self, text: str) -> int:
        function = current_function()
        if function is None:
            return self.passthrough.write(text)
        buffered = getattr(self._pending, "text", "") + text
        *lines, self._pending.text = buffered.split("\n")
        for line in lines:
            self._line(function, line)
        return len(text)

    def _line(self, function: str, line: str) -> None:
        data = None
        if line.lstrip().startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                data = None
        if isinstance(data, dict):
            self.sink.write(function, line.strip(), data)
        else:
            self.passthrough.write(line + "\n")

    def flush(self) -> None:
        self.passthrough.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.passthrough, name)


def metrics_line(data: dict[str, Any], function: str) -> str:
    """An EMF document as one line: `… METRIC Name=value …`."""
    names = [m["Name"] for d in data["_aws"].get("CloudWatchMetrics", []) for m in d.get("Metrics", [])]
    values = " ".join(f"{name}={_short(_single(data.get(name)))}" for name in names)
    return f"{stamp()} {function:<18} {'METRIC':<7} {values}"


def _single(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def readable_line(data: dict[str, Any], function: str) -> str:
    """`HH:MM:SS.mmm Function LEVEL message key=value …` — one line, whatever the record holds."""
    message = data.get("message")
    text = message if isinstance(message, str) else json.dumps(message, default=str, ensure_ascii=False)
    fields = " ".join(f"{key}={_short(value)}" for key, value in data.items() if key not in _QUIET_KEYS)
    if data.get("exception_name"):
        first = str(data.get("exception") or "").strip().splitlines()
        fields += f" exception={data['exception_name']}: {first[-1] if first else ''}"
    line = f"{stamp()} {function:<18} {data.get('level', '')!s:<7} {text}"
    return f"{line}  {fields.strip()}".replace("\n", " ") if fields.strip() else line.replace("\n", " ")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


def stamp() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]


def stack_line(source: str, message: str, level: str = "INFO") -> str:
    """A line of the stack's own (poller, start-up) in the same shape as the functions' lines."""
    return f"{stamp()} {source:<18} {level:<7} {message}"


def say(source: str, message: str, level: str = "INFO") -> None:
    print(stack_line(source, message, level), flush=True)


def _per_thread_provider() -> Any:
    from sentrix.observability import metrics

    return metrics.provider if getattr(type(metrics.provider), "_sentrix_per_thread", False) else None


def _installed_formatter() -> InvocationFormatter | None:
    from sentrix.observability import logger

    formatter = logger.registered_handler.formatter
    return formatter if isinstance(formatter, InvocationFormatter) else None


def install(log_dir: Path, console: TextIO | None = None) -> FunctionLogSink:
    """Route the shared logger through per-thread keys into per-function files and one readable stream,
    and what functions print as JSON (metrics, the authorizer's records) with it."""
    from sentrix.observability import logger, metrics

    _per_thread_metrics(metrics.provider)
    if isinstance(sys.stdout, InvocationStdout):  # installed before: wrap the real stream, not ourselves
        sys.stdout = sys.stdout.passthrough
    console = console or sys.stdout
    sink = FunctionLogSink(log_dir, console)
    sys.stdout = InvocationStdout(sink, console)  # type: ignore[assignment]
    sink.setFormatter(InvocationFormatter(**logger._default_log_keys))
    python_logger = logger._logger
    for handler in list(python_logger.handlers):
        python_logger.removeHandler(handler)
    python_logger.addHandler(sink)
    python_logger.powertools_handler = sink  # type: ignore[attr-defined] - where Powertools finds its handler
    if getattr(logger, "logger_handler", None) is not None:
        logger.logger_handler = sink
    return sink
