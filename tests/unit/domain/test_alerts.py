"""The alert rules without a database (sentrix.domain.alerts): matching clusters to alerts, growth by epidemiological
week, levels of alerts and territories. Expected values worked out by hand."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sentrix.domain.alerts import (
    AlertForLevels,
    Level,
    OpenAlert,
    alert_level,
    growing,
    main_territory,
    match,
    territory_levels,
)

S = [uuid.UUID(int=i) for i in range(20)]
A, B = uuid.UUID(int=100), uuid.UUID(int=200)


def t(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def test_a_cluster_without_alert_opens_one():
    result = match([frozenset(S[:3])], [])

    assert (result.continues, result.split_from, result.merged, result.untouched) == ([None], [None], {}, [])


def test_a_cluster_continues_the_alert_it_shares_sites_with():
    result = match([frozenset(S[:4])], [OpenAlert(A, t(11, 1), frozenset(S[:3]))])

    assert result.continues == [A] and result.merged == {}


def test_a_cluster_joining_two_alerts_keeps_the_one_sharing_most_and_merges_the_other():
    alerts = [OpenAlert(A, t(11, 1), frozenset(S[:3])), OpenAlert(B, t(10, 1), frozenset(S[3:5]))]

    result = match([frozenset(S[:5])], alerts)

    # A shares 3 sites, B (older) only 2: sharing wins over age
    assert result.continues == [A] and result.merged == {B: A}


def test_on_equal_sharing_the_older_alert_lives_on():
    alerts = [OpenAlert(A, t(11, 2), frozenset(S[:3])), OpenAlert(B, t(11, 1), frozenset(S[3:6]))]

    result = match([frozenset(S[:6])], alerts)

    assert result.continues == [B] and result.merged == {A: B}


def test_an_alert_cut_in_two_stays_with_the_larger_cluster_and_the_other_splits_off():
    alert = OpenAlert(A, t(11, 1), frozenset(S[:7]))
    small, large = frozenset(S[:3]), frozenset(S[3:7])

    result = match([small, large], [alert])

    assert result.continues == [None, A]
    assert result.split_from == [A, None]


def test_an_alert_no_cluster_touches_is_untouched():
    result = match([frozenset(S[10:13])], [OpenAlert(A, t(11, 1), frozenset(S[:3]))])

    assert result.untouched == [A] and result.continues == [None]


def test_alerts_after_a_continued_one_are_still_looked_at():
    alerts = [OpenAlert(A, t(11, 1), frozenset(S[:3])), OpenAlert(B, t(11, 1), frozenset(S[10:13]))]

    result = match([frozenset(S[:3])], alerts)

    assert result.continues == [A] and result.untouched == [B]


def test_every_untouched_alert_is_reported():
    alerts = [OpenAlert(A, t(11, 1), frozenset(S[:3])), OpenAlert(B, t(11, 1), frozenset(S[3:6]))]

    assert match([], alerts).untouched == [A, B]


def test_on_equal_sharing_and_age_the_lowest_id_lives_on():
    alerts = [OpenAlert(B, t(11, 1), frozenset(S[3:6])), OpenAlert(A, t(11, 1), frozenset(S[:3]))]

    result = match([frozenset(S[:6])], alerts)

    assert result.continues == [A] and result.merged == {B: A}


def test_equal_clusters_choose_by_their_smallest_site():
    # both halves of a cut alert have 3 sites: the one holding the smallest site id keeps the alert
    alert = OpenAlert(A, t(11, 1), frozenset(S[:6]))

    result = match([frozenset(S[3:6]), frozenset(S[:3])], [alert])

    assert result.continues == [None, A] and result.split_from == [A, None]


def test_an_absorbed_alert_goes_to_the_cluster_it_shares_most_with():
    # X (5 sites) continues OLD (4 shared); Y (4 sites) continues C, older than B though both share 2 with Y;
    # B shares 1 site with X and 2 with Y, so Y's alert absorbs it, although X chose first
    old, c = uuid.UUID(int=300), uuid.UUID(int=400)
    x = frozenset({S[0], S[1], S[2], S[3], S[10]})
    y = frozenset({S[5], S[6], S[11], S[12]})
    alerts = [
        OpenAlert(old, t(11, 1), frozenset(S[:4])),
        OpenAlert(c, t(10, 1), frozenset({S[5], S[6]})),
        OpenAlert(B, t(11, 5), frozenset({S[10], S[11], S[12]})),
    ]

    result = match([y, x], alerts)

    assert result.continues == [c, old]
    assert result.merged == {B: c}


# Epidemiological weeks of Nov 2026: S0 1-7, S1 8-14, S2 15-21, S3 22-28 (Sundays 1, 8, 15, 22)
def test_growth_in_the_two_complete_weeks_after_the_formation_week_is_growing():
    assert growing(t(11, 2), [t(11, 2), t(11, 9), t(11, 16)], date(2026, 11, 22), 2) is True


def test_the_formation_week_is_not_growth():
    # on 15 Nov the complete weeks are S1 (growth) and S0 (formation)
    assert growing(t(11, 2), [t(11, 2), t(11, 9)], date(2026, 11, 15), 2) is False


def test_a_week_without_growth_ends_the_streak():
    assert growing(t(11, 2), [t(11, 2), t(11, 9), t(11, 16)], date(2026, 11, 29), 2) is False


def test_growth_in_the_current_week_does_not_count_yet():
    assert growing(t(11, 2), [t(11, 2), t(11, 16), t(11, 22)], date(2026, 11, 22), 2) is False


def test_one_week_of_growth_is_enough_when_one_is_asked():
    assert growing(t(11, 2), [t(11, 2), t(11, 9)], date(2026, 11, 15), 1) is True


def test_zero_weeks_turns_the_rule_off():
    assert growing(t(11, 2), [t(11, 9), t(11, 16)], date(2026, 11, 22), 0) is False


def test_alert_levels():
    assert alert_level(9, False, 10) is Level.YELLOW
    assert alert_level(10, False, 10) is Level.RED
    assert alert_level(3, True, 10) is Level.RED


def test_territory_levels_climb_the_hierarchy_and_keep_the_worst():
    parents = {"C": None, "H1": "C", "H2": "C", "N1": "H1"}
    yellow = AlertForLevels(A, Level.YELLOW, 3, t(11, 1), frozenset({"N1"}))
    red = AlertForLevels(B, Level.RED, 10, t(11, 2), frozenset({"H2"}))

    levels = territory_levels(parents, [yellow, red])

    assert levels == {
        "C": (Level.RED, B),
        "H1": (Level.YELLOW, A),
        "H2": (Level.RED, B),
        "N1": (Level.YELLOW, A),
    }


def test_on_equal_levels_the_larger_alert_is_behind_the_territory():
    parents = {"H1": None}
    small = AlertForLevels(A, Level.YELLOW, 3, t(11, 1), frozenset({"H1"}))
    large = AlertForLevels(B, Level.YELLOW, 5, t(11, 2), frozenset({"H1"}))

    assert territory_levels(parents, [small, large]) == {"H1": (Level.YELLOW, B)}


def test_on_equal_level_size_and_age_the_lowest_id_is_behind_the_territory():
    parents = {"H1": None}
    first = AlertForLevels(B, Level.RED, 10, t(11, 1), frozenset({"H1"}))
    second = AlertForLevels(A, Level.RED, 10, t(11, 1), frozenset({"H1"}))

    assert territory_levels(parents, [first, second]) == {"H1": (Level.RED, A)}


def test_a_cycle_in_the_parents_does_not_loop():
    alert = AlertForLevels(A, Level.YELLOW, 3, t(11, 1), frozenset({"X"}))

    assert territory_levels({"X": "Y", "Y": "X"}, [alert]) == {"X": (Level.YELLOW, A), "Y": (Level.YELLOW, A)}


def test_territories_without_an_alert_are_green_and_unknown_tags_are_ignored():
    alert = AlertForLevels(A, Level.YELLOW, 3, t(11, 1), frozenset({"GONE"}))

    assert territory_levels({"H1": None}, [alert]) == {"H1": (Level.GREEN, None)}


def test_the_main_territory_holds_most_sites_ties_the_lowest_code():
    assert main_territory(["H2", "H1", "H2", None]) == "H2"
    assert main_territory(["H2", "H1"]) == "H1"
    assert main_territory([None, None]) is None
