"""The configuration files a run writes before it starts anything, and where they are.

Rasa reads its channels (credentials) and, in the production profile, its stores and broker
(endpoints) from files; scaled out, nginx reads its own. They are written once per run, from
the settings, into VAR_DIR; no secret is written (channels read theirs from the environment,
endpoints refer to `${VARIABLES}`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import yaml

from bot import balancer
from bot.config import Settings
from bot.production import rasa_endpoints


def channel_credentials(settings: Settings) -> Dict[str, Optional[dict]]:
    """The input channels of this run: Telegram and Zalo only when their secrets are set."""
    channels: Dict[str, Optional[dict]] = {
        "bot.channels.rest.CitizenRestInput": None,
        "bot.channels.socketio.CitizenSocketIOInput": {"user_message_evt": "user_uttered",
                                                      "bot_message_evt": "bot_uttered",
                                                      "session_persistence": True},
    }
    if settings.telegram_token:
        channels["bot.channels.telegram.TelegramInput"] = None
    if settings.zalo_oa_secret_key:
        channels["bot.channels.zalo.ZaloInput"] = None
    return channels


def credentials_path(settings: Settings) -> Path:
    return settings.var_dir / "credentials.yml"


def endpoints_path(settings: Settings) -> Path:
    """endpoints.yml, or in the production profile the one written from the settings."""
    return settings.var_dir / "endpoints.production.yml" if settings.production else settings.endpoints_file


def write_config_files(settings: Settings) -> List[Path]:
    """Write every file this run's services read; returns their paths."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    written = {credentials_path(settings): yaml.safe_dump(channel_credentials(settings), sort_keys=False)}
    if settings.production:
        written[endpoints_path(settings)] = yaml.safe_dump(rasa_endpoints(settings), sort_keys=False)
    for path, text in written.items():
        path.write_text(text, encoding="utf-8")
    return list(written) + ([balancer.write_nginx_config(settings)] if settings.scaled_out else [])
