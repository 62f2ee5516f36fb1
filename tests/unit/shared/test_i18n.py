"""The message catalogue and the language resolver (sentrix.i18n): pure, no I/O."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest

from sentrix.i18n import (
    CATALOGUE,
    LANGUAGES,
    Locale,
    UnsupportedLanguage,
    class_word,
    parse_accept_language,
    resolve_language,
    risk_word,
    t,
    verdict_word,
)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_key_with_the_same_fields():
    keys = set(CATALOGUE["es"])
    for language in LANGUAGES:
        assert set(CATALOGUE[language]) == keys, language
        for key in keys:
            assert _fields(CATALOGUE[language][key]) == _fields(CATALOGUE["es"][key]), (language, key)
            assert CATALOGUE[language][key].strip(), (language, key)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", ["en"]),
        ("pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7", ["pt", "en"]),
        ("en;q=0.2, es;q=0.9", ["es", "en"]),
        ("es;q=0, en", ["en"]),  # q=0 means "not this one"
        ("", []),
        ("garbage;;q=x, EN", ["en"]),
    ],
)
def test_accept_language_is_ranked_by_q_values(header, expected):
    assert parse_accept_language(header) == expected


def test_resolution_order_parameter_header_setting_default():
    assert resolve_language() == "es"
    assert resolve_language(setting="pt") == "pt"
    assert resolve_language(accept_language="en", setting="pt") == "en"
    assert resolve_language(accept_language="de", setting="pt") == "pt"  # unsupported: next source
    assert resolve_language("pt-BR", accept_language="en", setting="es") == "pt"
    with pytest.raises(UnsupportedLanguage, match=r"^unsupported language: 'fr'$"):  # the HTTP layer: 422
        resolve_language("fr")


def test_enum_values_become_words_and_the_unknown_class_has_one_name():
    assert [risk_word(level, "en") for level in ("ALTO", "MEDIO", "BAJO", "MINIMO", None)] == [
        "High", "Medium", "Low", "Minimal", "No level"
    ]  # fmt: skip
    assert verdict_word("validated_negative", "pt") == "Rejeitada por um especialista"
    assert class_word("Charcos", "en") == "Puddles or standing water"  # an alias of the canonical type
    assert {class_word(name, "es") for name in ("Clase_7", "Otro", None, "none")} == {"Otro tipo"}


def test_times_for_people_are_local_with_offset_and_zone():
    moment = datetime(2026, 6, 1, 10, 10, tzinfo=UTC)
    locale = Locale("en", "America/Argentina/Buenos_Aires")
    assert locale.time(moment) == "2026-06-01 07:10 (UTC-03:00)"
    assert locale.time(moment, with_zone=True).endswith("America/Argentina/Buenos_Aires")
    assert Locale("es", "Not/AZone").time(moment) == "2026-06-01 07:10 (UTC-03:00)"  # unknown zone: default
    assert Locale("pt").month_name(3, 2026) == "março 2026"
    assert t("report.rows_value", "pt", analyses=2, detections=5) == "2 análises, 5 detecções"
