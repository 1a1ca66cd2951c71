"""`python -m bot.analytics ingest`, `… retention [--days N] [--anonymise]`, `… consume --port N`."""

from __future__ import annotations

import argparse
import sys

from bot.config import load_settings


def main(argv=None) -> int:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m bot.analytics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("ingest", help="read Rasa's events added since the last run")
    consume = commands.add_parser("consume", help="production: store Rasa's events from RabbitMQ")
    consume.add_argument("--port", type=int, default=settings.consumer_port, help="GET /health")
    retention = commands.add_parser(
        "retention", help="delete (or anonymise) what was recorded more than N days ago")
    retention.add_argument("--days", type=int, default=settings.retention_days,
                           help=f"days to keep (default RETENTION_DAYS = {settings.retention_days})")
    retention.add_argument("--anonymise", action="store_true",
                           help="mask texts and hash sender ids instead of deleting")
    args = parser.parse_args(argv)

    from bot.analytics import engines, ingest, retention as retention_module

    app = engines.app_engine(settings.app_db_url)
    if args.command == "consume":
        import asyncio
        import logging

        from bot.analytics.consumer import Consumer, serve

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        try:
            tracker = engines.tracker_engine(settings.tracker_db_url)
            consumer = Consumer(app, settings.rabbitmq_url, settings.rabbitmq_queue, tracker,
                                reconcile_s=settings.reconcile_s, grace_s=settings.reconcile_grace_s)
            asyncio.run(serve(consumer, args.port))
        except KeyboardInterrupt:
            pass
        return 0
    tracker = engines.tracker_engine(settings.tracker_db_url)
    if args.command == "ingest":
        events, source = engines.event_source(settings)
        result = ingest.ingest(app, events, source=source)
        print(f"✓ {result.events} events read from the {source.name}; checkpoint at event {result.last_event_id}")
        return 0
    if args.days < 1:
        print("✗ --days must be at least 1", file=sys.stderr)
        return 2
    removed = retention_module.apply(app, tracker, args.days, anonymise=args.anonymise)
    verb = "anonymised" if args.anonymise else "deleted"
    print(f"✓ {verb} everything recorded before {removed.cutoff:%Y-%m-%d %H:%M} UTC:")
    for table, count in removed.rows.items():
        print(f"  {table}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
