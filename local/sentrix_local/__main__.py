"""`python -m sentrix_local up|down|migrate` — the commands behind `make dev`, `make down`, `make migrate`."""

from __future__ import annotations

import argparse

from sentrix_local.stack import LocalStack, StackConfig, down


def main() -> None:
    parser = argparse.ArgumentParser(prog="sentrix_local", description="Run Sentrix locally without AWS.")
    parser.add_argument("command", choices=["up", "down", "migrate"])
    args = parser.parse_args()
    config = StackConfig()
    if args.command == "up":
        LocalStack(config).run_forever()
    elif args.command == "down":
        down(config)
    else:
        pg = config.postgres()
        was_running = pg.running()
        pg.start()
        try:
            pg.ensure_database(config.database)
            from sentrix.db import migrate

            migrate.upgrade(pg.url(config.database))
            print(f"migrated {pg.url(config.database)} to {migrate.current(pg.url(config.database))}")
        finally:
            if not was_running:  # leave nothing running that was not running before
                pg.stop()


if __name__ == "__main__":
    main()
