"""Responses that are files: media type, attachment filename and the headers stating what is inside."""

from __future__ import annotations

from fastapi import Response

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "geojson": "application/geo+json",
}


def file_response(body: bytes | str, fmt: str, filename: str, headers: dict[str, str] | None = None) -> Response:
    """The body as a download named `filename` (ASCII only: we build every name ourselves)."""
    all_headers = {"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})}
    return Response(content=body, media_type=MEDIA_TYPES[fmt], headers=all_headers)
