"""Larval indices and the checks of a visit's counts (sentrix.domain.larval_indices), and survey cycles.

Every expected value is worked out by hand in the test from the counts given; closed and refused premises never
enter H; a zero denominator gives null; LIRAa's classes meet at 1 % and 4 %, decided on the exact fraction."""

from __future__ import annotations

from datetime import date

import pytest

from sentrix.domain.larval_indices import (
    ContainerClass,
    HouseIndexClass,
    Refusal,
    VisitCounts,
    classify_house_index,
    indices,
    survey_totals,
    visit_refusals,
)
from sentrix.domain.survey_cycles import Cycle, CycleKind, count, cycles

A1, A2, B, C, D1, D2, E = (ContainerClass(k) for k in ("A1", "A2", "B", "C", "D1", "D2", "E"))
TODAY = date(2026, 12, 3)
EARLIEST = date(2000, 1, 1)


def visit(visited, closed, refused, positive, containers, pupae=None, inspected=None) -> VisitCounts:
    inspected = visited - closed - refused if inspected is None else inspected
    return VisitCounts(visited, closed, refused, inspected, positive, containers, pupae)


def test_indices_of_two_visits_worked_by_hand():
    # Block 1: 30 visited, 4 closed, 2 refused -> 24 inspected, 2 positive; containers B 40 (3+), D1 6 (2+), A2 10 (0)
    # Block 2: 20 visited, 1 closed, 0 refused -> 19 inspected, 1 positive; containers B 15 (1+), D2 5 (0); 7 pupae
    first = visit(30, 4, 2, 2, {B: (40, 3), D1: (6, 2), A2: (10, 0)})
    second = visit(20, 1, 0, 1, {B: (15, 1), D2: (5, 0)}, pupae=7)

    figures = indices(survey_totals([first, second]))

    # H = 24 + 19 = 43 (closed 5 and refused 2 left out); H+ = 3; HI = 100·3/43 = 6.976… -> 6.98, risk (≥ 4)
    assert figures["house_index"] == {
        "value": 6.98,
        "numerator": 3,
        "denominator": 43,
        "of": "positive_premises",
        "per": "inspected_premises",
        "classification": "risk",
    }
    # C = 40 + 6 + 10 + 15 + 5 = 76; C+ = 3 + 2 + 1 = 6; CI = 100·6/76 = 7.894… -> 7.89
    assert (figures["container_index"]["value"], figures["container_index"]["numerator"]) == (7.89, 6)
    assert figures["container_index"]["denominator"] == 76
    # BI = 100·C+/H = 100·6/43 = 13.953… -> 13.95
    assert (figures["breteau_index"]["value"], figures["breteau_index"]["denominator"]) == (13.95, 43)
    # ITR: B 4 of 6 = 66.67 %, D1 2 of 6 = 33.33 %, every other class 0 of 6 = 0
    itr = figures["container_type_index"]
    assert {k: (v["value"], v["numerator"], v["denominator"]) for k, v in itr.items()} == {
        "A1": (0.0, 0, 6),
        "A2": (0.0, 0, 6),
        "B": (66.67, 4, 6),
        "C": (0.0, 0, 6),
        "D1": (33.33, 2, 6),
        "D2": (0.0, 0, 6),
        "E": (0.0, 0, 6),
    }
    # Pupae only from the visit that counted them: P = 7 over its H = 19 -> 0.3684 per premises, PI = 36.84
    assert (figures["pupae_per_premises"]["value"], figures["pupae_per_premises"]["denominator"]) == (0.3684, 19)
    assert figures["pupal_index"]["value"] == 36.84


def test_closed_and_refused_premises_never_enter_h():
    # 50 visited, 45 closed, 4 refused: 1 inspected, positive -> HI = 100·1/1 = 100, not 100·1/50 = 2
    figures = indices(survey_totals([visit(50, 45, 4, 1, {B: (2, 1)})]))

    assert (figures["house_index"]["value"], figures["house_index"]["denominator"]) == (100.0, 1)
    assert (figures["breteau_index"]["value"], figures["breteau_index"]["denominator"]) == (100.0, 1)


