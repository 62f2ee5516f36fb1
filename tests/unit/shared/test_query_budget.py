"""The statement_timeout of a transaction: its route class's, capped by the Lambda's remaining time."""

from __future__ import annotations

import pytest

from sentrix.db import budget
from sentrix.errors import QueryTimeout


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch):
    from sentrix.config import get_settings

    for name in ("DB_TIMEOUT_PUBLIC_S", "DB_TIMEOUT_USER_S", "DB_TIMEOUT_EXPERT_S", "DB_TIMEOUT_MARGIN_MS"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def within(route_class, context=None) -> int:
    token = budget.start(context, route_class)
    try:
        return budget.statement_timeout_ms()
    finally:
        budget.end(token)


def test_each_route_class_has_its_timeout():
    assert within(budget.RouteClass.PUBLIC) == 5000
    assert within(budget.RouteClass.USER) == 10_000
    assert within(budget.RouteClass.EXPERT) == 25_000


def test_without_a_request_the_user_class_applies():
    assert budget.statement_timeout_ms() == 10_000


def test_a_context_with_2_s_left_gives_at_most_2_s():
    assert within(budget.RouteClass.EXPERT, Context(2000)) <= 2000
    assert within(budget.RouteClass.EXPERT, Context(2000)) <= 1000  # the 1 s margin kept to answer


def test_the_class_wins_when_the_invocation_has_more_time():
    assert within(budget.RouteClass.PUBLIC, Context(29_000)) == 5000


def test_the_route_class_keeps_the_deadline():
    token = budget.start(Context(3000))
    try:
        budget.use_class(budget.RouteClass.EXPERT)
        assert budget.statement_timeout_ms() <= 2000
    finally:
        budget.end(token)


def test_no_time_left_is_a_query_timeout_503():
    with pytest.raises(QueryTimeout) as raised:
        within(budget.RouteClass.USER, Context(1000))
    assert (raised.value.status, raised.value.code, raised.value.key) == (503, "query_timeout", "err.query_timeout")
    assert raised.value.retry_after >= 1


def test_the_setting_is_a_set_local():
    assert budget.set_timeout_sql(2500) == "set_config('statement_timeout', '2500', true)"
