"""Invariants of operating the stack: migrations on deploy, alarms, log retention, secrets, layers, concurrency.

Same shape as invariants.py: `check_*(template) -> list[str]`, empty when the invariant holds.
"""

from __future__ import annotations

from pathlib import Path
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
SIGNING_KEY_SECRET = "SigningKeySecret"  # the private set: whoever reads it can mint any token
PUBLIC_KEYS_SECRET = "SigningPublicKeysSecret"  # the public set: all a verifier needs
TOKEN_SIGNERS = {"AuthFunction"}
# Verify tokens themselves: the API's authorizers (found in the template) and the report function, whose
# public map routes run without the authorizer and identify an optional caller (sentrix_report.routes.deps).
TOKEN_VERIFIERS = {"ReportFunction"}
MIGRATE_HANDLER = "sentrix_migrate.handler.handler"
REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA_DIR = REPO_ROOT / "infra"  # CodeUri is relative to the template
# The YOLO client with the circuit breaker that emits YoloBreakerOpened (dimension service: the function's).
YOLO_ADAPTER = "sentrix.adapters.yolo"


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


def _code_files(template: Template, function: str) -> list[Path]:
    code_uri = props(template["Resources"][function]).get("CodeUri")
    return sorted((INFRA_DIR / code_uri).rglob("*.py")) if isinstance(code_uri, str) else []


def _yolo_callers(template: Template) -> dict[str, str]:
    """{function: its Powertools service} for every function whose code calls YOLO through the breaker client."""
    return {
        fn: str(environment(template, fn).get("POWERTOOLS_SERVICE_NAME"))
        for fn in resources_of(template, SAM_FUNCTION)
        if any(YOLO_ADAPTER in path.read_text(encoding="utf-8") for path in _code_files(template, fn))
    }


def _emitted_metric_names() -> str:
    """The application's source (shared layer and functions), where every custom metric is named literally."""
    return "\n".join(
        path.read_text(encoding="utf-8")
        for root in (REPO_ROOT / "layers" / "shared" / "sentrix", REPO_ROOT / "functions")
        for path in root.rglob("*.py")
    )


def _watches_with_condition(template: Template, namespace: str, metric: str, dimension: str, resource: str) -> bool:
    """An alarm on `metric` of `resource` exists, and is created exactly when `resource` is."""
    condition = template["Resources"][resource].get("Condition")
    return any(
        (ns, name) == (namespace, metric) and dims.get(dimension) == resource and alarm.get("Condition") == condition
        for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values()
        for ns, name, dims in alarm_metrics(alarm)
    )


