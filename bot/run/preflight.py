"""Checks before anything starts, and the environment every child process gets.

The data the answers depend on must load, the profile's settings must agree, and in the
production profile PostgreSQL, Redis and RabbitMQ must answer and the assistant's database be
migrated; otherwise nothing starts and the operator reads why.
"""

from __future__ import annotations

import os
from typing import Dict, Optional

from sqlalchemy.exc import SQLAlchemyError

from bot import balancer
from bot.config import ROOT, Settings
from bot.datafiles import DataFileError, read_yaml
from bot.migrations import schema as migrations
from bot.procedures.catalogue import CatalogueError, load_catalogue
from bot.production import check_services, secret_environment
from bot.store.db import engine_for


def preflight(settings: Settings) -> Optional[str]:
    """None when everything may start; else what stops it, for the operator."""
    try:
        load_catalogue(settings.procedures_dir)
        read_yaml(settings.province_profile)
    except (CatalogueError, DataFileError) as error:
        return f"data error, nothing started: {error}"
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    if settings.rasa_servers < 1 or settings.action_servers < 1:
        return "RASA_SERVERS and ACTION_SERVERS must be at least 1"
    if settings.scaled_out:
        try:
            balancer.nginx_binary()
        except FileNotFoundError as error:
            return (f"{settings.rasa_servers} Rasa servers and {settings.action_servers} action server(s) "
                    f"run behind nginx, nothing started: {error}; or set RASA_SERVERS=1")
    if settings.production:
        problem = check_services(settings)
        if problem:
            return f"production profile, nothing started: {problem}"
        try:
            revision = migrations.upgrade(settings.app_db_url)  # before the services share it
        except SQLAlchemyError as error:
            return f"migrating the assistant's database failed, nothing started: {error.__class__.__name__}"
        print(f"✓ assistant's database at revision {revision}", flush=True)
        return None
    try:
        engine_for(settings.app_db_url)  # the schema exists before the services share it
    except SQLAlchemyError as error:
        return f"the assistant's database {settings.app_db_url.split('@')[-1]} is not usable: {error}"
    return None


def child_environment(settings: Settings) -> Dict[str, str]:
    """The environment of every service: this one's, plus what the run decided."""
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(ROOT))
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["ACTIONS_PORT"] = str(settings.actions_port)
    env["VAR_DIR"] = str(settings.var_dir)
    env["RASA_TOKEN"] = settings.rasa_token  # the notifier calls Rasa's HTTP API with it
    if settings.production:
        env.update(secret_environment(settings))  # what the endpoints file refers to
    return env
