"""GET /exports/detections.geojson and .csv: the caller's visible detections, page by page."""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sentrix.db.engine import session_scope
from sentrix.domain.moments import check_in_range
from sentrix.errors import ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import Locale
from sentrix_report.dal import exports
from sentrix_report.dal.sql import merge
from sentrix_report.logic.filters import DataFilters, Where
from sentrix_report.logic.notes import what_counts
from sentrix_report.logic.quotas import Costly, hold_place
from sentrix_report.logic.scope import Scope, apply_filters, counted_detections
from sentrix_report.settings import get_report_settings

GEOJSON_MEDIA_TYPE = "application/geo+json"


@dataclass(frozen=True)
class Page:
    body: str
    returned: int
    matched: int
    next_cursor: str | None
    as_of: datetime


def encode_cursor(created_at: datetime, detection_id: uuid.UUID | str) -> str:
    """Opaque keyset cursor: the (created_at, id) of the last row of a page."""
    raw = json.dumps([created_at.isoformat(), str(detection_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The keyset position in a cursor; a tampered or malformed cursor is a 422."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, detection_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        # A forged cursor may carry any instant: the shared bounds refuse one that would overflow (a 500 before).
        return check_in_range(datetime.fromisoformat(created_at)), uuid.UUID(detection_id)
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise ValidationFailed("invalid cursor", details={"cursor": cursor[:200]}, key="err.cursor") from exc


def _where(principal: Principal, filters: DataFilters, *, located_only: bool) -> Where:
    where = apply_filters(Scope.of(principal, filters.user_id, filters.territory).analyses("a"), filters)
    if located_only:
        where.add("d.location IS NOT NULL")
    return where


def _limit(limit: int | None) -> int:
    settings = get_report_settings()
    return min(limit or settings.export_default_limit, settings.export_max_limit)


def _counted(where: Where, filters: DataFilters, as_of: datetime) -> Where:
    """Only the detections that count: the verdict filter, and active ones unless include_expired."""
    return merge(where, counted_detections(filters, as_of))


def _fetch(
    principal: Principal,
    filters: DataFilters,
    cursor: str | None,
    limit: int | None,
    fetch: Callable[..., list[Any]],
    *,
    located: bool,
) -> tuple[list[Any], int, str | None, datetime]:
    """One page of export rows after `cursor` (keyset on created_at, id), the number matching over all pages,
    the cursor of the next page (None on the last) and the instant "active" was judged at."""
    size, after = _limit(limit), decode_cursor(cursor)
    as_of = datetime.now(UTC)
    where = _counted(_where(principal, filters, located_only=located), filters, as_of)
    with session_scope() as session:
        hold_place(session, principal, Costly.EXPORTS)  # one export page of a user at a time (docs/report.md)
        found = fetch(session, where=where, after=after, limit=size + 1, as_of=as_of)
        matched = exports.count(session, where=where)
    page = found[:size]
    next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["id"]) if len(found) > size else None
    return page, matched, next_cursor, as_of


def geojson_page(
    principal: Principal, filters: DataFilters, *, cursor: str | None, limit: int | None, locale: Locale | None = None
) -> Page:
    """An RFC 7946 FeatureCollection of located detections, with paging members beside `features`."""
    page, matched, next_cursor, as_of = _fetch(principal, filters, cursor, limit, exports.features, located=True)
    members = {
        "numberMatched": matched,
        "numberReturned": len(page),
        "next_cursor": next_cursor,
        **what_counts(filters, locale or Locale()),
        "coverage": filters.coverage(as_of),
        "filters": filters.echo(),
        "as_of": as_of.isoformat(),
    }
    # Features arrive as JSON text from PostgreSQL; splicing them avoids parsing and re-serialising.
    head = '{"type":"FeatureCollection","features":['
    tail = "]," + json.dumps(members)[1:]
    return Page(head + ",".join(row["feature"] for row in page) + tail, len(page), matched, next_cursor, as_of)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def csv_page(principal: Principal, filters: DataFilters, *, cursor: str | None, limit: int | None) -> Page:
    """CSV (header + one row per detection) of the caller's visible detections; paging in headers."""
    page, matched, next_cursor, as_of = _fetch(principal, filters, cursor, limit, exports.csv_rows, located=False)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(exports.CSV_COLUMNS)
    for row in page:
        writer.writerow([_cell(row[column]) for column in exports.CSV_COLUMNS])
    return Page(out.getvalue(), len(page), matched, next_cursor, as_of)
