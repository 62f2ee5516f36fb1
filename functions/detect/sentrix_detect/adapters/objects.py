"""The S3 side of the pipeline: read an upload (size-checked before the body), write originals and annotated
images, delete uploads once secured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError

from sentrix.adapters.aws import client
from sentrix.adapters.storage import s3_errors
from sentrix.errors import DependencyUnavailable, InvalidImage

# Objects no analysis owns get this tag; a bucket lifecycle rule on it expires them.
UNMATCHED_TAG = {"Key": "sentrix-unmatched", "Value": "true"}


@dataclass(frozen=True, slots=True)
class FetchedObject:
    data: bytes
    etag: str | None
    version_id: str | None


class ObjectStore(Protocol):
    def fetch(self, bucket: str, key: str, max_bytes: int) -> FetchedObject: ...
    def put_jpeg(self, bucket: str, key: str, body: bytes) -> None: ...
    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None: ...
    def delete(self, bucket: str, key: str) -> None: ...
    def mark_unmatched(self, bucket: str, key: str) -> None: ...


class S3Objects:
    """boto3 implementation; every S3 outage becomes DependencyUnavailable (transient)."""

    def __init__(self, s3: Any | None = None) -> None:
        self._s3 = s3

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = client("s3")
        return self._s3

    def fetch(self, bucket: str, key: str, max_bytes: int) -> FetchedObject:
        """The object's bytes; InvalidImage when it is over `max_bytes` (read no further), NotFound when gone."""
        with s3_errors(missing="The uploaded image is no longer in storage (deleted before processing)."):
            response = self.s3.get_object(Bucket=bucket, Key=key)
        body = response["Body"]
        try:
            # Presigned POST limits are not trusted (moto does not even enforce them): check before reading.
            declared = int(response.get("ContentLength") or 0)
            if declared > max_bytes:
                raise InvalidImage(f"The uploaded file is {declared} bytes, over the limit of {max_bytes} bytes.")
            data = body.read(max_bytes + 1)
        except (BotoCoreError, OSError) as exc:
            raise DependencyUnavailable("Image storage read failed") from exc
        finally:
            body.close()
        if len(data) > max_bytes:
            raise InvalidImage(f"The uploaded file is over the limit of {max_bytes} bytes.")
        etag = str(response.get("ETag") or "").strip('"') or None
        return FetchedObject(data, etag, response.get("VersionId"))

    def put_jpeg(self, bucket: str, key: str, body: bytes) -> None:
        self.put(bucket, key, body, "image/jpeg")

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        with s3_errors():
            self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def delete(self, bucket: str, key: str) -> None:
        with s3_errors():
            self.s3.delete_object(Bucket=bucket, Key=key)

    def mark_unmatched(self, bucket: str, key: str) -> None:
        with s3_errors():
            self.s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": [UNMATCHED_TAG]})
