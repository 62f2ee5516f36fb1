"""How a webhook delivery is signed (docs/alerts.md, "Subscriptions and delivery"): pure functions.

`Sentrix-Signature: t=<unix seconds>,v1=<hex>` where the hex is HMAC-SHA256, keyed with the subscription's
secret (its UTF-8 bytes, `whsec_` prefix included), over `<t>.` followed by the exact body bytes. Receivers
recompute it, compare in constant time, and refuse a `t` too far from their clock (we suggest 5 minutes), so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Sentrix-Signature"
DELIVERY_HEADER = "Sentrix-Delivery"
EVENT_HEADER = "Sentrix-Event"
EVENT = "alert.level_changed"
BULLETIN_EVENT = "bulletin.weekly"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, URL-safe base64, with a recognisable prefix."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"
