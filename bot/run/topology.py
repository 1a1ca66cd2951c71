"""What runs, per profile: the services `make run` starts, their commands, ports and health URLs.

The conversation path (the one-stop sandbox, the action server, the first Rasa server, nginx)
starts first; the other Rasa servers, the notifier, the widget page, the staff app and the
analytics consumer start once it answers, so the first citizen is answered sooner (start-up
is CPU-bound: every process imports and loads at once).

Describing a service starts nothing and writes nothing (bot/run/files.py writes the files the
commands name, bot/run/supervision.py starts them).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

from bot import balancer
from bot.config import Settings
from bot.run.files import credentials_path, endpoints_path
from bot.run.supervision import Service

LISTEN_BACKLOG = 1024  # connections a Rasa server keeps waiting while its event loop is busy
PATCHED_RASA = [sys.executable, "-m", "bot.rasa_patches"]  # Rasa's command line with bot/rasa_patches installed


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
        env={"SANIC_HOST": settings.bind_host},  # rasa_sdk's only way to choose the interface
    )


def rasa_server(settings: Settings, model: Path, port: Optional[int] = None, name: str = "Rasa server",
                replica: int = 0) -> Service:
    port = port or settings.rasa_port
    return Service(
        name=name,
        command=[*PATCHED_RASA, "run", "--enable-api", f"--auth-token={settings.rasa_token}",
                 "--interface", settings.bind_host, "--port", str(port), "--model", str(model),
                 "--credentials", str(credentials_path(settings)), "--endpoints", str(endpoints_path(settings)),
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
        env={"SANIC_REQUEST_MAX_SIZE": str(settings.max_request_bytes), "SANIC_BACKLOG": str(LISTEN_BACKLOG),
             "RASA_REPLICA": str(replica)},
    )


def shell_command(settings: Settings, model: Path) -> List[str]:
    """`make shell`: the same Rasa as the server's, talking in the terminal."""
    return [*PATCHED_RASA, "shell", "--model", str(model), "--endpoints", str(endpoints_path(settings))]


def conversation_servers(settings: Settings, model: Path) -> List[Service]:
    """The action and Rasa servers: one of each, or replicas behind nginx (bot/balancer.py)."""
    if not settings.scaled_out:
        return [action_server(settings), rasa_server(settings, model)]
    actions = ([action_server(settings)] if settings.action_servers == 1 else
               [action_server(settings, port, f"action server {i + 1}")
                for i, port in enumerate(balancer.action_ports(settings))])
    rasas = [rasa_server(settings, model, port, f"Rasa server {i + 1}", replica=i)
             for i, port in enumerate(balancer.rasa_ports(settings))]
    for later in rasas[1:]:  # the first answers sooner alone; the others load once it does
        later.deferred = True
    nginx = Service(
        name="nginx",
        command=[balancer.nginx_binary(), "-c", str(balancer.nginx_config_path(settings)), "-g", "daemon off;"],
        health_url=f"http://127.0.0.1:{settings.rasa_port}/nginx-health",
        address=f"http://localhost:{settings.rasa_port}/webhooks/rest/webhook (actions: :{settings.actions_port})",
        port=settings.rasa_port,
    )
    return [nginx, *actions, *rasas]


def python_service(name: str, module: List[str], port: int, shown: str, deferred: bool = True) -> Service:
    """One of our own services: `python -m <module> --port N`, with GET /health; started once
    the conversation path answers, unless `deferred` is False."""
    return Service(
        name=name,
        command=[sys.executable, "-m", *module, "--port", str(port)],
        health_url=f"http://127.0.0.1:{port}/health",
        address=f"http://localhost:{port}{shown}",
        port=port,
        deferred=deferred,
    )


def sandbox_server(settings: Settings) -> Service:
    return python_service("one-stop sandbox", ["bot.onestop.sandbox"], settings.sandbox_port,
                          f"/api/v1 (token {settings.onestop_token})", deferred=False)  # dossier lookups


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


def shell_services(settings: Settings) -> List[Service]:
    """What `make shell` needs beside the terminal: the action server (and the sandbox)."""
    return ([sandbox_server(settings)] if settings.uses_sandbox else []) + [action_server(settings)]


def assistant_services(settings: Settings, model: Path) -> List[Service]:
    """Everything `make run` starts; the sandbox only when no real one-stop system is set, the
    analytics consumer only in the production profile."""
    services = [sandbox_server(settings)] if settings.uses_sandbox else []
    services += [*conversation_servers(settings, model), notifier_server(settings),
                 web_server(settings), staff_server(settings)]
    return services + ([consumer_server(settings)] if settings.production else [])
