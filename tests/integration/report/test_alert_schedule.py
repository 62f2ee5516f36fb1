"""The scheduled entry point (sentrix_report.scheduled): the EventBridge rules' inputs and the local command."""

from __future__ import annotations

import json

import pytest

from sentrix_report import scheduled
from tests.builders import LambdaContext
from tests.integration.report.alert_world import alerts, at, changes, site, territories

pytestmark = pytest.mark.integration


def test_the_daily_rule_runs_the_computation(db):
    # an empty database: nothing to find, but a real run in a real transaction
    answer = scheduled.handler({"job": "daily"}, LambdaContext("ReportScheduleFunction", 300))

    assert answer["job"] == "daily" and answer["done"] is True
    assert (answer["clusters"], answer["opened"], answer["level_changes"]) == (0, 0, 0)


def test_the_weekly_rule_is_a_no_op_until_the_bulletin_exists(db):
    territories()
    for m in (0, 100, 200):
        site(m, at(11, 1))

    answer = scheduled.handler({"job": "weekly"}, LambdaContext("ReportScheduleFunction", 300))

    assert answer == {"job": "weekly", "done": False, "reason": answer["reason"]}
    assert alerts() == [] and changes() == []


def test_an_unknown_job_fails_loudly(db):
    with pytest.raises(ValueError, match="unknown job"):
        scheduled.handler({"job": "hourly"}, LambdaContext("ReportScheduleFunction", 300))


def test_the_local_command_runs_at_a_chosen_time(db, capsys):
    territories()
    for m in (0, 100, 200):
        site(m, at(11, 1))

    assert scheduled.main(["--now", "2026-11-02T12:00:00+00:00"]) == 0

    printed = json.loads(capsys.readouterr().out)
    assert (printed["now"], printed["clusters"], printed["opened"], printed["level_changes"]) == (
        "2026-11-02T12:00:00+00:00",
        1,
        1,
        2,
    )
    assert [c[0] for c in changes()] == ["C", "H1"]


def test_the_local_command_refuses_a_time_without_offset(db):
    with pytest.raises(SystemExit):
        scheduled.main(["--now", "2026-11-02T12:00:00"])
