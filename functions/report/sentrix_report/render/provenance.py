"""Provenance of an aggregate report in words (PDF and CSV): filters, scope, what is counted, times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sentrix.i18n import Locale, messages
from sentrix_report.logic.aggregate_report import reporter_pseudonym


def instant(value: str | datetime | None, locale: Locale) -> str:
    if value is None:
        return "-"
    return locale.time(datetime.fromisoformat(value) if isinstance(value, str) else value)


def _filter_value(key: str, value: Any, locale: Locale) -> str:
    if isinstance(value, bool):
        return locale.t("report.yes" if value else "report.no")
    if key == "user_id":
        return reporter_pseudonym(value) or "-"
    if key == "risk_level":
        return ", ".join(locale.risk(v.strip()) for v in str(value).split(","))
    if key == "verdict" and f"verdicts.{value}" in _words(locale):
        return locale.t(f"verdicts.{value}")
    if key in ("date_from", "date_to", "since"):
        try:
            return instant(str(value), locale)
        except ValueError:
            return str(value)
    return str(value)


def _words(locale: Locale):
    return messages(locale.language)


def filters_text(filters: dict[str, Any], locale: Locale) -> str:
    """The filters as a person reads them: names and values in the report's language."""
    words = _words(locale)
    parts = [
        f"{words.get(f'filter.{k}', k)} = {_filter_value(k, v, locale)}" for k, v in filters.items()
    ]  # fmt: skip
    return "; ".join(parts) or locale.t("report.no_filters")


def scope_text(meta: dict[str, Any], locale: Locale) -> str:
    owner = meta["filters"].get("user_id")
    scope = str(meta["scope"])
    if scope.startswith("user "):
        owner = owner or scope.removeprefix("user ")
    return locale.t("report.scope_user", who=reporter_pseudonym(owner)) if owner else locale.t("report.scope_all")


def active_text(meta: dict[str, Any], locale: Locale) -> str:
    """Which detections count as active, or that expired ones are included."""
    if (meta.get("coverage") or {}).get("validity", "active") == "active":
        return locale.t("report.active_note", as_of=instant(meta["as_of"], locale))
    return locale.t("report.all_note")


def coverage_pairs(meta: dict[str, Any], locale: Locale) -> list[tuple[str, str]]:
    """The verdicts and the upload-time window a report covers (`meta["coverage"]`), as label/value pairs."""
    coverage = meta.get("coverage")
    if not coverage:
        return []
    words = _words(locale)
    verdict = str(coverage.get("verdict") or "")
    name = locale.t(f"verdicts.{verdict}") if f"verdicts.{verdict}" in words else verdict
    statuses = ", ".join(locale.verdict(s) for s in coverage.get("validation_statuses") or [])
    opened = locale.t("report.open_end")
    start = instant(coverage["created_from"], locale) if coverage.get("created_from") else opened
    end = instant(coverage["created_before"], locale) if coverage.get("created_before") else opened
    return [
        (locale.t("report.verdicts_counted"), f"{name} ({statuses})" if statuses else name),
        (locale.t("report.upload_window"), f"{start} – {end}"),
    ]
