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


def test_the_weekly_rule_sends_bulletins_and_computes_no_alerts(db):
    # no subscription: nothing to send (the sending itself: test_weekly_bulletin_delivery.py); and the weekly job
    # is not the daily computation, so the sites below make no alert
    territories()
    for m in (0, 100, 200):
        site(m, at(11, 1))

    answer = scheduled.handler({"job": "weekly"}, LambdaContext("ReportScheduleFunction", 300))

    assert answer == {
        "job": "weekly",
        "done": True,
        "now": answer["now"],
        "subscriptions": 0,
        "deliveries_queued": 0,
        "bulletins_stored": 0,
        "weeks": [],
    }
    assert alerts() == [] and changes() == []


def test_the_local_command_runs_the_weekly_job_at_a_chosen_time(db, capsys):
    assert scheduled.main(["--job", "weekly", "--now", "2026-01-04T07:00:00+00:00"]) == 0

    printed = json.loads(capsys.readouterr().out)
    assert (printed["job"], printed["done"], printed["now"]) == ("weekly", True, "2026-01-04T07:00:00+00:00")


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
