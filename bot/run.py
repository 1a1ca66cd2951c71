"""Starts the assistant's processes, waits until each answers, stops them all together.

`python -m bot.run` (what `make run` calls) starts the action server and the Rasa server
(REST channel, HTTP API behind a token), prints what runs where, and on Ctrl-C, SIGTERM or
the death of any child stops every child. No terminal is needed: it can run in the
background. `python -m bot.run shell` starts the action server and talks to the bot in
the terminal.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

from bot import logs
from bot.config import ROOT, Settings, load_settings

STARTUP_TIMEOUT_S = 300
STOP_GRACE_S = 10
RESTARTS_ALLOWED = 5          # a child that dies is started again, up to this many times
RESTART_WINDOW_S = 300        # within this window; beyond, everything stops
LISTEN_BACKLOG = 1024         # connections a Rasa server keeps waiting while its event loop is busy


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Service:
    name: str
    command: List[str]
    health_url: str
    address: str
    port: int
    process: Optional[subprocess.Popen] = field(default=None, repr=False)
    restarts: List[float] = field(default_factory=list, repr=False)
    env: Dict[str, str] = field(default_factory=dict)  # this service's own settings

    def may_restart(self) -> bool:
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW_S]
        if len(self.restarts) >= RESTARTS_ALLOWED:
            return False
        self.restarts.append(now)
        return True

    def start(self, env: Dict[str, str]) -> None:
        # A session of its own: a Ctrl-C in the terminal reaches only us, and we stop
        # the children in order instead of letting each die on its own.
        self.process = subprocess.Popen(  # logs.wrap: secrets and personal data masked in its output
            logs.wrap(self.command), cwd=ROOT, env={**env, **self.env}, start_new_session=True, stdin=subprocess.DEVNULL
        )

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as reply:
                return 200 <= reply.status < 300
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
            return False  # not up yet (or a port still in another process's hands)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def action_server(settings: Settings, port: Optional[int] = None, name: str = "action server") -> Service:
    port = port or settings.actions_port
    return Service(
        name=name,
        command=[_bin("rasa"), "run", "actions", "--actions", "bot.actions", "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/health",
        address=f"http://localhost:{port}/webhook",
        port=port,
    )


def channel_credentials(settings: Settings) -> Dict[str, Optional[dict]]:
    """The input channels of this run: Telegram and Zalo only when their secrets are set.

    Channels read their settings from the environment (bot/config.py), so no secret is
    written to disk here.
    """
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


def write_credentials(settings: Settings) -> Path:
    import yaml

    path = settings.var_dir / "credentials.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(channel_credentials(settings), sort_keys=False), encoding="utf-8")
    return path


def endpoints_file(settings: Settings) -> Path:
    """endpoints.yml, or in the production profile one written from the settings (secrets
    stay `${VARIABLES}` of the environment)."""
    if not settings.production:
        return settings.endpoints_file
    import yaml

    from bot.production import rasa_endpoints

    path = settings.var_dir / "endpoints.production.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(rasa_endpoints(settings), sort_keys=False), encoding="utf-8")
    return path


def rasa_server(settings: Settings, model: Path, port: Optional[int] = None, name: str = "Rasa server") -> Service:
    port = port or settings.rasa_port
    return Service(
        name=name,
        command=[_bin("rasa"), "run", "--enable-api", f"--auth-token={settings.rasa_token}",
                 "--port", str(port), "--model", str(model),
                 "--credentials", str(write_credentials(settings)), "--endpoints", str(endpoints_file(settings)),
                 "--cors", "*"],
        health_url=f"http://127.0.0.1:{port}/status?token={settings.rasa_token}",
        address=f"http://localhost:{port}/webhooks/rest/webhook",
        port=port,
        # Sanic reads SANIC_* variables: the body size limit of every channel and of the API.
        # Not for the action server, whose requests carry the whole conversation.
        # Rasa reads SANIC_BACKLOG: with its default of 100 pending connections, a busy server
        # (the event loop accepts between messages) let the kernel drop SYNs, and those clients
        # waited for TCP's retransmissions, 30 to 120 s (the soak's timeouts; `netstat -s`:
        # "SYNs to LISTEN sockets dropped").
        env={"SANIC_REQUEST_MAX_SIZE": str(settings.max_request_bytes), "SANIC_BACKLOG": str(LISTEN_BACKLOG)},
    )


def conversation_servers(settings: Settings, model: Path) -> List[Service]:
    """The action and Rasa servers: one of each, or replicas behind nginx (bot/balancer.py)."""
    if not settings.scaled_out:
        return [action_server(settings), rasa_server(settings, model)]
    from bot import balancer

    actions = [action_server(settings, port, f"action server {i + 1}")
               for i, port in enumerate(balancer.action_ports(settings))]
    rasas = [rasa_server(settings, model, port, f"Rasa server {i + 1}")
             for i, port in enumerate(balancer.rasa_ports(settings))]
    nginx = Service(
        name="nginx",
        command=[balancer.nginx_binary(), "-c", str(balancer.write_nginx_config(settings)), "-g", "daemon off;"],
        health_url=f"http://127.0.0.1:{settings.rasa_port}/nginx-health",
        address=f"http://localhost:{settings.rasa_port}/webhooks/rest/webhook (actions: :{settings.actions_port})",
        port=settings.rasa_port,
    )
    return [nginx, *actions, *rasas]


def python_service(name: str, module: List[str], port: int, shown: str) -> Service:
    """One of our own services: `python -m <module> --port N`, with GET /health."""
    return Service(
        name=name,
        command=[sys.executable, "-m", *module, "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/health",
        address=f"http://localhost:{port}{shown}",
        port=port,
    )


def sandbox_server(settings: Settings) -> Service:
    return python_service("one-stop sandbox", ["bot.onestop.sandbox"], settings.sandbox_port,
                          f"/api/v1 (token {settings.onestop_token})")


def notifier_server(settings: Settings) -> Service:
    return python_service("notifier", ["bot.notifier"], settings.notifier_port, "/onestop/webhook")


def web_server(settings: Settings) -> Service:
    return python_service("widget demo page", ["bot.web"], settings.web_port, "/ (widget: /widget.js)")


def staff_server(settings: Settings) -> Service:
    return python_service("staff analytics", ["bot.staff", "serve"], settings.staff_port,
                          "/ (accounts: python -m bot.staff users add NAME --role admin)")


def consumer_server(settings: Settings) -> Service:
    return python_service("analytics consumer", ["bot.analytics", "consume"], settings.consumer_port,
                          f"/health (RabbitMQ queue {settings.rabbitmq_queue})")


def assistant_services(settings: Settings, model: Path) -> List[Service]:
    """Everything `make run` starts; the sandbox only when no real one-stop system is set, the
    analytics consumer only in the production profile."""
    services = [sandbox_server(settings)] if settings.uses_sandbox else []
    services += [*conversation_servers(settings, model), notifier_server(settings),
                 web_server(settings), staff_server(settings)]
    return services + ([consumer_server(settings)] if settings.production else [])


class Supervisor:
    def __init__(self, services: List[Service]) -> None:
        self.services = services
        self.stopping = False

    def _on_signal(self, signum: int, _frame: object) -> None:
        self.stopping = True

    def run(self, env: Dict[str, str], on_ready: Optional[Callable[[], Optional[int]]] = None) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGHUP, self._on_signal)
        busy = [s for s in self.services if port_in_use(s.port)]
        if busy:
            for service in busy:
                print(f"✗ port {service.port} for the {service.name} is already in use "
                      f"(another instance running?); choose another port in the environment", flush=True)
            return 1
        try:
            for service in self.services:
                print(f"… starting {service.name}", flush=True)
                service.start(env)
            if not self._wait_until_ready():
                return 1
            outcome = on_ready() if on_ready is not None else None
            if outcome is not None:
                return outcome
            while not self.stopping:
                for service in [s for s in self.services if not s.alive()]:
                    code = service.process.returncode if service.process else None
                    if not service.may_restart():
                        print(f"✗ {service.name} stopped unexpectedly (code {code}) {RESTARTS_ALLOWED} times "
                              f"in {RESTART_WINDOW_S // 60} minutes; stopping the rest", flush=True)
                        return 1
                    print(f"✗ {service.name} stopped unexpectedly (code {code}); starting it again", flush=True)
                    service.start(env)
                time.sleep(0.5)
            return 0
        finally:
            self.stop_all()

    def _wait_until_ready(self) -> bool:
        started = time.monotonic()
        pending = list(self.services)
        while pending:
            if self.stopping:
                return False
            for service in list(pending):
                if not service.alive():
                    print(f"✗ {service.name} exited during start-up (code {service.process.returncode})", flush=True)
                    return False
                if service.answers():
                    print(f"✓ {service.name} answers after {time.monotonic() - started:.1f} s", flush=True)
                    pending.remove(service)
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                print(f"✗ not answering after {STARTUP_TIMEOUT_S} s: {', '.join(s.name for s in pending)}", flush=True)
                return False
            time.sleep(0.5)
        return True

    def stop_all(self) -> None:
        for service in reversed(self.services):
            service.stop()
        deadline = time.monotonic() + STOP_GRACE_S
        for service in self.services:
            service.wait_or_kill(deadline)


def _environment(settings: Settings) -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(ROOT))
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["ACTIONS_PORT"] = str(settings.actions_port)
    env["VAR_DIR"] = str(settings.var_dir)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    env["RASA_TOKEN"] = settings.rasa_token  # the notifier calls Rasa's HTTP API with it
    if settings.production:
        from bot.production import secret_environment

        env.update(secret_environment(settings))  # what the endpoints file refers to
    return env


def preflight(settings: Settings) -> Optional[str]:
    """Data the answers depend on must load before anything starts."""
    from bot.datafiles import DataFileError, read_yaml
    from bot.procedures.catalogue import CatalogueError, load_catalogue

    from sqlalchemy.exc import SQLAlchemyError

    from bot.store.db import engine_for

    try:
        load_catalogue(settings.procedures_dir)
        read_yaml(settings.province_profile)
    except (CatalogueError, DataFileError) as error:
        return f"data error, nothing started: {error}"
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    if settings.scaled_out and not settings.production:
        return ("RASA_SERVERS and ACTION_SERVERS above 1 need the production profile "
                "(ASSISTANT_PROFILE=production): the servers must share PostgreSQL and Redis")
    if settings.rasa_servers < 1 or settings.action_servers < 1:
        return "RASA_SERVERS and ACTION_SERVERS must be at least 1"
    if settings.production:
        from bot.production import check_services
        from bot.migrations import schema as migrate

        problem = check_services(settings)
        if problem:
            return f"production profile, nothing started: {problem}"
        try:
            revision = migrate.upgrade(settings.app_db_url)  # before the services share it
        except SQLAlchemyError as error:
            return f"migrating the assistant's database failed, nothing started: {error.__class__.__name__}"
        print(f"✓ assistant's database at revision {revision}", flush=True)
        return None
    try:
        engine_for(settings.app_db_url)  # the schema exists before the services share it
    except SQLAlchemyError as error:
        return f"the assistant's database {settings.app_db_url.split('@')[-1]} is not usable: {error}"
    return None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
        settings = Settings(**{**settings.__dict__, "rasa_token": secrets.token_urlsafe(24)})
    env = _environment(settings)

    if args.mode == "shell":
        def talk() -> int:
            return subprocess.call(
                [_bin("rasa"), "shell", "--model", str(model), "--endpoints", str(endpoints_file(settings))],
                cwd=ROOT, env=env,
            )
        sandbox = [sandbox_server(settings)] if settings.uses_sandbox else []
        return Supervisor(sandbox + [action_server(settings)]).run(env, on_ready=talk)

    services = assistant_services(settings, model)

    def report() -> int:
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
