"""One message catalogue (es, en, pt) for every human-readable string the API and the reports emit.

`t(key, language, **kw)` is the one way to turn a key into words. Enum values (risk levels, verdicts,
statuses, class names) stay as they are in JSON; their words come from `risk_word`, `verdict_word`, … .
Which language: `resolve_language` (an explicit `language` parameter, then `Accept-Language`, then the
user's setting, then Spanish). Times shown to people: `Locale.time`, in the user's zone with the zone named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sentrix.domain.classes import normalize_class_name
from sentrix.i18n import messages_en, messages_es, messages_pt

LANGUAGES = ("es", "en", "pt")
DEFAULT_LANGUAGE = "es"
# The default of the user settings document (functions/auth/sentrix_auth/logic/settings.py).
DEFAULT_TIMEZONE = "America/Argentina/Buenos_Aires"

CATALOGUE: Mapping[str, Mapping[str, str]] = {
    "es": messages_es.MESSAGES,
    "en": messages_en.MESSAGES,
    "pt": messages_pt.MESSAGES,
}


def normalize(language: str | None) -> str | None:
    """ "es", "en" or "pt" from a tag such as "EN", "pt-BR" or "es_AR"; None when unsupported or empty."""
    if not language:
        return None
    primary = str(language).strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def t(key: str, language: str | None = None, /, **values: object) -> str:
    """The message `key` in `language` (Spanish when unsupported), with `{name}` fields filled from `values`."""
    text = CATALOGUE[normalize(language) or DEFAULT_LANGUAGE][key]
    return text.format(**values) if values else text


def messages(language: str | None) -> Mapping[str, str]:
    """Every message of one language (for tests and for renderers that look many keys up)."""
    return CATALOGUE[normalize(language) or DEFAULT_LANGUAGE]


def parse_accept_language(header: str | None) -> list[str]:
    """Our languages in the order an `Accept-Language` header prefers them (q-values; q=0 excluded)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        language = normalize(tag)
        if language and quality > 0:
            ranked.append((-quality, position, language))
    seen: list[str] = []
    for _, _, language in sorted(ranked):
        if language not in seen:
            seen.append(language)
    return seen


class UnsupportedLanguage(ValueError):
    """An explicit `language` naming a language we do not have (the HTTP layer answers 422: sentrix.http.locale)."""

    def __init__(self, value: str) -> None:
        super().__init__(f"unsupported language: {value!r}")
        self.value = value


def requested_language(value: str | None) -> str | None:
    """An explicit `language` parameter: None when absent, `UnsupportedLanguage` when it names a language we do
    not have."""
    if value is None or not value.strip():
        return None
    language = normalize(value)
    if language is None:
        raise UnsupportedLanguage(value)
    return language


def resolve_language(
    requested: str | None = None, accept_language: str | None = None, setting: str | None = None
) -> str:
    """The answer's language: `?language=`, else the best of `Accept-Language`, else the setting, else es."""
    explicit = requested_language(requested)
    if explicit:
        return explicit
    preferred = parse_accept_language(accept_language)
    if preferred:
        return preferred[0]
    return normalize(setting) or DEFAULT_LANGUAGE


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone `name`, or the default one when it is missing or unknown."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


@dataclass(frozen=True)
class Locale:
    """How to speak to one caller: a language and a time zone."""

    language: str = DEFAULT_LANGUAGE
    timezone: str = DEFAULT_TIMEZONE

    def t(self, key: str, /, **values: object) -> str:
        return t(key, self.language, **values)

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def time(self, moment: datetime | None, *, with_zone: bool = False, offset: bool = True) -> str:
        """A timestamp as printed for a person: local, to the minute, with the UTC offset (and zone name);
        `offset=False` for tables whose heading names the zone."""
        if moment is None:
            return "-"
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(self.tz)
        if not offset:
            return local.strftime("%Y-%m-%d %H:%M")
        utc_offset = local.strftime("%z")
        text = local.strftime("%Y-%m-%d %H:%M") + f" (UTC{utc_offset[:3]}:{utc_offset[3:]})"
        return f"{text} {self.timezone}" if with_zone else text

    def zone_name(self) -> str:
        return self.tz.key

    def day_name(self, day: date) -> str:
        return self.t(f"day.{day.isoweekday()}")

    def month_name(self, month: int, year: int | None = None) -> str:
        name = self.t(f"month.{month}")
        return f"{name} {year}" if year else name

    def risk(self, level: object) -> str:
        return risk_word(level, self.language)

    def verdict(self, status: object) -> str:
        return verdict_word(status, self.language)

    def site_type(self, name: object) -> str:
        return class_word(name, self.language)


def _value(enum_or_text: object) -> str | None:
    value = getattr(enum_or_text, "value", enum_or_text)
    return None if value is None else str(value)


def risk_word(level: object, language: str | None = None) -> str:
    """ "Alto", "High", … for a risk level value; the 'no level' word for None."""
    value = _value(level)
    key = f"risk.{value}"
    return t(key, language) if key in CATALOGUE["es"] else t("risk.none", language)


def verdict_word(status: object, language: str | None = None) -> str:
    """Words for a detection's validation_status (never the raw enum value)."""
    key = f"verdict.{_value(status)}"
    return t(key, language) if key in CATALOGUE["es"] else t("verdict.pending", language)


def class_word(name: object, language: str | None = None) -> str:
    """The breeding-site type's name in `language`; every class without a known type is one 'other' name."""
    site_type = normalize_class_name(_value(name))
    return t(f"class.{site_type.value}" if site_type else "class.unknown", language)


def status_word(status: object, language: str | None = None) -> str:
    """An analysis status in words of the language (the raw value if the catalogue has none)."""
    key = f"status.{_value(status)}"
    return t(key, language) if key in CATALOGUE["es"] else str(_value(status))


def source_word(source: object, language: str | None = None) -> str:
    """A location source in words of the language (the words for none if unknown)."""
    key = f"source.{_value(source)}"
    return t(key, language) if key in CATALOGUE["es"] else t("source.NONE", language)
