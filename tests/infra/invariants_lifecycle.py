"""Invariants of deploying, retrying, upgrading and tearing the stack down, and of its edge (issue 15).

Same shape as invariants.py: `check_*(template) -> list[str]`, empty when the invariant holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentrix_local.template import load_template
from tests.infra.template_model import (
    Template,
    api_events,
    as_list,
    number,
    props,
    references,
    resources_of,
    target,
    text,
)

IMPORT_DIR = Path(__file__).resolve().parents[2] / "infra" / "import"
# Resources whose loss loses users' data: what a deletion or a replacement must keep.
DATA_TYPES = ("AWS::S3::Bucket", "AWS::RDS::DBInstance", "AWS::RDS::DBCluster", "AWS::DynamoDB::Table")
# RetainExceptOnCreate: a failed first create deletes what it just made, so the retry does not meet it again.
DATA_DELETION_POLICIES = ("RetainExceptOnCreate", "Snapshot")
DATA_REPLACE_POLICIES = ("Retain", "Snapshot")
RETAINED = ("Retain", "RetainExceptOnCreate")
# The properties that give a resource a fixed physical name (a second one of the name cannot be created).
NAME_PROPERTIES = (
    "BucketName",
    "LogGroupName",
    "Name",
    "RoleName",
    "QueueName",
    "TopicName",
    "TableName",
    "FunctionName",
    "DBInstanceIdentifier",
    "DBProxyName",
)
UPLOAD_PREFIX = "incoming/"
# Noncurrent copies of uploads may hold the GPS a user opted out of: they go within a week at most.
MAX_NONCURRENT_UPLOAD_DAYS = 7


def _import_template(logical_id: str) -> Template | None:
    path = IMPORT_DIR / f"{logical_id}.yaml"
    return load_template(path) if path.is_file() else None


# --------------------------------------------------------------------------------------------------
# Retry, rollback and teardown
# --------------------------------------------------------------------------------------------------
def check_retained_data(template: Template) -> list[str]:
    """Data survives deletion and replacement but not a failed first create; a retained resource with a fixed
    name can be imported back into a new stack (infra/import/<LogicalId>.yaml, same type and name)."""
    violations = []
    for name, resource in resources_of(template, *DATA_TYPES).items():
        if resource.get("DeletionPolicy") not in DATA_DELETION_POLICIES:
            violations.append(
                f"{name}: DeletionPolicy {resource.get('DeletionPolicy')!r} is not one of {DATA_DELETION_POLICIES}"
            )
        if resource.get("UpdateReplacePolicy") not in DATA_REPLACE_POLICIES:
            violations.append(
                f"{name}: UpdateReplacePolicy {resource.get('UpdateReplacePolicy')!r} loses the data on replacement"
            )
    for name, resource in template.get("Resources", {}).items():
        if resource.get("DeletionPolicy") not in RETAINED:
            continue
        fixed = {key: props(resource)[key] for key in NAME_PROPERTIES if key in props(resource)}
        if not fixed:
            continue
        imported = _import_template(name)
        if imported is None:
            violations.append(f"{name}: retained with a fixed name but no infra/import/{name}.yaml to take it back")
            continue
        twin = imported.get("Resources", {}).get(name) or {}
        if twin.get("Type") != resource.get("Type") or not twin.get("DeletionPolicy"):
            violations.append(f"{name}: infra/import/{name}.yaml does not declare it (same type, a DeletionPolicy)")
        for key, value in fixed.items():
            if text(props(twin).get(key)) != text(value):
                violations.append(f"{name}: {key} differs from infra/import/{name}.yaml, so the import misses it")
    return violations


def check_database_parameters(template: Template) -> list[str]:
    """No parameter reaches DBName (a change replaces the database); the parameter group's family follows the
    engine version; a version that a parameter can raise is allowed to upgrade."""
    violations = []
    parameters = template.get("Parameters") or {}
    groups = resources_of(template, "AWS::RDS::DBParameterGroup")
    for name, db in resources_of(template, "AWS::RDS::DBInstance").items():
        p = props(db)
        if not isinstance(p.get("DBName"), str):
            reached = sorted(references(p.get("DBName")) & set(parameters))
            violations.append(f"{name}: DBName is not a constant (from {reached or p.get('DBName')})")
        version = p.get("EngineVersion")
        version_parameter = target(version) if isinstance(version, dict) else None
        expected_family = (
            "postgres${" + version_parameter + "}" if version_parameter else f"postgres{str(version).split('.')[0]}"
        )
        group = target(p.get("DBParameterGroupName"))
        if group not in groups:
            violations.append(f"{name}: no parameter group of this stack")
        elif (family := text(props(groups[group]).get("Family"))) != expected_family:
            violations.append(f"{group}: Family {family} does not follow EngineVersion ({expected_family})")
        if version_parameter in parameters:
            majors = as_list(parameters[version_parameter].get("AllowedValues"))
            if len(majors) != 1 and p.get("AllowMajorVersionUpgrade") is not True:
                violations.append(
                    f"{name}: {version_parameter} allows {majors or 'any value'} but AllowMajorVersionUpgrade is not "
                    "true, so raising it fails the deployment"
                )
    return violations


def check_versioned_buckets(template: Template) -> list[str]:
    """The uploads bucket is versioned, and no noncurrent version or lone delete marker is kept forever."""
    violations = []
    for name, bucket in resources_of(template, "AWS::S3::Bucket").items():
        p = props(bucket)
        notified = (p.get("NotificationConfiguration") or {}).get("QueueConfigurations")
        versioned = (p.get("VersioningConfiguration") or {}).get("Status") == "Enabled"
        if notified and not versioned:
            violations.append(f"{name}: holds the uploads but is not versioned")
        if not versioned:
            continue
        rules = [r for r in (p.get("LifecycleConfiguration") or {}).get("Rules") or [] if r.get("Status") == "Enabled"]

        def prefix(rule: dict[str, Any]) -> str:
            return rule.get("Prefix") or (rule.get("Filter") or {}).get("Prefix") or ""

        def tagged(rule: dict[str, Any]) -> bool:
            return bool(rule.get("TagFilters") or (rule.get("Filter") or {}).get("Tag"))

        whole = [r for r in rules if not prefix(r) and not tagged(r)]
        if not any((r.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays") for r in whole):
            violations.append(f"{name}: no bucket-wide NoncurrentVersionExpiration, so noncurrent copies pile up")
        if not any(r.get("ExpiredObjectDeleteMarker") is True for r in whole):
            violations.append(f"{name}: expired delete markers are never removed (ExpiredObjectDeleteMarker)")
        if notified:
            days = [
                number(template, (r.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"))
                for r in rules
                if UPLOAD_PREFIX.startswith(prefix(r)) and r.get("NoncurrentVersionExpiration")
            ]
            if not any(d is not None and d <= MAX_NONCURRENT_UPLOAD_DAYS for d in days):
                violations.append(
                    f"{name}: noncurrent uploads under {UPLOAD_PREFIX} are kept over {MAX_NONCURRENT_UPLOAD_DAYS} days"
                )
    return violations


def check_api_execution_logs(template: Template) -> list[str]:
    """A stage that writes execution logs writes them to a log group of this stack, with a retention."""
    violations = []
    groups = {
        text(props(group).get("LogGroupName")): props(group)
        for group in resources_of(template, "AWS::Logs::LogGroup").values()
    }
    for name, api in resources_of(template, "AWS::Serverless::Api").items():
        levels = {s.get("LoggingLevel") for s in as_list(props(api).get("MethodSettings"))}
        if not levels - {None, "OFF"}:
            continue
        expected = f"API-Gateway-Execution-Logs_${{{name}}}/{props(api).get('StageName')}"
        if expected not in groups:
            violations.append(f"{name}: execution logs go to {expected}, which is no log group of this stack")
        elif groups[expected].get("RetentionInDays") is None:
            violations.append(f"{name}: execution log group {expected} keeps logs forever")
    return violations


# --------------------------------------------------------------------------------------------------
# Edge: WAF and per-route throttling
# --------------------------------------------------------------------------------------------------
def public_routes(template: Template) -> list[tuple[str, str]]:
    """(METHOD, path) of every Api event without the authorizer, preflights aside.

    A preflight (OPTIONS) is answered by CORSMiddleware before any route, database or outside call runs; the
    WAF's API-wide per-IP rule covers it (docs/infra.md, Browsers and CORS).
    """
    return sorted(
        {
            (str(p.get("Method")).upper(), str(p.get("Path")))
            for _, _, p in api_events(template)
            if (p.get("Auth") or {}).get("Authorizer") == "NONE" and str(p.get("Method")).upper() != "OPTIONS"
        }
    )


def _byte_matches(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """The UriPath byte matches a scope-down statement is made of (directly or through OrStatement)."""
    if "ByteMatchStatement" in statement:
        match = statement["ByteMatchStatement"]
        return [match] if "UriPath" in (match.get("FieldToMatch") or {}) else []
    if "OrStatement" in statement:
        return [m for s in as_list(statement["OrStatement"].get("Statements")) for m in _byte_matches(s)]
    return []


def _matches_every_request_to(match: dict[str, Any], path: str) -> bool:
    """True when every request to the route `path` (with or without the stage in front) satisfies `match`."""
    search, constraint = str(match.get("SearchString")), match.get("PositionalConstraint")
    literal = path.split("{", 1)[0]
    if constraint == "CONTAINS":
        return search in literal
    if constraint == "ENDS_WITH":
        return "{" not in path and path.endswith(search)
    return False


def _rate_rules(acl: dict[str, Any]) -> list[dict[str, Any]]:
    """Blocking per-IP rate-based statements of a web ACL."""
    found = []
    for rule in as_list(props(acl).get("Rules")):
        rate = (rule.get("Statement") or {}).get("RateBasedStatement")
        if rate and "Block" in (rule.get("Action") or {}) and rate.get("AggregateKeyType") in ("IP", "FORWARDED_IP"):
            found.append(rate)
    return found


def check_waf(template: Template) -> list[str]:
    """A regional web ACL is associated with every API stage, has a global per-IP rate rule, and covers every
    route without the authorizer with a path-scoped per-IP rate rule (routes read from the Api events)."""
    violations = []
    acls = resources_of(template, "AWS::WAFv2::WebACL")
    associations = resources_of(template, "AWS::WAFv2::WebACLAssociation")
    if not acls:
        return ["no WAF web ACL guards the API"]
    for name in resources_of(template, "AWS::Serverless::Api"):
        # ${Api.Stage} is SAM's reference to the stage it generates: the association then waits for it.
        stage_arn = f"/restapis/${{{name}}}/stages/${{{name}.Stage}}"
        associated = [
            a
            for a in associations.values()
            if (text(props(a).get("ResourceArn")) or "").endswith(stage_arn)
            and target(props(a).get("WebACLArn")) in acls
        ]
        if not associated:
            violations.append(f"{name}: no web ACL association with its stage (ResourceArn ending {stage_arn})")
        for association in associated:
            acl = acls[target(props(association).get("WebACLArn")) or ""]
            if association.get("Condition") != acl.get("Condition"):
                violations.append(f"{name}: the association's Condition differs from its web ACL's")
    routes = public_routes(template)
    for name, acl in acls.items():
        if props(acl).get("Scope") != "REGIONAL":
            violations.append(f"{name}: Scope is not REGIONAL (an API Gateway stage needs a regional ACL)")
        rates = _rate_rules(acl)
        if not any("ScopeDownStatement" not in rate for rate in rates):
            violations.append(f"{name}: no global per-IP rate rule (a blocking rate rule without scope-down)")
        scoped = [m for rate in rates for m in _byte_matches(rate.get("ScopeDownStatement") or {})]
        violations += [
            f"{name}: public route {method} {path} has no path-scoped per-IP rate rule"
            for method, path in routes
            if not any(_matches_every_request_to(match, path) for match in scoped)
        ]
    return violations


def resource_path(path: str) -> str:
    """A route as MethodSettings' ResourcePath spells it: "/" then the path with every "/" written "~1"."""
    return "/" + path.replace("/", "~1")


