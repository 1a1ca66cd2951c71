"""Private PostgreSQL, Redis and RabbitMQ servers for the fault tests: the real programs
(Debian's packages, the same as the machine's own services), each with its own data folder and
port, so a test can stop and restart one under traffic without touching the machine's services
or another test's. And a one-stop system (the sandbox) the assistant reaches as an external one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import List, Optional

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RABBITMQ_SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _wait(port: int, up: bool, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers(port) == up:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} on port {port} did not {'start' if up else 'stop'} within {timeout:.0f} s")


def _as(user: str) -> List[str]:
    """Run as the service's own user when we are root (PostgreSQL and RabbitMQ refuse root)."""
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _owned_folder(prefix: str, user: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(folder, user)
    return folder


class PrivateService:
    port: int
    folder: Path

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def restart(self, down_s: float = 2.0) -> float:
        """Stop, stay down for `down_s`, start again; the seconds it did not answer."""
        began = time.monotonic()
        self.stop()
        time.sleep(down_s)
        self.start()
        return time.monotonic() - began

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class PrivatePostgres(PrivateService):
    def __init__(self) -> None:
        self.port = _free_port()
        self.folder = _owned_folder("fault-pg-", "postgres")
        subprocess.run(_as("postgres") + [str(PG_BIN / "initdb"), "-D", str(self.folder / "data"), "-A", "trust",
                                          "-U", "postgres", "--no-sync"],
                       check=True, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as("postgres") + [str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "data"), *args],
                       check=True, capture_output=True)

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                  "-l", str(self.folder / "log"), "-w", "start")
        _wait(self.port, True, 30, "PostgreSQL")

    def stop(self) -> None:
        """A fast shutdown, as `systemctl restart postgresql` does: every connection is closed."""
        if _answers(self.port):
            self._ctl("-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        subprocess.run(["psql", self.url(), "-qc", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
        return self.url(name)


class PrivateRedis(PrivateService):
    """Like the machine's Redis, it keeps nothing on disk: a restart forgets every key."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="fault-redis-"))
        self.process: Optional[subprocess.Popen] = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(self.port, True, 15, "Redis")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=15)
        self.process = None


class PrivateRabbitMQ(PrivateService):
    """A RabbitMQ node of its own (name, ports, database); durable queues survive its restart."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.folder = _owned_folder("fault-rabbitmq-", "rabbitmq")
        self.node = f"fault{uuid.uuid4().hex[:8]}@localhost"
        self.env = {**os.environ, "HOME": "/var/lib/rabbitmq" if os.geteuid() == 0 else os.environ.get("HOME", "/"),
                    "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
                    "RABBITMQ_DIST_PORT": str(_free_port()), "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(self.folder / "log"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
                    "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq")}
        self.process: Optional[subprocess.Popen] = None

    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def start(self) -> None:
        self.process = subprocess.Popen(_as("rabbitmq") + ["env", *(f"{k}={v}" for k, v in self.env.items()
                                                                      if k.startswith(("RABBITMQ_", "HOME"))),
                                                           str(RABBITMQ_SERVER)],
                                        cwd=self.folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        _wait(self.port, True, 120, "RabbitMQ")

    def stop(self) -> None:
        """SIGTERM: RabbitMQ's orderly shutdown (connections closed, durable data kept)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        _wait(self.port, False, 30, "RabbitMQ")


class OneStopSystem(PrivateService):
    """The sandbox as the assistant's external one-stop system (ONESTOP_URL); `stop` kills it."""

    token = "sandbox-token"

    def __init__(self) -> None:
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="fault-onestop-"))
        self.process: Optional[subprocess.Popen] = None

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.onestop.sandbox", "--port", str(self.port),
             "--db-url", f"sqlite:///{self.folder / 'onestop.db'}"],
            env={**os.environ, "ONESTOP_TOKEN": self.token}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(self.port, True, 60, "the one-stop sandbox")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)
        self.process = None
