"""Presigned image URLs are reused while half their lifetime is left, then signed again (docs/upload.md).

The cache gets a hand-moved clock, so time passes without sleeping; signing is the real S3 presign on moto's
server, counted on its way through.
"""

from __future__ import annotations

import boto3
import httpx
import pytest

pytestmark = pytest.mark.integration

# docs/upload.md: PRESIGNED_URL_TTL_S 900, "a URL is reused while half of it is left".
DOCUMENTED_TTL_S = 900
HALF_LIFE_S = DOCUMENTED_TTL_S / 2
KEY = "incoming/someone/some-analysis/foto.jpg"


class Clock:
    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def signed(upload_env):
    """A cache on a hand-moved clock whose signer is the real one, with every signing recorded."""
    from sentrix_upload.logic.image_urls import ImageUrlCache, sign_with_s3

    s3 = boto3.client("s3", endpoint_url=upload_env.endpoint_url)
    s3.put_object(Bucket=upload_env.bucket, Key=KEY, Body=b"the photo", ContentType="image/jpeg")
    calls: list[tuple[str, str, int]] = []

    def sign(bucket: str, key: str, ttl_s: int) -> str:
        calls.append((bucket, key, ttl_s))
        return sign_with_s3(bucket, key, ttl_s)

    clock = Clock()
    return ImageUrlCache(clock=clock, sign=sign), clock, calls, upload_env.bucket


def test_a_url_is_reused_before_half_its_lifetime_and_signed_again_after(signed):
    cache, clock, calls, bucket = signed

    first = cache.url(bucket, KEY)
    assert calls == [(bucket, KEY, DOCUMENTED_TTL_S)]
    assert httpx.get(first).content == b"the photo"  # a real, working presigned GET

    clock.now += HALF_LIFE_S - 1
    assert cache.url(bucket, KEY) == first
    assert len(calls) == 1  # reused: more than half its lifetime was left

    clock.now += 2  # now less than half is left
    again = cache.url(bucket, KEY)
    assert len(calls) == 2
    assert httpx.get(again).content == b"the photo"

    clock.now += HALF_LIFE_S - 1  # the new URL is reused for its own half-life, counted from its signing
    assert cache.url(bucket, KEY) == again
    assert len(calls) == 2


def test_each_object_has_its_own_url_and_a_forgotten_one_is_signed_again(signed):
    cache, _clock, calls, bucket = signed

    assert cache.url(bucket, None) is None
    one = cache.url(bucket, KEY)
    other = cache.url(bucket, "processed/someone/other.jpg")
    assert one != other and len(calls) == 2

    cache.forget(bucket, [KEY])
    cache.url(bucket, KEY)
    assert [key for _bucket, key, _ttl in calls] == [KEY, "processed/someone/other.jpg", KEY]


def test_the_cache_keeps_the_most_recently_used_urls_within_its_size(upload_env):
    from sentrix_upload.logic.image_urls import ImageUrlCache

    calls: list[str] = []
    cache = ImageUrlCache(clock=Clock(), sign=lambda bucket, key, ttl: calls.append(key) or f"url-{key}", max_entries=2)

    cache.url("b", "one")
    cache.url("b", "two")
    cache.url("b", "one")  # used again: now the most recent
    cache.url("b", "three")  # over the size: "two", the least recently used, goes

    cache.url("b", "one")
    cache.url("b", "two")
    assert calls == ["one", "two", "three", "two"]


def test_urls_signed_without_boto3_are_served_by_s3_with_their_lifetime_and_headers(upload_env):
    # Given an object in moto's bucket, and the store signing without boto3 (credentials are in the environment)
    from urllib.parse import parse_qs, urlsplit

    from sentrix.adapters.storage import S3ImageStore

    s3 = boto3.client("s3", endpoint_url=upload_env.endpoint_url)
    s3.put_object(Bucket=upload_env.bucket, Key=KEY, Body=b"the photo", ContentType="image/jpeg")
    store = S3ImageStore(upload_env.bucket)

    # When a plain GET and a download with response headers are presigned
    plain = store.presigned_get(KEY, 120)
    download = store.presigned_get(
        KEY, 3600, response={"ContentDisposition": 'attachment; filename="foto 1.jpg"', "ContentType": "image/png"}
    )

    # Then S3 serves both, the second with the headers it was asked for, each valid for its own lifetime
    assert store._s3 is None  # no client was built to sign them
    got = httpx.get(plain)
    assert got.status_code == 200 and got.content == b"the photo" and got.headers["content-type"] == "image/jpeg"
    got = httpx.get(download)
    assert got.status_code == 200 and got.content == b"the photo"
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"] == 'attachment; filename="foto 1.jpg"'
    assert parse_qs(urlsplit(plain).query)["X-Amz-Expires"] == ["120"]
    assert parse_qs(urlsplit(download).query)["X-Amz-Expires"] == ["3600"]
    assert urlsplit(plain).path == f"/{upload_env.bucket}/{KEY}"
