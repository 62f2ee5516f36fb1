"""Invariants of what the API tells browsers: hardening headers on the gateway's own answers, explicit CORS origins,
and no internal error detail in any deployed function (issue 14, points 4 and 9).

The functions set the same headers on their answers (sentrix.http.headers); these checks cover what API Gateway
answers without a function (no token, denied, throttled, unknown route) and what the template passes the functions.
"""

from __future__ import annotations

import re

from tests.infra.template_model import Template, environment, function_setting, functions, props, resources_of, target

# The values the functions send too (sentrix.http.headers); GatewayResponses quote static values.
GATEWAY_HEADERS = {
    "Strict-Transport-Security": "'max-age=31536000; includeSubDomains'",
    "X-Content-Type-Options": "'nosniff'",
    "Cache-Control": "'no-store'",
}
# Origins no deployed stage may accept: a page on a developer's machine, or plain HTTP.
FORBIDDEN_ORIGINS = ("http://localhost:5173", "http://127.0.0.1:5173", "http://app.example.org")
LOCAL_ONLY_SWITCHES = ("SENTRIX_DEBUG_ERRORS", "SENTRIX_WEBHOOK_LOOPBACK")


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
        f"{name}: sets {switch}, a local stack's switch (tracebacks and SQL to callers; plain-http loopback webhooks)"
        for name in functions(template)
        for switch in LOCAL_ONLY_SWITCHES
        if switch in environment(template, name)
    ]


# Lambda SnapStart for Python: python3.12 and later; no provisioned concurrency, no EFS, ephemeral storage of
# at most 512 MB (docs/infra.md (SnapStart)). A snapshot exists only for published versions, so API Gateway
# must call the alias that AutoPublishAlias keeps on the latest one, never $LATEST.
SNAPSTART_MIN_PYTHON = (3, 12)
SNAPSTART_MAX_EPHEMERAL_MB = 512


def _http_functions(template: Template) -> set[str]:
    """Functions API Gateway invokes: those with Api events, and the APIs' Lambda authorizers."""
    serving = {
        name
        for name, function in functions(template).items()
        for event in (props(function).get("Events") or {}).values()
        if event.get("Type") == "Api"
    }
    return serving | {
        target(spec.get("FunctionArn")) or "?"
        for api in resources_of(template, "AWS::Serverless::Api").values()
        for spec in ((props(api).get("Auth") or {}).get("Authorizers") or {}).values()
    }


def _switch_parameters(template: Template, condition: str) -> set[str]:
    """The parameters a condition (and the conditions it uses) is decided by."""
    node = (template.get("Conditions") or {}).get(condition)
    if node is None:
        return set()
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("Ref"), str):
                found.add(item["Ref"])
            if isinstance(item.get("Condition"), str):
                found |= _switch_parameters(template, item["Condition"])
            stack += list(item.values())
        elif isinstance(item, list):
            stack += item
    return found & set(template.get("Parameters") or {})


def _python_version(runtime: object) -> tuple[int, int] | None:
    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime) if isinstance(runtime, str) else None
    return (int(match[1]), int(match[2])) if match else None


def check_snapstart(template: Template) -> list[str]:
    """Every HTTP function publishes versions behind an alias with SnapStart on them, switched by a parameter,
    in a configuration SnapStart supports; the authorizer is invoked through its alias."""
    violations = []
    for name in sorted(_http_functions(template)):
        resource = template["Resources"].get(name)
        if resource is None:
            violations.append(f"{name}: the authorizer is not a function of this template")
            continue
        settings = props(resource)
        if not isinstance(settings.get("AutoPublishAlias"), str):
            violations.append(f"{name}: no AutoPublishAlias, so API Gateway calls $LATEST (no snapshot there)")
        if settings.get("AutoPublishAliasAllProperties") is not True:
            violations.append(
                f"{name}: AutoPublishAliasAllProperties is not true (a settings-only change would stay off the alias)"
            )
        apply_on = (settings.get("SnapStart") or {}).get("ApplyOn")
        switch = apply_on.get("Fn::If") if isinstance(apply_on, dict) else None
        if not (isinstance(switch, list) and len(switch) == 3 and switch[1:] == ["PublishedVersions", "None"]):
            violations.append(f"{name}: SnapStart.ApplyOn is not !If [<condition>, PublishedVersions, None]")
        elif not _switch_parameters(template, switch[0]):
            violations.append(f"{name}: SnapStart's condition {switch[0]} is not decided by a stack parameter")
        version = _python_version(function_setting(template, name, "Runtime"))
        if version is None or version < SNAPSTART_MIN_PYTHON:
            violations.append(f"{name}: runtime is not python3.12 or later (SnapStart for Python needs it)")
        for unsupported in ("ProvisionedConcurrencyConfig", "FileSystemConfigs"):
            if function_setting(template, name, unsupported):
                violations.append(f"{name}: {unsupported} cannot be combined with SnapStart")
        ephemeral = (function_setting(template, name, "EphemeralStorage") or {}).get("Size")
        if ephemeral is not None and int(ephemeral) > SNAPSTART_MAX_EPHEMERAL_MB:
            violations.append(f"{name}: EphemeralStorage above {SNAPSTART_MAX_EPHEMERAL_MB} MB (SnapStart refuses it)")
    for api_name, api in resources_of(template, "AWS::Serverless::Api").items():
        for auth_name, spec in ((props(api).get("Auth") or {}).get("Authorizers") or {}).items():
            arn = spec.get("FunctionArn")
            ref = arn.get("Ref") if isinstance(arn, dict) else None
            if not (isinstance(ref, str) and ref.endswith(".Alias")):
                violations.append(
                    f"{api_name}/{auth_name}: FunctionArn is not the function's alias (!Ref <Function>.Alias)"
                )
    return violations