def test_zero_denominators_give_null_not_zero():
    # Every premises closed: nothing inspected, no container, no pupae counted
    figures = indices(survey_totals([visit(12, 10, 2, 0, {})]))

    for name in ("house_index", "container_index", "breteau_index", "pupae_per_premises", "pupal_index"):
        assert figures[name]["value"] is None, name
        assert figures[name]["denominator"] == 0, name
    assert figures["house_index"]["classification"] is None
    assert all(v["value"] is None for v in figures["container_type_index"].values())
    # and with no visit at all
    assert indices(survey_totals([]))["house_index"]["value"] is None


def test_premises_inspected_with_no_positive_give_zero_not_null():
    figures = indices(survey_totals([visit(10, 0, 0, 0, {B: (5, 0)})]))

    assert figures["house_index"]["value"] == 0.0
    assert figures["house_index"]["classification"] == "satisfactory"
    assert figures["container_index"]["value"] == 0.0
    # no positive container: ITR divides by C+ = 0
    assert figures["container_type_index"]["B"]["value"] is None


@pytest.mark.parametrize(
    ("positive", "inspected", "expected"),
    [
        (99, 10_000, HouseIndexClass.SATISFACTORY),  # 0.99 %
        (1, 100, HouseIndexClass.ALERT),  # 1.0 %
        (39, 1_000, HouseIndexClass.ALERT),  # 3.9 %
        (399, 10_000, HouseIndexClass.ALERT),  # 3.99 %
        (4, 100, HouseIndexClass.RISK),  # 4.0 %
        (0, 5, HouseIndexClass.SATISFACTORY),  # 0 %
        (249, 25_000, HouseIndexClass.SATISFACTORY),  # 0.996 %: prints 1.00, still below 1
        (1, 1, HouseIndexClass.RISK),  # 100 %
    ],
)
def test_liraa_classification_boundaries(positive, inspected, expected):
    assert classify_house_index(positive, inspected) is expected


def test_the_classification_is_none_without_inspected_premises():
    assert classify_house_index(0, 0) is None


def test_the_printed_value_and_the_class_of_0_996_percent():
    figures = indices(survey_totals([visit(25_000, 0, 0, 249, {B: (249, 249)})]))

    # 100·249/25000 = 0.996 -> prints 1.0, but LIRAa's class reads the fraction itself: satisfactory
    assert figures["house_index"]["value"] == 1.0
    assert figures["house_index"]["classification"] == "satisfactory"


def refusals(counts: VisitCounts, day: date = TODAY) -> list[Refusal]:
    return visit_refusals(counts, day, TODAY, EARLIEST)


def test_sound_counts_pass():
    assert refusals(visit(30, 4, 2, 2, {B: (40, 3), D1: (6, 2)}, pupae=5)) == []
    assert refusals(visit(0, 0, 0, 0, {})) == []
    # At the edges: every premises closed or refused; all inspected premises and containers positive, H+ = C+;
    # zero pupae counted with no positive container
    assert refusals(visit(10, 6, 4, 0, {})) == []
    assert refusals(visit(2, 0, 0, 2, {B: (1, 1), E: (1, 1)})) == []
    assert refusals(visit(5, 0, 0, 0, {B: (3, 0)}, pupae=0)) == []
    assert refusals(visit(5, 0, 0, 0, {}), EARLIEST) == []


def test_a_visit_that_counted_zero_pupae_is_in_the_pupal_denominator():
    # 12 inspected counting 0 pupae, 8 inspected counting 4, 30 inspected not counting: P = 4 over H_p = 12 + 8 = 20
    totals = survey_totals(
        [visit(12, 0, 0, 0, {}, pupae=0), visit(8, 0, 0, 1, {B: (2, 1)}, pupae=4), visit(30, 0, 0, 0, {})]
    )

    figures = indices(totals)

    assert (figures["pupae_per_premises"]["value"], figures["pupae_per_premises"]["denominator"]) == (0.2, 20)
    assert figures["pupal_index"]["value"] == 20.0
    assert (totals.pupae_visits, totals.visits) == (2, 3)
    # HI over all 50 inspected: 1/50 = 2 %
    assert figures["house_index"]["value"] == 2.0


