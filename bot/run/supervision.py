"""Supervision: start services, wait until each answers, restart the ones that die, stop all together.

A service is a command, the URL that says it answers, and its port. The supervisor starts them
in order, each in a session of its own (a Ctrl-C in the terminal reaches only the supervisor,
which stops the children in order), restarts a child that dies up to RESTARTS_ALLOWED times in
RESTART_WINDOW_S, and on a signal or too many deaths stops every child (SIGTERM, then SIGKILL
after STOP_GRACE_S).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from bot import logs
from bot.config import ROOT

STARTUP_TIMEOUT_S = 300
STOP_GRACE_S = 10
RESTARTS_ALLOWED = 5          # a child that dies is started again, up to this many times
RESTART_WINDOW_S = 300        # within this window; beyond, everything stops


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
    # started once the others answer: what need not be up before the first citizen is answered
    deferred: bool = False

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

    def returncode(self) -> Optional[int]:
        return self.process.returncode if self.process is not None else None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
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
            for deferred in (False, True):
                stage = [s for s in self.services if s.deferred == deferred]
                for service in stage:
                    print(f"… starting {service.name}", flush=True)
                    service.start(env)
                if not self._wait_until_ready(stage):
                    return 0 if self.stopping else 1  # stopped while starting: a clean stop
            outcome = on_ready() if on_ready is not None else None
            if outcome is not None:
                return outcome
            while not self.stopping:
                for service in [s for s in self.services if not s.alive()]:
                    code = service.returncode()
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

    def _wait_until_ready(self, services: List[Service]) -> bool:
        started = time.monotonic()
        pending = list(services)
        while pending:
            if self.stopping:
                return False
            for service in list(pending):
                if not service.alive():
                    print(f"✗ {service.name} exited during start-up (code {service.returncode()})", flush=True)
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
