"""Handing a generated report over: in the response, or through S3 when it is too big for Lambda.

Lambda returns at most 6 MB and binary bodies travel base64-encoded (a third larger), so a report whose
encoded body exceeds REPORT_INLINE_MAX_BYTES is stored under reports/<user>/ and the caller gets a
short-lived presigned URL instead.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from sentrix.adapters.storage import S3ImageStore
from sentrix.errors import DependencyUnavailable
from sentrix.http.identity import Principal
from sentrix_report.settings import get_report_settings

REPORTS_PREFIX = "reports/"
BINARY_FORMATS = {"pdf"}


@dataclass(frozen=True)
class Stored:
    key: str
    url: str
    expires_in_s: int
    size_bytes: int


def encoded_size(body: bytes, fmt: str) -> int:
    """Bytes of the body as Lambda returns it: base64 for binary formats, as-is for text."""
    return 4 * math.ceil(len(body) / 3) if fmt in BINARY_FORMATS else len(body)


def too_big(body: bytes, fmt: str) -> bool:
    return encoded_size(body, fmt) > get_report_settings().inline_max_bytes


def store_report(
    principal: Principal, body: bytes, filename: str, content_type: str, store: S3ImageStore | None = None
) -> Stored:
    """Put the report under reports/<user>/<id>/ and presign a GET that downloads it as `filename`."""
    settings = get_report_settings()
    store = store or S3ImageStore()
    key = f"{REPORTS_PREFIX}{principal.user_id}/{uuid.uuid4()}/{filename}"
    store.put(key, body, content_type)
    try:
        url = store.presigned_get(
            key,
            settings.download_url_ttl_s,
            response={"ContentDisposition": f'attachment; filename="{filename}"', "ContentType": content_type},
        )
    except (BotoCoreError, ClientError) as exc:
        raise DependencyUnavailable("Report storage unavailable") from exc
    return Stored(key, url, settings.download_url_ttl_s, len(body))


def provenance_headers(meta: dict[str, Any]) -> dict[str, str]:
    """The report's provenance as response headers (ASCII), beside the copy inside the file."""
    span = meta["data_span"]
    return {
        "X-Report-Fingerprint": f"sha256={meta['fingerprint']['value']}",
        "X-Report-Rows": f"analyses={meta['rows']['analyses']}; detections={meta['rows']['detections']}",
        "X-Report-Span": f"{span['from'] or ''}/{span['to'] or ''}",
    }
