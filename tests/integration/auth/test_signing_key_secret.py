"""Key material from Secrets Manager (moto's server): init, verify, rotate with the old key still accepted."""

from __future__ import annotations

import os
import uuid

import boto3
import pytest

from sentrix import tokens
from sentrix_auth import keytool

pytestmark = pytest.mark.integration


def test_keytool_fills_and_rotates_the_secret_the_functions_read(aws):
    client = boto3.client("secretsmanager", endpoint_url=aws.endpoint_url, region_name="us-east-1")
    arn = client.create_secret(Name=f"signing-{uuid.uuid4().hex}", SecretString='{"active": null, "previous": []}')[
        "ARN"
    ]
    settings = tokens.TokenSettings(key_secret_arn=arn, aws_endpoint_url=aws.endpoint_url)
    tokens.reset_key_cache()
    with pytest.raises(tokens.KeysUnavailable):
        tokens.load_key_set(settings)  # the stack's placeholder is not a key

    # keytool uses plain boto3 (an operator's credentials); the service-specific endpoint variable points it at moto.
    os.environ["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = aws.endpoint_url
    try:
        assert keytool.main(["init", "--secret-id", arn, "--region", "us-east-1"]) == 0
        tokens.reset_key_cache()
        old = tokens.issue_access_token(user_id=uuid.uuid4(), role="user", email=None, settings=settings)
        assert keytool.main(["rotate", "--secret-id", arn, "--region", "us-east-1"]) == 0
        tokens.reset_key_cache()
        new = tokens.issue_access_token(user_id=uuid.uuid4(), role="admin", email=None, settings=settings)
        assert tokens.verify_access_token(old.token, settings).role.value == "user"
        assert tokens.verify_access_token(new.token, settings).role.value == "admin"
        assert keytool.main(["prune", "--secret-id", arn, "--region", "us-east-1"]) == 0
        tokens.reset_key_cache()
        with pytest.raises(tokens.InvalidToken):
            tokens.verify_access_token(old.token, settings)
        assert keytool.main(["init", "--secret-id", arn, "--region", "us-east-1"]) == 1  # never overwrites
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_SECRETS_MANAGER", None)
        tokens.reset_key_cache()
