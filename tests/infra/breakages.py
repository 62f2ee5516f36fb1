"""Copies of the template broken on purpose, one invariant at a time: (check, dotted-path edits, expected text).

Paths into other issues' function blocks are avoided where a resource of this issue can carry the breakage;
the Api events broken here are looked up by shape (the first public route), since routes keep being added.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sentrix_local.template import load_template
from tests.infra import invariants as app
from tests.infra import invariants_data as data
from tests.infra import invariants_http as http
from tests.infra import invariants_lifecycle as life
from tests.infra import invariants_operations as ops
from tests.infra.template_model import DELETE, Edit, Template, api_events

# Other issues keep adding routes: break the first public Api event and the first two routes, whatever they are.
_ROUTES = [(fn, event, p) for fn, event, p in api_events(load_template())]
_PUBLIC_FN, _PUBLIC_EVENT, _ = next(
    r for r in _ROUTES if (r[2].get("Auth") or {}).get("Authorizer") == "NONE" and r[2]["Method"] != "OPTIONS"
)
_PREFLIGHT_FN, _PREFLIGHT_EVENT, _ = next(r for r in _ROUTES if r[2]["Method"] == "OPTIONS")
_PREFLIGHT_EVENT_PATH = f"Resources.{_PREFLIGHT_FN}.Properties.Events.{_PREFLIGHT_EVENT}"
# SAM's Cors as it stood before preflights moved to the functions (the check still guards that form).
_CORS = {"AllowOrigin": "'*'", "AllowHeaders": "'Authorization,Content-Type,X-Request-ID'"}
_API_EVENT = f"Resources.{_PUBLIC_FN}.Properties.Events.{_PUBLIC_EVENT}.Properties"
_OTHER_FN, _OTHER_EVENT, _ = next(r for r in _ROUTES if r[:2] != (_PUBLIC_FN, _PUBLIC_EVENT))
_OTHER_EVENT_PATH = f"Resources.{_OTHER_FN}.Properties.Events.{_OTHER_EVENT}.Properties.Path"
_PUBLIC_PATH = next(p["Path"] for fn, event, p in _ROUTES if (fn, event) == (_PUBLIC_FN, _PUBLIC_EVENT))
_PUBLIC_METHOD = next(p["Method"] for fn, event, p in _ROUTES if (fn, event) == (_PUBLIC_FN, _PUBLIC_EVENT))

_DETECT = "Resources.DetectFunction.Properties"
_SQS_EVENT = f"{_DETECT}.Events.DetectQueueMessages.Properties"
_BUCKET = "Resources.ImagesBucket.Properties"
_NOTIFICATION = f"{_BUCKET}.NotificationConfiguration.QueueConfigurations.0"
_QUEUE_POLICY = "Resources.DetectQueuePolicy.Properties.PolicyDocument.Statement.0"
_TLS_STATEMENT = "Resources.ImagesBucketPolicy.Properties.PolicyDocument.Statement.0"
_DB_POLICY = "Resources.DatabaseSecretReadPolicy.Properties.PolicyDocument.Statement.0"
_PROXY_ROLE = "Resources.DatabaseProxyRole.Properties.Policies.0.PolicyDocument.Statement.0"
_API = "Resources.SentrixApi.Properties"
_DB = "Resources.Database"
_MIGRATIONS = "Resources.DatabaseMigrations.Properties"
_GLOBAL_ENV = "Globals.Function.Environment.Variables"
_REPORT_ENV = "Resources.ReportFunction.Properties.Environment.Variables"
_ACL = "Resources.ApiWebAcl.Properties"
_ASSOCIATION = "Resources.ApiWebAclAssociation"
_RULES = f"{_BUCKET}.LifecycleConfiguration.Rules"


def _rule_index(rules: list[dict[str, Any]], key: str, value: Any) -> int:
    return next(i for i, rule in enumerate(rules) if rule.get(key) == value)


# Looked up by name, not position: other rules keep being added to these lists.
_TEMPLATE = load_template()
_LIFECYCLE = _TEMPLATE["Resources"]["ImagesBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
_NONCURRENT = _rule_index(_LIFECYCLE, "Id", "ExpireNoncurrentVersions")
_NONCURRENT_UPLOADS = _rule_index(_LIFECYCLE, "Id", "ExpireNoncurrentUploads")
_WAF_RULES = _TEMPLATE["Resources"]["ApiWebAcl"]["Properties"]["Rules"]
_GLOBAL_RATE = _rule_index(_WAF_RULES, "Name", "rate-global")
_SIGN_IN_RATE = _rule_index(_WAF_RULES, "Name", "rate-sign-in")
_METHOD_SETTINGS = _TEMPLATE["Resources"]["SentrixApi"]["Properties"]["MethodSettings"]
_LOGIN_SETTING = _rule_index(_METHOD_SETTINGS, "ResourcePath", "/~1api~1v1~1login")
_PREVIEW_SETTING = _rule_index(_METHOD_SETTINGS, "ResourcePath", "/~1api~1v1~1analyses~1public")
_NEW_PUBLIC_ROUTE = {
    "Type": "Api",
    "Properties": {
        "RestApiId": {"Ref": "SentrixApi"},
        "Path": "/api/v1/open-data",
        "Method": "POST",
        "Auth": {"Authorizer": "NONE"},
    },
}
_MIGRATE_ENV = "Resources.MigrateFunction.Properties.Environment.Variables"


def breakage(check: Callable[[Template], list[str]], expected: str, *edits: Edit, name: str) -> Any:
    """One pytest case: `edits` break the invariant `check` guards, which must report `expected`."""
    return pytest.param(check, list(edits), expected, id=name)


BREAKAGES = [
    # --- queues ---------------------------------------------------------------------------------
    breakage(
        app.check_visibility_timeouts,
        "DetectQueue",
        ("Resources.DetectQueue.Properties.VisibilityTimeout", 6 * 120 - 1),
        name="visibility-too-short",
    ),
    # The function inherits its timeout: the check must resolve Globals to see the problem.
    breakage(
        app.check_visibility_timeouts,
        "600s",
        (f"{_DETECT}.Timeout", DELETE),
        ("Globals.Function.Timeout", 600),
        name="visibility-vs-globals-timeout",
    ),
    breakage(
        app.check_sqs_batch_item_failures,
        "DetectFunction",
        (f"{_SQS_EVENT}.FunctionResponseTypes", DELETE),
        name="no-batch-item-failures",
    ),
    breakage(
        app.check_redrive_policies,
        "DetectQueue",
        ("Resources.DetectQueue.Properties.RedrivePolicy", DELETE),
        name="no-redrive",
    ),
    breakage(
        app.check_redrive_policies,
        "maxReceiveCount 2",
        ("Resources.DetectQueue.Properties.RedrivePolicy.maxReceiveCount", 2),
        name="few-receives",
    ),
    breakage(
        app.check_dlq_alarms,
        "DetectDeadLetterQueue",
        ("Resources.DetectDeadLetterQueueAlarm", DELETE),
        name="dlq-no-alarm",
    ),
    breakage(
        app.check_dlq_alarms,
        "DetectDeadLetterQueue",
        (
            "Resources.DetectDeadLetterQueueAlarm.Properties.Dimensions.0.Value",
            {"Fn::GetAtt": ["DetectQueue", "QueueName"]},
        ),
        name="alarm-on-wrong-queue",
    ),
    breakage(
        ops.check_bounded_consumers,
        "DetectFunction",
        (f"{_SQS_EVENT}.ScalingConfig", DELETE),
        name="unbounded-consumer",
    ),
    breakage(
        ops.check_scheduled_workers,
        "no alarm on DeliveryFunction's Errors",
        ("Resources.DeliveryErrorsAlarm", DELETE),
        name="scheduled-worker-unwatched",
    ),
    breakage(
        ops.check_scheduled_workers,
        "DeliveryFunction: REPORT_DELIVERY_LEASE_S 180 does not outlast its Timeout 180",
        ("Resources.DeliveryFunction.Properties.Environment.Variables.REPORT_DELIVERY_LEASE_S", "180"),
        name="lease-shorter-than-run",
    ),
    # --- logs -----------------------------------------------------------------------------------
    breakage(
        app.check_log_groups,
        "DetectFunction",
        ("Resources.DetectLogGroup.Properties.RetentionInDays", DELETE),
        name="no-log-retention",
    ),
    breakage(
        app.check_log_groups,
        "MigrateFunction",
        ("Resources.MigrateFunction.Properties.LoggingConfig", DELETE),
        name="no-log-group",
    ),
    breakage(
        app.check_log_groups,
        "AuthFunction",
        ("Resources.AuthLogGroup.Properties.LogGroupName", {"Fn::Sub": "/aws/lambda/${AWS::StackName}-other"}),
        name="misnamed-log-group",
    ),
    breakage(
        ops.check_log_retention,
        "ApiAccessLogGroup",
        ("Resources.ApiAccessLogGroup.Properties.RetentionInDays", DELETE),
        name="access-log-forever",
    ),
    # --- API ------------------------------------------------------------------------------------
    breakage(
        app.check_binary_media_types,
        "lacks *~1*",
        (f"{_API}.BinaryMediaTypes", ["application~1pdf", "image~1png", "application~1vnd.mapbox-vector-tile"]),
        name="binary-only-on-exact-accept",
    ),
    breakage(
        app.check_binary_media_types,
        "'*/*'",
        (f"{_API}.BinaryMediaTypes.0", "*/*"),
        name="unescaped-media-type",
    ),
    breakage(app.check_binary_media_types, "OPTIONS mock", (f"{_API}.Cors", _CORS), name="cors-mock-under-star"),
    breakage(app.check_api_events, "Method ANY", (f"{_API_EVENT}.Method", "ANY"), name="any-method"),
    breakage(app.check_api_events, "{proxy+}", (f"{_API_EVENT}.Path", "/api/v1/{proxy+}"), name="proxy-path"),
    breakage(app.check_api_events, "no explicit Path", (f"{_API_EVENT}.Path", DELETE), name="no-path"),
    breakage(app.check_api_events, "RestApiId", (f"{_API_EVENT}.RestApiId", DELETE), name="implicit-api"),
    breakage(
        app.check_api_events,
        "already routed",
        (_OTHER_EVENT_PATH, _PUBLIC_PATH),
        (_OTHER_EVENT_PATH.rsplit(".", 1)[0] + ".Method", _PUBLIC_METHOD),
        name="duplicate-route",
    ),
    breakage(app.check_cors_preflight, "no OPTIONS event", (_PREFLIGHT_EVENT_PATH, DELETE), name="no-preflight"),
    breakage(
        app.check_cors_preflight,
        "has an authorizer",
        (f"{_PREFLIGHT_EVENT_PATH}.Properties.Auth", DELETE),
        name="authorized-preflight",
    ),
    breakage(
        app.check_cors_preflight,
        "guards CORS preflights",
        (f"{_API}.Cors", _CORS),
        (f"{_API}.Auth.AddDefaultAuthorizerToCorsPreflight", DELETE),
        name="authorized-cors-mock",
    ),
    breakage(
        app.check_cors_preflight,
        "lacks Authorization",
        (f"{_API}.Cors", {**_CORS, "AllowHeaders": "'Content-Type,X-Request-ID'"}),
        name="preflight-refuses-token",
    ),
    breakage(
        app.check_api_stage_settings,
        "throttling",
        (f"{_API}.MethodSettings.0.ThrottlingRateLimit", DELETE),
        name="unthrottled-stage",
    ),
    breakage(app.check_api_stage_settings, "tracing", (f"{_API}.TracingEnabled", False), name="untraced-stage"),
    breakage(app.check_api_stage_settings, "access log", (f"{_API}.AccessLogSetting", DELETE), name="no-access-log"),
    breakage(
        app.check_api_stage_settings,
        "not cached",
        (f"{_API}.Auth.Authorizers.SentrixAuthorizer.Identity.ReauthorizeEvery", 0),
        name="uncached-authorizer",
    ),
    # --- IAM and the bucket ---------------------------------------------------------------------
    breakage(app.check_no_wildcard_actions, "'*'", (f"{_DB_POLICY}.Action", "*"), name="star-action"),
    breakage(
        app.check_no_wildcard_actions,
        "'secretsmanager:*'",
        (f"{_PROXY_ROLE}.Action", ["secretsmanager:GetSecretValue", "secretsmanager:*"]),
        name="service-star-action",
    ),
    breakage(
        app.check_no_wildcard_actions, "'sqs:*'", (f"{_QUEUE_POLICY}.Action", "sqs:*"), name="star-in-queue-policy"
    ),
    breakage(
        app.check_bucket_security,
        "BlockPublicAcls",
        (f"{_BUCKET}.PublicAccessBlockConfiguration.BlockPublicAcls", False),
        name="public-acls",
    ),
    breakage(app.check_bucket_security, "encryption", (f"{_BUCKET}.BucketEncryption", DELETE), name="no-encryption"),
    breakage(
        app.check_bucket_security, "SecureTransport", ("Resources.ImagesBucketPolicy", DELETE), name="no-tls-policy"
    ),
    breakage(
        app.check_bucket_security,
        "SecureTransport",
        (f"{_TLS_STATEMENT}.Resource", [{"Fn::GetAtt": ["ImagesBucket", "Arn"]}]),
        name="tls-policy-misses-objects",
    ),
    breakage(
        app.check_upload_notifications, "prefix", (f"{_NOTIFICATION}.Filter", DELETE), name="unfiltered-notification"
    ),
    breakage(
        app.check_upload_notifications,
        "no function consumes",
        (f"{_NOTIFICATION}.Queue", {"Fn::GetAtt": ["DetectDeadLetterQueue", "Arn"]}),
        name="notification-to-dlq",
    ),
    breakage(
        app.check_upload_notifications,
        "no queue policy",
        (
            f"{_QUEUE_POLICY}.Condition.ArnEquals.aws:SourceArn",
            {"Fn::Sub": "arn:${AWS::Partition}:s3:::some-other-bucket"},
        ),
        name="queue-policy-for-another-bucket",
    ),
    breakage(
        app.check_upload_notifications,
        "DependsOn",
        ("Resources.ImagesBucket.DependsOn", DELETE),
        name="bucket-before-queue-policy",
    ),
    breakage(
        app.check_incoming_lifecycle,
        "cheaper storage class",
        (f"{_BUCKET}.LifecycleConfiguration.Rules.1.Status", "Disabled"),
        name="originals-never-tiered",
    ),
    breakage(
        app.check_incoming_lifecycle,
        "expires the originals",
        (f"{_BUCKET}.LifecycleConfiguration.Rules.1.ExpirationInDays", 90),
        name="originals-expired",
    ),
    breakage(
        app.check_incoming_lifecycle,
        "expires the originals",
        (f"{_BUCKET}.LifecycleConfiguration.Rules.0.ExpirationInDays", 365),
        name="whole-bucket-expired",
    ),
    breakage(
        app.check_incoming_lifecycle,
        "expires the originals under originals/",
        (f"{_BUCKET}.LifecycleConfiguration.Rules.2.ExpirationInDays", 90),
        name="secured-originals-expired",
    ),
    # --- database -------------------------------------------------------------------------------
    breakage(
        data.check_database_hardening,
        "not encrypted",
        (f"{_DB}.Properties.StorageEncrypted", False),
        name="unencrypted-db",
    ),
    breakage(
        data.check_database_hardening, "loses the data", (f"{_DB}.DeletionPolicy", "Delete"), name="db-no-snapshot"
    ),
    breakage(
        data.check_database_hardening,
        "DeletionProtection",
        (f"{_DB}.Properties.DeletionProtection", False),
        name="db-unprotected",
    ),
    breakage(
        data.check_database_hardening,
        "MultiAZ",
        (f"{_DB}.Properties.MultiAZ", {"Fn::If": ["IsProd", False, True]}),
        name="db-single-az-on-prod",
    ),
    breakage(
        data.check_database_hardening,
        "master password",
        (f"{_DB}.Properties.MasterUserPassword", "hunter2hunter2"),
        name="db-literal-password",
    ),
    breakage(
        data.check_database_hardening,
        "RequireTLS",
        ("Resources.DatabaseProxy.Properties.RequireTLS", False),
        name="proxy-without-tls",
    ),
    breakage(
        data.check_database_network,
        "admits 0.0.0.0/0",
        (
            "Resources.ProxySecurityGroup.Properties.SecurityGroupIngress.0",
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "CidrIp": "0.0.0.0/0"},
        ),
        name="proxy-open-to-all",
    ),
    breakage(
        data.check_database_network,
        "admits FunctionSecurityGroup",
        (
            "Resources.DatabaseSecurityGroup.Properties.SecurityGroupIngress.0.SourceSecurityGroupId",
            {"Ref": "FunctionSecurityGroup"},
        ),
        name="db-bypasses-proxy",
    ),
    breakage(
        data.check_database_network,
        "not tcp 5432",
        ("Resources.ProxySecurityGroup.Properties.SecurityGroupIngress.0.ToPort", 65535),
        name="proxy-opens-port-range",
    ),
    breakage(
        data.check_functions_reach_database,
        "outside the VPC",
        ("Globals.Function.VpcConfig", DELETE),
        name="functions-outside-vpc",
    ),
    breakage(
        data.check_functions_reach_database,
        "not the RDS Proxy",
        (f"{_GLOBAL_ENV}.DB_HOST", ""),
        name="functions-bypass-proxy",
    ),
    breakage(
        data.check_proxy_auth,
        "DatabaseProxy: no auth entry for DatabaseAppSecret",
        (
            "Resources.DatabaseProxy.Properties.Auth",
            [{"AuthScheme": "SECRETS", "SecretArn": {"Ref": "DatabaseSecret"}}],
        ),
        name="proxy-refuses-the-app-role",
    ),
    breakage(
        data.check_proxy_auth,
        "its role DatabaseProxyRole may not read DatabaseAppSecret",
        (f"{_PROXY_ROLE}.Resource", {"Ref": "DatabaseSecret"}),
        name="proxy-role-without-app-secret",
    ),
    # --- network --------------------------------------------------------------------------------
    breakage(
        data.check_vpc_reachability,
        "no secretsmanager",
        ("Resources.SecretsManagerEndpoint", DELETE),
        name="no-secrets-endpoint",
    ),
    breakage(
        data.check_vpc_reachability,
        "PrivateDnsEnabled",
        ("Resources.SqsEndpoint.Properties.PrivateDnsEnabled", False),
        name="sqs-endpoint-without-dns",
    ),
    breakage(
        data.check_vpc_reachability,
        "misses a route table",
        ("Resources.S3GatewayEndpoint.Properties.RouteTableIds", []),
        name="s3-endpoint-unrouted",
    ),
    breakage(
        data.check_vpc_reachability,
        "DNS support",
        ("Resources.Vpc.Properties.EnableDnsHostnames", False),
        name="vpc-without-dns-hostnames",
    ),
    # --- migrations -----------------------------------------------------------------------------
    breakage(
        ops.check_migrations_on_deploy,
        "expected one custom resource",
        ("Resources.DatabaseMigrations", DELETE),
        name="no-migrations",
    ),
    breakage(
        ops.check_migrations_on_deploy,
        "DeploymentId",
        (f"{_MIGRATIONS}.MigrationsVersion", {"Fn::Sub": "${SharedLayer}"}),
        name="migrations-not-every-deploy",
    ),
    breakage(
        ops.check_migrations_on_deploy,
        "ServiceTimeout",
        (f"{_MIGRATIONS}.ServiceTimeout", 7200),
        name="migrations-wait-too-long",
    ),
    breakage(
        ops.check_migrations_on_deploy,
        "ReportFunction: uses the database",
        ("Resources.ReportFunction.DependsOn", DELETE),
        name="function-before-migrations",
    ),
    # --- alarms ---------------------------------------------------------------------------------
    breakage(ops.check_alarms, "5XXError", ("Resources.ApiServerErrorRateAlarm", DELETE), name="no-5xx-alarm"),
    breakage(
        ops.check_alarms,
        "DetectFunction's Errors",
        ("Resources.DetectErrorsAlarm.Properties.Dimensions.0.Value", {"Ref": "UploadFunction"}),
        name="errors-alarm-on-wrong-function",
    ),
    breakage(
        ops.check_alarms,
        "YoloBreakerOpened",
        ("Resources.YoloBreakerOpenedAlarm", DELETE),
        name="no-breaker-alarm",
    ),
    breakage(
        ops.check_alarms,
        "AuthFunction's Throttles",
        ("Resources.LambdaThrottlesAlarm.Properties.Metrics.0", {"Id": "gone", "Expression": "0"}),
        name="throttles-alarm-misses-a-function",
    ),
    breakage(
        ops.check_alarms,
        "ApiThrottledRequests",
        ("Resources.ApiThrottledRequestsMetric", DELETE),
        name="api-throttling-not-measured",
    ),
    breakage(
        ops.check_alarms,
        "DetectErrorsAlarm: notifies no SNS topic",
        ("Resources.DetectErrorsAlarm.Properties.AlarmActions", DELETE),
        name="silent-alarm",
    ),
    breakage(
        ops.check_alarms,
        "never says it is OK again",
        ("Resources.DetectErrorsAlarm.Properties.OKActions", DELETE),
        name="alarm-without-ok",
    ),
    breakage(
        ops.check_alarms,
        "YoloBreakerOpened metric of UploadFunction (service=upload)",
        ("Resources.PreviewYoloBreakerOpenedAlarm", DELETE),
        name="no-preview-breaker-alarm",
    ),
    breakage(
        ops.check_alarms,
        "watches Sentrix/YoloBreakerOpen, which no code emits",
        ("Resources.YoloBreakerOpenedAlarm.Properties.MetricName", "YoloBreakerOpen"),
        name="alarm-on-unemitted-metric",
    ),
    breakage(
        ops.check_alarms,
        "watches service preview, which no function is",
        ("Resources.PreviewYoloBreakerOpenedAlarm.Properties.Dimensions.0.Value", "preview"),
        name="alarm-on-unknown-service",
    ),
    breakage(
        ops.check_alarms,
        "DetectQueue's ApproximateAgeOfOldestMessage",
        ("Resources.DetectQueueAgeAlarm", DELETE),
        name="no-queue-age-alarm",
    ),
    breakage(
        ops.check_alarms,
        "Database's FreeStorageSpace",
        ("Resources.DatabaseFreeStorageAlarm.Condition", DELETE),
        name="storage-alarm-without-condition",
    ),
    breakage(
        ops.check_alarms,
        "DatabaseProxy's ClientConnections",
        ("Resources.DatabaseProxyClientConnectionsAlarm.Properties.Dimensions.0.Value", {"Ref": "Database"}),
        name="proxy-connections-alarm-on-instance",
    ),
    breakage(
        ops.check_alarms,
        "DatabaseConnectionsCurrentlySessionPinned",
        ("Resources.DatabaseProxyPinningAlarm", DELETE),
        name="no-pinning-alarm",
    ),
    # --- retry, rollback, teardown (issue 15) ---------------------------------------------------
    breakage(
        life.check_retained_data,
        "ImagesBucket: DeletionPolicy 'Retain'",
        ("Resources.ImagesBucket.DeletionPolicy", "Retain"),
        name="bucket-blocks-retry",
    ),
    breakage(
        life.check_retained_data,
        "UpdateReplacePolicy 'Delete'",
        ("Resources.ImagesBucket.UpdateReplacePolicy", "Delete"),
        name="bucket-lost-on-replacement",
    ),
    breakage(
        life.check_retained_data,
        "Database: DeletionPolicy 'Delete'",
        ("Resources.Database.DeletionPolicy", "Delete"),
        name="database-deleted",
    ),
    breakage(
        life.check_retained_data,
        "BucketName differs from infra/import/ImagesBucket.yaml",
        (f"{_BUCKET}.BucketName", {"Fn::Sub": "sentrix-${Stage}-photos-${AWS::AccountId}-${AWS::Region}"}),
        name="bucket-not-importable",
    ),
    breakage(
        life.check_retained_data,
        "AuthLogGroup: retained with a fixed name",
        ("Resources.AuthLogGroup.DeletionPolicy", "Retain"),
        name="retained-named-log-group",
    ),
    breakage(
        life.check_database_parameters,
        "DBName is not a constant (from ['Stage'])",
        (f"{_DB}.Properties.DBName", {"Ref": "Stage"}),
        name="db-name-from-parameter",
    ),
    breakage(
        life.check_database_parameters,
        "does not follow EngineVersion",
        ("Resources.DatabaseParameterGroup.Properties.Family", "postgres16"),
        name="parameter-group-family-fixed",
    ),
    breakage(
        life.check_database_parameters,
        "AllowMajorVersionUpgrade is not true",
        (f"{_DB}.Properties.AllowMajorVersionUpgrade", DELETE),
        name="major-upgrade-refused",
    ),
    breakage(
        life.check_versioned_buckets,
        "is not versioned",
        (f"{_BUCKET}.VersioningConfiguration", DELETE),
        name="uploads-unversioned",
    ),
    breakage(
        life.check_versioned_buckets,
        "noncurrent copies pile up",
        (f"{_RULES}.{_NONCURRENT}.Status", "Disabled"),
        name="noncurrent-kept-forever",
    ),
    breakage(
        life.check_versioned_buckets,
        "ExpiredObjectDeleteMarker",
        (f"{_RULES}.{_NONCURRENT}.ExpiredObjectDeleteMarker", DELETE),
        name="delete-markers-kept",
    ),
    breakage(
        life.check_versioned_buckets,
        "noncurrent uploads under incoming/",
        (f"{_RULES}.{_NONCURRENT_UPLOADS}.NoncurrentVersionExpiration.NoncurrentDays", 30),
        name="noncurrent-uploads-kept-long",
    ),
    breakage(
        life.check_api_execution_logs,
        "no log group of this stack",
        ("Resources.ApiExecutionLogGroup", DELETE),
        name="execution-logs-unmanaged",
    ),
    breakage(
        life.check_api_execution_logs,
        "keeps logs forever",
        ("Resources.ApiExecutionLogGroup.Properties.RetentionInDays", DELETE),
        name="execution-logs-forever",
    ),
    # --- edge (issue 15) ------------------------------------------------------------------------
    breakage(life.check_waf, "no WAF web ACL", ("Resources.ApiWebAcl", DELETE), name="no-waf"),
    breakage(life.check_waf, "no web ACL association", (_ASSOCIATION, DELETE), name="waf-not-associated"),
    breakage(
        life.check_waf,
        "no web ACL association",
        (
            f"{_ASSOCIATION}.Properties.ResourceArn",
            {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${SentrixApi}/stages/v1"},
        ),
        name="waf-association-before-stage",
    ),
    breakage(
        life.check_waf,
        "Condition differs",
        (f"{_ASSOCIATION}.Condition", DELETE),
        name="waf-association-without-condition",
    ),
    breakage(life.check_waf, "REGIONAL", (f"{_ACL}.Scope", "CLOUDFRONT"), name="waf-wrong-scope"),
    breakage(
        life.check_waf,
        "no global per-IP rate rule",
        (f"{_ACL}.Rules.{_GLOBAL_RATE}.Action", {"Count": {}}),
        name="waf-no-global-rate",
    ),
    breakage(
        life.check_waf,
        "POST /api/v1/login has no path-scoped",
        (f"{_ACL}.Rules.{_SIGN_IN_RATE}.Action", {"Count": {}}),
        name="waf-login-counted-only",
    ),
    breakage(
        life.check_waf,
        "POST /api/v1/open-data has no path-scoped",
        (f"Resources.{_PUBLIC_FN}.Properties.Events.OpenData", _NEW_PUBLIC_ROUTE),
        name="waf-misses-new-public-route",
    ),
    breakage(
        life.check_public_route_throttling,
        "POST /api/v1/login has no MethodSettings entry",
        (f"{_API}.MethodSettings.{_LOGIN_SETTING}", DELETE),
        name="login-unthrottled",
    ),
    breakage(
        life.check_public_route_throttling,
        "POST /api/v1/analyses/public has no MethodSettings entry",
        (f"{_API}.MethodSettings.{_PREVIEW_SETTING}.ResourcePath", "/api/v1/analyses/public"),
        name="preview-path-unescaped",
    ),
    breakage(
        life.check_public_route_throttling,
        "POST /~1api~1v1~1signin names no route",
        (f"{_API}.MethodSettings.{_LOGIN_SETTING}.ResourcePath", "/~1api~1v1~1signin"),
        name="throttling-for-a-gone-route",
    ),
    breakage(
        life.check_public_route_throttling,
        "above the stage's",
        (f"{_API}.MethodSettings.{_LOGIN_SETTING}.ThrottlingRateLimit", 100000),
        name="login-looser-than-stage",
    ),
    breakage(
        life.check_public_route_throttling,
        "POST /api/v1/open-data has no MethodSettings entry",
        (f"Resources.{_PUBLIC_FN}.Properties.Events.OpenData", _NEW_PUBLIC_ROUTE),
        name="new-public-post-unthrottled",
    ),
    # --- secrets and layers ---------------------------------------------------------------------
    breakage(
        ops.check_signing_key_access,
        "DetectFunction: may read the private SigningKeySecret",
        (
            f"{_DETECT}.Policies",
            [{"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "SigningKeySecret"}}}],
        ),
        name="signing-key-to-detect",
    ),
    breakage(
        ops.check_signing_key_access,
        "AuthorizerFunction: may read the private SigningKeySecret",
        (
            "Resources.AuthorizerFunction.Properties.Policies.0.AWSSecretsManagerGetSecretValuePolicy.SecretArn",
            {"Ref": "SigningKeySecret"},
        ),
        name="authorizer-reads-private-keys",
    ),
    breakage(
        ops.check_signing_key_access,
        "ReportFunction: may read the private SigningKeySecret",
        (
            "Resources.ReportFunction.Properties.Policies.1.AWSSecretsManagerGetSecretValuePolicy.SecretArn",
            {"Ref": "SigningKeySecret"},
        ),
        name="report-reads-private-keys",
    ),
    breakage(
        ops.check_signing_key_access,
        "ReportFunction: sets AUTH_SIGNING_KEY_SECRET_ARN but signs no tokens",
        (f"{_REPORT_ENV}.AUTH_SIGNING_KEY_SECRET_ARN", {"Ref": "SigningKeySecret"}),
        name="report-told-private-keys",
    ),
    breakage(
        ops.check_signing_key_access,
        "AuthorizerFunction: verifies tokens but may not read SigningPublicKeysSecret",
        ("Resources.AuthorizerFunction.Properties.Policies", DELETE),
        name="authorizer-without-public-keys",
    ),
    breakage(
        ops.check_signing_key_access,
        "ReportFunction: verifies tokens but AUTH_PUBLIC_KEYS_SECRET_ARN does not name it",
        (f"{_REPORT_ENV}.AUTH_PUBLIC_KEYS_SECRET_ARN", DELETE),
        name="report-without-public-keys",
    ),
    breakage(
        ops.check_signing_key_access,
        "AuthFunction: signs tokens but may not read SigningKeySecret",
        ("Resources.AuthFunction.Properties.Policies.1", DELETE),
        name="auth-cannot-sign",
    ),
    breakage(
        ops.check_database_roles,
        "UploadFunction: may read the owner's secret ['DatabaseSecret', 'ExistingDatabaseSecretArn']",
        ("Resources.UploadFunction.Properties.Policies", [{"Ref": "DatabaseSecretReadPolicy"}]),
        name="owner-secret-to-upload",
    ),
    breakage(
        ops.check_database_roles,
        "ReportFunction: DB_SECRET_ARN names the owner's secret ['DatabaseSecret']",
        (f"{_GLOBAL_ENV}.DB_SECRET_ARN", {"Ref": "DatabaseSecret"}),
        name="functions-log-in-as-owner",
    ),
    breakage(
        ops.check_database_roles,
        "MigrateFunction: DB_APP_SECRET_ARN does not name the application secret",
        (f"{_MIGRATE_ENV}.DB_APP_SECRET_ARN", DELETE),
        name="app-role-without-password",
    ),
    breakage(
        ops.check_database_roles,
        "MigrateFunction: may not read the application secret",
        ("Resources.MigrateFunction.Properties.Policies", [{"Ref": "DatabaseSecretReadPolicy"}]),
        name="migrate-cannot-read-app-secret",
    ),
    breakage(
        ops.check_database_roles,
        "MigrateFunction: DB_SECRET_ARN is not the owner's secret",
        (f"{_MIGRATE_ENV}.DB_SECRET_ARN", DELETE),
        name="migrate-not-as-owner",
    ),
    breakage(
        ops.check_layers_by_weight,
        "DetectFunction: attaches ReportLayer",
        (f"{_DETECT}.Layers", [{"Ref": "ImagingLayer"}, {"Ref": "ReportLayer"}]),
        name="reportlab-in-detect",
    ),
    breakage(
        ops.check_layers_by_weight,
        "lacks SharedLayer",
        ("Globals.Function.Layers", []),
        name="no-shared-layer",
    ),
    # --- what the API tells browsers ------------------------------------------------------------
    breakage(
        http.check_gateway_response_headers,
        "DEFAULT_4XX: header Strict-Transport-Security",
        (f"{_API}.GatewayResponses.DEFAULT_4XX.ResponseParameters.Headers.Strict-Transport-Security", DELETE),
        name="gateway-401-without-hsts",
    ),
    breakage(
        http.check_gateway_response_headers,
        "MISSING_AUTHENTICATION_TOKEN: header X-Content-Type-Options",
        (
            f"{_API}.GatewayResponses.MISSING_AUTHENTICATION_TOKEN.ResponseParameters.Headers.X-Content-Type-Options",
            "'sniff-away'",
        ),
        name="gateway-404-sniffable",
    ),
    breakage(
        http.check_explicit_cors_origins,
        "has a Default (http://localhost:5173)",
        ("Parameters.CorsOrigins.Default", "http://localhost:5173"),
        name="localhost-cors-default",
    ),
    breakage(
        http.check_explicit_cors_origins,
        "AllowedPattern accepts http://localhost:5173",
        ("Parameters.CorsOrigins.AllowedPattern", "^https?://.+$"),
        name="cors-pattern-takes-localhost",
    ),
    breakage(
        http.check_explicit_cors_origins,
        "CORS_ORIGINS is not a template parameter",
        (f"{_GLOBAL_ENV}.CORS_ORIGINS", "http://localhost:5173"),
        name="hard-coded-cors-origins",
    ),
    breakage(
        http.check_no_local_switches,
        "sets SENTRIX_DEBUG_ERRORS",
        (f"{_GLOBAL_ENV}.SENTRIX_DEBUG_ERRORS", "1"),
        name="deployed-debug-errors",
    ),
    breakage(
        http.check_snapstart,
        "UploadFunction: no AutoPublishAlias",
        ("Resources.UploadFunction.Properties.AutoPublishAlias", DELETE),
        name="snapstart-function-without-alias",
    ),
    breakage(
        http.check_snapstart,
        "ReportFunction: AutoPublishAliasAllProperties is not true",
        ("Resources.ReportFunction.Properties.AutoPublishAliasAllProperties", DELETE),
        name="snapstart-alias-misses-settings-changes",
    ),
    breakage(
        http.check_snapstart,
        "AuthFunction: SnapStart.ApplyOn is not",
        ("Resources.AuthFunction.Properties.SnapStart.ApplyOn", "None"),
        name="snapstart-off-for-good",
    ),
    breakage(
        http.check_snapstart,
        "AuthorizerFunction: SnapStart.ApplyOn is not",
        ("Resources.AuthorizerFunction.Properties.SnapStart", DELETE),
        name="snapstart-missing-on-authorizer",
    ),
    breakage(
        http.check_snapstart,
        "is not decided by a stack parameter",
        ("Conditions.UseSnapStart", {"Fn::Equals": ["Enabled", "Enabled"]}),
        name="snapstart-not-switchable",
    ),
    breakage(
        http.check_snapstart,
        "AuthFunction: ProvisionedConcurrencyConfig cannot be combined with SnapStart",
        ("Resources.AuthFunction.Properties.ProvisionedConcurrencyConfig", {"ProvisionedConcurrentExecutions": 1}),
        name="snapstart-with-provisioned-concurrency",
    ),
    breakage(
        http.check_snapstart,
        "ReportFunction: EphemeralStorage above 512 MB",
        ("Resources.ReportFunction.Properties.EphemeralStorage", {"Size": 1024}),
        name="snapstart-with-big-tmp",
    ),
    breakage(
        http.check_snapstart,
        "UploadFunction: runtime is not python3.12 or later",
        ("Resources.UploadFunction.Properties.Runtime", "python3.11"),
        name="snapstart-on-old-python",
    ),
    breakage(
        http.check_snapstart,
        "FunctionArn is not the function's alias",
        (
            "Resources.SentrixApi.Properties.Auth.Authorizers.SentrixAuthorizer.FunctionArn",
            {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]},
        ),
        name="authorizer-on-latest",
    ),
]

# IAM against the code (tests/infra/iam_usage.py), kept in their own module.
from tests.infra.breakages_iam import IAM_BREAKAGES  # noqa: E402

BREAKAGES += IAM_BREAKAGES
