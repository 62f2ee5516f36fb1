"""The list's compatibility fields (risk_assessment, model_used, image_filename, ...) cost no query per item.

They are read from the analysis row the page already fetches: listing one analysis or twelve runs the same
statements (counted on the engine, as the database receives them).
"""

from __future__ import annotations

import pytest

from tests.integration.upload.support import call, make_user, seed_analysis

pytestmark = pytest.mark.integration


def list_counting(user, statements: list[str]) -> tuple[int, int]:
    """(items listed, statements sent) for one GET /analyses."""
    call("GET", "/api/v1/analyses", user=user)  # warm: the caller check and the connection's own set-up
    statements.clear()
    answer = call("GET", "/api/v1/analyses", user=user)
    assert answer.status == 200, answer.body
    items = answer.body["analyses"]
    assert all(item["risk_assessment"]["level"] for item in items)
    return len(items), len(statements)


def test_twelve_items_cost_the_statements_of_one(upload_env, statements: list[str]) -> None:
    # Given one user with one completed analysis, and another with twelve
    few, many = make_user(), make_user()
    seed_analysis(few, classes=(0, 1))
    for _ in range(12):
        seed_analysis(many, classes=(0, 1, 2))

    # When each lists their analyses
    one = list_counting(few, statements)
    twelve = list_counting(many, statements)

    # Then both pages took the same number of statements (and some were seen: the counter is on the right engine)
    assert (one[0], twelve[0]) == (1, 12)
    assert one[1] > 0
    assert one[1] == twelve[1]
