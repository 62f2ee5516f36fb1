"""Image storage on S3: the port the functions use, and its boto3 implementation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from sentrix.adapters import sigv4
from sentrix.adapters.aws import client
from sentrix.config import get_settings
from sentrix.errors import DependencyUnavailable, NotFound, StorageAccessDenied

# HeadObject has no body, so its errors carry only the status as the code.
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket"})
# A refusal: a policy, a key or a bucket policy says no, or a missing object was read without s3:ListBucket.
DENIED_CODES = frozenset({"AccessDenied", "403", "Forbidden"})


@contextmanager
def s3_errors(missing: str | None = None) -> Iterator[None]:
    """Map boto errors once: a missing object → NotFound(`missing`) when given, a refusal → StorageAccessDenied
    (not transient), anything else → DependencyUnavailable (transient)."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if missing is not None and code in MISSING_CODES:
            raise NotFound(missing) from exc
        if code in DENIED_CODES:
            raise StorageAccessDenied(
                "Image storage refused access (403): the object is gone or this function may not use it"
            ) from exc
        raise DependencyUnavailable("Image storage unavailable") from exc
    except BotoCoreError as exc:
        raise DependencyUnavailable("Image storage unavailable") from exc


def _kebab(name: str) -> str:
    """`ContentDisposition` → `content-disposition` (S3's response-* query parameter names)."""
    return "".join(f"-{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str
    content_type: str | None
    version_id: str | None = None


class ImageStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> StoredObject: ...
    def get(self, key: str) -> bytes: ...
    def head(self, key: str) -> StoredObject: ...
    def delete(self, keys: list[str]) -> list[str]: ...
    def presigned_get(self, key: str, ttl_s: int | None = None, response: dict[str, str] | None = None) -> str: ...
    def ping(self) -> None: ...


class S3ImageStore:
    """The real store: one private bucket; reads are handed out as short-lived presigned GET URLs."""

    def __init__(self, bucket: str | None = None, s3: Any | None = None) -> None:
        self.bucket = bucket or get_settings().images_bucket
        self._s3 = s3
        self._given_client = s3 is not None  # a caller's own client signs its own URLs

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3")
        return self._s3

    def put(self, key: str, body: bytes, content_type: str) -> StoredObject:
        with s3_errors():
            response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        return StoredObject(key, len(body), response["ETag"].strip('"'), content_type, response.get("VersionId"))

    def get(self, key: str) -> bytes:
        with s3_errors(missing=f"Object {key} not found"):
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def head(self, key: str) -> StoredObject:
        with s3_errors(missing=f"Object {key} not found"):
            response = self.s3.head_object(Bucket=self.bucket, Key=key)
        return StoredObject(
            key,
            response["ContentLength"],
            response["ETag"].strip('"'),
            response.get("ContentType"),
            response.get("VersionId"),
        )

    def delete(self, keys: list[str]) -> list[str]:
        """Delete `keys` (at most 1000); returns the keys S3 refused one by one (DeleteObjects answers 200 and
        lists them under Errors: access denied, a slowdown, ...)."""
        if not keys:
            return []
        with s3_errors():
            response = self.s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
            )
        # (Subscripts, not .get: the IAM check's call graph would read `.get` as this class' GetObject.)
        refused = response["Errors"] if "Errors" in response else []  # noqa: SIM401 - see above
        return [str(error["Key"]) for error in refused]

    def presigned_get(self, key: str, ttl_s: int | None = None, response: dict[str, str] | None = None) -> str:
        """A presigned GET valid `ttl_s`; `response`: S3's response-* overrides (e.g. `{"ContentType": ...,
        "ContentDisposition": ...}`). Signed without boto3 when botocore's URL is certain (sentrix.adapters.sigv4):
        a read then neither imports boto3 nor builds a client."""
        settings = get_settings()
        ttl = ttl_s or settings.presigned_url_ttl_s
        response = response or {}
        if not self._given_client:
            url = sigv4.presigned_get(
                self.bucket,
                key,
                ttl,
                region=settings.aws_region,
                endpoint_url=settings.aws_endpoint_url or None,
                response_params={f"response-{_kebab(name)}": value for name, value in response.items()},
            )
            if url is not None:
                return url
        params = {"Bucket": self.bucket, "Key": key, **{f"Response{name}": value for name, value in response.items()}}
        return self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl)

    def ping(self) -> None:
        with s3_errors():
            self.s3.head_bucket(Bucket=self.bucket)