def check_alarms(template: Template) -> list[str]:
    """5xx rate, detect errors, every YOLO caller's breaker, queue age, database storage, proxy connections and
    pinning, and throttles are watched; every alarm notifies the topic and says when it is OK again; every alarm on
    an application metric watches one the code emits."""
    violations = []
    topics = set(resources_of(template, "AWS::SNS::Topic"))
    source = _emitted_metric_names()
    services = {str(environment(template, fn).get("POWERTOOLS_SERVICE_NAME")) for fn in functions(template)}
    for name, alarm in resources_of(template, "AWS::CloudWatch::Alarm").items():
        if not {target(action) for action in as_list(props(alarm).get("AlarmActions"))} & topics:
            violations.append(f"{name}: notifies no SNS topic of this stack")
        if not {target(action) for action in as_list(props(alarm).get("OKActions"))} & topics:
            violations.append(f"{name}: never says it is OK again (no OKActions to the topic)")
        for ns, metric, dims in alarm_metrics(alarm):
            filtered = metric in _filter_metrics(template)
            if ns == "Sentrix" and not filtered and f'"{metric}"' not in source:
                violations.append(f"{name}: watches Sentrix/{metric}, which no code emits")
            if ns == "Sentrix" and "service" in dims and dims["service"] not in services:
                violations.append(f"{name}: watches service {dims['service']}, which no function is")
    for fn, service in sorted(_yolo_callers(template).items()):
        if not any(dims.get("service") == service for dims in _watched(template, "Sentrix", "YoloBreakerOpened")):
            violations.append(f"no alarm on the YoloBreakerOpened metric of {fn} (service={service})")
    violations += [
        f"no alarm on {queue}'s ApproximateAgeOfOldestMessage"
        for queue in sorted({queue for _, queue, _ in sqs_consumers(template)})
        if not _watches_with_condition(template, "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue)
    ]
    violations += [
        f"no alarm on {db}'s FreeStorageSpace (with its Condition)"
        for db in sorted(resources_of(template, "AWS::RDS::DBInstance"))
        if not _watches_with_condition(template, "AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", db)
    ]
    violations += [
        f"no alarm on {proxy}'s {metric} (with its Condition)"
        for proxy in sorted(resources_of(template, "AWS::RDS::DBProxy"))
        for metric in ("ClientConnections", "DatabaseConnectionsCurrentlySessionPinned")
        if not _watches_with_condition(template, "AWS/RDS", metric, "ProxyName", proxy)
    ]
    if not _watched(template, "AWS/ApiGateway", "5XXError"):
        violations.append("no alarm on the API's 5XXError")
    consumers = {function for function, _, _ in sqs_consumers(template)}
    erroring = {dims.get("FunctionName") for dims in _watched(template, "AWS/Lambda", "Errors")}
    violations += [f"no alarm on {fn}'s Errors" for fn in sorted(consumers - erroring)]
    serving = {fn for fn, _, _ in api_events(template)} | {
        target(a.get("FunctionArn"))
        for api in resources_of(template, "AWS::Serverless::Api").values()
        for a in ((props(api).get("Auth") or {}).get("Authorizers") or {}).values()
    }
    throttled = {dims.get("FunctionName") for dims in _watched(template, "AWS/Lambda", "Throttles")}
    violations += [f"no alarm on {fn}'s Throttles" for fn in sorted(serving - throttled)]
    if not _watched(template, "Sentrix", "ApiThrottledRequests") or "ApiThrottledRequests" not in _filter_metrics(
        template
    ):
        violations.append("no alarm on the API's own throttling (ApiThrottledRequests from the access log)")
    return violations


def _filter_metrics(template: Template) -> set[str]:
    """Sentrix metrics that metric filters of this template make from logs."""
    return {
        t.get("MetricName")
        for f in resources_of(template, "AWS::Logs::MetricFilter").values()
        for t in as_list(props(f).get("MetricTransformations"))
        if t.get("MetricNamespace") == "Sentrix"
    }


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
def _authorizer_functions(template: Template) -> set[str]:
    return {
        target(a.get("FunctionArn")) or "?"
        for api in resources_of(template, "AWS::Serverless::Api").values()
        for a in ((props(api).get("Auth") or {}).get("Authorizers") or {}).values()
    }


def check_signing_key_access(template: Template) -> list[str]:
    """Only the signer may read the private keys; every verifier reads the public set, and nothing else does.

    A verifier (the authorizer, the report function) that could read SigningKeySecret would let whoever
    takes it over mint admin tokens: verifying needs public keys only.
    """
    violations = []
    verifiers = (TOKEN_VERIFIERS | _authorizer_functions(template)) - TOKEN_SIGNERS
    for fn in sorted(resources_of(template, SAM_FUNCTION)):
        readable, env = secrets_readable_by(template, fn), environment(template, fn)
        signs, verifies = fn in TOKEN_SIGNERS, fn in verifiers
        if SIGNING_KEY_SECRET in readable and not signs:
            violations.append(f"{fn}: may read the private {SIGNING_KEY_SECRET} but signs no tokens")
        if signs and SIGNING_KEY_SECRET not in readable:
            violations.append(f"{fn}: signs tokens but may not read {SIGNING_KEY_SECRET}")
        if "AUTH_SIGNING_KEY_SECRET_ARN" in env and not signs:
            violations.append(f"{fn}: sets AUTH_SIGNING_KEY_SECRET_ARN but signs no tokens")
        if signs and target(env.get("AUTH_SIGNING_KEY_SECRET_ARN")) != SIGNING_KEY_SECRET:
            violations.append(f"{fn}: AUTH_SIGNING_KEY_SECRET_ARN does not name {SIGNING_KEY_SECRET}")
        if verifies and PUBLIC_KEYS_SECRET not in readable:
            violations.append(f"{fn}: verifies tokens but may not read {PUBLIC_KEYS_SECRET}")
        if verifies and target(env.get("AUTH_PUBLIC_KEYS_SECRET_ARN")) != PUBLIC_KEYS_SECRET:
            violations.append(f"{fn}: verifies tokens but AUTH_PUBLIC_KEYS_SECRET_ARN does not name it")
        if PUBLIC_KEYS_SECRET in readable and not verifies:
            violations.append(f"{fn}: may read {PUBLIC_KEYS_SECRET} but verifies no tokens")
    return violations


# The secret of an existing database's owner, when the stack is given one.
EXISTING_OWNER_SECRET = "ExistingDatabaseSecretArn"


def owner_secrets(template: Template) -> set[str]:
    """The database owner's secrets: the stack's instances' master credentials, and an existing database's."""
    found = {
        ref
        for db in resources_of(template, "AWS::RDS::DBInstance").values()
        for key in ("MasterUsername", "MasterUserPassword")
        for ref in references(props(db).get(key))
        if ref in resources_of(template, "AWS::SecretsManager::Secret")
    }
    return found | ({EXISTING_OWNER_SECRET} & set(template.get("Parameters") or {}))


def check_database_roles(template: Template) -> list[str]:
    """Only the migrate function logs in as (and may read the secret of) the database owner; every other
    function logs in as the application role, whose secret the migrate function also reads to set its password.
    """
    owner = owner_secrets(template)
    migrators = {target(props(r).get("ServiceToken")) for r in _migration_resources(template).values()}
    violations = [] if owner else ["no database owner's secret found (master credentials or existing secret)"]
    for fn in sorted(resources_of(template, SAM_FUNCTION)):
        readable = secrets_readable_by(template, fn)
        env = environment(template, fn)
        logs_in_with = references(env.get("DB_SECRET_ARN"))
        if fn in migrators:
            if not owner <= logs_in_with:
                violations.append(f"{fn}: DB_SECRET_ARN is not the owner's secret ({sorted(owner)})")
            app = references(env.get("DB_APP_SECRET_ARN"))
            if not app or app & owner:
                violations.append(f"{fn}: DB_APP_SECRET_ARN does not name the application secret")
            elif not app <= readable:
                violations.append(f"{fn}: may not read the application secret {sorted(app)}")
            continue
        if readable & owner:
            violations.append(f"{fn}: may read the owner's secret {sorted(readable & owner)}")
        if logs_in_with & owner:
            violations.append(f"{fn}: DB_SECRET_ARN names the owner's secret {sorted(logs_in_with & owner)}")
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


def check_scheduled_workers(template: Template) -> list[str]:
    """Every function on an EventBridge schedule has an alarm on its Errors (a failing tick has no queue or DLQ
    to show it), and a claim it holds on work (REPORT_DELIVERY_LEASE_S, docs/alerts.md) outlasts its timeout, so
    a run still working never sees its rows taken by the next tick."""
    violations = []
    erroring = {dims.get("FunctionName") for dims in _watched(template, "AWS/Lambda", "Errors")}
    for name, function in resources_of(template, SAM_FUNCTION).items():
        if not any(e.get("Type") == "Schedule" for e in (props(function).get("Events") or {}).values()):
            continue
        if name not in erroring:
            violations.append(f"no alarm on {name}'s Errors (it runs on a schedule)")
        lease = environment(template, name).get("REPORT_DELIVERY_LEASE_S")
        timeout = int(function_setting(template, name, "Timeout", 3))
        if lease is not None and int(lease) <= timeout:
            violations.append(f"{name}: REPORT_DELIVERY_LEASE_S {lease} does not outlast its Timeout {timeout}")
    return violations
