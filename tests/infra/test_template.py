"""Invariants of infra/template.yaml that neither `sam validate --lint` nor cfn-lint enforce.

Each invariant is a small `check_*(template) -> list[str]` returning the violations it finds. Every check
runs twice: on the real template, where it must find nothing, and on a deep copy broken on purpose, where
it must report the breakage — so a check that can never fail cannot hide here.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

Template = dict[str, Any]

SAM_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
SQS_QUEUE = "AWS::SQS::Queue"
# Lambda's default when neither the function nor Globals set a timeout.
DEFAULT_TIMEOUT_S = 3
# SQS's default visibility timeout.
DEFAULT_VISIBILITY_TIMEOUT_S = 30
MIN_MAX_RECEIVE_COUNT = 5
# What the API returns as files; SAM spells "/" as "~1" in BinaryMediaTypes.
REQUIRED_BINARY_MEDIA_TYPES = (
    "application~1pdf",
    "image~1jpeg",
    "image~1png",
    "application~1vnd.mapbox-vector-tile",
    "multipart~1form-data",
)
UPLOAD_PREFIX = "incoming/"


# --------------------------------------------------------------------------------------------------
# Reading the template
# --------------------------------------------------------------------------------------------------
def resources_of(template: Template, *types: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template.get("Resources", {}).items() if res.get("Type") in types}


def props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties") or {}


def target(value: Any) -> str | None:
    """The logical id behind {"Ref": id} or {"Fn::GetAtt": [id, attr]}, else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def text(value: Any) -> str | None:
    """A literal string, or the pattern of a string-form Fn::Sub (so two Subs compare as text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return value["Fn::Sub"]
    return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def number(template: Template, value: Any) -> int | None:
    """An int from a literal or from a {"Ref": parameter} with a Default; None if it cannot be known."""
    if isinstance(value, dict) and "Ref" in value:
        value = template.get("Parameters", {}).get(value["Ref"], {}).get("Default")
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def functions(template: Template) -> dict[str, dict[str, Any]]:
    return resources_of(template, SAM_FUNCTION, LAMBDA_FUNCTION)


def function_setting(template: Template, name: str, key: str, default: Any = None) -> Any:
    """A function property, falling back to Globals.Function the way SAM does."""
    function = template["Resources"][name]
    if key in props(function):
        return props(function)[key]
    if function.get("Type") == SAM_FUNCTION:
        globals_function = (template.get("Globals") or {}).get("Function") or {}
        return globals_function.get(key, default)
    return default


def sqs_consumers(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(function, queue, event source properties) for every SQS event and SQS event source mapping."""
    queues = resources_of(template, SQS_QUEUE)
    for name, function in resources_of(template, SAM_FUNCTION).items():
        for event in (props(function).get("Events") or {}).values():
            if event.get("Type") == "SQS":
                yield name, target(event["Properties"].get("Queue")) or "?", event["Properties"]
    for mapping in resources_of(template, "AWS::Lambda::EventSourceMapping").values():
        queue = target(props(mapping).get("EventSourceArn"))
        if queue in queues:
            yield target(props(mapping).get("FunctionName")) or "?", queue, props(mapping)


def dead_letter_queues(template: Template) -> set[str]:
    """Queues that another queue's RedrivePolicy (or a function's DeadLetterQueue) sends messages to."""
    found = set()
    for queue in resources_of(template, SQS_QUEUE).values():
        dlq = target((props(queue).get("RedrivePolicy") or {}).get("deadLetterTargetArn"))
        if dlq:
            found.add(dlq)
    for function in resources_of(template, SAM_FUNCTION).values():
        config = props(function).get("DeadLetterQueue") or {}
        if config.get("Type") == "SQS" and target(config.get("TargetArn")):
            found.add(target(config.get("TargetArn")))
    return found


