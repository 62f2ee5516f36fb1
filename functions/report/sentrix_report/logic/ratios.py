"""Ratios that state their numerator and denominator, so no figure hides which total it divides by."""

from __future__ import annotations

from typing import Any


def ratio(numerator: int | float, denominator: int | float, *, of: str, per: str, percent: bool = False) -> dict:
    """{value, numerator, denominator, of, per}; value is null when the denominator is zero."""
    value = None
    if denominator:
        value = round((100.0 if percent else 1.0) * numerator / denominator, 2 if percent else 4)
    return {"value": value, "numerator": numerator, "denominator": denominator, "of": of, "per": per}


def percent(numerator: int | float, denominator: int | float) -> float | None:
    """numerator / denominator as a percentage with 2 decimals, or None for a zero denominator."""
    return round(100.0 * numerator / denominator, 2) if denominator else None


def change(current: int | float, previous: int | float) -> float | None:
    """Relative change in percent from `previous` to `current`; None when there is nothing to compare with."""
    return round(100.0 * (current - previous) / previous, 2) if previous else None


BASE_BELOW_MINIMUM = "base_below_minimum"


def change_figure(current: int | float, previous: int | float, *, min_base: int) -> dict[str, Any]:
    """{current, previous, difference, change_pct, reason, min_base}: the change with both its terms.

    `change_pct` is null, with `reason` "base_below_minimum", when the earlier period counts fewer than
    `min_base`: +1500 % from 3 says nothing a health authority could act on.
    """
    enough = previous >= min_base and previous > 0
    return {
        "current": current,
        "previous": previous,
        "difference": current - previous,
        "change_pct": change(current, previous) if enough else None,
        "reason": None if enough else BASE_BELOW_MINIMUM,
        "min_base": min_base,
    }


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """Database scalars as JSON-friendly values (Decimal to float)."""
    from decimal import Decimal

    return {k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()}
