"""YOLO classes: names, breeding-site types, risk and persistence."""

from __future__ import annotations

import dataclasses

import pytest

from sentrix.domain.classes import (
    BreedingSiteType,
    ClassInfo,
    PersistenceType,
    RiskLevel,
    class_info,
    normalize_class_name,
    parse_risk_level,
    risk_for_class_name,
)


def test_breeding_site_type_values_are_the_runtime_class_names():
    assert [t.value for t in BreedingSiteType] == [
        "Basura",
        "Calles mal hechas",
        "Charcos/Cumulo de agua",
        "Huecos",
    ]


@pytest.mark.parametrize(
    ("class_id", "name", "site_type", "risk", "persistence"),
    [
        (0, "Basura", BreedingSiteType.BASURA, RiskLevel.ALTO, PersistenceType.SHORT_TERM),
        (
            1,
            "Calles mal hechas",
            BreedingSiteType.CALLES_MAL_HECHAS,
            RiskLevel.MEDIO,
            PersistenceType.LONG_TERM,
        ),
        (
            2,
            "Charcos/Cumulo de agua",
            BreedingSiteType.CHARCOS_CUMULO_AGUA,
            RiskLevel.ALTO,
            PersistenceType.TRANSIENT,
        ),
        (3, "Huecos", BreedingSiteType.HUECOS, RiskLevel.MEDIO, PersistenceType.MEDIUM_TERM),
    ],
)
def test_known_class_ids(class_id, name, site_type, risk, persistence):
    assert class_info(class_id) == ClassInfo(class_id, name, site_type, risk, persistence)


@pytest.mark.parametrize("class_id", [4, 7, 99, -1])
def test_unknown_class_id_is_clase_n_bajo_medium_term(class_id):
    info = class_info(class_id)

    assert info.class_id == class_id
    assert info.class_name == f"Clase_{class_id}"
    assert info.breeding_site_type is None
    assert info.risk_level is RiskLevel.BAJO
    assert info.persistence is PersistenceType.MEDIUM_TERM


def test_class_info_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        class_info(0).class_name = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Basura", BreedingSiteType.BASURA),
        ("Calles mal hechas", BreedingSiteType.CALLES_MAL_HECHAS),
        ("Charcos/Cumulo de agua", BreedingSiteType.CHARCOS_CUMULO_AGUA),
        ("Huecos", BreedingSiteType.HUECOS),
        ("Charcos/Cumulos de agua", BreedingSiteType.CHARCOS_CUMULO_AGUA),
        ("Charcos", BreedingSiteType.CHARCOS_CUMULO_AGUA),
        ("Cumulo de agua", BreedingSiteType.CHARCOS_CUMULO_AGUA),
        ("Trash", BreedingSiteType.BASURA),
        ("Garbage", BreedingSiteType.BASURA),
        ("Holes", BreedingSiteType.HUECOS),
        ("Bad streets", BreedingSiteType.CALLES_MAL_HECHAS),
        ("Poor roads", BreedingSiteType.CALLES_MAL_HECHAS),
        ("  basura ", BreedingSiteType.BASURA),
        ("BAD   STREETS", BreedingSiteType.CALLES_MAL_HECHAS),
        ("charcos/cumulo DE agua", BreedingSiteType.CHARCOS_CUMULO_AGUA),
        ("Cúmulo de agua", BreedingSiteType.CHARCOS_CUMULO_AGUA),
        ("\tholes\n", BreedingSiteType.HUECOS),
        ("CHARCOS_CUMULO_AGUA", BreedingSiteType.CHARCOS_CUMULO_AGUA),
    ],
)
def test_normalize_class_name_accepts_names_and_aliases(name, expected):
    assert normalize_class_name(name) is expected


@pytest.mark.parametrize("name", ["Clase_7", "perro", "", "   ", None, "Basura extra"])
def test_normalize_class_name_unknown_is_none(name):
    assert normalize_class_name(name) is None


def test_normalize_class_name_passes_enum_through():
    assert normalize_class_name(BreedingSiteType.HUECOS) is BreedingSiteType.HUECOS


@pytest.mark.parametrize(
    ("name", "risk"),
    [
        ("Basura", RiskLevel.ALTO),
        ("Charcos/Cumulo de agua", RiskLevel.ALTO),
        ("Huecos", RiskLevel.MEDIO),
        ("Calles mal hechas", RiskLevel.MEDIO),
        ("garbage", RiskLevel.ALTO),
        ("Poor roads", RiskLevel.MEDIO),
        ("Clase_5", RiskLevel.BAJO),
        ("", RiskLevel.BAJO),
        (None, RiskLevel.BAJO),
    ],
)
def test_risk_for_class_name(name, risk):
    assert risk_for_class_name(name) is risk


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("ALTO", RiskLevel.ALTO),
        ("medio", RiskLevel.MEDIO),
        ("HIGH", RiskLevel.ALTO),
        ("Medium", RiskLevel.MEDIO),
        ("low", RiskLevel.BAJO),
        ("MINIMAL", RiskLevel.MINIMO),
        ("Mínimo", RiskLevel.MINIMO),
        (RiskLevel.BAJO, RiskLevel.BAJO),
    ],
)
def test_parse_risk_level_accepts_spanish_and_english_labels(value, level):
    assert parse_risk_level(value) is level


@pytest.mark.parametrize("value", ["CRITICAL", "", "ALTOO"])
def test_parse_risk_level_rejects_unknown(value):
    with pytest.raises(ValueError, match="unknown risk level"):
        parse_risk_level(value)
