"""Class table and analysis risk rules, re-implemented inside the YOLO stand-in (a TEST DOUBLE).

Deliberately not imported from the project's `sentrix` package: the stand-in imitates an external
service, so a bug in our own risk code must not be mirrored in what the "service" answers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

# class_id -> (name, risk level, overlay colour as RGB). The reference lists BGR for OpenCV:
# (0,140,255) orange, (0,0,255) red, (255,100,0) blue, (0,200,0) green, (200,200,200) grey.
CLASSES: dict[int, tuple[str, str, tuple[int, int, int]]] = {
    0: ("Basura", "ALTO", (255, 140, 0)),
    1: ("Calles mal hechas", "MEDIO", (255, 0, 0)),
    2: ("Charcos/Cumulo de agua", "ALTO", (0, 100, 255)),
    3: ("Huecos", "MEDIO", (0, 200, 0)),
}
UNKNOWN_COLOUR: tuple[int, int, int] = (200, 200, 200)
HIGH_RISK_TYPES = frozenset({"Basura", "Charcos/Cumulo de agua"})
MEDIUM_RISK_TYPES = frozenset({"Huecos", "Calles mal hechas"})


def class_info(class_id: int) -> tuple[str, str, tuple[int, int, int]]:
    """Name, risk level and RGB overlay colour of a class id (`Clase_<id>`/BAJO/grey if unknown)."""
    return CLASSES.get(class_id, (f"Clase_{class_id}", "BAJO", UNKNOWN_COLOUR))


_BASE_RECOMMENDATIONS: dict[str, list[str]] = {
    "ALTO": [
        "[ALERT] Intervención inmediata requerida",
        "[WATER] Eliminar agua estancada inmediatamente",
        "[CONTACT] Contactar autoridades sanitarias locales",
        "[STOP] Evitar acumulación de desechos",
    ],
    "MEDIO": [
        "[MONITOR] Monitorear la zona regularmente",
        "[CLEAN] Limpiar y retirar recipientes que acumulen agua",
        "[SCHEDULE] Programar una nueva inspección en 7 días",
        "[TIP] Tapar o dar vuelta los recipientes expuestos a la lluvia",
    ],
    "BAJO": [
        "[MAINTAIN] Mantener las medidas preventivas",
        "[CLEAN] Realizar limpieza periódica del área",
        "[WATCH] Vigilar cambios después de las lluvias",
        "[INFO] Informar a los vecinos sobre la prevención del dengue",
    ],
    "MINIMO": [
        "✓ Continuar vigilancia rutinaria",
        "[PROCESSING] Mantener prácticas preventivas actuales",
    ],
}


def _decide(total: int, high: int, medium: int, unique: int) -> tuple[str, float]:
    # DESIGN.md §4, first matching rule wins.
    if unique >= 3 and total >= 4:
        return "ALTO", 0.85 + 0.05 * unique
    if high >= 3 and unique >= 2:
        return "ALTO", 0.90 + 0.02 * high
    if high >= 5:
        return "ALTO", 0.85 + 0.03 * high
    if unique >= 2 and (high >= 1 or medium >= 2):
        return "MEDIO", 0.50 + 0.05 * unique + 0.10 * high
    if high >= 1:
        return "MEDIO", 0.50 + 0.10 * high + 0.05 * medium
    if medium >= 1 or (total >= 3 and unique == 1):
        return "BAJO", 0.25 + 0.02 * total
    return "MINIMO", 0.05 + 0.01 * total


def _recommendations(level: str, total: int, high: int, medium: int, unique: int) -> list[str]:
    recs = list(_BASE_RECOMMENDATIONS[level])
    if level == "ALTO":
        if unique >= 3:
            recs.append("[CRITICAL] Múltiples tipos de criaderos detectados: intervención integral")
        elif high > 3:
            recs.append("[WARN] Múltiples focos de alto riesgo en la misma zona")
    elif level == "MEDIO":
        if unique >= 2:
            recs.append("[DIVERSITY] Se detectaron distintos tipos de criaderos: revisar toda la zona")
        elif medium > 2:
            recs.append("[REPORT] Considerar evaluación municipal de la infraestructura")
    elif level == "BAJO" and unique == 1 and total >= 3:
        recs.append("[PATTERN] Mismo tipo repetido: buscar la causa común")
    if total > 10:
        recs.append("[METRICS] Gran cantidad de detecciones: priorizar por riesgo")
    elif total > 5 and unique == 1:
        recs.append("[LOCALIZED] Problema localizado de un solo tipo")
    elif total > 5:
        recs.append("[REPORT] Múltiples puntos de riesgo: reportar a la autoridad local")
    return recs


def assess_risk(detections: list[dict[str, Any]]) -> dict[str, Any]:
    """The `risk_assessment` object of a /detect answer for these detections."""
    total = len(detections)
    names = [d.get("class") or d.get("class_name") or d.get("breeding_site_type") for d in detections]
    typed = [n for n in names if n]
    distribution = dict(Counter(typed))
    high = sum(1 for n in typed if n in HIGH_RISK_TYPES)
    medium = sum(1 for n in typed if n in MEDIUM_RISK_TYPES)
    unique = len(distribution)
    level, score = _decide(total, high, medium, unique)
    return {
        "level": level,
        "risk_score": round(min(max(score, 0.0), 1.0), 2),
        "total_detections": total,
        "high_risk_count": high,
        "medium_risk_count": medium,
        "unique_types": unique,
        "diversity_ratio": round(unique / total, 2) if total else 0.0,
        "type_distribution": distribution,
        "recommendations": _recommendations(level, total, high, medium, unique),
        "overall_risk": level,
        "high_risk_sites": high,
        "medium_risk_sites": medium,
    }
