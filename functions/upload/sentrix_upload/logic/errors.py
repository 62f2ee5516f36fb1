"""Errors of the upload function that the shared family does not name."""

from __future__ import annotations

from sentrix.errors import SentrixError


class UnsupportedMediaType(SentrixError):
    """The declared type is not one we accept, or the request is not the encoding the route reads."""

    status = 415
    code = "unsupported_media_type"
