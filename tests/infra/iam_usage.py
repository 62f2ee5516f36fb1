"""Each function's IAM policy against the AWS calls its code can make (tests/infra/code_calls.py).

Data-driven: `OPERATIONS` says which IAM actions a client call needs, `USES` what each function touches with each
action (an environment variable naming the resource, and for S3 the key prefix), `SAM_TEMPLATES` what the SAM
policy templates grant. Moving a secret or adding a call needs an edit here, and the check says which.

`check_iam_matches_code(template)` reports, per function:
- a call that `OPERATIONS` cannot map, or that looks like an AWS call with no client in sight (see NOT_AWS);
- an action the code needs that `USES` does not place, or a `USES` entry the code no longer needs;
- a use the policy does not allow on that resource (S3 prefix-level);
- a read of S3 objects (s3:GetObject) without s3:ListBucket over that prefix: S3 then answers a missing object
  403 AccessDenied instead of 404, and a deleted upload looks like an outage;
- an action granted in the function's own policies that its code never needs.
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass
from typing import Any

from tests.infra.code_calls import ROOT, AwsCall, Program, Route, normalise
from tests.infra.template_model import (
    Template,
    api_events,
    as_list,
    branches,
    environment,
    functions,
    policy_statements,
    props,
    references,
    resources_of,
    target,
)

# client call → IAM actions. generate_presigned_url is keyed by the client method it signs.
OPERATIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "get_object"): ("s3:GetObject",),
    ("s3", "head_object"): ("s3:GetObject",),
    ("s3", "put_object"): ("s3:PutObject",),
    ("s3", "copy_object"): ("s3:GetObject", "s3:PutObject"),  # + Get/PutObjectTagging when tags are copied
    ("s3", "delete_object"): ("s3:DeleteObject",),
    ("s3", "delete_objects"): ("s3:DeleteObject",),
    ("s3", "put_object_tagging"): ("s3:PutObjectTagging",),
    ("s3", "get_object_tagging"): ("s3:GetObjectTagging",),
    ("s3", "head_bucket"): ("s3:ListBucket",),
    ("s3", "list_objects_v2"): ("s3:ListBucket",),
    ("s3", "generate_presigned_post"): ("s3:PutObject",),
    ("s3", "generate_presigned_url:get_object"): ("s3:GetObject",),
    ("s3", "generate_presigned_url:put_object"): ("s3:PutObject",),
    ("sqs", "send_message"): ("sqs:SendMessage",),
    ("sqs", "send_message_batch"): ("sqs:SendMessage",),
    ("sqs", "get_queue_attributes"): ("sqs:GetQueueAttributes",),
    ("sqs", "change_message_visibility"): ("sqs:ChangeMessageVisibility",),
    ("sqs", "delete_message"): ("sqs:DeleteMessage",),
    ("secretsmanager", "get_secret_value"): ("secretsmanager:GetSecretValue",),
    ("secretsmanager", "get_secret"): ("secretsmanager:GetSecretValue",),  # Powertools parameters.get_secret
    ("cloudformation", "describe_stacks"): ("cloudformation:DescribeStacks",),
    ("cloudwatch", "put_metric_data"): ("cloudwatch:PutMetricData",),
    ("sns", "subscribe"): ("sns:Subscribe",),
    ("sns", "unsubscribe"): ("sns:Unsubscribe",),
    ("sns", "publish"): ("sns:Publish",),  # EMF (Powertools Metrics) needs none
}

# Names of boto3 operations called on things that are not clients: (module, method) → what it really is.
NOT_AWS: dict[tuple[str, str], str] = {
    ("sentrix.passwords", "verify"): "argon2's PasswordHasher.verify",
    ("sentrix_auth.logic.sessions", "start_session"): "the identity provider's start_session",
    ("sentrix_report.logic.aggregate_report", "get_secret_value"): "pydantic's SecretStr",
    ("sentrix_report.dal.webhook_keys", "get_secret_value"): "pydantic's SecretStr",
    ("sentrix_report.logic.secret_box", "encrypt"): "cryptography's AESGCM (webhook secrets at rest)",
    ("sentrix_report.logic.secret_box", "decrypt"): "cryptography's AESGCM (webhook secrets at rest)",
}

# Functions whose code is not a package this check can scan (inline code): name → why its IAM is right.
NOT_SCANNED: dict[str, str] = {}

# Function → action → what it is used on: an environment variable of the function naming the resource (its
# value in the template is compared with the policy's Resource) or a pseudo parameter (AWS::StackId), then for
# S3 a key prefix ("" = the bucket).
USES: dict[str, dict[str, tuple[str, ...]]] = {
    "AuthFunction": {
        # deleting a user deletes their photos (docs/auth.md), wherever the analyses keep them
        "s3:DeleteObject": ("IMAGES_BUCKET/incoming/", "IMAGES_BUCKET/originals/", "IMAGES_BUCKET/processed/"),
        "secretsmanager:GetSecretValue": ("DB_SECRET_ARN", "AUTH_SIGNING_KEY_SECRET_ARN", "SUPABASE_SECRET_ARN"),
    },
    "AuthorizerFunction": {
        # verifies only: the public key set, never the private one
        "secretsmanager:GetSecretValue": ("AUTH_PUBLIC_KEYS_SECRET_ARN", "SUPABASE_SECRET_ARN"),
    },
    "UploadFunction": {
        # presigned POSTs and small multipart uploads; admins' large territories files
        "s3:PutObject": ("IMAGES_BUCKET/incoming/", "IMAGES_BUCKET/territories/"),
        # retries head the original; the analysis views presign GETs of originals and annotated images; an
        # import reads the uploaded territories file, then deletes it
        "s3:GetObject": (
            "IMAGES_BUCKET/incoming/",
            "IMAGES_BUCKET/originals/",
            "IMAGES_BUCKET/processed/",
            "IMAGES_BUCKET/territories/",
        ),
        "s3:DeleteObject": (
            "IMAGES_BUCKET/incoming/",
            "IMAGES_BUCKET/originals/",
            "IMAGES_BUCKET/processed/",
            "IMAGES_BUCKET/territories/",
        ),
        "s3:ListBucket": ("IMAGES_BUCKET/",),  # HeadBucket: readiness
        "sqs:SendMessage": ("DETECT_QUEUE_URL",),
        "sqs:GetQueueAttributes": ("DETECT_QUEUE_URL",),
        "secretsmanager:GetSecretValue": ("DB_SECRET_ARN",),
    },
    "DetectFunction": {
        "sqs:ChangeMessageVisibility": ("DETECT_QUEUE_URL",),  # a busy YOLO host: the message comes back later
        "s3:GetObject": ("IMAGES_BUCKET/incoming/", "IMAGES_BUCKET/originals/"),
        "s3:PutObject": ("IMAGES_BUCKET/originals/", "IMAGES_BUCKET/processed/"),
        "s3:DeleteObject": ("IMAGES_BUCKET/incoming/", "IMAGES_BUCKET/processed/"),
        "s3:PutObjectTagging": ("IMAGES_BUCKET/incoming/",),
        "secretsmanager:GetSecretValue": ("DB_SECRET_ARN",),
    },
    "ReportFunction": {
        # the annotated image in PDFs; large reports are stored and handed out as presigned GETs
        "s3:GetObject": ("IMAGES_BUCKET/processed/", "IMAGES_BUCKET/reports/"),
        "s3:PutObject": ("IMAGES_BUCKET/reports/",),
        # alert subscriptions: webhook secrets sealed under the key; e-mail ones subscribed to the topic
        "secretsmanager:GetSecretValue": (
            "DB_SECRET_ARN",
            "AUTH_PUBLIC_KEYS_SECRET_ARN",
            "REPORT_WEBHOOK_KEY_SECRET_ARN",
        ),
        "sns:Subscribe": ("REPORT_SUBSCRIPTIONS_TOPIC_ARN",),
        "sns:Unsubscribe": ("REPORT_SUBSCRIPTIONS_TOPIC_ARN",),
    },
    "DeliveryFunction": {
        # alert e-mail through the topic; webhook secrets opened with the key
        "sns:Publish": ("REPORT_SUBSCRIPTIONS_TOPIC_ARN",),
        "secretsmanager:GetSecretValue": ("DB_SECRET_ARN", "REPORT_WEBHOOK_KEY_SECRET_ARN"),
        "s3:GetObject": ("IMAGES_BUCKET/reports/bulletins/",),  # the weekly bulletin's PDF, presigned
    },
    "ReportScheduleFunction": {
        "secretsmanager:GetSecretValue": ("DB_SECRET_ARN",),  # the database (sentrix_report.scheduled)
        "s3:PutObject": ("IMAGES_BUCKET/reports/bulletins/",),  # the weekly bulletins' PDFs
    },
    "MigrateFunction": {
        # the owner's credentials to migrate, then the application role's password to set (sentrix.db.roles)
        "secretsmanager:GetSecretValue": ("DB_SECRET_ARN", "DB_APP_SECRET_ARN"),
        # is this Update part of a rollback? (sentrix.db.deploy_hook): its own stack only
        "cloudformation:DescribeStacks": ("AWS::StackId",),
    },
}

# SAM policy templates: what they grant, on which of their parameters (":bucket" = the bucket and its objects).
SAM_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "AWSSecretsManagerGetSecretValuePolicy": ("SecretArn", ("secretsmanager:GetSecretValue",)),
    "SQSSendMessagePolicy": ("QueueName", ("sqs:SendMessage*",)),
    "SQSPollerPolicy": ("QueueName", ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility")),
    "S3ReadPolicy": ("BucketName:bucket", ("s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation")),
    "S3WritePolicy": ("BucketName:bucket", ("s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl")),
    "S3CrudPolicy": ("BucketName:bucket", ("s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:DeleteObject")),
}


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    resources: frozenset[tuple[str, str | None]]  # (logical id or parameter, None | pattern after "<arn>/")
    prefixes: tuple[str, ...] | None = None  # a StringLike s3:prefix condition; None = no condition
    conditional: bool = False  # another condition: never counted as a grant
    own: bool = True  # written in the function's Policies (not a shared managed policy)


def _resource_tokens(value: Any) -> frozenset[tuple[str, str | None]]:
    found: set[tuple[str, str | None]] = set()
    for branch in branches(value):
        sub = branch.get("Fn::Sub") if isinstance(branch, dict) else None
        if isinstance(sub, str) and sub.startswith("${") and "}/" in sub:
            head, pattern = sub[2:].split("}/", 1)
            found.add((head.split(".", 1)[0], pattern))
        elif branch not in ("", None):
            found |= {(ref, None) for ref in references(branch)}
    return frozenset(found)


def _statement_grant(statement: dict[str, Any], own: bool) -> Grant | None:
    if statement.get("Effect", "Allow") != "Allow":
        return None
    resources = frozenset(t for r in as_list(statement.get("Resource")) for t in _resource_tokens(r))
    condition = statement.get("Condition") or {}
    prefixes = None
    conditional = False
    if condition:
        like = condition.get("StringLike") or {}
        if set(condition) == {"StringLike"} and set(like) == {"s3:prefix"}:
            prefixes = tuple(as_list(like["s3:prefix"]))
        else:
            conditional = True
    return Grant(tuple(as_list(statement.get("Action"))), resources, prefixes, conditional, own)


def grants(template: Template, name: str) -> list[Grant]:
    """Everything the function's Policies allow, !If branches included (each could be deployed)."""
    managed = resources_of(template, "AWS::IAM::ManagedPolicy")
    found: list[Grant] = []
    for policy in [p for item in as_list(props(template["Resources"][name]).get("Policies")) for p in branches(item)]:
        if isinstance(policy, str):
            found.append(Grant(("?",), frozenset({(f"managed policy {policy}", None)}), own=True))
            continue
        if not isinstance(policy, dict) or policy == {"Ref": "AWS::NoValue"}:
            continue
        if target(policy) in managed:
            for _, statement in policy_statements(props(managed[target(policy)]).get("PolicyDocument")):
                if (grant := _statement_grant(statement, own=False)) is not None:
                    found.append(grant)
            continue
        sam = [key for key in policy if key in SAM_TEMPLATES or key.endswith("Policy")]
        if sam and "Statement" not in policy:
            for key in sam:
                if key not in SAM_TEMPLATES:
                    found.append(Grant((f"unknown SAM policy template {key}",), frozenset()))
                    continue
                parameter, actions = SAM_TEMPLATES[key]
                field, _, kind = parameter.partition(":")
                tokens = _resource_tokens((policy[key] or {}).get(field))
                if kind == "bucket":
                    tokens = frozenset({*tokens, *((ref, "*") for ref, _ in tokens)})
                found.append(Grant(actions, tokens))
            continue
        for _, statement in policy_statements(policy):
            if (grant := _statement_grant(statement, own=True)) is not None:
                found.append(grant)
    return found


