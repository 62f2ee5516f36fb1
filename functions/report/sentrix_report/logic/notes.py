"""What an answer says about its own figures, in the caller's language (the catalogue's `note.*`, `counts.*`)."""

from __future__ import annotations

from typing import Any

from sentrix.i18n import Locale
from sentrix_report.logic.filters import DataFilters

# Every count of an answer says what it counts (docs/report.md, glossary): answer key -> catalogue key.
HEATMAP_COUNTS = {
    "total_locations": "counts.points",
    "total_detections": "counts.drawn_detections",
    "high_risk_detections": "counts.high_risk_detections",
    "high_risk_count": "counts.points_high",
    "medium_risk_count": "counts.points_medium",
    "low_risk_count": "counts.points_low",
    "breeding_type_counts": "counts.points_per_type",
}
MAP_STATS_COUNTS = {
    "total_analyses": "counts.analyses",
    "total_detections": "counts.detections",
    "active_detections": "counts.active_detections",
    "high_risk_detections": "counts.high_risk_detections",
    "risk_distribution": "counts.analyses_by_risk",
    "detection_types": "counts.detections_per_type",
    "validated_positive, validated_negative, awaiting_validation": "counts.by_verdict",
}


def counts_are(keys: dict[str, str], locale: Locale) -> dict[str, str]:
    return {name: locale.t(key) for name, key in keys.items()}


def what_counts(filters: DataFilters, locale: Locale) -> dict[str, Any]:
    """`counted` and `active`: which analyses count, and which detections by validity."""
    return {
        "counted": locale.t("note.counted"),
        "active": locale.t("note.active") if filters.active_only else locale.t("note.all_validity"),
    }
