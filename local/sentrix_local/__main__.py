"""`python -m sentrix_local up|down|reset|migrate|admin|alerts` — behind `make dev`, `make down`, `make reset`,
`make migrate`, `make admin`, `make alerts`."""

from __future__ import annotations

import argparse
import os
import sys

from sentrix_local.postgres import PostgresError
from sentrix_local.preflight import StackError
from sentrix_local.stack import LocalStack, StackConfig, down, reset


def main() -> None:
    parser = argparse.ArgumentParser(prog="sentrix_local", description="Run Sentrix locally without AWS.")
    parser.add_argument("command", choices=["up", "down", "reset", "migrate", "admin", "alerts"])
    parser.add_argument("--email", help="admin: the account's e-mail address")
    parser.add_argument("--role", choices=["admin", "expert"], default="admin", help="admin: the role to give")
    parser.add_argument("--job", choices=["daily", "weekly"], default="daily", help="alerts: the scheduled job")
    parser.add_argument("--now", help="alerts: the time to compute at (ISO with offset; default: now)")
    args = parser.parse_args()
    if args.command == "admin" and not args.email:
        parser.error("admin needs --email (make admin EMAIL=you@example.org)")
    try:
        run(args)
    except (StackError, PostgresError) as exc:
        # A newcomer's problem (a busy port, a missing package): the sentence, not a traceback.
        print(f"sentrix_local {args.command}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def run(args: argparse.Namespace) -> None:
    command = args.command
    config = StackConfig()
    if command == "up":
        LocalStack(config).run_forever()
    elif command == "down":
        down(config)
    elif command == "reset":
        for path in reset(config):
            print(f"removed {path}")
        print("local state reset: the next `make dev` starts with an empty database, bucket and queues")
    else:
        pg = config.postgres()
        was_running = pg.running()
        pg.start()
        try:
            pg.ensure_database(config.database)
            from sentrix.db import migrate

            migrate.upgrade(pg.url(config.database))
            pg.set_app_password(config.database)
            if args.command == "alerts":
                sys.exit(run_scheduled(pg.set_app_password(config.database), args.job, args.now, config))
            if args.command == "admin":
                from sentrix_local.admin import make_admin

                # The functions' own variable (builtin unless set): Supabase accounts are made at sign-up only.
                provider = os.environ.get("AUTH_PROVIDER", "builtin")
                sys.exit(make_admin(pg.url(config.database), args.email, args.role, auth_provider=provider))
            print(f"migrated {pg.url(config.database)} to {migrate.current(pg.url(config.database))}")
        finally:
            if not was_running:  # leave nothing running that was not running before
                pg.stop()


def run_scheduled(app_url: str, job: str, now: str | None, config: StackConfig | None = None) -> int:
    """`make alerts`: the report package's scheduled job (docs/alerts.md) on the local database, as the
    application role, exactly as the ReportScheduleFunction runs it. The weekly job stores bulletins in the
    local stack's bucket on moto (`make dev` running; variables already set win)."""
    import json
    from pathlib import Path

    os.environ["DATABASE_URL"] = app_url
    if job == "weekly" and config is not None and config.resources_file.exists():
        buckets = json.loads(config.resources_file.read_text()).get("buckets") or {}
        for name, value in {
            "AWS_ENDPOINT_URL": config.moto_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
            "AWS_DEFAULT_REGION": "us-east-1",
            "IMAGES_BUCKET": next(iter(buckets.values()), ""),
        }.items():
            if value:
                os.environ.setdefault(name, value)
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions" / "report"))
    from sentrix_report.scheduled import main as scheduled

    return scheduled(["--job", job] + (["--now", now] if now else []))


if __name__ == "__main__":
    main()
