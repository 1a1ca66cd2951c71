"""Every setting, read from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
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
    def intent_labels(self) -> Path:
        return self.data_dir / "texts" / "intents.yml"


def load_settings() -> Settings:
    return Settings(
        rasa_port=_int("RASA_PORT", 5005),
        actions_port=_int("ACTIONS_PORT", 5055),
        rasa_token=os.environ.get("RASA_TOKEN", ""),
        data_dir=Path(os.environ.get("DATA_DIR", ROOT / "data")),
        models_dir=Path(os.environ.get("MODELS_DIR", ROOT / "models")),
        max_message_chars=_int("MAX_MESSAGE_CHARS", 4000),
        onestop_url=os.environ.get("ONESTOP_URL")
        or f"http://127.0.0.1:{_int('ONESTOP_SANDBOX_PORT', 5070)}",
        onestop_token=os.environ.get("ONESTOP_TOKEN", "sandbox-token"),
        onestop_connect_timeout_s=_float("ONESTOP_CONNECT_TIMEOUT_S", 2.0),
        onestop_read_timeout_s=_float("ONESTOP_READ_TIMEOUT_S", 5.0),
        sandbox_port=_int("ONESTOP_SANDBOX_PORT", 5070),
        sandbox_db_url=os.environ.get("ONESTOP_SANDBOX_DB_URL", f"sqlite:///{VAR / 'onestop-sandbox.db'}"),
        app_db_url=os.environ.get("APP_DB_URL", f"sqlite:///{VAR / 'assistant.db'}"),
        notifier_port=_int("NOTIFIER_PORT", 5056),
        notifier_public_url=os.environ.get("NOTIFIER_PUBLIC_URL", ""),
        webhook_secret=os.environ.get("ONESTOP_WEBHOOK_SECRET", "sandbox-webhook-secret"),
    )
