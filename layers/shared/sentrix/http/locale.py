"""The caller's locale (language and time zone) for a request: one resolver every HTTP function uses.

Order for the language (docs/report.md, "Languages and time zones"): the `language` query parameter, else
the best supported language of `Accept-Language`, else the user's `language` setting, else Spanish. The
time zone is the user's `timezone` setting (default America/Argentina/Buenos_Aires). The chosen locale is
kept on the request so the error envelope answers in the same language.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Header, Query, Request
from sqlalchemy import text

from sentrix.errors import ValidationFailed
from sentrix.http.identity import Principal
from sentrix.i18n import (
    DEFAULT_TIMEZONE,
    LANGUAGES,
    Locale,
    UnsupportedLanguage,
    requested_language,
    resolve_language,
    zone,
)

LANGUAGE_HELP = (
    "es, en or pt for the words of the answer (default: Accept-Language, then the caller's language setting, then es)"
)
STATE_KEY = "sentrix_locale"


def user_preferences(user_id: uuid.UUID | None) -> tuple[str | None, str | None]:
    """(language, timezone) the user saved in their settings; (None, None) when anonymous or unset."""
    if user_id is None:
        return None, None
    from sentrix.db.engine import session_scope

    with session_scope() as session:
        row = (
            session.execute(
                text(
                    "SELECT settings ->> 'language' AS language, settings ->> 'timezone' AS timezone "
                    "FROM user_settings WHERE user_id = CAST(:id AS uuid)"
                ),
                {"id": str(user_id)},
            )
            .mappings()
            .first()
        )
    return (row["language"], row["timezone"]) if row else (None, None)


def _unsupported(exc: UnsupportedLanguage) -> ValidationFailed:
    return ValidationFailed(str(exc), details={"supported": list(LANGUAGES)})


def explicit_language(value: str | None) -> str | None:
    """A `language` the caller named (a query parameter, a body field): None when absent, 422 when unsupported."""
    try:
        return requested_language(value)
    except UnsupportedLanguage as exc:
        raise _unsupported(exc) from None


def resolve_locale(
    principal: Principal | None, *, language: str | None = None, accept_language: str | None = None
) -> Locale:
    """The locale of a caller; reads the settings row only when it can matter (or for the time zone)."""
    stored_language, stored_zone = user_preferences(principal.user_id if principal else None)
    try:
        chosen = resolve_language(language, accept_language, stored_language)
    except UnsupportedLanguage as exc:
        raise _unsupported(exc) from None
    return Locale(language=chosen, timezone=zone(stored_zone or DEFAULT_TIMEZONE).key)


def remember(request: Request, locale: Locale) -> Locale:
    """Keep the resolved locale on the request (error answers use its language); returns it."""
    request.scope.setdefault("state", {})[STATE_KEY] = locale
    return locale


def locale_dependency(principal_dependency: Callable[..., Principal | None]) -> Callable[..., Locale]:
    """A FastAPI dependency giving the Locale of the caller that `principal_dependency` identifies.

    `language` is a declared query parameter of every route using it (so strict-parameter checks know it);
    `lang` is its older spelling, still accepted.
    """

    def caller_locale(
        request: Request,
        language: str | None = Query(None, description=LANGUAGE_HELP, max_length=16),
        lang: str | None = Query(None, description="older spelling of `language`", max_length=16, deprecated=True),
        accept_language: str | None = Header(None, include_in_schema=False),
        principal: Any = Depends(principal_dependency),
    ) -> Locale:
        locale = resolve_locale(principal, language=language or lang, accept_language=accept_language)
        return remember(request, locale)

    return caller_locale


def request_language(request: Request) -> str | None:
    """The language an error answer should use: the resolved locale if a route resolved one, else what the
    request states (`language`/`lang` query, `Accept-Language`); None when it states nothing."""
    locale = request.scope.get("state", {}).get(STATE_KEY)
    if isinstance(locale, Locale):
        return locale.language
    from sentrix.i18n import normalize, parse_accept_language

    for name in ("language", "lang"):
        stated = normalize(request.query_params.get(name))
        if stated:
            return stated
    preferred = parse_accept_language(request.headers.get("accept-language"))
    return preferred[0] if preferred else None
