"""Larval ("Stegomyia") indices from field visits, and the checks a visit's counts must pass (docs/visits.md).

Pure arithmetic, no I/O. Definitions (../shared/reference/public-health.md §4.1; Brazil's LIRAa manual 2013,
Paraguay's SENEPA): H = premises inspected, H⁺ = premises with at least one container holding larvae or pupae,
C = water-holding containers inspected, C⁺ = positive containers, P = pupae counted.

- house index HI = 100·H⁺/H (Brazil's IIP), classified by LIRAa: < 1 % satisfactory, 1–3.9 % alert, ≥ 4 % risk;
- container index CI = 100·C⁺/C;
- Breteau index BI = 100·C⁺/H;
- container-type index ITR_k = 100·C⁺_k/C⁺ (the share of the positive containers that are of class k);
- pupae per premises P/H and pupal index 100·P/H, over the visits that counted pupae only.

Closed and refused premises are counted apart and are never part of H. Every index carries its numerator and
denominator; a zero denominator gives a null value, never 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


class ContainerClass(StrEnum):
    """LIRAa's container groups (Brazil, Ministry of Health; Paraguay's SENEPA uses the same groups)."""

    A1 = "A1"  # water tanks connected to the mains (elevated)
    A2 = "A2"  # water stored at ground level (drums, barrels, cisterns, wells)
    B = "B"  # small movable containers (plant pots and saucers, bottles, drinking troughs)
    C = "C"  # fixed containers (gutters, slabs, drains, unused toilets, pools)
    D1 = "D1"  # tyres and other rolling material
    D2 = "D2"  # solid waste (bottles, cans, plastic, scrap)
    E = "E"  # natural (bromeliads, tree holes, rock holes)


class HouseIndexClass(StrEnum):
    SATISFACTORY = "satisfactory"
    ALERT = "alert"
    RISK = "risk"


# LIRAa's scale of the house index, in percent: [0, 1) satisfactory, [1, 4) alert, [4, 100] risk.
ALERT_FROM_PERCENT = 1
RISK_FROM_PERCENT = 4


def classify_house_index(positive: int, inspected: int) -> HouseIndexClass | None:
    """LIRAa's class of HI = 100·positive/inspected, decided on the exact fraction (integers, no rounding):
    0.996 % is satisfactory even though it prints as 1.00. None when nothing was inspected."""
    if inspected <= 0:
        return None
    if 100 * positive < ALERT_FROM_PERCENT * inspected:
        return HouseIndexClass.SATISFACTORY
    if 100 * positive < RISK_FROM_PERCENT * inspected:
        return HouseIndexClass.ALERT
    return HouseIndexClass.RISK


def ratio(numerator: int, denominator: int, *, scale: int, of: str, per: str) -> dict[str, Any]:
    """{value, numerator, denominator, of, per}: value = scale·numerator/denominator (2 decimals for percents,
    4 for plain ratios), null when the denominator is zero."""
    value = None
    if denominator:
        value = round(scale * numerator / denominator, 2 if scale == 100 else 4)
    return {"value": value, "numerator": numerator, "denominator": denominator, "of": of, "per": per}


# ---------------------------------------------------------------------------------------------------------------
# One visit's counts and their checks


@dataclass(frozen=True)
class VisitCounts:
    """What a field form records for one block or area (the LIRAa field bulletin, summed over its premises)."""

    visited: int
    closed: int
    refused: int
    inspected: int
    positive: int
    containers: Mapping[ContainerClass, tuple[int, int]]  # class -> (inspected, positive)
    pupae: int | None = None


@dataclass(frozen=True)
class Refusal:
    field: str
    reason: str


def inspected_premises(visited: int, closed: int, refused: int) -> int:
    """Premises inspected = visited - closed - refused (may come out negative: `visit_refusals` says so)."""
    return visited - closed - refused


def visit_refusals(counts: VisitCounts, visited_on: date, latest_day: date, earliest_day: date) -> list[Refusal]:
    """Every rule the counts break, each naming the field (dotted, as in the request body); empty when sound.

    Negative numbers and unknown classes are refused earlier, by the request's schema."""
    out: list[Refusal] = []
    if visited_on > latest_day:
        out.append(Refusal("visited_on", "in_future"))
    elif visited_on < earliest_day:
        out.append(Refusal("visited_on", "too_early"))
    if counts.closed + counts.refused > counts.visited:
        out.append(Refusal("premises.visited", "closed_refused_above_visited"))
    elif counts.inspected != inspected_premises(counts.visited, counts.closed, counts.refused):
        out.append(Refusal("premises.inspected", "premises_do_not_add_up"))
    if counts.positive > counts.inspected:
        out.append(Refusal("premises.positive", "positive_above_inspected"))
    total_inspected = total_positive = 0
    for container_class, (inspected, positive) in counts.containers.items():
        if positive > inspected:
            out.append(Refusal(f"containers.{container_class.value}.positive", "positive_above_inspected"))
        total_inspected += inspected
        total_positive += positive
    if total_inspected > 0 and counts.inspected == 0:
        out.append(Refusal("containers", "containers_without_inspected_premises"))
    # A positive premises holds at least one positive container; a positive container lies in a positive premises.
    if counts.positive > total_positive:
        out.append(Refusal("premises.positive", "positive_premises_above_positive_containers"))
    if total_positive > 0 and counts.positive == 0:
        out.append(Refusal("premises.positive", "positive_containers_without_positive_premises"))
    if counts.pupae and total_positive == 0:
        out.append(Refusal("pupae", "pupae_without_positive_containers"))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Totals of a territory over a survey cycle, and their indices


