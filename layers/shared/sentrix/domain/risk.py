"""Risk of one analysis from the classes of its detections (DESIGN §4), with recommendations (their words
live in the message catalogue, sentrix.i18n, under `rec.*`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sentrix.domain.classes import RiskLevel, normalize_class_name, parse_risk_level, risk_for_class_name
from sentrix.errors import ValidationFailed
from sentrix.i18n import LANGUAGES, t


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    level: RiskLevel
    score: float
    total: int
    high: int
    medium: int
    unique: int
    diversity_ratio: float
    type_distribution: dict[str, int] = field(hash=False)
    recommendations: tuple[str, ...]

    def to_contract(self) -> dict[str, Any]:
        """The `risk_assessment` object of the YOLO response contract (DESIGN §5)."""
        return {
            "level": self.level.value,
            "risk_score": self.score,
            "total_detections": self.total,
            "high_risk_count": self.high,
            "medium_risk_count": self.medium,
            "unique_types": self.unique,
            "diversity_ratio": self.diversity_ratio,
            "type_distribution": dict(self.type_distribution),
            "recommendations": list(self.recommendations),
        }


def _canonical(name: str | None) -> str | None:
    """One spelling per class, so "Charcos" and "Charcos/Cumulo de agua" count as one type."""
    if name is None or not str(name).strip():
        return None
    site_type = normalize_class_name(name)
    return site_type.value if site_type is not None else " ".join(str(name).split())


def _decide(total: int, high: int, medium: int, unique: int) -> tuple[RiskLevel, float]:
    """The first rule of the DESIGN §4 table that matches, with its unclamped score."""
    if unique >= 3 and total >= 4:
        return RiskLevel.ALTO, 0.85 + 0.05 * unique
    if high >= 3 and unique >= 2:
        return RiskLevel.ALTO, 0.90 + 0.02 * high
    if high >= 5:
        return RiskLevel.ALTO, 0.85 + 0.03 * high
    if unique >= 2 and (high >= 1 or medium >= 2):
        return RiskLevel.MEDIO, 0.50 + 0.05 * unique + 0.10 * high
    if high >= 1:
        return RiskLevel.MEDIO, 0.50 + 0.10 * high + 0.05 * medium
    if medium >= 1 or (total >= 3 and unique == 1):
        return RiskLevel.BAJO, 0.25 + 0.02 * total
    return RiskLevel.MINIMO, 0.05 + 0.01 * total


def assess_risk(class_names: Iterable[str | None], language: str = "es") -> RiskAssessment:
    """Score an analysis from its detections' class names; a missing name still counts in `total`."""
    names = list(class_names)
    canonical = [c for c in map(_canonical, names) if c is not None]
    distribution = dict(Counter(canonical))
    total = len(names)
    high = sum(1 for c in canonical if risk_for_class_name(c) is RiskLevel.ALTO)
    medium = sum(1 for c in canonical if risk_for_class_name(c) is RiskLevel.MEDIO)
    unique = len(distribution)
    level, raw_score = _decide(total, high, medium, unique)
    # Rounding removes float noise such as 0.85 + 0.05 * 3 == 1.0000000000000002.
    score = round(min(max(raw_score, 0.0), 1.0), 4)
    return RiskAssessment(
        level=level,
        score=score,
        total=total,
        high=high,
        medium=medium,
        unique=unique,
        diversity_ratio=round(unique / total, 2) if total else 0.0,
        type_distribution=distribution,
        recommendations=recommendations(level, total=total, high=high, medium=medium, unique=unique, language=language),
    )


_BASE: dict[RiskLevel, tuple[str, ...]] = {
    RiskLevel.ALTO: ("alto_intervene", "alto_contact", "alto_water", "alto_waste"),
    RiskLevel.MEDIO: ("medio_monitor", "medio_clean", "medio_schedule", "medio_rain"),
    RiskLevel.BAJO: ("bajo_maintain", "bajo_clean", "bajo_rain"),
    RiskLevel.MINIMO: ("minimo_routine", "minimo_prevent"),
}


def _language(language: str) -> str:
    """ "es", "en" or "pt" from a setting such as "EN" or "pt-BR"; anything else is rejected."""
    primary = str(language).strip().replace("_", "-").split("-")[0].lower()
    if primary not in LANGUAGES:
        raise ValidationFailed(f"unsupported language: {language!r}", details={"supported": list(LANGUAGES)})
    return primary


def recommendations(
    level: RiskLevel | str,
    *,
    total: int,
    high: int,
    medium: int,
    unique: int,
    language: str = "es",
) -> tuple[str, ...]:
    """Practical recommendations for a risk level, extended for diversity and for many detections."""
    level = parse_risk_level(level)
    language = _language(language)
    keys = list(_BASE[level])
    if level is RiskLevel.ALTO:
        if unique >= 3:
            keys.append("alto_diverse")
        elif high > 3:
            keys.append("alto_many_high")
    elif level is RiskLevel.MEDIO:
        if unique >= 2:
            keys.append("medio_diverse")
        elif medium > 2:
            keys.append("medio_many_medium")
    elif level is RiskLevel.BAJO and unique == 1 and total >= 3:
        keys.append("bajo_repeated")
    if total > 10:
        keys.append("many")
    elif total > 5 and unique == 1:
        keys.append("localized")
    elif total > 5:
        keys.append("several")
    return tuple(t(f"rec.{key}", language) for key in keys)


def analysis_recommendations(analysis: Any, language: str = "es") -> tuple[str, ...]:
    """The recommendations for a stored analysis, from its level and stored counts (none without a level)."""
    if not analysis.risk_level:
        return ()
    return recommendations(
        analysis.risk_level,
        total=analysis.total_detections,
        high=analysis.high_risk_count,
        medium=analysis.medium_risk_count,
        unique=analysis.unique_types,
        language=language,
    )
