"""Invariants of what the API tells browsers: hardening headers on the gateway's own answers, explicit CORS origins,
and no internal error detail in any deployed function (issue 14, points 4 and 9).

The functions set the same headers on their answers (sentrix.http.headers); these checks cover what API Gateway
answers without a function (no token, denied, throttled, unknown route) and what the template passes the functions.
"""

from __future__ import annotations

import re

from tests.infra.template_model import Template, environment, functions, props, resources_of, target

# The values the functions send too (sentrix.http.headers); GatewayResponses quote static values.
GATEWAY_HEADERS = {
    "Strict-Transport-Security": "'max-age=31536000; includeSubDomains'",
    "X-Content-Type-Options": "'nosniff'",
    "Cache-Control": "'no-store'",
}
# Origins no deployed stage may accept: a page on a developer's machine, or plain HTTP.
FORBIDDEN_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173", "http://app.example.org")
LOCAL_ONLY_SWITCHES = ("SENTRIX_DEBUG_ERRORS",)


def check_gateway_response_headers(template: Template) -> list[str]:
    """Every answer API Gateway gives itself carries HSTS, nosniff and no-store, like the functions' answers."""
    violations = []
    for name, api in resources_of(template, "AWS::Serverless::Api").items():
        responses = props(api).get("GatewayResponses") or {}
        if not responses:
            violations.append(f"{name}: no GatewayResponses, so the gateway's own answers lack the headers")
        for kind, response in responses.items():
            headers = ((response or {}).get("ResponseParameters") or {}).get("Headers") or {}
            violations += [
                f"{name}/{kind}: header {header} is not {value}"
                for header, value in GATEWAY_HEADERS.items()
                if headers.get(header) != value
            ]
    return violations


def check_explicit_cors_origins(template: Template) -> list[str]:
    """The origins given to the functions (CORS_ORIGINS) are a parameter without a default that refuses localhost."""
    violations = []
    parameters = template.get("Parameters") or {}
    for name in functions(template):
        value = environment(template, name).get("CORS_ORIGINS")
        if value is None:
            continue
        parameter = target(value) if isinstance(value, dict) else None
        if parameter not in parameters:
            violations.append(f"{name}: CORS_ORIGINS is not a template parameter, so a stage cannot name its own")
            continue
        definition = parameters[parameter]
        if "Default" in definition:
            violations.append(f"{parameter}: has a Default ({definition['Default']}); a stage must name its origins")
        pattern = definition.get("AllowedPattern")
        if not pattern:
            violations.append(f"{parameter}: no AllowedPattern, so a localhost or plain-HTTP origin deploys")
            continue
        violations += [
            f"{parameter}: AllowedPattern accepts {origin}"
            for origin in FORBIDDEN_ORIGINS
            if re.fullmatch(pattern, origin)
        ]
    return sorted(set(violations))


def check_no_local_switches(template: Template) -> list[str]:
    """No deployed function gets a local-stack-only switch (internal error detail in answers)."""
    return [
        f"{name}: sets {switch}, which shows tracebacks and SQL to callers"
        for name in functions(template)
        for switch in LOCAL_ONLY_SWITCHES
        if switch in environment(template, name)
    ]
