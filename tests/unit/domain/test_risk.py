"""Analysis risk: every row of the DESIGN §4 table, its boundaries, and the recommendations."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sentrix.domain.classes import RiskLevel
from sentrix.domain.risk import assess_risk, recommendations
from sentrix.errors import ValidationFailed

TRASH = "Basura"  # ALTO
WATER = "Charcos/Cumulo de agua"  # ALTO
HOLE = "Huecos"  # MEDIO
STREET = "Calles mal hechas"  # MEDIO
U7, U8, U9 = "Clase_7", "Clase_8", "Clase_9"  # BAJO


def _case(names, level, score, counts):
    """(names, expected level, expected score, (total, high, medium, unique))."""
    return pytest.param(names, level, score, counts, id=f"{level}-{'+'.join(n or '∅' for n in names) or 'none'}")


RULE_1 = [
    _case([TRASH, HOLE, STREET, TRASH], RiskLevel.ALTO, 1.0, (4, 2, 2, 3)),
    _case([U7, U8, U9, U7], RiskLevel.ALTO, 1.0, (4, 0, 0, 3)),
    # 0.85 + 0.05 * 4 = 1.05, clamped.
    _case([TRASH, HOLE, U7, U8], RiskLevel.ALTO, 1.0, (4, 1, 1, 4)),
]
RULE_2 = [
    _case([TRASH, TRASH, WATER], RiskLevel.ALTO, 0.96, (3, 3, 0, 2)),
    _case([TRASH, TRASH, TRASH, HOLE], RiskLevel.ALTO, 0.96, (4, 3, 1, 2)),
    _case([TRASH, TRASH, TRASH, WATER], RiskLevel.ALTO, 0.98, (4, 4, 0, 2)),
    _case([TRASH, TRASH, TRASH, TRASH, WATER], RiskLevel.ALTO, 1.0, (5, 5, 0, 2)),
    # 0.90 + 0.02 * 6 = 1.02, clamped.
    _case([TRASH] * 5 + [WATER], RiskLevel.ALTO, 1.0, (6, 6, 0, 2)),
]
RULE_3 = [
    _case([TRASH] * 5, RiskLevel.ALTO, 1.0, (5, 5, 0, 1)),
    _case([WATER] * 7, RiskLevel.ALTO, 1.0, (7, 7, 0, 1)),
    _case([TRASH] * 5 + [None], RiskLevel.ALTO, 1.0, (6, 5, 0, 1)),
]
RULE_4 = [
    _case([TRASH, HOLE], RiskLevel.MEDIO, 0.70, (2, 1, 1, 2)),
    _case([TRASH, U7], RiskLevel.MEDIO, 0.70, (2, 1, 0, 2)),
    _case([HOLE, STREET], RiskLevel.MEDIO, 0.60, (2, 0, 2, 2)),
    _case([HOLE, HOLE, U7], RiskLevel.MEDIO, 0.60, (3, 0, 2, 2)),
    _case([TRASH, WATER], RiskLevel.MEDIO, 0.80, (2, 2, 0, 2)),
    _case([TRASH, WATER, HOLE], RiskLevel.MEDIO, 0.85, (3, 2, 1, 3)),
]
RULE_5 = [
    _case([TRASH], RiskLevel.MEDIO, 0.60, (1, 1, 0, 1)),
    _case([WATER] * 4, RiskLevel.MEDIO, 0.90, (4, 4, 0, 1)),
    _case([TRASH, None], RiskLevel.MEDIO, 0.60, (2, 1, 0, 1)),
]
RULE_6 = [
    _case([HOLE], RiskLevel.BAJO, 0.27, (1, 0, 1, 1)),
    _case([HOLE, U7], RiskLevel.BAJO, 0.29, (2, 0, 1, 2)),
    _case([U7] * 3, RiskLevel.BAJO, 0.31, (3, 0, 0, 1)),
    _case([U7, None, None], RiskLevel.BAJO, 0.31, (3, 0, 0, 1)),
    _case([STREET] * 10, RiskLevel.BAJO, 0.45, (10, 0, 10, 1)),
    # 0.25 + 0.02 * 38 = 1.01: the table clamps every row, even BAJO.
    _case([HOLE] * 38, RiskLevel.BAJO, 1.0, (38, 0, 38, 1)),
]
RULE_7 = [
    _case([], RiskLevel.MINIMO, 0.05, (0, 0, 0, 0)),
    _case([U7], RiskLevel.MINIMO, 0.06, (1, 0, 0, 1)),
    _case([U7, U7], RiskLevel.MINIMO, 0.07, (2, 0, 0, 1)),
    _case([U7, U8], RiskLevel.MINIMO, 0.07, (2, 0, 0, 2)),
    _case([U7, U8, U9], RiskLevel.MINIMO, 0.08, (3, 0, 0, 3)),
    _case([None, None, None], RiskLevel.MINIMO, 0.08, (3, 0, 0, 0)),
]


@pytest.mark.parametrize(
    ("names", "level", "score", "counts"), RULE_1 + RULE_2 + RULE_3 + RULE_4 + RULE_5 + RULE_6 + RULE_7
)
def test_risk_table_rows(names, level, score, counts):
    result = assess_risk(names)

    assert result.level is level
    assert result.score == pytest.approx(score)
    assert (result.total, result.high, result.medium, result.unique) == counts


@pytest.mark.parametrize(
    ("names", "level", "score", "why"),
    [
        ([TRASH, HOLE, STREET], RiskLevel.MEDIO, 0.75, "unique=3,total=3 is not rule 1 -> rule 4"),
        ([U7, U8, U9], RiskLevel.MINIMO, 0.08, "unique=3,total=3 with unknowns falls to the end"),
        ([TRASH, TRASH, TRASH], RiskLevel.MEDIO, 0.80, "high=3 with unique=1 is not rule 2 -> rule 5"),
        ([TRASH, TRASH, WATER], RiskLevel.ALTO, 0.96, "high=3 with unique=2 is rule 2"),
        ([TRASH] * 4, RiskLevel.MEDIO, 0.90, "high=4 single class is not rule 3 -> rule 5"),
        ([TRASH] * 5, RiskLevel.ALTO, 1.0, "high=5 single class is rule 3"),
        ([HOLE, U7], RiskLevel.BAJO, 0.29, "unique=2 with medium=1, high=0 is not rule 4 -> rule 6"),
        ([HOLE, HOLE, U7], RiskLevel.MEDIO, 0.60, "unique=2 with medium=2 is rule 4"),
        ([U7, U7], RiskLevel.MINIMO, 0.07, "total=2 single unknown class is not rule 6"),
        ([U7] * 3, RiskLevel.BAJO, 0.31, "total=3 single unknown class is rule 6"),
    ],
)
def test_risk_table_boundaries(names, level, score, why):
    result = assess_risk(names)

    assert (result.level, result.score) == (level, pytest.approx(score)), why


def test_score_has_no_float_noise():
    # 0.85 + 0.05 * 3 is 1.0000000000000002 in floats.
    assert assess_risk([TRASH, HOLE, STREET, TRASH]).score == 1.0
    assert assess_risk([TRASH, HOLE]).score == 0.7


def test_aliases_count_as_the_same_class():
    result = assess_risk(["Charcos", WATER, "trash", "  Basura "])

    assert result.unique == 2
    assert result.type_distribution == {WATER: 2, TRASH: 2}
    assert result.high == 4


def test_unknown_names_are_distinct_by_name():
    assert assess_risk([U7, U8, " Clase_7 "]).type_distribution == {U7: 2, U8: 1}


def test_missing_names_count_in_total_but_not_in_types():
    result = assess_risk([TRASH, None, ""])

    assert (result.total, result.unique, result.type_distribution) == (3, 1, {TRASH: 1})


def test_diversity_ratio_has_two_decimals():
    result = assess_risk([TRASH, HOLE, U7, TRASH, TRASH, TRASH, TRASH])

    assert result.diversity_ratio == 0.43


def test_diversity_ratio_of_nothing_is_zero():
    assert assess_risk([]).diversity_ratio == 0.0


def test_accepts_any_iterable():
    assert assess_risk(name for name in [TRASH, WATER, TRASH]).level is RiskLevel.ALTO


def test_to_contract_has_the_yolo_keys():
    contract = assess_risk([TRASH, HOLE], language="en").to_contract()

    assert contract == {
        "level": "MEDIO",
        "risk_score": 0.7,
        "total_detections": 2,
        "high_risk_count": 1,
        "medium_risk_count": 1,
        "unique_types": 2,
        "diversity_ratio": 1.0,
        "type_distribution": {TRASH: 1, HOLE: 1},
        "recommendations": list(assess_risk([TRASH, HOLE], language="en").recommendations),
    }


CLASS_NAMES = st.one_of(
    st.sampled_from([TRASH, WATER, HOLE, STREET, U7, U8, U9, "Charcos", "Trash", None, ""]),
    st.text(max_size=12),
)


@given(st.lists(CLASS_NAMES, max_size=60))
def test_score_is_always_between_zero_and_one(names):
    result = assess_risk(names)

    assert 0.0 <= result.score <= 1.0
    assert result.high + result.medium <= result.total
    assert result.unique <= result.total
    assert sum(result.type_distribution.values()) <= result.total


# ---- recommendations ----


def _recs(level, total=1, high=0, medium=0, unique=1, language="en"):
    return recommendations(level, total=total, high=high, medium=medium, unique=unique, language=language)


def test_alto_says_intervene_contact_authorities_remove_water_and_waste():
    text = " ".join(_recs(RiskLevel.ALTO, total=2, high=2, unique=2)).lower()

    for phrase in ("immediate", "health authorities", "standing water", "trash"):
        assert phrase in text


def test_medio_says_monitor_clean_and_schedule_inspection():
    text = " ".join(_recs(RiskLevel.MEDIO, high=1)).lower()

    for phrase in ("watching", "clean", "schedule an inspection"):
        assert phrase in text


def test_bajo_says_maintain_and_minimo_says_routine_surveillance():
    assert "maintain" in " ".join(_recs(RiskLevel.BAJO)).lower()
    assert "routine surveillance" in " ".join(_recs(RiskLevel.MINIMO)).lower()


@pytest.mark.parametrize(
    ("level", "kwargs", "count"),
    [
        (RiskLevel.ALTO, {"total": 3, "high": 3, "unique": 2}, 4),
        (RiskLevel.ALTO, {"total": 4, "high": 2, "unique": 3}, 5),  # diversity
        (RiskLevel.ALTO, {"total": 5, "high": 5, "unique": 1}, 5),  # many high-risk sites
        (RiskLevel.MEDIO, {"total": 1, "high": 1, "unique": 1}, 4),
        (RiskLevel.MEDIO, {"total": 2, "high": 1, "unique": 2}, 5),  # diversity
        (RiskLevel.MEDIO, {"total": 3, "medium": 3, "unique": 1}, 5),  # many street defects
        (RiskLevel.BAJO, {"total": 2, "medium": 1, "unique": 2}, 3),
        (RiskLevel.BAJO, {"total": 3, "unique": 1}, 4),  # same type repeated
        (RiskLevel.MINIMO, {"total": 0, "unique": 0}, 2),
        (RiskLevel.MINIMO, {"total": 5, "unique": 2}, 2),
        (RiskLevel.MINIMO, {"total": 6, "unique": 2}, 3),  # several detections
        (RiskLevel.MINIMO, {"total": 11, "unique": 2}, 3),  # many detections
        (RiskLevel.BAJO, {"total": 6, "unique": 1}, 5),  # repeated + localized
        (RiskLevel.ALTO, {"total": 4, "high": 4, "unique": 1}, 5),  # more than three high-risk: many
        (RiskLevel.MEDIO, {"total": 2, "medium": 2, "unique": 1}, 4),  # two street defects are not many
    ],
)
def test_recommendation_counts(level, kwargs, count):
    assert len(_recs(level, **kwargs)) == count


def test_many_localized_and_several_detections_are_different_items():
    many = _recs(RiskLevel.MINIMO, total=11, unique=2)[-1]
    localized = _recs(RiskLevel.MINIMO, total=6, unique=1)[-1]
    several = _recs(RiskLevel.MINIMO, total=6, unique=2)[-1]

    assert len({many, localized, several}) == 3
    assert _recs(RiskLevel.MINIMO, total=11, unique=1)[-1] == many
    assert _recs(RiskLevel.MINIMO, total=10, unique=2)[-1] == several  # "many" is more than ten


@pytest.mark.parametrize("language", ["es", "en", "pt"])
@pytest.mark.parametrize("level", list(RiskLevel))
def test_recommendations_are_plain_text(language, level):
    items = _recs(level, total=12, high=4, medium=3, unique=3, language=language)

    for item in items:
        assert "[" not in item and "]" not in item
        assert all(unicodedata.category(ch)[0] in "LNPZ" for ch in item), item


def test_languages_give_the_same_items_in_different_words():
    es = _recs(RiskLevel.ALTO, total=12, high=4, unique=3, language="es")
    en = _recs(RiskLevel.ALTO, total=12, high=4, unique=3, language="en")
    pt = _recs(RiskLevel.ALTO, total=12, high=4, unique=3, language="pt")

    assert len(es) == len(en) == len(pt) == 6
    assert set(es).isdisjoint(en) and set(es).isdisjoint(pt)


def test_default_language_is_spanish():
    assert assess_risk([TRASH] * 5).recommendations[0].startswith("Intervención inmediata")


@pytest.mark.parametrize("language", ["EN", "en-US", "en_GB", " en "])
def test_language_tags_are_reduced_to_their_primary_subtag(language):
    assert _recs(RiskLevel.BAJO, language=language) == _recs(RiskLevel.BAJO, language="en")


@pytest.mark.parametrize("language", ["fr", "", "english", "de-DE"])
def test_unknown_language_is_rejected(language):
    with pytest.raises(ValidationFailed, match="unsupported language"):
        _recs(RiskLevel.BAJO, language=language)
    with pytest.raises(ValidationFailed):
        assess_risk([TRASH], language=language)


def test_level_may_be_given_as_text():
    assert _recs("ALTO", high=1) == _recs(RiskLevel.ALTO, high=1)


def test_one_kind_of_site_many_times_is_localized_not_several():
    # more than five detections of a single type: the item that says they are of one kind
    one_kind = _recs(RiskLevel.MINIMO, total=6, unique=1, language="en")[-1]
    two_kinds = _recs(RiskLevel.MINIMO, total=6, unique=2, language="en")[-1]

    assert "of one kind" in one_kind
    assert "of one kind" not in two_kinds


def test_a_stored_analysis_gets_the_recommendations_of_its_level_and_counts():
    from types import SimpleNamespace

    from sentrix.domain.risk import analysis_recommendations

    stored = SimpleNamespace(
        risk_level="MEDIO", total_detections=3, high_risk_count=1, medium_risk_count=2, unique_types=2
    )

    assert analysis_recommendations(stored, "en") == _recs(
        RiskLevel.MEDIO, total=3, high=1, medium=2, unique=2, language="en"
    )
    # Spanish when no language is stated (DESIGN §4)
    spanish = _recs(RiskLevel.MEDIO, total=3, high=1, medium=2, unique=2, language="es")
    assert analysis_recommendations(stored) == spanish
    assert analysis_recommendations(SimpleNamespace(risk_level=None)) == ()


def test_recommendations_are_spanish_when_no_language_is_stated():
    spanish = _recs(RiskLevel.BAJO, total=3, unique=1, language="es")

    assert recommendations(RiskLevel.BAJO, total=3, high=0, medium=0, unique=1) == spanish


@pytest.mark.parametrize(
    ("level", "counts"),
    [
        ("ALTO", {"total": 5, "high": 5, "medium": 0, "unique": 1}),  # many high-risk sites
        ("MEDIO", {"total": 3, "high": 0, "medium": 3, "unique": 1}),  # many street defects
    ],
)
def test_a_stored_analysis_uses_its_stored_high_and_medium_counts(level, counts):
    from types import SimpleNamespace

    from sentrix.domain.risk import analysis_recommendations

    stored = SimpleNamespace(
        risk_level=level,
        total_detections=counts["total"],
        high_risk_count=counts["high"],
        medium_risk_count=counts["medium"],
        unique_types=counts["unique"],
    )

    assert analysis_recommendations(stored, "en") == _recs(level, language="en", **counts)


def test_an_unknown_language_refusal_lists_the_three_languages():
    with pytest.raises(ValidationFailed) as refused:
        _recs(RiskLevel.BAJO, language="fr")

    assert set(refused.value.details["supported"]) == {"es", "en", "pt"}


def test_unknown_names_differing_only_in_spacing_are_one_type_spelled_with_single_spaces():
    assessment = assess_risk(["perro  grande", " perro grande ", "perro\tgrande"])

    assert assessment.type_distribution == {"perro grande": 3}