def check_public_route_throttling(template: Template) -> list[str]:
    """Every unauthenticated POST route has its own throttling, no looser than the stage-wide one; every
    per-route entry names a route of the API (API Gateway refuses the stage otherwise)."""
    violations = []
    posts = [path for method, path in public_routes(template) if method == "POST"]
    for name, api in resources_of(template, "AWS::Serverless::Api").items():
        settings = as_list(props(api).get("MethodSettings"))
        stage = next((s for s in settings if s.get("ResourcePath") == "/*"), {})
        routes = {
            (resource_path(str(p.get("Path"))), str(p.get("Method")).upper())
            for _, _, p in api_events(template)
            if target(p.get("RestApiId")) == name
        }
        violations += [
            f"{name}: MethodSettings {s.get('HttpMethod')} {s.get('ResourcePath')} names no route of the API"
            for s in settings
            if s.get("ResourcePath") != "/*"
            and not any(
                path == s.get("ResourcePath") and s.get("HttpMethod") in (method, "*") for path, method in routes
            )
        ]
        for path in posts:
            own = [
                s
                for s in settings
                if s.get("ResourcePath") == resource_path(path) and s.get("HttpMethod") in ("POST", "*")
            ]
            if not own:
                violations.append(f"{name}: POST {path} has no MethodSettings entry ({resource_path(path)})")
                continue
            for key in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
                limit, ceiling = number(template, own[0].get(key)), number(template, stage.get(key))
                if limit is None:
                    violations.append(f"{name}: POST {path} sets no {key}")
                elif ceiling is not None and limit > ceiling:
                    violations.append(f"{name}: POST {path} {key} {limit} is above the stage's {ceiling}")
    return violations
