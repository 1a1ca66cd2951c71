"""`python -m bot.migrations migrate|check` on APP_DB_URL (or --url)."""

from __future__ import annotations

import argparse
import sys

from bot.config import load_settings
from bot.migrations import schema as migrate


def main(argv=None) -> int:  # noqa: ANN001
    parser = argparse.ArgumentParser(prog="python -m bot.migrations", description="the assistant's database schema")
    parser.add_argument("command", choices=["migrate", "check"])
    parser.add_argument("--url", default=None, help="database URL (default: APP_DB_URL)")
    args = parser.parse_args(argv)
    url = args.url or load_settings().app_db_url
    if args.command == "migrate":
        print(f"✓ database at revision {migrate.upgrade(url)}")
        return 0
    found, wanted = migrate.current(url), migrate.head()
    if found != wanted:
        print(f"✗ database at revision {found or 'none'}, code expects {wanted}: run `python -m bot.migrations migrate`",
              file=sys.stderr)
        return 1
    print(f"✓ database at revision {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
