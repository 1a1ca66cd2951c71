"""Soak: 200 concurrent conversations for 10 minutes through the load balancer (`make soak`).

    python -m scripts.soak [--citizens 200] [--seconds 600] [--rasa-servers 2] [--action-servers 2]

Starts the production profile scaled out (bot.run with RASA_SERVERS/ACTION_SERVERS behind
nginx) on this machine's PostgreSQL, Redis and RabbitMQ, in databases and a queue of its own,
drives the citizens of scripts/bench.py through nginx, and reports the error rate, client
timeouts (no answer within 60 s; target 0) and messages told "busy" at once (admission control)
apart, latency percentiles per minute, the resident memory of every process at the start and the end
(growth), and every tracker event against the analytics' copies at the end. Results:
results/soak.json. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import sys
import time
import uuid
from typing import Dict, List

from sqlalchemy import create_engine, text

from scripts.bench import RESULTS, ROOT, Stack, free_port, process_memory, run_level

POSTGRES = os.environ.get("SOAK_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def database(name: str, create: bool) -> None:
    admin = create_engine(f"{POSTGRES}/postgres", future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


async def delete_queue(name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"))
    async with connection:
        await (await connection.channel()).queue_delete(name)


def compare_events(tracker_url: str, app_url: str, wait_s: float = 240) -> Dict[str, int]:
    """Every tracker event against the analytics' broker copies, once the consumer has caught
    up (its reconciliation copies what RabbitMQ never delivered after 120 s)."""
    def keys(url: str, table: str) -> "collections.Counter":
        engine = create_engine(url, future=True)
        try:
            with engine.connect() as connection:
                return collections.Counter(connection.execute(
                    text(f"SELECT sender_id, type_name, timestamp FROM {table}")).all())
        finally:
            engine.dispose()

    deadline = time.monotonic() + wait_s
    while True:
        tracker, copies = keys(tracker_url, "events"), keys(app_url, "analytics_broker_events")
        if tracker == copies or time.monotonic() > deadline:
            break
        time.sleep(10)
    return {"in_tracker_store": sum(tracker.values()), "in_analytics": sum(copies.values()),
            "missing_from_analytics": sum((tracker - copies).values()),
            "in_analytics_only": sum((copies - tracker).values())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--minute", type=float, default=60, help="length of one reporting slice")
    parser.add_argument("--rasa-servers", type=int, default=2)
    parser.add_argument("--action-servers", type=int, default=2)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    run = uuid.uuid4().hex[:8]
    tracker_db, app_db, queue = f"soak_tracker_{run}", f"soak_app_{run}", f"soak_{run}"
    for name in (tracker_db, app_db):
        database(name, create=True)
    env = {"ASSISTANT_PROFILE": "production", "TRACKER_DB_URL": f"{POSTGRES}/{tracker_db}",
           "APP_DB_URL": f"{POSTGRES}/{app_db}", "RABBITMQ_QUEUE": queue, "REDIS_URL": "redis://127.0.0.1:6379/10",
           "RASA_SERVERS": str(args.rasa_servers), "ACTION_SERVERS": str(args.action_servers),
           "REPLICA_PORT_BASE": os.environ.get("SOAK_REPLICA_PORT_BASE", "21100"),
           "ANALYTICS_CONSUMER_PORT": str(free_port()), "RATE_LIMIT_MESSAGES": "0"}
    stack = Stack(ROOT / "models" / "current.tar.gz", env)
    report: Dict[str, object] = {"when": time.strftime("%Y-%m-%d %H:%M"), "citizens": args.citizens,
                                 "seconds": args.seconds, "rasa_servers": args.rasa_servers,
                                 "action_servers": args.action_servers, "machine": f"{os.cpu_count()} cores"}
    try:
        report["startup_s"] = round(stack.wait_answering(), 1)
        report["rss_mb_start"] = process_memory(stack.process.pid)
        slices: List[Dict[str, float]] = []
        for index in range(max(1, int(args.seconds // args.minute))):
            result = asyncio.run(run_level(stack.url, args.citizens, args.minute, seed=1000 + index))
            result["rss_mb"] = process_memory(stack.process.pid)
            print(f"[soak {index + 1}] {json.dumps(result, ensure_ascii=False)}", flush=True)
            slices.append(result)
        report["slices"] = slices
        report["rss_mb_end"] = process_memory(stack.process.pid)
        messages = sum(s["messages"] for s in slices)
        errors = sum(s["errors"] for s in slices)
        report["messages"], report["errors"] = messages, errors
        report["error_rate"] = round(errors / max(messages, 1), 5)
        # Target 0: a citizen left a minute without an answer. "Busy" citizens were told at once.
        report["client_timeouts"] = sum(s["timeouts"] for s in slices)
        report["told_busy"] = sum(s["busy"] for s in slices)
        report["p95_ms_worst_minute"] = max(s["p95_ms"] for s in slices)
        report["rss_growth_mb"] = {name: round(report["rss_mb_end"].get(name, 0) - value, 1)
                                   for name, value in report["rss_mb_start"].items()}
        report["events"] = compare_events(f"{POSTGRES}/{tracker_db}", f"{POSTGRES}/{app_db}")
    finally:
        stack.stop()
        for name in (tracker_db, app_db):
            database(name, create=False)
        asyncio.run(delete_queue(queue))
    (RESULTS / "soak.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(json.dumps({k: v for k, v in report.items() if k != "slices"}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