def policy_statements(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM statement anywhere under `node` (roles, SAM inline policies, bucket and queue policies)."""
    if isinstance(node, dict):
        if "Statement" in node:
            for statement in as_list(node["Statement"]):
                if isinstance(statement, dict):
                    yield where, statement
        for key, value in node.items():
            yield from policy_statements(value, f"{where}.{key}" if where else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from policy_statements(value, f"{where}[{index}]")


def api_events(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(function, event name, properties) for every Api event."""
    for name, function in resources_of(template, SAM_FUNCTION).items():
        for event_name, event in (props(function).get("Events") or {}).items():
            if event.get("Type") == "Api":
                yield name, event_name, event.get("Properties") or {}


# --------------------------------------------------------------------------------------------------
# The invariants
# --------------------------------------------------------------------------------------------------
def check_visibility_timeouts(template: Template) -> list[str]:
    """Each queue hides a received message for at least 6 x the timeout of every function consuming it."""
    violations = []
    queues = resources_of(template, SQS_QUEUE)
    for function, queue, _ in sqs_consumers(template):
        if queue not in queues:
            violations.append(f"{function} consumes {queue}, which is not a queue of this template")
            continue
        timeout = number(template, function_setting(template, function, "Timeout", DEFAULT_TIMEOUT_S))
        visibility = number(template, props(queues[queue]).get("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT_S))
        if timeout is None or visibility is None:
            violations.append(f"{queue}/{function}: timeout or visibility timeout cannot be resolved")
        elif visibility < 6 * timeout:
            violations.append(
                f"{queue}: VisibilityTimeout {visibility}s < 6 x {function} Timeout {timeout}s = {6 * timeout}s"
            )
    return violations


def check_sqs_batch_item_failures(template: Template) -> list[str]:
    """Every SQS event source reports item failures, so one bad image does not redeliver its batch."""
    return [
        f"{function}: SQS event source for {queue} lacks FunctionResponseTypes [ReportBatchItemFailures]"
        for function, queue, properties in sqs_consumers(template)
        if "ReportBatchItemFailures" not in as_list(properties.get("FunctionResponseTypes"))
    ]


def check_redrive_policies(template: Template) -> list[str]:
    """Every queue that is not itself a dead-letter queue redrives to one after at least 5 receives."""
    violations = []
    queues = resources_of(template, SQS_QUEUE)
    dlqs = dead_letter_queues(template)
    for name, queue in queues.items():
        if name in dlqs:
            continue
        redrive = props(queue).get("RedrivePolicy")
        if not isinstance(redrive, dict):
            violations.append(f"{name}: no RedrivePolicy (and it is nobody's dead-letter queue)")
            continue
        if target(redrive.get("deadLetterTargetArn")) not in queues:
            violations.append(f"{name}: RedrivePolicy deadLetterTargetArn is not a queue of this template")
        count = number(template, redrive.get("maxReceiveCount"))
        if count is None or count < MIN_MAX_RECEIVE_COUNT:
            violations.append(f"{name}: maxReceiveCount {count} < {MIN_MAX_RECEIVE_COUNT}")
    return violations


def _alarms_on_any_message(template: Template, queue: str) -> bool:
    for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values():
        p = props(alarm)
        dimensions = {d.get("Name"): target(d.get("Value")) for d in as_list(p.get("Dimensions"))}
        threshold = number(template, p.get("Threshold"))
        fires_on_first_message = (p.get("ComparisonOperator"), threshold) in {
            ("GreaterThanThreshold", 0),
            ("GreaterThanOrEqualToThreshold", 1),
        }
        if (
            p.get("Namespace") == "AWS/SQS"
            and p.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and dimensions.get("QueueName") == queue
            and fires_on_first_message
        ):
            return True
    return False


def check_dlq_alarms(template: Template) -> list[str]:
    """Every dead-letter queue has an alarm that fires as soon as one message waits in it."""
    return [
        f"{dlq}: no alarm on ApproximateNumberOfMessagesVisible > 0"
        for dlq in sorted(dead_letter_queues(template))
        if not _alarms_on_any_message(template, dlq)
    ]


def check_log_groups(template: Template) -> list[str]:
    """Every function logs to a log group of this stack with a retention, named /aws/lambda/<function>."""
    violations = []
    log_groups = resources_of(template, "AWS::Logs::LogGroup")
    for name, function in functions(template).items():
        configured = target((props(function).get("LoggingConfig") or {}).get("LogGroup"))
        if configured is not None:
            group_name = configured
            if configured not in log_groups:
                violations.append(f"{name}: LoggingConfig.LogGroup {configured} is not a log group here")
                continue
        else:
            # Without LoggingConfig, Lambda writes to /aws/lambda/<name>: a group named after the function.
            named = [
                group
                for group, resource in log_groups.items()
                if text(props(resource).get("LogGroupName")) == f"/aws/lambda/${{{name}}}"
            ]
            if not named:
                violations.append(f"{name}: no log group of this stack receives its logs")
                continue
            group_name = named[0]
        group = props(log_groups[group_name])
        if group.get("RetentionInDays") is None:
            violations.append(f"{name}: log group {group_name} keeps logs forever (no RetentionInDays)")
        function_name = text(props(function).get("FunctionName"))
        if configured is not None and function_name is not None:
            expected = f"/aws/lambda/{function_name}"
            if text(group.get("LogGroupName")) != expected:
                violations.append(f"{name}: log group {group_name} is not named {expected}")
    return violations


def check_binary_media_types(template: Template) -> list[str]:
    """Every REST API returns PDFs, images and tiles as binary, written the way SAM wants ("~1")."""
    violations = []
    for name, api in resources_of(template, "AWS::Serverless::Api").items():
        declared = as_list(props(api).get("BinaryMediaTypes"))
        violations += [f"{name}: BinaryMediaTypes lacks {t}" for t in REQUIRED_BINARY_MEDIA_TYPES if t not in declared]
        violations += [
            f"{name}: BinaryMediaTypes entry {t!r} must write '/' as '~1'"
            for t in declared
            if isinstance(t, str) and "/" in t
        ]
    return violations


def check_no_wildcard_actions(template: Template) -> list[str]:
    """No IAM statement allows "*" or "service:*". Deny statements may be broad: denying is the point."""
    violations = []
    for where, statement in policy_statements(template.get("Resources", {})):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        if "NotAction" in statement:
            violations.append(f"{where}: Allow with NotAction grants everything else")
        for action in as_list(statement.get("Action")):
            if isinstance(action, str) and (action == "*" or action.endswith(":*")):
                violations.append(f"{where}: Allow {action!r}")
    return violations


def check_api_events(template: Template) -> list[str]:
    """Every Api event names its API, an explicit path and method; no ANY, no {proxy+}, no duplicates."""
    violations = []
    apis = resources_of(template, "AWS::Serverless::Api")
    seen: dict[tuple[str, str], str] = {}
    for function, event, p in api_events(template):
        label = f"{function}/{event}"
        if target(p.get("RestApiId")) not in apis:
            violations.append(f"{label}: RestApiId is not an AWS::Serverless::Api of this template")
        path, method = p.get("Path"), p.get("Method")
        if not isinstance(path, str) or not path.startswith("/"):
            violations.append(f"{label}: no explicit Path")
            continue
        if not isinstance(method, str) or not method:
            violations.append(f"{label}: no explicit Method")
            continue
        if method.upper() == "ANY":
            violations.append(f"{label}: Method ANY")
        if "+}" in path:
            violations.append(f"{label}: greedy path {path}")
        route = (method.upper(), path)
        if route in seen:
            violations.append(f"{label}: {method.upper()} {path} is already routed by {seen[route]}")
        seen[route] = label
    return violations


def _denies_plain_http(template: Template, bucket: str) -> bool:
    for policy in resources_of(template, "AWS::S3::BucketPolicy").values():
        if target(props(policy).get("Bucket")) != bucket:
            continue
        for _, statement in policy_statements(props(policy).get("PolicyDocument")):
            secure = ((statement.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
            covers = [target(r) or text(r) for r in as_list(statement.get("Resource"))]
            if (
                statement.get("Effect") == "Deny"
                and str(secure).lower() == "false"
                and bucket in covers
                and "${" + bucket + ".Arn}/*" in covers
            ):
                return True
    return False


def check_bucket_security(template: Template) -> list[str]:
    """Every bucket blocks public access, encrypts at rest and refuses requests that are not TLS."""
    violations = []
    for name, bucket in resources_of(template, "AWS::S3::Bucket").items():
        block = props(bucket).get("PublicAccessBlockConfiguration") or {}
        for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            if block.get(flag) is not True:
                violations.append(f"{name}: PublicAccessBlockConfiguration.{flag} is not true")
        rules = (props(bucket).get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
        algorithms = {(r.get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm") for r in rules}
        if not algorithms & {"AES256", "aws:kms", "aws:kms:dsse"}:
            violations.append(f"{name}: no default encryption")
        if not _denies_plain_http(template, name):
            violations.append(f"{name}: no bucket policy denying aws:SecureTransport false on it and its objects")
    return violations


def check_upload_notifications(template: Template) -> list[str]:
    """New objects under incoming/ (and only there) reach a consumed queue that lets this bucket send.

    Only incoming/: detect writes processed/, so an unfiltered notification would feed it its own output.
    """
    violations = []
    consumed = {queue for _, queue, _ in sqs_consumers(template)}
    queue_policies = resources_of(template, "AWS::SQS::QueuePolicy")
    notified = False
    for name, bucket in resources_of(template, "AWS::S3::Bucket").items():
        configs = (props(bucket).get("NotificationConfiguration") or {}).get("QueueConfigurations") or []
        for config in configs:
            queue = target(config.get("Queue"))
            rules = ((config.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
            prefixes = [r.get("Value") for r in rules if str(r.get("Name", "")).lower() == "prefix"]
            if prefixes != [UPLOAD_PREFIX]:
                violations.append(f"{name} -> {queue}: notification prefix {prefixes} is not [{UPLOAD_PREFIX!r}]")
                continue
            if config.get("Event") != "s3:ObjectCreated:*":
                violations.append(f"{name} -> {queue}: Event {config.get('Event')!r} is not s3:ObjectCreated:*")
            if queue not in consumed:
                violations.append(f"{name} -> {queue}: no function consumes that queue")
                continue
            allowing = [
                policy_name
                for policy_name, policy in queue_policies.items()
                if queue in [target(q) for q in as_list(props(policy).get("Queues"))]
                and _lets_bucket_send(props(bucket).get("BucketName"), props(policy).get("PolicyDocument"))
            ]
            if not allowing:
                violations.append(f"{name} -> {queue}: no queue policy lets this bucket send to it")
            elif not set(allowing) & set(as_list(bucket.get("DependsOn"))):
                # S3 verifies it may send when the notification is created: the policy must exist first.
                violations.append(f"{name}: does not DependsOn {allowing[0]}")
            notified = True
    if not notified:
        violations.append(f"no bucket notifies a consumed queue of new objects under {UPLOAD_PREFIX}")
    return violations


def _lets_bucket_send(bucket_name: Any, document: Any) -> bool:
    expected_arn = "arn:${AWS::Partition}:s3:::" + (text(bucket_name) or "\0")
    for _, statement in policy_statements(document):
        principal = (statement.get("Principal") or {}).get("Service")
        conditions = statement.get("Condition") or {}
        source_arns = [text((conditions.get(op) or {}).get("aws:SourceArn")) for op in ("ArnEquals", "ArnLike")]
        if (
            statement.get("Effect") == "Allow"
            and principal == "s3.amazonaws.com"
            and "sqs:SendMessage" in as_list(statement.get("Action"))
            and expected_arn in source_arns
            and (conditions.get("StringEquals") or {}).get("aws:SourceAccount") == {"Ref": "AWS::AccountId"}
        ):
            return True
    return False


CHECKS: list[Callable[[Template], list[str]]] = [
    check_visibility_timeouts,
    check_sqs_batch_item_failures,
    check_redrive_policies,
    check_dlq_alarms,
    check_log_groups,
    check_binary_media_types,
    check_no_wildcard_actions,
    check_api_events,
    check_bucket_security,
    check_upload_notifications,
]


# --------------------------------------------------------------------------------------------------
# Ways to break the template, one invariant at a time: (dotted path, new value) edits of a deep copy
# --------------------------------------------------------------------------------------------------
DELETE = object()
Edit = tuple[str, Any]

_DETECT = "Resources.DetectFunction.Properties"
_SQS_EVENT = f"{_DETECT}.Events.DetectQueueMessages.Properties"
_HEALTH_EVENT = "Resources.UploadFunction.Properties.Events.Health.Properties"
_UPLOAD_STATEMENTS = "Resources.UploadFunction.Properties.Policies.1.Statement"
_BUCKET = "Resources.ImagesBucket.Properties"
_NOTIFICATION = f"{_BUCKET}.NotificationConfiguration.QueueConfigurations.0"
_QUEUE_POLICY = "Resources.DetectQueuePolicy.Properties.PolicyDocument.Statement.0"
_TLS_STATEMENT = "Resources.ImagesBucketPolicy.Properties.PolicyDocument.Statement.0"


def apply(template: Template, edits: list[Edit]) -> Template:
    """A deep copy of `template` with each edit applied; a path step made of digits indexes a list."""
    broken = copy.deepcopy(template)
    for path, value in edits:
        *parents, last = [int(step) if step.isdigit() else step for step in path.split(".")]
        node: Any = broken
        for step in parents:
            node = node[step]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return broken


def breakage(check: Callable[[Template], list[str]], expected: str, *edits: Edit, name: str) -> Any:
    """One pytest case: `edits` break the invariant `check` guards, which must report `expected`."""
    return pytest.param(check, list(edits), expected, id=name)


BREAKAGES = [
    breakage(
        check_visibility_timeouts,
        "DetectQueue",
        ("Resources.DetectQueue.Properties.VisibilityTimeout", 6 * 120 - 1),
        name="visibility-too-short",
    ),
    # The function inherits its timeout: the check must resolve Globals to see the problem.
    breakage(
        check_visibility_timeouts,
        "600s",
        (f"{_DETECT}.Timeout", DELETE),
        ("Globals.Function.Timeout", 600),
        name="visibility-vs-globals-timeout",
    ),
    breakage(
        check_sqs_batch_item_failures,
        "DetectFunction",
        (f"{_SQS_EVENT}.FunctionResponseTypes", DELETE),
        name="no-batch-item-failures",
    ),
    breakage(
        check_redrive_policies,
        "DetectQueue",
        ("Resources.DetectQueue.Properties.RedrivePolicy", DELETE),
        name="no-redrive",
    ),
    breakage(
        check_redrive_policies,
        "maxReceiveCount 2",
        ("Resources.DetectQueue.Properties.RedrivePolicy.maxReceiveCount", 2),
        name="few-receives",
    ),
    breakage(
        check_dlq_alarms, "DetectDeadLetterQueue", ("Resources.DetectDeadLetterQueueAlarm", DELETE), name="dlq-no-alarm"
    ),
    breakage(
        check_dlq_alarms,
        "DetectDeadLetterQueue",
        (
            "Resources.DetectDeadLetterQueueAlarm.Properties.Dimensions.0.Value",
            {"Fn::GetAtt": ["DetectQueue", "QueueName"]},
        ),
        name="alarm-on-wrong-queue",
    ),
    breakage(
        check_log_groups,
        "DetectFunction",
        ("Resources.DetectLogGroup.Properties.RetentionInDays", DELETE),
        name="no-log-retention",
    ),
    breakage(
        check_log_groups,
        "ReportFunction",
        ("Resources.ReportFunction.Properties.LoggingConfig", DELETE),
        name="no-log-group",
    ),
    breakage(
        check_log_groups,
        "AuthFunction",
        ("Resources.AuthLogGroup.Properties.LogGroupName", {"Fn::Sub": "/aws/lambda/${AWS::StackName}-other"}),
        name="misnamed-log-group",
    ),
    breakage(
        check_binary_media_types,
        "application~1pdf",
        ("Resources.SentrixApi.Properties.BinaryMediaTypes.0", "image~1webp"),
        name="no-pdf",
    ),
    breakage(
        check_binary_media_types,
        "'application/pdf'",
        ("Resources.SentrixApi.Properties.BinaryMediaTypes.0", "application/pdf"),
        name="unescaped-media-type",
    ),
    breakage(check_no_wildcard_actions, "'*'", (f"{_UPLOAD_STATEMENTS}.0.Action", "*"), name="star-action"),
    breakage(
        check_no_wildcard_actions,
        "'s3:*'",
        (f"{_UPLOAD_STATEMENTS}.1.Action", ["s3:GetObject", "s3:*"]),
        name="service-star-action",
    ),
    breakage(check_no_wildcard_actions, "'sqs:*'", (f"{_QUEUE_POLICY}.Action", "sqs:*"), name="star-in-queue-policy"),
    breakage(check_api_events, "Method ANY", (f"{_HEALTH_EVENT}.Method", "ANY"), name="any-method"),
    breakage(check_api_events, "{proxy+}", (f"{_HEALTH_EVENT}.Path", "/api/v1/{proxy+}"), name="proxy-path"),
    breakage(check_api_events, "no explicit Path", (f"{_HEALTH_EVENT}.Path", DELETE), name="no-path"),
    breakage(check_api_events, "RestApiId", (f"{_HEALTH_EVENT}.RestApiId", DELETE), name="implicit-api"),
    breakage(
        check_api_events,
        "already routed",
        ("Resources.ReportFunction.Properties.Events.GetMapStats.Properties.Path", "/api/v1/health"),
        name="duplicate-route",
    ),
    breakage(
        check_bucket_security,
        "BlockPublicAcls",
        (f"{_BUCKET}.PublicAccessBlockConfiguration.BlockPublicAcls", False),
        name="public-acls",
    ),
    breakage(check_bucket_security, "encryption", (f"{_BUCKET}.BucketEncryption", DELETE), name="no-encryption"),
    breakage(check_bucket_security, "SecureTransport", ("Resources.ImagesBucketPolicy", DELETE), name="no-tls-policy"),
    breakage(
        check_bucket_security,
        "SecureTransport",
        (f"{_TLS_STATEMENT}.Resource", [{"Fn::GetAtt": ["ImagesBucket", "Arn"]}]),
        name="tls-policy-misses-objects",
    ),
    breakage(check_upload_notifications, "prefix", (f"{_NOTIFICATION}.Filter", DELETE), name="unfiltered-notification"),
    breakage(
        check_upload_notifications,
        "no function consumes",
        (f"{_NOTIFICATION}.Queue", {"Fn::GetAtt": ["DetectDeadLetterQueue", "Arn"]}),
        name="notification-to-dlq",
    ),
    breakage(
        check_upload_notifications,
        "no queue policy",
        (
            f"{_QUEUE_POLICY}.Condition.ArnEquals.aws:SourceArn",
            {"Fn::Sub": "arn:${AWS::Partition}:s3:::some-other-bucket"},
        ),
        name="queue-policy-for-another-bucket",
    ),
    breakage(
        check_upload_notifications,
        "DependsOn",
        ("Resources.ImagesBucket.DependsOn", DELETE),
        name="bucket-before-queue-policy",
    ),
]


# --------------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_template_keeps_invariant(template: Template, check: Callable[[Template], list[str]]) -> None:
    # Given the real template / When the invariant is checked
    violations = check(template)

    # Then it holds
    assert violations == []


@pytest.mark.parametrize(("check", "edits", "expected"), BREAKAGES)
def test_check_reports_a_broken_template(
    template: Template, check: Callable[[Template], list[str]], edits: list[Edit], expected: str
) -> None:
    # Given a copy of the template with one invariant broken
    broken = apply(template, edits)

    # When the invariant is checked
    violations = check(broken)

    # Then the breakage is reported, by name
    assert any(expected in v for v in violations), violations


def test_every_check_has_a_breakage() -> None:
    # Given the checks and the breakages / Then no check goes untested against a broken template
    broken_checks = {param.values[0] for param in BREAKAGES}
    assert [c.__name__ for c in CHECKS if c not in broken_checks] == []


def test_broad_deny_is_not_a_wildcard_grant(template: Template) -> None:
    # Given the TLS-only bucket policy, a Deny on s3:* / When wildcard actions are checked
    statement = template["Resources"]["ImagesBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]

    # Then the statement is a Deny and the check accepts the template
    assert (statement["Effect"], statement["Action"]) == ("Deny", "s3:*")
    assert check_no_wildcard_actions(template) == []


# --- the names other code depends on -----------------------------------------------------------------
FIXED_FUNCTIONS = {
    "AuthFunction": ("../functions/auth", "sentrix_auth.api.handler"),
    "AuthorizerFunction": ("../functions/auth", "sentrix_auth.authorizer.handler"),
    "UploadFunction": ("../functions/upload", "sentrix_upload.api.handler"),
    "DetectFunction": ("../functions/detect", "sentrix_detect.handler.handler"),
    "ReportFunction": ("../functions/report", "sentrix_report.api.handler"),
}


def test_functions_keep_their_code_and_handlers(template: Template) -> None:
    # Given the SAM functions (later issues may add more)
    declared = {name: (props(fn).get("CodeUri"), props(fn).get("Handler")) for name, fn in functions(template).items()}

    # Then the ones other code relies on keep their logical id, code directory and handler
    assert {name: declared.get(name) for name in FIXED_FUNCTIONS} == FIXED_FUNCTIONS


@pytest.mark.parametrize("name", sorted(FIXED_FUNCTIONS))
def test_handler_module_exists(template: Template, repo_root: Path, name: str) -> None:
    # Given a function's CodeUri and Handler (relative to infra/)
    code_uri, handler = FIXED_FUNCTIONS[name]
    module = handler.rsplit(".", 1)[0]

    # Then the module Lambda will import is in that directory
    assert (repo_root / "infra" / code_uri / (module.replace(".", "/") + ".py")).is_file()


def test_layers_are_built_from_their_requirements(template: Template, repo_root: Path) -> None:
    # Given the layers / Then each is built by SAM for python3.12 from a directory with a requirements.txt
    layers = resources_of(template, "AWS::Serverless::LayerVersion")
    assert {"SharedLayer", "ImagingLayer", "ReportLayer"} <= set(layers)
    for layer in layers.values():
        assert layer["Metadata"]["BuildMethod"] == "python3.12"
        assert (repo_root / "infra" / props(layer)["ContentUri"] / "requirements.txt").is_file()


def test_detect_consumes_its_queue_as_specified(template: Template) -> None:
    # Given the detect function's SQS event / Then batches are small and concurrency is bounded
    event = template["Resources"]["DetectFunction"]["Properties"]["Events"]["DetectQueueMessages"]["Properties"]
    assert target(event["Queue"]) == "DetectQueue"
    assert event["BatchSize"] == 5
    assert event["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "DetectMaxConcurrency"}


# --- files for `sam local invoke` ---------------------------------------------------------------------
def declared_variables(template: Template, function: str) -> set[str]:
    globals_vars = ((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
    own_vars = props(template["Resources"][function]).get("Environment") or {}
    return set(globals_vars.get("Variables") or {}) | set(own_vars.get("Variables") or {})


def check_env_json(template: Template, env: dict[str, Any]) -> list[str]:
    """env.json only sets variables the template declares: `sam local invoke` silently drops the rest."""
    names = resources_of(template, SAM_FUNCTION)
    violations = [
        f"env.json: {key} is not a function of the template" for key in env if key not in {*names, "Parameters"}
    ]
    for function in names:
        wanted = {**env.get("Parameters", {}), **env.get(function, {})}
        violations += [
            f"env.json: {function} sets {var}, which the template does not declare"
            for var in sorted(set(wanted) - declared_variables(template, function))
        ]
    return violations


def test_env_json_only_sets_declared_variables(template: Template, env_json: dict[str, Any]) -> None:
    assert check_env_json(template, env_json) == []


def test_env_json_check_reports_undeclared_variable(template: Template, env_json: dict[str, Any]) -> None:
    # Given env.json with a variable no function declares
    env = copy.deepcopy(env_json)
    env["DetectFunction"]["NOT_IN_TEMPLATE"] = "x"

    # Then the check names it
    assert check_env_json(template, env) == [
        "env.json: DetectFunction sets NOT_IN_TEMPLATE, which the template does not declare"
    ]


API_EVENT_FILES = {
    "upload-health.json": "UploadFunction",
    "auth-me.json": "AuthFunction",
    "report-map-stats.json": "ReportFunction",
}


@pytest.mark.parametrize(("filename", "function"), sorted(API_EVENT_FILES.items()))
def test_api_event_file_targets_a_declared_route(
    template: Template, repo_root: Path, filename: str, function: str
) -> None:
    # Given a canonical API Gateway proxy event
    event = json.loads((repo_root / "events" / filename).read_text(encoding="utf-8"))

    # Then it asks for a route the function serves, with the authorizer context iff the route is protected
    routes = {
        (p["Method"].upper(), p["Path"]): (p.get("Auth") or {}).get("Authorizer") != "NONE"
        for fn, _, p in api_events(template)
        if fn == function
    }
    route = (event["httpMethod"], event["resource"])
    assert route in routes
    assert ("authorizer" in event["requestContext"]) is routes[route]


def test_authorizer_event_is_a_request_authorizer_event(repo_root: Path) -> None:
    event = json.loads((repo_root / "events" / "authorizer-request.json").read_text(encoding="utf-8"))

    assert event["type"] == "REQUEST"
    assert event["methodArn"].endswith(f"/v1/{event['httpMethod']}{event['path']}")
    assert "Authorization" in event["headers"]


def test_detect_event_announces_an_incoming_upload(repo_root: Path) -> None:
    # Given the canonical SQS event for the detect function
    event = json.loads((repo_root / "events" / "detect-sqs-s3-created.json").read_text(encoding="utf-8"))
    (record,) = event["Records"]

    # Then it wraps one S3 ObjectCreated notification for an incoming/<user>/<analysis>/<file> key
    (s3_record,) = json.loads(record["body"])["Records"]
    key = s3_record["s3"]["object"]["key"]
    assert record["eventSource"] == "aws:sqs"
    assert s3_record["eventName"].startswith("ObjectCreated:")
    assert key.startswith(UPLOAD_PREFIX)
    assert len(key.split("/")) == 4