def _action_matches(granted: str, wanted: str) -> bool:
    return fnmatch.fnmatchcase(wanted.lower(), granted.lower())


def _use_tokens(template: Template, name: str, use: str) -> tuple[frozenset[tuple[str, str | None]], str | None]:
    """The resource a USES entry names: the references of the environment variable's value, and the S3 prefix."""
    variable, slash, prefix = use.partition("/")
    if variable.startswith("AWS::"):  # a pseudo parameter (AWS::StackId: the function's own stack)
        return frozenset({(variable, None)}), None
    value = environment(template, name).get(variable)
    refs = frozenset(ref for branch in branches(value) if branch not in ("", None) for ref in references(branch))
    return frozenset((ref, None) for ref in refs), (prefix if slash else None)


def allowed(template: Template, name: str, action: str, use: str) -> bool:
    tokens, prefix = _use_tokens(template, name, use)
    if not tokens:
        return False
    for ref, _ in tokens:
        ok = False
        for grant in grants(template, name):
            if grant.conditional or not any(_action_matches(a, action) for a in grant.actions):
                continue
            for resource, pattern in grant.resources:
                if resource != ref:
                    continue
                if prefix is None or action == "s3:ListBucket":
                    # the resource itself (a bucket for ListBucket: the prefix is in the condition)
                    if pattern is not None:
                        continue
                    if action == "s3:ListBucket" and grant.prefixes is not None:
                        wanted = f"{prefix}x" if prefix else None
                        if wanted is None or not any(fnmatch.fnmatchcase(wanted, p) for p in grant.prefixes):
                            continue
                    ok = True
                elif pattern is not None and fnmatch.fnmatchcase(f"{prefix}x", pattern):
                    ok = True
        if not ok:
            return False
    return True


