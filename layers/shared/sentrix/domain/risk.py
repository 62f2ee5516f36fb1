"""Risk of one analysis from the classes of its detections (DESIGN §4), with recommendations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sentrix.domain.classes import RiskLevel, normalize_class_name, parse_risk_level, risk_for_class_name
from sentrix.errors import ValidationFailed

LANGUAGES = ("es", "en", "pt")


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


_TEXT: dict[str, dict[str, str]] = {
    "es": {
        "alto_intervene": "Intervención inmediata: eliminar los criaderos detectados dentro de las 24 horas.",
        "alto_contact": "Contactar a las autoridades sanitarias locales para informar el foco.",
        "alto_water": "Vaciar, tapar o drenar todo recipiente o superficie con agua estancada.",
        "alto_waste": "Evitar la acumulación de basura y residuos que puedan juntar agua.",
        "alto_diverse": "Varios tipos de criadero en el mismo lugar: planificar una intervención integral.",
        "alto_many_high": "Múltiples focos de alto riesgo: priorizar esta zona en las acciones de control.",
        "medio_monitor": "Vigilar el lugar y volver a revisarlo dentro de una semana.",
        "medio_clean": "Limpiar la zona y retirar objetos que puedan acumular agua.",
        "medio_schedule": "Programar una inspección del área.",
        "medio_rain": "Después de cada lluvia, comprobar que no quede agua acumulada.",
        "medio_diverse": "Hay más de un tipo de criadero: revisar también los alrededores.",
        "medio_many_medium": "Varios desperfectos en la calle: pedir al municipio su reparación.",
        "bajo_maintain": "Hacer mantenimiento periódico del lugar.",
        "bajo_clean": "Mantener la zona limpia y ordenada.",
        "bajo_rain": "Revisar el lugar después de lluvias fuertes.",
        "bajo_repeated": "El mismo tipo de criadero se repite: atender la causa común.",
        "minimo_routine": "Continuar con la vigilancia de rutina.",
        "minimo_prevent": "Mantener las prácticas de prevención actuales.",
        "many": "Muchos puntos en una sola imagen: coordinar un operativo de limpieza en la zona.",
        "localized": "Los puntos son del mismo tipo y están concentrados: tratar ese foco en particular.",
        "several": "Varios puntos detectados: registrar cada uno para su seguimiento.",
    },
    "en": {
        "alto_intervene": "Immediate action: remove the detected breeding sites within 24 hours.",
        "alto_contact": "Contact the local health authorities to report the site.",
        "alto_water": "Empty, cover or drain every container or surface holding standing water.",
        "alto_waste": "Prevent the build-up of trash and waste that can collect water.",
        "alto_diverse": "Several kinds of breeding site in one place: plan a full intervention of the area.",
        "alto_many_high": "Many high-risk sites: make this area a priority for control work.",
        "medio_monitor": "Keep watching the site and check it again within a week.",
        "medio_clean": "Clean the area and remove objects that can hold water.",
        "medio_schedule": "Schedule an inspection of the area.",
        "medio_rain": "After each rain, check that no water is left standing.",
        "medio_diverse": "More than one kind of breeding site: check the surroundings too.",
        "medio_many_medium": "Several street defects: ask the municipality to repair them.",
        "bajo_maintain": "Maintain the site regularly.",
        "bajo_clean": "Keep the area clean and tidy.",
        "bajo_rain": "Check the site after heavy rain.",
        "bajo_repeated": "The same kind of site keeps appearing: address the common cause.",
        "minimo_routine": "Continue routine surveillance.",
        "minimo_prevent": "Keep up the current prevention practices.",
        "many": "Many sites in a single image: coordinate a clean-up operation in the area.",
        "localized": "The sites are of one kind and close together: treat that spot specifically.",
        "several": "Several sites detected: record each one for follow-up.",
    },
    "pt": {
        "alto_intervene": "Intervenção imediata: eliminar os criadouros detectados em até 24 horas.",
        "alto_contact": "Contatar as autoridades de saúde locais para informar o foco.",
        "alto_water": "Esvaziar, tampar ou drenar todo recipiente ou superfície com água parada.",
        "alto_waste": "Evitar o acúmulo de lixo e resíduos que possam juntar água.",
        "alto_diverse": "Vários tipos de criadouro no mesmo local: planejar uma intervenção completa.",
        "alto_many_high": "Múltiplos focos de alto risco: priorizar esta área nas ações de controle.",
        "medio_monitor": "Vigiar o local e revisá-lo novamente dentro de uma semana.",
        "medio_clean": "Limpar a área e retirar objetos que possam acumular água.",
        "medio_schedule": "Agendar uma inspeção da área.",
        "medio_rain": "Depois de cada chuva, verificar se não ficou água acumulada.",
        "medio_diverse": "Mais de um tipo de criadouro: verificar também os arredores.",
        "medio_many_medium": "Vários defeitos na rua: pedir à prefeitura o reparo.",
        "bajo_maintain": "Fazer manutenção periódica do local.",
        "bajo_clean": "Manter a área limpa e organizada.",
        "bajo_rain": "Verificar o local depois de chuvas fortes.",
        "bajo_repeated": "O mesmo tipo de criadouro se repete: tratar a causa comum.",
        "minimo_routine": "Continuar a vigilância de rotina.",
        "minimo_prevent": "Manter as práticas de prevenção atuais.",
        "many": "Muitos pontos em uma única imagem: coordenar um mutirão de limpeza na área.",
        "localized": "Os pontos são do mesmo tipo e estão concentrados: tratar esse foco em particular.",
        "several": "Vários pontos detectados: registrar cada um para acompanhamento.",
    },
}

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
    text = _TEXT[_language(language)]
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
    return tuple(text[key] for key in keys)


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