def test_each_broken_rule_names_its_field():
    assert refusals(visit(10, 0, 0, 3, {B: (4, 5)})) == [Refusal("containers.B.positive", "positive_above_inspected")]
    assert refusals(visit(10, 0, 0, 11, {B: (20, 11)})) == [Refusal("premises.positive", "positive_above_inspected")]
    assert refusals(visit(10, 6, 5, 0, {}, inspected=0)) == [
        Refusal("premises.visited", "closed_refused_above_visited")
    ]
    assert refusals(visit(10, 2, 1, 0, {}, inspected=8)) == [Refusal("premises.inspected", "premises_do_not_add_up")]
    assert refusals(visit(10, 0, 0, 3, {B: (5, 2)})) == [
        Refusal("premises.positive", "positive_premises_above_positive_containers")
    ]
    assert refusals(visit(10, 0, 0, 0, {D1: (5, 2)})) == [
        Refusal("premises.positive", "positive_containers_without_positive_premises")
    ]
    assert refusals(visit(3, 3, 0, 0, {B: (2, 0)})) == [Refusal("containers", "containers_without_inspected_premises")]
    assert refusals(visit(10, 0, 0, 0, {B: (2, 0)}, pupae=4)) == [Refusal("pupae", "pupae_without_positive_containers")]


def test_dates_after_the_latest_day_or_before_2000_are_refused():
    sound = visit(10, 0, 0, 0, {})

    assert refusals(sound, date(2026, 12, 3)) == []
    assert refusals(sound, date(2026, 12, 4)) == [Refusal("visited_on", "in_future")]
    assert refusals(sound, date(1999, 12, 31)) == [Refusal("visited_on", "too_early")]


def test_every_refusal_is_listed():
    found = refusals(visit(10, 0, 0, 12, {A1: (1, 2), E: (1, 3)}), date(2027, 1, 1))

    assert [r.field for r in found] == [
        "visited_on",
        "premises.positive",
        "containers.A1.positive",
        "containers.E.positive",
        "premises.positive",
    ]


def test_survey_cycles_cut_to_the_window():
    # 2026-01-30 (Fri) .. 2026-02-10 (Tue). Epi-weeks: SE04 runs Sun 25 Jan - Sat 31 Jan 2026 (week 1 holds 4 Jan:
    # Sun 4 Jan - Sat 10 Jan), SE05 1-7 Feb, SE06 8-14 Feb
    first, last = date(2026, 1, 30), date(2026, 2, 10)

    assert cycles(first, last, CycleKind.WINDOW) == [Cycle("2026-01-30/2026-02-10", first, last)]
    assert cycles(first, last, CycleKind.EPIWEEK) == [
        Cycle("2026-SE04", first, date(2026, 1, 31)),
        Cycle("2026-SE05", date(2026, 2, 1), date(2026, 2, 7)),
        Cycle("2026-SE06", date(2026, 2, 8), last),
    ]
    assert cycles(first, last, CycleKind.MONTH) == [
        Cycle("2026-01", first, date(2026, 1, 31)),
        Cycle("2026-02", date(2026, 2, 1), last),
    ]
    assert [count(first, last, k) for k in CycleKind] == [1, 3, 2]
    # December to January crosses the year
    assert [c.label for c in cycles(date(2025, 12, 20), date(2026, 1, 5), CycleKind.MONTH)] == ["2025-12", "2026-01"]
    # Sat 20 Dec 2025 .. Mon 5 Jan 2026 meets four Sunday-Saturday weeks: 14-20 Dec, 21-27 Dec, 28 Dec-3 Jan, 4-10 Jan
    assert count(date(2025, 12, 20), date(2026, 1, 5), CycleKind.EPIWEEK) == 4
    assert [c.label for c in cycles(date(2025, 12, 20), date(2026, 1, 5), CycleKind.EPIWEEK)] == [
        "2025-SE51",  # week 1 of 2025 began Sun 29 Dec 2024 (it holds 4 Jan): 14 Dec is 350 days = 50 weeks later
        "2025-SE52",
        "2025-SE53",  # 28 Dec - 3 Jan: its Wednesday, 31 Dec, is in 2025 (a 53-week year)
        "2026-SE01",
    ]