def routes_of(template: Template, name: str) -> set[Route] | None:
    found = {Route(e["Method"].upper(), normalise(e["Path"])) for f, _, e in api_events(template) if f == name}
    return found or None


def calls_of(template: Template, name: str) -> list[AwsCall]:
    p = props(template["Resources"][name])
    routes = routes_of(template, name)
    return list(_scan(p["CodeUri"], p["Handler"], frozenset(routes) if routes is not None else None))


@functools.cache
def _scan(code_uri: str, handler: str, routes: frozenset[Route] | None) -> tuple[AwsCall, ...]:
    # The code does not change during a test run; broken copies of the template reuse the scan.
    return tuple(
        Program(ROOT / "infra" / code_uri, handler, set(routes) if routes is not None else None).reachable_calls()
    )


def check_iam_matches_code(template: Template, calls: dict[str, list[AwsCall]] | None = None) -> list[str]:
    violations: list[str] = []
    for name, resource in functions(template).items():
        code = props(resource)
        if not (isinstance(code.get("CodeUri"), str) and isinstance(code.get("Handler"), str)):
            if name not in NOT_SCANNED:
                violations.append(f"{name}: no CodeUri/Handler to scan; check its IAM by hand, say so in NOT_SCANNED")
            continue
        found = calls[name] if calls is not None and name in calls else calls_of(template, name)
        needed: dict[str, list[str]] = {}
        for call in found:
            module = call.where.split(":")[0]
            if not call.certain:
                if (module, call.operation) not in NOT_AWS:
                    violations.append(
                        f"{name}: {call.where} calls .{call.operation}() like a {call.service} client: "
                        "map it in OPERATIONS or say what it is in NOT_AWS"
                    )
                continue
            actions = OPERATIONS.get((call.service, call.operation))
            if actions is None:
                violations.append(f"{name}: {call.where} calls {call.service}.{call.operation}, not in OPERATIONS")
                continue
            for action in actions:
                needed.setdefault(action, []).append(call.where)
        uses = USES.get(name, {})
        for action, where in sorted(needed.items()):
            if action not in uses:
                violations.append(f"{name}: needs {action} ({', '.join(sorted(set(where)))}), not placed in USES")
        for action in sorted(set(uses) - set(needed)):
            violations.append(f"{name}: USES gives it {action}, which its code no longer calls")
        for action, targets in uses.items():
            for use in targets:
                if not allowed(template, name, action, use):
                    violations.append(f"{name}: needs {action} on {use}; its policies do not allow it")
                if action == "s3:GetObject" and not allowed(template, name, "s3:ListBucket", use):
                    violations.append(
                        f"{name}: reads {use} without s3:ListBucket over it: a missing object answers 403, not 404"
                    )
        for grant in grants(template, name):
            for action in grant.actions:
                # ListBucket is what tells a missing object (404) from a refused one (403) to a reader
                reads = "s3:GetObject" in uses and _action_matches(action, "s3:ListBucket")
                used = reads or any(_action_matches(action, wanted) for wanted in [*needed, *uses])
                if grant.own and not used and not action.startswith("unknown"):
                    violations.append(f"{name}: is granted {action}, which its code never calls")
                if action.startswith("unknown") or action == "?":
                    violations.append(f"{name}: cannot read a policy ({sorted(grant.resources) or action})")
    return violations
