"""How S3's answers become typed errors (sentrix.adapters.storage.s3_errors): gone, refused, or unavailable."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from sentrix.adapters.storage import s3_errors
from sentrix.errors import DependencyUnavailable, NotFound, StorageAccessDenied


def client_error(code: str, operation: str = "GetObject") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "..."}}, operation)


def raised_by(error: Exception, missing: str | None = "gone") -> Exception:
    with pytest.raises(Exception) as caught, s3_errors(missing=missing):
        raise error
    return caught.value


@pytest.mark.parametrize("code", ["NoSuchKey", "404"])
def test_a_missing_object_is_not_found_on_a_read(code):
    error = raised_by(client_error(code))
    assert type(error) is NotFound
    assert error.message == "gone"


@pytest.mark.parametrize("code", ["AccessDenied", "403"])
def test_a_refusal_is_access_denied_not_an_outage(code):
    # 403 is what S3 answers a missing object when the role lacks s3:ListBucket, and a policy that says no
    error = raised_by(client_error(code, "HeadObject"))
    assert type(error) is StorageAccessDenied
    assert "refused access (403)" in error.message


def test_a_refused_write_is_access_denied_too():
    assert type(raised_by(client_error("AccessDenied", "PutObject"), missing=None)) is StorageAccessDenied


def test_a_missing_object_on_a_write_is_an_outage_not_a_not_found():
    assert type(raised_by(client_error("NoSuchBucket", "PutObject"), missing=None)) is DependencyUnavailable


@pytest.mark.parametrize(
    "error", [client_error("SlowDown"), client_error("InternalError"), EndpointConnectionError(endpoint_url="x")]
)
def test_anything_else_is_transient(error):
    assert type(raised_by(error)) is DependencyUnavailable
