"""`python -m bot.analytics ingest` and `python -m bot.analytics retention [--days N] [--anonymise]`."""

from __future__ import annotations

import argparse
import sys

from bot.config import load_settings


def main(argv=None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m bot.analytics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ingest", help="read the tracker events added since the last run")
    retention = commands.add_parser(
        "retention", help="delete (or anonymise) what was recorded more than N days ago")
    retention.add_argument("--days", type=int, default=settings.retention_days,
                           help=f"days to keep (default RETENTION_DAYS = {settings.retention_days})")
    retention.add_argument("--anonymise", action="store_true",
                           help="mask texts and hash sender ids instead of deleting")
    args = parser.parse_args(argv)

    from bot.analytics import engines, ingest, retention as retention_module

    app = engines.app_engine(settings.app_db_url)
    tracker = engines.tracker_engine(settings.tracker_db_url)
    if args.command == "ingest":
        result = ingest.ingest(app, tracker)
        print(f"✓ {result.events} tracker events read; checkpoint at event {result.last_event_id}")
        return 0
    if args.days < 1:
        print("✗ --days must be at least 1", file=sys.stderr)
        return 2
    result = retention_module.apply(app, tracker, args.days, anonymise=args.anonymise)
    verb = "anonymised" if args.anonymise else "deleted"
    print(f"✓ {verb} everything recorded before {result.cutoff:%Y-%m-%d %H:%M} UTC:")
    for table, count in result.rows.items():
        print(f"  {table}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
