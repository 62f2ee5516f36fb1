"""YOLO classes, their breeding-site types, risk levels and persistence (DESIGN §4)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class RiskLevel(StrEnum):
    ALTO = "ALTO"
    MEDIO = "MEDIO"
    BAJO = "BAJO"
    MINIMO = "MINIMO"


class BreedingSiteType(StrEnum):
    BASURA = "Basura"
    CALLES_MAL_HECHAS = "Calles mal hechas"
    CHARCOS_CUMULO_AGUA = "Charcos/Cumulo de agua"
    HUECOS = "Huecos"


class PersistenceType(StrEnum):
    TRANSIENT = "TRANSIENT"
    SHORT_TERM = "SHORT_TERM"
    MEDIUM_TERM = "MEDIUM_TERM"
    LONG_TERM = "LONG_TERM"
    PERMANENT = "PERMANENT"


@dataclass(frozen=True, slots=True)
class ClassInfo:
    class_id: int
    class_name: str
    breeding_site_type: BreedingSiteType | None
    risk_level: RiskLevel
    persistence: PersistenceType


_CLASS_BY_ID: dict[int, BreedingSiteType] = {
    0: BreedingSiteType.BASURA,
    1: BreedingSiteType.CALLES_MAL_HECHAS,
    2: BreedingSiteType.CHARCOS_CUMULO_AGUA,
    3: BreedingSiteType.HUECOS,
}

RISK_BY_TYPE: dict[BreedingSiteType, RiskLevel] = {
    BreedingSiteType.BASURA: RiskLevel.ALTO,
    BreedingSiteType.CALLES_MAL_HECHAS: RiskLevel.MEDIO,
    BreedingSiteType.CHARCOS_CUMULO_AGUA: RiskLevel.ALTO,
    BreedingSiteType.HUECOS: RiskLevel.MEDIO,
}

PERSISTENCE_BY_TYPE: dict[BreedingSiteType, PersistenceType] = {
    BreedingSiteType.BASURA: PersistenceType.SHORT_TERM,
    BreedingSiteType.CALLES_MAL_HECHAS: PersistenceType.LONG_TERM,
    BreedingSiteType.CHARCOS_CUMULO_AGUA: PersistenceType.TRANSIENT,
    BreedingSiteType.HUECOS: PersistenceType.MEDIUM_TERM,
}

UNKNOWN_RISK = RiskLevel.BAJO
UNKNOWN_PERSISTENCE = PersistenceType.MEDIUM_TERM


def _key(name: str) -> str:
    """Fold case, accents and whitespace so "  CÚMULO  de agua" and "cumulo de agua" compare equal."""
    decomposed = unicodedata.normalize("NFKD", name)
    without_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(without_marks.casefold().split())


_ALIASES: dict[str, BreedingSiteType] = {
    _key(alias): site_type
    for alias, site_type in [
        *((t.value, t) for t in BreedingSiteType),
        *((t.name, t) for t in BreedingSiteType),  # the original backend stored enum names by mistake
        ("Charcos/Cumulos de agua", BreedingSiteType.CHARCOS_CUMULO_AGUA),
        ("Charcos", BreedingSiteType.CHARCOS_CUMULO_AGUA),
        ("Cumulo de agua", BreedingSiteType.CHARCOS_CUMULO_AGUA),
        ("Trash", BreedingSiteType.BASURA),
        ("Garbage", BreedingSiteType.BASURA),
        ("Holes", BreedingSiteType.HUECOS),
        ("Bad streets", BreedingSiteType.CALLES_MAL_HECHAS),
        ("Poor roads", BreedingSiteType.CALLES_MAL_HECHAS),
    ]
}

_RISK_ALIASES: dict[str, RiskLevel] = {
    **{level.value.casefold(): level for level in RiskLevel},
    "high": RiskLevel.ALTO,
    "medium": RiskLevel.MEDIO,
    "low": RiskLevel.BAJO,
    "minimal": RiskLevel.MINIMO,
}


def class_info(class_id: int) -> ClassInfo:
    """Name, breeding-site type, risk and persistence of a YOLO class id; unknown ids become `Clase_<id>`."""
    site_type = _CLASS_BY_ID.get(class_id)
    if site_type is None:
        return ClassInfo(class_id, f"Clase_{class_id}", None, UNKNOWN_RISK, UNKNOWN_PERSISTENCE)
    return ClassInfo(class_id, site_type.value, site_type, RISK_BY_TYPE[site_type], PERSISTENCE_BY_TYPE[site_type])


def normalize_class_name(name: str | None) -> BreedingSiteType | None:
    """The breeding-site type a class name (or a known alias) stands for, or None when unknown."""
    if not name:
        return None
    if isinstance(name, BreedingSiteType):
        return name
    return _ALIASES.get(_key(name))


def risk_for_class_name(name: str | None) -> RiskLevel:
    """Risk level of a detection's class name; unknown classes are BAJO."""
    site_type = normalize_class_name(name)
    return RISK_BY_TYPE[site_type] if site_type is not None else UNKNOWN_RISK


def parse_risk_level(value: str | RiskLevel) -> RiskLevel:
    """A RiskLevel from its Spanish value or the English labels YOLO may send (HIGH, MEDIUM, LOW, MINIMAL)."""
    if isinstance(value, RiskLevel):
        return value
    level = _RISK_ALIASES.get(_key(str(value)))
    if level is None:
        raise ValueError(f"unknown risk level: {value!r}")
    return level
