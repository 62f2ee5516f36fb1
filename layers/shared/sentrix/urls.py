"""A URL as it may be shown (readiness, logs): scheme, host, port and path only.

Userinfo (`https://user:secret@host`), the query (`?token=…`) and the fragment are where credentials and tokens
travel, so they are never shown, whatever the URL looks like.
"""

from __future__ import annotations

from urllib.parse import urlsplit

UNREADABLE = "(unreadable URL)"


def shown(url: str) -> str:
    """`url` without userinfo, query or fragment; UNREADABLE when it cannot be taken apart."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return UNREADABLE
    if not parts.scheme or not host:
        return UNREADABLE
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme.lower()}://{netloc}{parts.path}"
