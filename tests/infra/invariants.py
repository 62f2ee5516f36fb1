"""Invariants of the API, the queues, the bucket and IAM that neither `sam validate --lint` nor cfn-lint enforce.

Each invariant is a `check_*(template) -> list[str]` returning the violations it finds (empty: it holds).
test_invariants.py runs every check on the real template and on copies broken on purpose.
"""

from __future__ import annotations

from typing import Any

from tests.infra.template_model import (
    DEFAULT_TIMEOUT_S,
    SQS_QUEUE,
    Template,
    api_events,
    as_list,
    dead_letter_queues,
    function_setting,
    functions,
    number,
    policy_statements,
    props,
    resources_of,
    sqs_consumers,
    target,
    text,
)

# SQS's default visibility timeout.
DEFAULT_VISIBILITY_TIMEOUT_S = 30
MIN_MAX_RECEIVE_COUNT = 5
# API Gateway decodes a function's base64 answer only when the request's *first* Accept type matches
# BinaryMediaTypes; browsers lead with text/html or image/avif and HTTP clients send */*, so only "*/*" serves
# them all (SAM spells "/" as "~1"). docs/infra.md (Binary responses).
ANY_MEDIA_TYPE = "*~1*"
UPLOAD_PREFIX = "incoming/"
ORIGINALS_PREFIX = "originals/"  # where detect secures each claimed upload
# Headers a browser sends on cross-origin API calls; the gateway's preflight must allow each of them.
PREFLIGHT_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")


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
    """Every REST API hands files (PDF, tiles, images, exports) to any client as bytes, not base64 text.

    That takes "*/*" in BinaryMediaTypes, written the way SAM wants ("~1"). Under it every preflight is binary
    too, and the OPTIONS mock SAM's Cors generates cannot transform it (500): preflights must reach functions.
    """
    violations = []
    for name, api in resources_of(template, "AWS::Serverless::Api").items():
        declared = as_list(props(api).get("BinaryMediaTypes"))
        if ANY_MEDIA_TYPE not in declared:
            violations.append(f"{name}: BinaryMediaTypes lacks {ANY_MEDIA_TYPE}: browsers and */* clients get base64")
        violations += [
            f"{name}: BinaryMediaTypes entry {t!r} must write '/' as '~1'"
            for t in declared
            if isinstance(t, str) and "/" in t
        ]
        if ANY_MEDIA_TYPE in declared and props(api).get("Cors"):
            violations.append(f"{name}: Cors under BinaryMediaTypes {ANY_MEDIA_TYPE}: its OPTIONS mock answers 500")
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


def check_cors_preflight(template: Template) -> list[str]:
    """Every routed path answers a preflight, without the authorizer (browsers send no token with one).

    Either SAM's Cors (an OPTIONS mock per path: it must allow our headers, and SAM puts the default authorizer
    on it unless told not to), or, as this template does, an OPTIONS event with Authorizer NONE on each path,
    answered by the function's CORSMiddleware.
    """
    violations = []
    events = list(api_events(template))
    for name, api in resources_of(template, "AWS::Serverless::Api").items():
        cors = props(api).get("Cors")
        auth = props(api).get("Auth") or {}
        if isinstance(cors, dict):
            allowed = str(cors.get("AllowHeaders", "")).strip("'").split(",")
            violations += [f"{name}: Cors.AllowHeaders lacks {h}" for h in PREFLIGHT_HEADERS if h not in allowed]
            if auth.get("DefaultAuthorizer") and auth.get("AddDefaultAuthorizerToCorsPreflight", True) is not False:
                violations.append(
                    f"{name}: the default authorizer guards CORS preflights (AddDefaultAuthorizerToCorsPreflight)"
                )
            continue
        mine = [(fn, p) for fn, _, p in events if target(p.get("RestApiId")) == name]
        preflights = {
            str(p.get("Path")): (p.get("Auth") or {}).get("Authorizer")
            for _, p in mine
            if str(p.get("Method")).upper() == "OPTIONS"
        }
        for path in sorted({str(p.get("Path")) for _, p in mine} - set(preflights)):
            violations.append(f"{name}: no Cors and no OPTIONS event on {path}, so browsers cannot call it")
        violations += [
            f"{name}: the OPTIONS event on {path} has an authorizer; preflights carry no token"
            for path, authorizer in sorted(preflights.items())
            if authorizer != "NONE"
        ]
    return violations


def check_api_stage_settings(template: Template) -> list[str]:
    """The stage throttles, traces and writes access logs, and the authorizer's answers are cached."""
    violations = []
    log_groups = resources_of(template, "AWS::Logs::LogGroup")
    for name, api in resources_of(template, "AWS::Serverless::Api").items():
        p = props(api)
        settings = [s for s in as_list(p.get("MethodSettings")) if s.get("ResourcePath") == "/*"]
        if not settings or not all(
            settings[0].get(key) is not None for key in ("ThrottlingRateLimit", "ThrottlingBurstLimit")
        ):
            violations.append(f"{name}: no stage-wide throttling (MethodSettings /* Throttling*Limit)")
        if p.get("TracingEnabled") is not True:
            violations.append(f"{name}: X-Ray tracing is off")
        if target((p.get("AccessLogSetting") or {}).get("DestinationArn")) not in log_groups:
            violations.append(f"{name}: no access log to a log group of this stack")
        for authorizer_name, authorizer in ((p.get("Auth") or {}).get("Authorizers") or {}).items():
            identity = authorizer.get("Identity") or {}
            ttl = number(template, identity.get("ReauthorizeEvery", 300))
            if not ttl or ttl <= 0:
                violations.append(f"{name}/{authorizer_name}: authorizer results are not cached (ReauthorizeEvery)")
            if "Authorization" not in as_list(identity.get("Headers")):
                violations.append(f"{name}/{authorizer_name}: cache not keyed by the Authorization header")
    return violations


def check_incoming_lifecycle(template: Template) -> list[str]:
    """The notified bucket tiers the original photos down and never deletes them, under incoming/ and originals/.

    Detect moves each claimed upload to originals/ (analyses point there); uploads of analyses that failed
    before their photo was read stay under incoming/. Both are evidence, so an expiration there would silently
    break analyses.
    """
    violations = []
    for name, bucket in resources_of(template, "AWS::S3::Bucket").items():
        notified = (props(bucket).get("NotificationConfiguration") or {}).get("QueueConfigurations")
        if not notified:
            continue
        rules = (props(bucket).get("LifecycleConfiguration") or {}).get("Rules") or []
        for kept in (UPLOAD_PREFIX, ORIGINALS_PREFIX):
            tiered = [
                rule
                for rule in rules
                if rule.get("Status") == "Enabled"
                and (rule.get("Prefix") or ((rule.get("Filter") or {}).get("Prefix"))) == kept
            ]
            if not any(rule.get("Transitions") or rule.get("Transition") for rule in tiered):
                violations.append(f"{name}: no enabled lifecycle rule moves {kept} to a cheaper storage class")
            for rule in rules:
                prefix = rule.get("Prefix") or (rule.get("Filter") or {}).get("Prefix") or ""
                expires = rule.get("ExpirationInDays") or rule.get("ExpirationDate")
                # A tag filter narrows a rule to objects something marked on purpose (detect tags uploads that
                # no analysis owns): those are not originals.
                tagged = rule.get("TagFilters") or (rule.get("Filter") or {}).get("Tag")
                if expires and not tagged and kept.startswith(prefix):
                    violations.append(f"{name}: lifecycle rule {rule.get('Id')} expires the originals under {kept}")
    return violations
