"""`python -m bot.run [serve|shell] [--model M]`: what `make run` and `make shell` call."""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

from bot import logs
from bot.config import ROOT, load_settings
from bot.run.files import write_config_files
from bot.run.preflight import child_environment, preflight
from bot.run.supervision import Supervisor
from bot.run.topology import assistant_services, shell_command, shell_services


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Starts the assistant's processes and supervises them")
    parser.add_argument("mode", nargs="?", choices=["serve", "shell"], default="serve")
    parser.add_argument("--model", default=None, help="model archive (default: models/current.tar.gz)")
    args = parser.parse_args(argv)

    settings = load_settings()
    problem = preflight(settings)
    if problem:
        print(f"✗ {problem}", file=sys.stderr)
        return 2
    model = Path(args.model) if args.model else settings.models_dir / "current.tar.gz"
    if not model.exists():
        print(f"✗ no trained model at {model}: run `make train` first", file=sys.stderr)
        return 2
    generated = not settings.rasa_token
    if generated:
        settings = dataclasses.replace(settings, rasa_token=secrets.token_urlsafe(24))
    env = child_environment(settings)
    write_config_files(settings)

    if args.mode == "shell":
        def talk() -> int:
            return subprocess.call(shell_command(settings, model), cwd=ROOT, env=env)
        return Supervisor(shell_services(settings)).run(env, on_ready=talk)

    services = assistant_services(settings, model)

    def report() -> Optional[int]:
        print(f"\nThe assistant is running ({settings.profile} profile):", flush=True)
        for service in services:
            print(f"  {service.name:<15} {service.address}", flush=True)
        token_note = " (generated for this run; set RASA_TOKEN to choose it)" if generated else ""
        print(f"  HTTP API token  {settings.rasa_token}{token_note}", flush=True)
        print("Stop with Ctrl-C or SIGTERM.", flush=True)
        return None  # keep supervising

    return Supervisor(services).run(env, on_ready=report)


if __name__ == "__main__":
    logs.install()  # and in the supervisor's own output
    sys.exit(main())
