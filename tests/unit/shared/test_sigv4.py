"""The boto3-free presigner (sentrix.adapters.sigv4) writes botocore's own presigned GET, byte for byte.

The expected URL comes from botocore (our S3 client's configuration, credentials from the environment), with its
signing clock pinned to the same instant: any difference in the canonical request, the scope, the encoding or
the parameter order changes the signature, so equality is the whole check.
"""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import botocore.auth
import pytest
from botocore.config import Config

from sentrix.adapters import sigv4

AT = datetime(2026, 12, 3, 13, 0, 7, tzinfo=UTC)
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCY"}
TOKEN = {"AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjE/+token=="}
KEYS = [
    "incoming/00000000-0000-4000-8000-000000000001/4c3e/photo.jpg",
    "incoming/u/ä b+c~d/foto (1) & más;=?.jpeg",
    "processed/u//double//slash.jpg",
]


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    """No endpoint or config overrides for botocore to read (the test session points AWS_ENDPOINT_URL at moto)."""
    for name in sigv4._ENDPOINT_OVERRIDES:
        monkeypatch.delenv(name, raising=False)


def botocore_url(monkeypatch, environ, bucket, key, ttl, *, region, endpoint=None, params=None):
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: AT.replace(tzinfo=None))
    session = boto3.session.Session(
        aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=environ.get("AWS_SESSION_TOKEN"),
    )
    # sentrix.adapters.aws.client's configuration
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"} if endpoint else None)
    s3 = session.client("s3", region_name=region, endpoint_url=endpoint, config=config)
    return s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key, **(params or {})}, ExpiresIn=ttl
    )


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("token", [{}, TOKEN])
@pytest.mark.parametrize(
    ("region", "endpoint"),
    [
        ("us-east-1", None),
        ("sa-east-1", None),
        ("us-east-1", "http://127.0.0.1:5123"),
        ("sa-east-1", "https://s3.local"),
    ],
)
def test_a_presigned_get_is_botocores(monkeypatch, key, token, region, endpoint):
    environ = {**CREDENTIALS, **token}
    expected = botocore_url(monkeypatch, environ, "sentrix-images-123", key, 900, region=region, endpoint=endpoint)

    ours = sigv4.presigned_get(
        "sentrix-images-123", key, 900, region=region, endpoint_url=endpoint, environ=environ, now=AT
    )

    assert ours == expected


def test_response_headers_are_signed_as_botocore_signs_them(monkeypatch):
    params = {
        "ResponseContentDisposition": 'attachment; filename="informe é.pdf"',
        "ResponseContentType": "application/pdf",
    }
    environ = {**CREDENTIALS, **TOKEN}
    expected = botocore_url(
        monkeypatch, environ, "b-reports", "reports/u/r.pdf", 3600, region="us-east-1", params=params
    )

    ours = sigv4.presigned_get(
        "b-reports",
        "reports/u/r.pdf",
        3600,
        region="us-east-1",
        environ=environ,
        now=AT,
        response_params={
            "response-content-disposition": params["ResponseContentDisposition"],
            "response-content-type": params["ResponseContentType"],
        },
    )

    assert ours == expected
    assert "response-content-type=application%2Fpdf" in ours


@pytest.mark.parametrize(
    ("bucket", "endpoint", "environ"),
    [
        ("sentrix-images", None, {}),  # no credentials in the environment: boto3 resolves them
        ("sentrix-images", None, {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}),
        ("sentrix.images", None, CREDENTIALS),  # dotted: botocore would not use the virtual host
        ("Sentrix_Images", None, CREDENTIALS),
        ("sentrix-images", "http://proxy.local/s3/", CREDENTIALS),  # an endpoint with a path
        ("sentrix-images", None, {**CREDENTIALS, "AWS_ENDPOINT_URL_S3": "http://s3.local"}),  # botocore would use it
        ("sentrix-images", None, {**CREDENTIALS, "AWS_USE_FIPS_ENDPOINT": "true"}),
    ],
)
def test_anything_botocore_might_write_differently_is_left_to_it(bucket, endpoint, environ):
    assert sigv4.presigned_get(bucket, "k.jpg", 900, region="us-east-1", endpoint_url=endpoint, environ=environ) is None


@pytest.mark.parametrize("token", [{}, TOKEN])
@pytest.mark.parametrize(("region", "endpoint"), [("us-east-1", None), ("sa-east-1", "http://127.0.0.1:5123")])
def test_a_presigned_post_is_botocores(monkeypatch, token, region, endpoint):
    import botocore.signers

    # sentrix.presign's fields and conditions
    key, fields = "incoming/u/ä b/photo (1).jpg", {"Content-Type": "image/jpeg"}
    conditions = [{"Content-Type": "image/jpeg"}, ["content-length-range", 1, 10_000_000]]
    environ = {**CREDENTIALS, **token}
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: AT.replace(tzinfo=None))
    monkeypatch.setattr(botocore.signers, "get_current_datetime", lambda: AT.replace(tzinfo=None))
    session = boto3.session.Session(
        aws_access_key_id=environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=environ["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=environ.get("AWS_SESSION_TOKEN"),
    )
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"} if endpoint else None)
    s3 = session.client("s3", region_name=region, endpoint_url=endpoint, config=config)
    expected = s3.generate_presigned_post(
        Bucket="sentrix-images-123", Key=key, Fields=fields, Conditions=list(conditions), ExpiresIn=600
    )

    ours = sigv4.presigned_post(
        "sentrix-images-123",
        key,
        fields,
        conditions,
        600,
        region=region,
        endpoint_url=endpoint,
        environ=environ,
        now=AT,
    )

    assert ours == expected
    assert list(ours["fields"]) == list(expected["fields"])  # the form's order too
