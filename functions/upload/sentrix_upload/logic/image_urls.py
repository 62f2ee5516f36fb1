"""Presigned GET URLs for images, reused while at least half their lifetime is left.

Signing is the slowest part of a read, and a URL that stays the same across reads also lets the
browser cache the image. A reused URL is always valid for at least half the configured TTL.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from sentrix.adapters.storage import S3ImageStore
from sentrix.config import get_settings

MAX_ENTRIES = 4096


def sign_with_s3(bucket: str, key: str, ttl_s: int) -> str:
    """The real signer: a presigned GET from S3."""
    return S3ImageStore(bucket).presigned_get(key, ttl_s)


class ImageUrlCache:
    """Signed URLs per (bucket, key), kept until half their lifetime is gone (`clock`: seconds, monotonic)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sign: Callable[[str, str, int], str] = sign_with_s3,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._clock = clock
        self._sign = sign
        self._max_entries = max_entries
        self._cache: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def url(self, bucket: str, key: str | None) -> str | None:
        """A presigned GET for `key` in `bucket` (None for no key)."""
        if not key:
            return None
        now = self._clock()
        with self._lock:
            cached = self._cache.get((bucket, key))
            if cached is not None and cached[0] > now:
                self._cache.move_to_end((bucket, key))
                return cached[1]
        ttl = get_settings().presigned_url_ttl_s
        url = self._sign(bucket, key, ttl)
        with self._lock:
            self._cache[(bucket, key)] = (now + ttl / 2, url)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return url

    def forget(self, bucket: str, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._cache.pop((bucket, key), None)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


# One per execution environment: Lambda reuses it across invocations.
_default = ImageUrlCache()


def image_url(bucket: str, key: str | None) -> str | None:
    """A presigned GET for `key` in `bucket` (None for no key)."""
    return _default.url(bucket, key)


def forget(bucket: str, keys: list[str]) -> None:
    """Drop cached URLs of deleted objects."""
    _default.forget(bucket, keys)


def clear() -> None:
    """Forget every cached URL (tests that change the endpoint or the TTL)."""
    _default.clear()
