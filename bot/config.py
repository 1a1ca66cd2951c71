"""Every setting, read from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"Setting {name}={raw!r} is not a whole number") from None


@dataclass(frozen=True)
class Settings:
    rasa_port: int
    actions_port: int
    rasa_token: str
    data_dir: Path
    models_dir: Path
    max_message_chars: int

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
    )
