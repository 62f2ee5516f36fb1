"""What API Gateway (REST) decides itself, read from the template: its own answers, preflights, binary bodies.

Each rule is API Gateway's documented behaviour applied to what infra/template.yaml declares (GatewayResponses,
Cors, BinaryMediaTypes), so a template change shows up in the local stack the way it would in the cloud.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from sentrix_local.template import ApiSpec, GatewayResponseSpec

Answer = tuple[int, dict[str, str], bytes]

# API Gateway's own status and message for the response types the local gateway produces
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
RESPONSE_TYPES: dict[str, tuple[int, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "THROTTLED": (429, "Too Many Requests"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "AUTHORIZER_FAILURE": (500, "Internal server error"),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, "Internal server error"),
    "API_CONFIGURATION_ERROR": (500, "Internal server error"),
    # A Lambda proxy integration that fails or answers malformed: 502, which only DEFAULT_5XX can shape.
    "DEFAULT_5XX": (502, "Internal server error"),
}
# With no ResponseTemplates at all, API Gateway answers this.
DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
_CONTEXT_VARIABLE = re.compile(r"\$\{?context\.([A-Za-z0-9_.]+)\}?")


def _entry(api: ApiSpec | None, kind: str, status: int) -> GatewayResponseSpec | None:
    responses = api.gateway_responses if api else {}
    return responses.get(kind) or responses.get("DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX")


def gateway_response(
    api: ApiSpec | None, kind: str, request_headers: dict[str, str], context: dict[str, str]
) -> Answer:
    """API Gateway's own answer of type `kind`, shaped by the template's GatewayResponses entry (or DEFAULT_4XX/5XX).

    `context` holds the $context values the response template may use (requestId, path, …); the error ones are
    added here. `request_headers` must have lower-case names (for method.request.header.* mappings).
    """
    status, message = RESPONSE_TYPES[kind]
    entry = _entry(api, kind, status)
    specific = api.gateway_responses.get(kind) if api else None
    if specific is not None and specific.status:
        status = specific.status
    values = {
        **context,
        "requestTime": datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "error.responseType": kind,
        "error.message": message,
        "error.messageString": json.dumps(message),
    }
    templates = entry.templates if entry else {}
    template = templates.get("application/json") or next(iter(templates.values()), DEFAULT_TEMPLATE)
    body = _CONTEXT_VARIABLE.sub(lambda m: values.get(m.group(1), ""), template)
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": context.get("requestId", "")}
    for name, mapping in (entry.headers if entry else {}).items():
        value = _mapped(mapping, request_headers)
        if value is not None:
            headers[name] = value
    return status, headers, body.encode()


def _mapped(mapping: str, request_headers: dict[str, str]) -> str | None:
    """A response parameter's value: a quoted static value or method.request.header.<name>; None when absent."""
    if len(mapping) >= 2 and mapping[0] == mapping[-1] == "'":
        return mapping[1:-1]
    prefix = "method.request.header."
    if mapping.startswith(prefix):
        return request_headers.get(mapping[len(prefix) :].lower())
    return None


def preflight(api: ApiSpec | None, request_headers: dict[str, str], context: dict[str, str]) -> Answer | None:
    """SAM's Cors as API Gateway runs it: a MOCK integration on OPTIONS, no authorizer, no function; None without Cors.

    The mock's request template is JSON; when BinaryMediaTypes classify the preflight (no Content-Type) as binary
    (`*/*` does), API Gateway cannot transform it and answers 500 — SAM offers no ContentHandling to avoid that.
    """
    if api is None or api.cors is None:
        return None
    if is_binary(request_headers.get("content-type"), api.binary_media_types):
        return gateway_response(api, "API_CONFIGURATION_ERROR", request_headers, context)
    headers = {"Content-Type": "application/json"}
    for name in ("AllowOrigin", "AllowMethods", "AllowHeaders", "MaxAge", "AllowCredentials"):
        value = api.cors.get(name)
        if value is not None:
            header = "Access-Control-" + re.sub(r"(?<!^)(?=[A-Z])", "-", name)
            headers[header] = _mapped(value, request_headers) or value
    return 200, headers, b"{}\n"


def is_binary(media_type: str | None, binary_media_types: tuple[str, ...]) -> bool:
    """Does a Content-Type (request) or Accept (response) match BinaryMediaTypes, the way API Gateway matches it?

    Only the first media type of the header counts. An entry `*/*` matches anything (even a missing header);
    `type/*` matches that type; otherwise the types must be equal — an Accept of `*/*` matches only `*/*`.
    """
    first = (media_type or "").split(",")[0].split(";")[0].strip().lower()
    for entry in binary_media_types:
        wanted = entry.split(";")[0].strip().lower()
        if wanted == "*/*":
            return True
        if first and (wanted == first or (wanted.endswith("/*") and first.split("/")[0] == wanted[:-2])):
            return True
    return False
