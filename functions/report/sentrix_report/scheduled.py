"""Scheduled entry point of the report package (EventBridge rules, docs/alerts.md *Schedule*).

- `{"job": "daily"}` (the daily rule; also any event without a job): the cluster alert computation at the
  current time and, in the same transaction, a delivery queued for every subscription that wants a level change
  it recorded (the delivery function sends them).
- `{"job": "weekly"}` (the weekly rule, Sunday 07:00 UTC): each subscription that wants its territory's weekly
  bulletin (and whose owner still may see the territory) gets the bulletin of its last complete epidemiological
  week in the owner's zone and language: the `weekly` report, rendered to PDF once per (territory, week,
  language, zone) and stored under reports/bulletins/, and one delivery per (subscription, week) queued in one
  transaction (logic/weekly_bulletins.py). Running it again, or twice at once, queues nothing more. Answers
  `done: true` with `subscriptions`, `deliveries_queued`, `bulletins_stored` and the `weeks` named.

Locally: `python -m sentrix_report.scheduled [--job daily|weekly] [--now 2026-12-03T06:00:00+00:00]`
(`make alerts`), against the database of DATABASE_URL.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from sentrix.db import budget
from sentrix.db.engine import session_scope
from sentrix.observability import logger, metrics
from sentrix_report.logic import alert_run, level_changes, weekly_bulletins

JOBS = ("daily", "weekly")


def run(job: str, now: datetime | None = None) -> dict[str, Any]:
    """Run one job at `now` (default: the current time, UTC)."""
    if job not in JOBS:
        raise ValueError(f"unknown job {job!r}: one of {', '.join(JOBS)}")
    now = now or datetime.now(UTC)
    if job == "weekly":
        summary = weekly_bulletins.queue_weekly_bulletins(now)
        return {"job": "weekly", "done": True, "now": now.isoformat(), **summary.as_dict()}
    with session_scope() as session:
        result = alert_run.compute(session, now)
        # The outbox, in the transaction that records the changes: each is queued once for every subscription
        # that wants it, and the delivery function sends them (docs/alerts.md, "Subscriptions and delivery").
        queued = level_changes.deliver_level_changes(
            session, level_changes.from_recorded(session, result.level_changes), now
        )
    return {"job": "daily", "done": True, **result.summary(), "deliveries_queued": queued}


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """EventBridge calls this with the rule's constant input."""
    job = (event or {}).get("job") or "daily"
    token = budget.start(context, budget.RouteClass.WORKER)
    try:
        answer = run(str(job))
    finally:
        budget.end(token)
    logger.info("scheduled job done", **answer)
    if answer.get("done") and answer["job"] == "weekly":
        metrics.add_metric(name="WeeklyBulletinsQueued", unit="Count", value=answer["deliveries_queued"])
    elif answer.get("done"):
        metrics.add_metric(name="AlertLevelChanges", unit="Count", value=answer["level_changes"])
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentrix_report.scheduled", description=__doc__.split("\n")[0])
    parser.add_argument("--job", choices=JOBS, default="daily")
    parser.add_argument("--now", type=datetime.fromisoformat, help="ISO time with offset (default: now, UTC)")
    args = parser.parse_args(argv)
    now = args.now
    if now is not None and now.tzinfo is None:
        parser.error("--now needs an offset, e.g. 2026-12-03T06:00:00+00:00")
    print(json.dumps(run(args.job, now), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
