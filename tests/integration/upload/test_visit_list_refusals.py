"""GET /visits refuses dates outside 2000-01-01..2100-12-31 (both ends allowed) and a window whose `to` is before
its `from` (one day allowed), naming the field, in the caller's language from the catalogue (docs/visits.md)."""

from __future__ import annotations

import pytest

from tests.integration.upload.support import call, make_user

pytestmark = pytest.mark.integration

# The route resolves the caller's locale: Spanish unless the request or the caller's settings say otherwise.
RANGE = {
    None: "Las fechas deben estar entre 2000-01-01 y 2100-12-31",
    "pt": "As datas devem estar entre 2000-01-01 e 2100-12-31",
    "en": "Dates must lie between 2000-01-01 and 2100-12-31",
}
WINDOW = {None: "to es anterior a from", "en": "to is before from"}


def listed(user, query: dict, language: str | None = None):
    return call(
        "GET", "/api/v1/visits", user=user, query=query, headers={"Accept-Language": language} if language else None
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [({"from": "1999-12-31"}, "from"), ({"to": "1999-12-31"}, "to"), ({"from": "2101-01-01"}, "from"),
     ({"to": "2101-01-01"}, "to")],
)  # fmt: skip
@pytest.mark.parametrize("language", [None, "pt", "en"])
def test_a_day_outside_the_range_is_422_naming_its_field(upload_env, query, field, language):
    answer = listed(make_user("expert"), query, language)

    assert answer.status == 422, answer.body
    assert (answer.error["code"], answer.error["details"]) == ("validation_error", {"field": field})
    assert answer.error["message"] == RANGE[language]


def test_both_ends_of_the_range_and_a_one_day_window_are_accepted(upload_env):
    expert = make_user("expert")
    for query in ({"from": "2000-01-01", "to": "2100-12-31"}, {"from": "2026-11-03", "to": "2026-11-03"}):
        answer = listed(expert, query)
        assert answer.status == 200, (query, answer.body)
        assert (answer.body["total"], answer.body["items"]) == (0, [])


@pytest.mark.parametrize("language", [None, "en"])
def test_to_before_from_is_422_naming_to(upload_env, language):
    answer = listed(make_user("expert"), {"from": "2026-11-04", "to": "2026-11-03"}, language)

    assert answer.status == 422, answer.body
    assert (answer.error["code"], answer.error["details"]) == ("validation_error", {"field": "to"})
    assert answer.error["message"] == WINDOW[language]
