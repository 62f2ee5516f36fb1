"""Typed errors raised by domain, logic and adapters; each HTTP app maps them once to the envelope."""

from __future__ import annotations

from typing import Any


class SentrixError(Exception):
    """Base of every error we raise on purpose. `status` and `code` drive the HTTP mapping."""

    status: int = 500
    code: str = "internal_error"

    def __init__(
        self, message: str | None = None, *, details: Any = None, key: str | None = None, **values: Any
    ) -> None:
        """`key` names the words in the message catalogue (sentrix.i18n, filled from `values`): a caller who states
        a language reads them in it, and `message`, the English text (logs, callers that state no language), is
        the catalogue's English unless given. Without a key, `message` is required."""
        if message is None:
            if key is None:
                raise TypeError("an error needs a message or a catalogue key")
            from sentrix.i18n import t  # (sentrix.i18n imports this module)

            message = t(key, "en", **values)
        super().__init__(message)
        self.message = message
        self.details = details
        self.key = key
        self.values = values


class BadRequest(SentrixError):
    status = 400
    code = "bad_request"


class ValidationFailed(SentrixError):
    """Input that parsed but breaks a rule (range, both-or-neither, unknown key)."""

    status = 422
    code = "validation_error"


class InvalidLocation(ValidationFailed):
    code = "invalid_location"


class InvalidImage(SentrixError):
    """The bytes are not an image we accept (type, size, dimensions, corruption)."""

    status = 422
    code = "invalid_image"


class PayloadTooLarge(SentrixError):
    status = 413
    code = "payload_too_large"


class Unauthorized(SentrixError):
    status = 401
    code = "unauthorized"


class Forbidden(SentrixError):
    status = 403
    code = "forbidden"


class NotFound(SentrixError):
    status = 404
    code = "not_found"


class Conflict(SentrixError):
    status = 409
    code = "conflict"


class RateLimited(SentrixError):
    status = 429
    code = "rate_limited"

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: int,
        details: Any = None,
        key: str | None = None,
        **values: Any,
    ) -> None:
        retry_after = max(1, int(retry_after))
        # The wait is in the envelope too (`details.retry_after`, seconds), not only in the Retry-After header.
        super().__init__(
            message, details={"retry_after": retry_after} if details is None else details, key=key, **values
        )
        self.retry_after = retry_after


class DetectorUnavailable(SentrixError):
    """YOLO could not be reached, kept failing, or the breaker is open: transient."""

    status = 503
    code = "detector_unavailable"


class DetectorTimeout(DetectorUnavailable):
    status = 504
    code = "detector_timeout"


class DetectorBusy(DetectorUnavailable):
    """YOLO answered 429: it is up and asks us to slow down. Backpressure, not a failure: not retried in-process,
    never counted by the circuit breaker; detect puts the message back for later (sentrix_detect.logic.backpressure).
    `retry_after_s` is the wait the service asked for (Retry-After, seconds), None when it said nothing."""

    code = "detector_busy"

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class DetectorRejected(SentrixError):
    """YOLO answered a 4xx other than 429: the input is at fault, retrying will not help."""

    status = 422
    code = "detector_rejected"


class DependencyUnavailable(SentrixError):
    """Database, S3 or SQS is down: transient. The answer says when to try again (Retry-After, seconds): long
    enough for an RDS failover's DNS switch or a proxy reconnect, short enough for a person waiting."""

    status = 503
    code = "dependency_unavailable"
    retry_after: int | None = 5


class StorageAccessDenied(DependencyUnavailable):
    """S3 refused the call (403 AccessDenied): a deployment fault, not an outage, so retrying changes nothing.

    S3 also answers a read of a *missing* object 403 when the role lacks s3:ListBucket (infra/template.yaml grants
    it where reads may miss). Still a 503 to an HTTP caller (the service cannot do it now); detect does not retry it.
    """

    code = "dependency_unavailable"
    retry_after = None  # a refusal, not an outage: waiting changes nothing


class QueryTimeout(DependencyUnavailable):
    """A statement outran its route class's statement_timeout (SQLSTATE 57014) or the request's remaining time:
    the caller should narrow the filters; the answer carries Retry-After."""

    code = "query_timeout"

    def __init__(self, message: str, *, retry_after: int, details: Any = None, key: str | None = None) -> None:
        super().__init__(message, details=details, key=key)
        self.retry_after = max(1, int(retry_after))


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error wrapped by SQLAlchemy, or None (pg8000 puts the server's fields,
    "C" being the SQLSTATE, in the first argument of the original error)."""
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", None) or ()
    if args and isinstance(args[0], dict):
        return args[0].get("C")
    return getattr(orig, "sqlstate", None)