@dataclass
class SurveyTotals:
    """Sums over the visits of one territory (and those below it) in one survey cycle."""

    visits: int = 0
    visited: int = 0
    closed: int = 0
    refused: int = 0
    inspected: int = 0
    positive: int = 0
    containers: dict[ContainerClass, list[int]] = field(
        default_factory=lambda: {k: [0, 0] for k in ContainerClass}
    )  # class -> [inspected, positive]
    pupae: int = 0
    pupae_premises: int = 0  # premises inspected in the visits that counted pupae
    pupae_visits: int = 0

    def add(self, counts: VisitCounts) -> None:
        self.visits += 1
        self.visited += counts.visited
        self.closed += counts.closed
        self.refused += counts.refused
        self.inspected += counts.inspected
        self.positive += counts.positive
        for container_class, (inspected, positive) in counts.containers.items():
            self.containers[container_class][0] += inspected
            self.containers[container_class][1] += positive
        if counts.pupae is not None:
            self.pupae += counts.pupae
            self.pupae_premises += counts.inspected
            self.pupae_visits += 1

    @property
    def containers_inspected(self) -> int:
        return sum(inspected for inspected, _ in self.containers.values())

    @property
    def containers_positive(self) -> int:
        return sum(positive for _, positive in self.containers.values())


def survey_totals(visits: Iterable[VisitCounts]) -> SurveyTotals:
    """The counts of several visits added up."""
    totals = SurveyTotals()
    for counts in visits:
        totals.add(counts)
    return totals


def indices(totals: SurveyTotals) -> dict[str, Any]:
    """HI (with LIRAa's class), CI, BI, ITR per class, pupae per premises and pupal index, each with its terms."""
    h, h_pos = totals.inspected, totals.positive
    c, c_pos = totals.containers_inspected, totals.containers_positive
    house = ratio(h_pos, h, scale=100, of="positive_premises", per="inspected_premises")
    classification = classify_house_index(h_pos, h)
    house["classification"] = classification.value if classification else None
    return {
        "house_index": house,
        "container_index": ratio(c_pos, c, scale=100, of="positive_containers", per="inspected_containers"),
        "breteau_index": ratio(c_pos, h, scale=100, of="positive_containers", per="inspected_premises"),
        "container_type_index": {
            k.value: ratio(
                totals.containers[k][1],
                c_pos,
                scale=100,
                of=f"positive_containers_{k.value}",
                per="positive_containers",
            )
            for k in ContainerClass
        },
        "pupae_per_premises": ratio(
            totals.pupae, totals.pupae_premises, scale=1, of="pupae", per="inspected_premises_counting_pupae"
        ),
        "pupal_index": ratio(
            totals.pupae, totals.pupae_premises, scale=100, of="pupae", per="inspected_premises_counting_pupae"
        ),
    }
