"""Invariants of operating the stack: migrations on deploy, alarms, log retention, secrets, layers, concurrency.

Same shape as invariants.py: `check_*(template) -> list[str]`, empty when the invariant holds.
"""

from __future__ import annotations

from typing import Any

from tests.infra.template_model import (
    SAM_FUNCTION,
    Template,
    api_events,
    as_list,
    depends_on,
    environment,
    function_setting,
    functions,
    layers_of,
    number,
    props,
    references,
    resources_of,
    secrets_readable_by,
    sqs_consumers,
    target,
    text,
)

# Heavy libraries only where they are used (issue 7): the layer -> the functions allowed to attach it.
LAYER_USERS = {
    "ImagingLayer": {"UploadFunction", "DetectFunction"},
    "ReportLayer": {"ReportFunction"},
}
SIGNING_KEY_SECRET = "SigningKeySecret"
SIGNING_KEY_READERS = {"AuthFunction", "AuthorizerFunction"}
MIGRATE_HANDLER = "sentrix_migrate.handler.handler"


# --------------------------------------------------------------------------------------------------
# Migrations on deploy
# --------------------------------------------------------------------------------------------------
def _migration_resources(template: Template) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template.get("Resources", {}).items()
        if str(resource.get("Type", "")).startswith("Custom::")
        or resource.get("Type") == "AWS::CloudFormation::CustomResource"
        if function_setting(template, target(props(resource).get("ServiceToken")) or "", "Handler") == MIGRATE_HANDLER
    }


def check_migrations_on_deploy(template: Template) -> list[str]:
    """A custom resource runs the migrations on every deploy, in time, before the functions that need them."""
    migrations = _migration_resources(template)
    if len(migrations) != 1:
        return [f"expected one custom resource served by {MIGRATE_HANDLER}, found {sorted(migrations)}"]
    ((name, resource),) = migrations.items()
    violations = []
    p = props(resource)
    version_refs = references(p.get("MigrationsVersion"))
    if "DeploymentId" not in version_refs:
        violations.append(f"{name}: MigrationsVersion does not change with each deployment (DeploymentId)")
    if "SharedLayer" not in version_refs:
        violations.append(f"{name}: MigrationsVersion does not change with the migrations (SharedLayer)")
    migrator = target(p.get("ServiceToken")) or "?"
    timeout = number(template, function_setting(template, migrator, "Timeout", 3)) or 0
    service_timeout = number(template, p.get("ServiceTimeout"))
    if service_timeout is None or not timeout < service_timeout <= 3600:
        violations.append(f"{name}: ServiceTimeout {service_timeout} is not just above {migrator}'s {timeout} s")
    # The functions that may read the database credentials are the ones that use the database.
    database_secrets = {
        ref for fn in functions(template) for ref in references(environment(template, fn).get("DB_SECRET_ARN"))
    }
    readers = {
        fn
        for fn in resources_of(template, SAM_FUNCTION)
        if fn != migrator and secrets_readable_by(template, fn) & database_secrets
    }
    violations += [
        f"{fn}: uses the database but does not DependsOn {name}"
        for fn in sorted(readers)
        if name not in depends_on(template["Resources"][fn])
    ]
    return violations


# --------------------------------------------------------------------------------------------------
# Alarms
# --------------------------------------------------------------------------------------------------
def alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str | None, str | None, dict[str, str | None]]]:
    """(namespace, metric, {dimension: logical id or literal}) of a plain or a metric-math alarm."""
    p = props(alarm)
    metrics = []
    if p.get("MetricName"):
        metrics.append((p.get("Namespace"), p.get("MetricName"), p.get("Dimensions")))
    for query in as_list(p.get("Metrics")):
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        if metric:
            metrics.append((metric.get("Namespace"), metric.get("MetricName"), metric.get("Dimensions")))
    return [
        (ns, metric, {d.get("Name"): target(d.get("Value")) or text(d.get("Value")) for d in as_list(dims)})
        for ns, metric, dims in metrics
    ]


def _watched(template: Template, namespace: str, metric: str) -> list[dict[str, str | None]]:
    return [
        dims
        for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values()
        for ns, name, dims in alarm_metrics(alarm)
        if (ns, name) == (namespace, metric)
    ]


