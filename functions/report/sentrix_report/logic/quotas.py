"""Per-user limits of the costly routes (hotspots and Gi*, generated reports, exports), kept in PostgreSQL."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.orm import Session

from sentrix.db.engine import session_scope
from sentrix.http.identity import Principal
from sentrix.ratelimit import Limit, hit, hold_slot
from sentrix_report.settings import get_report_settings


class Costly(StrEnum):
    """A family of costly requests, each with its own counter per user (`<family>_per_window`)."""

    HOTSPOTS = "hotspots"
    REPORTS = "reports"
    EXPORTS = "exports"


def spend(principal: Principal, kind: Costly) -> None:
    """Count one costly request of the caller; RateLimited (429 with Retry-After) once the window is full.

    Called once the request is valid (a malformed one is a 422 and spends nothing); the count is committed
    before the work starts, so a request that then fails (a timeout, a cost refusal) still counts: what is
    limited is what a caller may ask the database to try.
    """
    settings = get_report_settings()
    limit = Limit(getattr(settings, f"{kind.value}_per_window"), settings.costly_window_s)
    with session_scope() as session:
        hit(
            session,
            f"report:{kind.value}:{principal.user_id}",
            limit,
            message=f"At most {limit.max_hits} {kind.value} requests per {limit.window_s} s; try again later",
            key="err.costly_limit",
            most=limit.max_hits,
            kind=kind.value,
            window=limit.window_s,
        )


def hold_place(session: Session, principal: Principal, kind: Costly) -> None:
    """Hold one of the caller's in-flight places for `kind` until `session`'s transaction ends (the one running
    the costly query); RateLimited (429, Retry-After) while their others run."""
    most = get_report_settings().costly_in_flight_per_user
    hold_slot(
        session,
        f"report:{kind.value}:running:{principal.user_id}",
        most,
        message=f"At most {most} {kind.value} request(s) of one user at a time; retry when the other ends",
        key="err.costly_in_flight",
        most=most,
        kind=kind.value,
    )
