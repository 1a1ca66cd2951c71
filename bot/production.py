"""The production profile: Rasa's stores on PostgreSQL, Redis and RabbitMQ, from the settings.

`ASSISTANT_PROFILE=production` (what `make run-prod` sets). The connection URLs come from the
environment (bot/config.py); `rasa_endpoints` turns them into Rasa's endpoints file with each
secret as a `${VARIABLE}` that Rasa reads from its own environment (`secret_environment`),
so no password is written to disk. `check_services` tells the operator, before anything
starts, which of the three is unreachable.
"""

from __future__ import annotations

from typing import Any, Dict, Optional
from urllib.parse import unquote, urlparse

from sqlalchemy.engine import make_url

from bot.config import Settings

def _redis(url: str) -> Dict[str, Any]:
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss"):
        raise ValueError(f"REDIS_URL must start with redis:// (got {parsed.scheme or 'nothing'})")
    db = parsed.path.strip("/") or "0"
    return {"host": parsed.hostname or "127.0.0.1", "port": parsed.port or 6379, "db": int(db),
            "password": unquote(parsed.password) if parsed.password else None,
            "use_ssl": parsed.scheme == "rediss"}


def _amqp(url: str) -> Dict[str, Any]:
    parsed = urlparse(url)
    if parsed.scheme not in ("amqp", "amqps"):
        raise ValueError(f"RABBITMQ_URL must start with amqp:// (got {parsed.scheme or 'nothing'})")
    return {"host": parsed.hostname or "127.0.0.1", "port": parsed.port or 5672,
            "username": unquote(parsed.username or "guest"), "password": unquote(parsed.password or "guest"),
            "vhost": unquote(parsed.path[1:]) if len(parsed.path) > 1 else "/"}


def rasa_endpoints(settings: Settings) -> Dict[str, Any]:
    """The content of Rasa's endpoints file for the production profile."""
    tracker = make_url(settings.tracker_db_url)
    if tracker.get_backend_name() != "postgresql":
        raise ValueError("the production profile keeps conversations in PostgreSQL: "
                         f"TRACKER_DB_URL is {tracker.get_backend_name()}")
    redis, amqp = _redis(settings.redis_url), _amqp(settings.rabbitmq_url)
    endpoints: Dict[str, Any] = {
        "action_endpoint": {"url": settings.action_endpoint_url},
        "tracker_store": {
            "type": "bot.rasa_plugins.tracker_store.PostgresTrackerStore", "dialect": "postgresql", "url": tracker.host or "127.0.0.1",
            "port": tracker.port or 5432, "db": tracker.database, "username": tracker.username or "postgres",
        },
        # Rasa's own "redis" lock store loses messages under concurrency: bot/rasa_plugins/lock_store.py
        "lock_store": {"type": "bot.rasa_plugins.lock_store.FifoRedisLockStore", "url": redis["host"],
                       "port": redis["port"], "db": redis["db"], "key_prefix": "assistant",
                       "use_ssl": redis["use_ssl"]},
        # Rasa's own "pika" broker falls behind a busy server and holds every event meanwhile
        "event_broker": {"type": "bot.rasa_plugins.event_broker.BatchingPikaEventBroker",
                         "url": amqp["host"], "port": amqp["port"],
                         "username": amqp["username"], "password": "${ASSISTANT_RABBITMQ_PASSWORD}",
                         "queues": [settings.rabbitmq_queue]},
    }
    if tracker.password:
        endpoints["tracker_store"]["password"] = "${ASSISTANT_TRACKER_DB_PASSWORD}"
    if redis["password"]:
        endpoints["lock_store"]["password"] = "${ASSISTANT_REDIS_PASSWORD}"
    if amqp["vhost"] != "/":
        endpoints["event_broker"]["url"] = (f"amqp://{amqp['host']}:{amqp['port']}/"
                                            f"{amqp['vhost'].replace('/', '%2F')}")
    return endpoints


def secret_environment(settings: Settings) -> Dict[str, str]:
    """The variables the endpoints file refers to, for the Rasa server's environment only."""
    return {"ASSISTANT_TRACKER_DB_PASSWORD": make_url(settings.tracker_db_url).password or "",
            "ASSISTANT_REDIS_PASSWORD": _redis(settings.redis_url)["password"] or "",
            "ASSISTANT_RABBITMQ_PASSWORD": _amqp(settings.rabbitmq_url)["password"]}


def where(url: str) -> str:
    """A URL as an operator may see it in a message: no user, no password."""
    parsed = urlparse(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.hostname or ''}{port}{parsed.path}"


def check_services(settings: Settings) -> Optional[str]:
    """None when PostgreSQL (both databases), Redis and RabbitMQ answer; else what does not."""
    import socket

    import redis as redis_client
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        rasa_endpoints(settings)
    except ValueError as error:
        return str(error)
    for name, url in (("conversation store (TRACKER_DB_URL)", settings.tracker_db_url),
                      ("assistant database (APP_DB_URL)", settings.app_db_url)):
        engine = create_engine(url, future=True, connect_args={"connect_timeout": 5}
                               if make_url(url).get_backend_name() == "postgresql" else {})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            return f"the {name} at {where(url)} does not answer: {error.__class__.__name__}"
        finally:
            engine.dispose()
    redis = _redis(settings.redis_url)
    try:
        redis_client.Redis(host=redis["host"], port=redis["port"], db=redis["db"], password=redis["password"],
                           ssl=redis["use_ssl"], socket_timeout=5).ping()
    except redis_client.RedisError as error:
        return f"Redis (REDIS_URL) at {where(settings.redis_url)} does not answer: {error.__class__.__name__}"
    amqp = _amqp(settings.rabbitmq_url)
    try:
        socket.create_connection((amqp["host"], amqp["port"]), timeout=5).close()
    except OSError as error:
        return f"RabbitMQ (RABBITMQ_URL) at {where(settings.rabbitmq_url)} does not answer: {error.strerror}"
    return None
