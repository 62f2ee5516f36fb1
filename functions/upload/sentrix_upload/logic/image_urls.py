"""Presigned GET URLs for images, reused while at least half their lifetime is left.

Signing is the slowest part of a read, and a URL that stays the same across reads also lets the
browser cache the image. A reused URL is always valid for at least half the configured TTL.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from sentrix.adapters.storage import S3ImageStore
from sentrix.config import get_settings

MAX_ENTRIES = 4096

_cache: OrderedDict[tuple[str, str], tuple[float, str]] = OrderedDict()
_lock = threading.Lock()


def image_url(bucket: str, key: str | None) -> str | None:
    """A presigned GET for `key` in `bucket` (None for no key)."""
    if not key:
        return None
    now = time.monotonic()
    with _lock:
        cached = _cache.get((bucket, key))
        if cached is not None and cached[0] > now:
            _cache.move_to_end((bucket, key))
            return cached[1]
    ttl = get_settings().presigned_url_ttl_s
    url = S3ImageStore(bucket).presigned_get(key, ttl)
    with _lock:
        _cache[(bucket, key)] = (now + ttl / 2, url)
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return url


def forget(bucket: str, keys: list[str]) -> None:
    """Drop cached URLs of deleted objects."""
    with _lock:
        for key in keys:
            _cache.pop((bucket, key), None)


def clear() -> None:
    """Forget every cached URL (tests that change the endpoint or the TTL)."""
    with _lock:
        _cache.clear()