def check_alarms(template: Template) -> list[str]:
    """5xx rate, detect errors, YOLO breaker opens and throttles are watched; every alarm notifies the topic."""
    violations = []
    topics = set(resources_of(template, "AWS::SNS::Topic"))
    for name, alarm in resources_of(template, "AWS::CloudWatch::Alarm").items():
        if not {target(action) for action in as_list(props(alarm).get("AlarmActions"))} & topics:
            violations.append(f"{name}: notifies no SNS topic of this stack")
    if not _watched(template, "AWS/ApiGateway", "5XXError"):
        violations.append("no alarm on the API's 5XXError")
    consumers = {function for function, _, _ in sqs_consumers(template)}
    erroring = {dims.get("FunctionName") for dims in _watched(template, "AWS/Lambda", "Errors")}
    violations += [f"no alarm on {fn}'s Errors" for fn in sorted(consumers - erroring)]
    if not any(dims.get("service") == "detect" for dims in _watched(template, "Sentrix", "YoloBreakerOpened")):
        violations.append("no alarm on the YoloBreakerOpened metric (service=detect)")
    serving = {fn for fn, _, _ in api_events(template)} | {
        target(a.get("FunctionArn"))
        for api in resources_of(template, "AWS::Serverless::Api").values()
        for a in ((props(api).get("Auth") or {}).get("Authorizers") or {}).values()
    }
    throttled = {dims.get("FunctionName") for dims in _watched(template, "AWS/Lambda", "Throttles")}
    violations += [f"no alarm on {fn}'s Throttles" for fn in sorted(serving - throttled)]
    filters = [
        t.get("MetricName")
        for f in resources_of(template, "AWS::Logs::MetricFilter").values()
        for t in as_list(props(f).get("MetricTransformations"))
        if t.get("MetricNamespace") == "Sentrix"
    ]
    if not _watched(template, "Sentrix", "ApiThrottledRequests") or "ApiThrottledRequests" not in filters:
        violations.append("no alarm on the API's own throttling (ApiThrottledRequests from the access log)")
    return violations


def check_log_retention(template: Template) -> list[str]:
    """Every log group of the stack expires its logs (functions' and the API's access log alike)."""
    return [
        f"{name}: keeps logs forever (no RetentionInDays)"
        for name, group in resources_of(template, "AWS::Logs::LogGroup").items()
        if props(group).get("RetentionInDays") is None
    ]


# --------------------------------------------------------------------------------------------------
# Secrets, layers, concurrency
# --------------------------------------------------------------------------------------------------
def check_signing_key_access(template: Template) -> list[str]:
    """Only token verifiers read the signing keys: auth and the authorizer always, plus functions that
    serve public routes (no authorizer there, so they identify an optional caller themselves) - never others.
    """
    violations = []
    public = {fn for fn, _, p in api_events(template) if (p.get("Auth") or {}).get("Authorizer") == "NONE"}
    allowed = SIGNING_KEY_READERS | public
    readers = {
        fn for fn in resources_of(template, SAM_FUNCTION) if SIGNING_KEY_SECRET in secrets_readable_by(template, fn)
    }
    violations += [f"{fn}: may read {SIGNING_KEY_SECRET} but verifies no tokens" for fn in sorted(readers - allowed)]
    violations += [f"{fn}: may not read {SIGNING_KEY_SECRET}" for fn in sorted(SIGNING_KEY_READERS - readers)]
    for fn in sorted(readers):
        if target(environment(template, fn).get("AUTH_SIGNING_KEY_SECRET_ARN")) != SIGNING_KEY_SECRET:
            violations.append(f"{fn}: reads {SIGNING_KEY_SECRET} but AUTH_SIGNING_KEY_SECRET_ARN does not name it")
    return violations


def check_layers_by_weight(template: Template) -> list[str]:
    """Heavy layers (imaging, report) only on the functions that use them; the shared one on all."""
    violations = []
    for name in resources_of(template, SAM_FUNCTION):
        attached = layers_of(template, name)
        if "SharedLayer" not in attached:
            violations.append(f"{name}: lacks SharedLayer")
        for layer, users in LAYER_USERS.items():
            if layer in attached and name not in users:
                violations.append(f"{name}: attaches {layer}, which only {sorted(users)} need")
    return violations


def check_bounded_consumers(template: Template) -> list[str]:
    """Every queue consumer has a concurrency ceiling, so a backlog cannot flood YOLO or the database."""
    return [
        f"{fn}: consumes {queue} without ScalingConfig.MaximumConcurrency or reserved concurrency"
        for fn, queue, p in sqs_consumers(template)
        if not (p.get("ScalingConfig") or {}).get("MaximumConcurrency")
        and function_setting(template, fn, "ReservedConcurrentExecutions") is None
    ]
