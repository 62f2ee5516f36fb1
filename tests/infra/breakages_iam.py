"""Copies of the template whose IAM no longer matches the code (iam_usage.check_iam_matches_code).

Statements are found by Sid, not by position: other issues keep adding statements to these policies.
"""

from __future__ import annotations

from typing import Any

from sentrix_local.template import load_template
from tests.infra.breakages import breakage
from tests.infra.iam_usage import check_iam_matches_code
from tests.infra.template_model import DELETE


def sid_path(function: str, sid: str) -> str:
    """Dotted path of the inline statement `sid` in `function`'s Policies."""
    policies = load_template()["Resources"][function]["Properties"]["Policies"]
    for i, policy in enumerate(policies):
        for j, statement in enumerate((policy.get("Statement") or []) if isinstance(policy, dict) else []):
            if statement.get("Sid") == sid:
                return f"Resources.{function}.Properties.Policies.{i}.Statement.{j}"
    raise LookupError(f"{function} has no statement {sid}")


def policy_index(function: str, predicate: Any) -> str:
    policies = load_template()["Resources"][function]["Properties"]["Policies"]
    return f"Resources.{function}.Properties.Policies.{next(i for i, p in enumerate(policies) if predicate(p))}"


_DETECT_LIST = sid_path("DetectFunction", "TellMissingReadsApart")
_REPORT_LIST = sid_path("ReportFunction", "TellMissingReadsApart")
_UPLOAD_PROBE = sid_path("UploadFunction", "ProbeBucket")
_DETECT_ORIGINALS = sid_path("DetectFunction", "SecureOriginals")
_DETECT_PUT_BACK = sid_path("DetectFunction", "PutBackRateLimitedMessages")
_AUTH_KEYS = policy_index(
    "AuthFunction",
    lambda p: (
        isinstance(p, dict)
        and p.get("AWSSecretsManagerGetSecretValuePolicy", {}).get("SecretArn") == {"Ref": "SigningKeySecret"}
    ),
)

IAM_BREAKAGES = [
    breakage(
        check_iam_matches_code,
        "DetectFunction: reads IMAGES_BUCKET/incoming/ without s3:ListBucket",
        (_DETECT_LIST, DELETE),
        name="detect-without-listbucket",
    ),
    breakage(
        check_iam_matches_code,
        "ReportFunction: reads IMAGES_BUCKET/reports/ without s3:ListBucket",
        (f"{_REPORT_LIST}.Condition.StringLike.s3:prefix", ["processed/*"]),
        name="report-listbucket-prefix-too-narrow",
    ),
    # HeadBucket names no prefix: a prefix condition on upload's ListBucket breaks readiness.
    breakage(
        check_iam_matches_code,
        "UploadFunction: needs s3:ListBucket on IMAGES_BUCKET/;",
        (f"{_UPLOAD_PROBE}.Condition", {"StringLike": {"s3:prefix": ["incoming/*"]}}),
        name="upload-probe-prefix-scoped",
    ),
    breakage(
        check_iam_matches_code,
        "DetectFunction: needs s3:GetObject on IMAGES_BUCKET/originals/",
        (f"{_DETECT_ORIGINALS}.Action", ["s3:PutObject"]),
        name="detect-cannot-reread-originals",
    ),
    breakage(
        check_iam_matches_code,
        "DetectFunction: needs sqs:ChangeMessageVisibility on DETECT_QUEUE_URL",
        (_DETECT_PUT_BACK, DELETE),
        name="detect-cannot-put-back-rate-limited-messages",
    ),
    breakage(
        check_iam_matches_code,
        "AuthFunction: needs secretsmanager:GetSecretValue on AUTH_SIGNING_KEY_SECRET_ARN",
        (_AUTH_KEYS, {"Ref": "AWS::NoValue"}),
        name="auth-without-signing-keys",
    ),
    breakage(
        check_iam_matches_code,
        "DetectFunction: is granted s3:PutObjectAcl",
        (f"{_DETECT_ORIGINALS}.Action", ["s3:GetObject", "s3:PutObject", "s3:PutObjectAcl"]),
        name="detect-granted-more-than-it-calls",
    ),
    breakage(
        check_iam_matches_code,
        "RotationFunction: no CodeUri/Handler to scan",
        (
            "Resources.RotationFunction",
            {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Runtime": "python3.12", "Handler": "index.handler", "Code": {"ZipFile": "..."}},
            },
        ),
        name="inline-function-not-scanned",
    ),
    breakage(
        check_iam_matches_code,
        "MigrateFunction: needs secretsmanager:GetSecretValue on DB_SECRET_ARN",
        ("Resources.MigrateFunction.Properties.Policies", []),
        name="migrate-without-db-secret",
    ),
]
