"""Every setting, read from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("VAR_DIR", ROOT / "var"))  # local databases of the embedded default


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"Setting {name}={raw!r} is not a whole number") from None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"Setting {name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class Settings:
    rasa_port: int
    actions_port: int
    rasa_token: str
    data_dir: Path
    models_dir: Path
    max_message_chars: int
    max_request_bytes: int        # larger requests to the Rasa server are refused (413)
    rate_limit_messages: int      # per sender and channel in each window; 0 turns the limit off
    rate_limit_window_s: float
    admission_max_wait_s: float   # a message that would wait longer is told "busy" at once; 0: never
    admission_retry_after_s: int  # REST's Retry-After with that answer
    # The one-stop system: a real one when ONESTOP_URL is set, else the sandbox.
    onestop_url: str
    onestop_token: str
    onestop_connect_timeout_s: float
    onestop_read_timeout_s: float
    sandbox_port: int
    sandbox_db_url: str
    # The assistant's own database (subscriptions, rate limits, funnel events).
    app_db_url: str
    notifier_port: int
    notifier_public_url: str
    webhook_secret: str
    # Dossier lookups: failed verifications before a lock, per sender and per dossier code
    # (across senders and channels), and how long a lock lasts.
    lookup_sender_failures: int
    lookup_code_failures: int
    lookup_lock_minutes: int
    # Channels. Telegram and Zalo start only when their secrets are set.
    telegram_token: str
    telegram_mode: str            # polling (default) | webhook
    telegram_webhook_url: str     # public URL Telegram calls in webhook mode
    telegram_secret_token: str    # echoed by Telegram in X-Telegram-Bot-Api-Secret-Token
    telegram_api_url: str         # Bot API base (a local fake in tests)
    zalo_app_id: str
    zalo_app_secret: str
    zalo_oa_secret_key: str       # signs webhooks; not the app secret
    zalo_access_token: str
    zalo_refresh_token: str
    zalo_api_url: str
    zalo_oauth_url: str
    web_port: int                 # website widget and its demo page
    endpoints_file: Path          # Rasa's stores, broker and action server (endpoints.yml)
    rasa_patches_off: frozenset   # bot/rasa_patches left out by name (or `all`: stock Rasa, to compare)
    # Staff analytics web app.
    staff_port: int
    staff_secure_cookies: bool    # add `Secure` to the session cookie (behind HTTPS)
    retention_days: int           # conversations older than this are deleted or anonymised
    tracker_db_url: str           # Rasa's SQL tracker store, read by the analytics
    # Profile: "embedded" (SQLite, in-memory locks; the default) or "production"
    # (PostgreSQL for the tracker store and the app database, Redis locks, RabbitMQ events).
    profile: str
    redis_url: str                # production: Rasa's lock store
    rabbitmq_url: str             # production: Rasa's event broker, read by the analytics consumer
    rabbitmq_queue: str
    consumer_port: int            # production: the analytics consumer's /health
    reconcile_s: float            # production: how often the consumer copies undelivered events
    reconcile_grace_s: float      # ... from tracker rows at least this old (bot/analytics/reconcile.py)
    action_endpoint_url: str      # where Rasa calls the action server (a load balancer when scaled out)
    bind_host: str                # interface every service listens on (0.0.0.0 in a container)
    # Scale-out: several Rasa servers (embedded default: one per core, at most 4) and action
    # servers on ports from REPLICA_PORT_BASE, behind nginx listening on RASA_PORT (and on
    # ACTIONS_PORT when there are several action servers).
    rasa_servers: int
    action_servers: int
    rasa_replica: int             # which of the Rasa servers this process is (0: the first or only one)
    replica_port_base: int

    @property
    def scaled_out(self) -> bool:
        return self.rasa_servers > 1 or self.action_servers > 1

    @property
    def production(self) -> bool:
        return self.profile == "production"

    @property
    def var_dir(self) -> Path:
        return VAR

    @property
    def uses_sandbox(self) -> bool:
        return not os.environ.get("ONESTOP_URL")

    @property
    def province_profile(self) -> Path:
        return self.data_dir / "province.yml"

    @property
    def procedures_dir(self) -> Path:
        return self.data_dir / "procedures"

    @property
    def directory_dir(self) -> Path:
        return self.data_dir / "directory"

    @property
    def intent_labels(self) -> Path:
        return self.data_dir / "texts" / "intents.yml"


MAX_DEFAULT_RASA_SERVERS = 4  # the embedded default's Rasa servers: one per core, up to this


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if raw.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"Setting {name}={raw!r} is not true or false")


def _choice(name: str, default: str, allowed: tuple) -> str:
    raw = os.environ.get(name, "").strip().lower() or default
    if raw not in allowed:
        raise SystemExit(f"Setting {name}={raw!r} must be one of: {', '.join(allowed)}")
    return raw


def _onestop_secret(name: str, sandbox_value: str) -> str:
    """The sandbox's token and webhook secret are public (README): a real system needs its own."""
    value = os.environ.get(name, "")
    if value:
        return value
    if os.environ.get("ONESTOP_URL"):
        raise SystemExit(f"Setting {name} is required when ONESTOP_URL names a real one-stop system "
                         "(without it the public sandbox value would be used)")
    return sandbox_value


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """The settings, read from the environment once per process (tests that change the
    environment call `load_settings.cache_clear()`; tests/conftest.py does before each test)."""
    return Settings(
        rasa_port=_int("RASA_PORT", 5005),
        actions_port=_int("ACTIONS_PORT", 5055),
        rasa_token=os.environ.get("RASA_TOKEN", ""),
        data_dir=Path(os.environ.get("DATA_DIR", ROOT / "data")),
        models_dir=Path(os.environ.get("MODELS_DIR", ROOT / "models")),
        max_message_chars=_int("MAX_MESSAGE_CHARS", 4000),
        max_request_bytes=_int("MAX_REQUEST_BYTES", 1_000_000),
        rate_limit_messages=_int("RATE_LIMIT_MESSAGES", 30),
        rate_limit_window_s=_float("RATE_LIMIT_WINDOW_S", 60.0),
        admission_max_wait_s=_float("ADMISSION_MAX_WAIT_S", 10.0),
        admission_retry_after_s=_int("ADMISSION_RETRY_AFTER_S", 60),
        onestop_url=os.environ.get("ONESTOP_URL")
        or f"http://127.0.0.1:{_int('ONESTOP_SANDBOX_PORT', 5070)}",
        onestop_token=_onestop_secret("ONESTOP_TOKEN", "sandbox-token"),
        onestop_connect_timeout_s=_float("ONESTOP_CONNECT_TIMEOUT_S", 2.0),
        onestop_read_timeout_s=_float("ONESTOP_READ_TIMEOUT_S", 5.0),
        sandbox_port=_int("ONESTOP_SANDBOX_PORT", 5070),
        sandbox_db_url=os.environ.get("ONESTOP_SANDBOX_DB_URL", f"sqlite:///{VAR / 'onestop-sandbox.db'}"),
        app_db_url=os.environ.get("APP_DB_URL", f"sqlite:///{VAR / 'assistant.db'}"),
        notifier_port=_int("NOTIFIER_PORT", 5056),
        notifier_public_url=os.environ.get("NOTIFIER_PUBLIC_URL", ""),
        webhook_secret=_onestop_secret("ONESTOP_WEBHOOK_SECRET", "sandbox-webhook-secret"),
        lookup_sender_failures=_int("LOOKUP_SENDER_FAILURES", 5),
        lookup_code_failures=_int("LOOKUP_CODE_FAILURES", 10),
        lookup_lock_minutes=_int("LOOKUP_LOCK_MINUTES", 15),
        telegram_token=os.environ.get("TELEGRAM_TOKEN", ""),
        telegram_mode=os.environ.get("TELEGRAM_MODE", "polling"),
        telegram_webhook_url=os.environ.get("TELEGRAM_WEBHOOK_URL", ""),
        telegram_secret_token=os.environ.get("TELEGRAM_SECRET_TOKEN", ""),
        telegram_api_url=os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org/bot"),
        zalo_app_id=os.environ.get("ZALO_APP_ID", ""),
        zalo_app_secret=os.environ.get("ZALO_APP_SECRET", ""),
        zalo_oa_secret_key=os.environ.get("ZALO_OA_SECRET_KEY", ""),
        zalo_access_token=os.environ.get("ZALO_ACCESS_TOKEN", ""),
        zalo_refresh_token=os.environ.get("ZALO_REFRESH_TOKEN", ""),
        zalo_api_url=os.environ.get("ZALO_API_URL", "https://openapi.zalo.me"),
        zalo_oauth_url=os.environ.get("ZALO_OAUTH_URL", "https://oauth.zaloapp.com"),
        web_port=_int("WEB_PORT", 8080),
        endpoints_file=Path(os.environ.get("RASA_ENDPOINTS", ROOT / "endpoints.yml")),
        rasa_patches_off=frozenset(name.strip() for name in os.environ.get("RASA_PATCHES_OFF", "").split(",")
                                   if name.strip()),
        staff_port=_int("STAFF_PORT", 8090),
        staff_secure_cookies=_bool("STAFF_SECURE_COOKIES", False),
        retention_days=_int("RETENTION_DAYS", 365),
        tracker_db_url=os.environ.get("TRACKER_DB_URL", f"sqlite:///{VAR / 'rasa-tracker.db'}"),
        profile=_choice("ASSISTANT_PROFILE", "embedded", ("embedded", "production")),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        rabbitmq_url=os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        rabbitmq_queue=os.environ.get("RABBITMQ_QUEUE", "rasa_events"),
        consumer_port=_int("ANALYTICS_CONSUMER_PORT", 5058),
        reconcile_s=_float("ANALYTICS_RECONCILE_S", 30.0),
        reconcile_grace_s=_float("ANALYTICS_RECONCILE_GRACE_S", 120.0),
        action_endpoint_url=os.environ.get("ACTION_ENDPOINT_URL")
        or f"http://127.0.0.1:{_int('ACTIONS_PORT', 5055)}/webhook",
        bind_host=os.environ.get("BIND_HOST", "127.0.0.1"),
        rasa_servers=_int("RASA_SERVERS", 1 if os.environ.get("ASSISTANT_PROFILE") == "production"
                          else min(os.cpu_count() or 1, MAX_DEFAULT_RASA_SERVERS)),
        action_servers=_int("ACTION_SERVERS", 1),
        rasa_replica=_int("RASA_REPLICA", 0),
        replica_port_base=_int("REPLICA_PORT_BASE", 5100),
    )
