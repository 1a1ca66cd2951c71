"""The staff app as a real subprocess on a free port, with seeded temporary databases."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, Optional
from urllib.parse import urlencode

import pytest

from tests.analytics import seed

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
ADMIN = ("admin", "mat-khau-quan-tri-1")
VIEWER = ("canbo", "mat-khau-xem-so-lieu")
LOCKABLE = ("thu-sai", "mat-khau-dung-roi-9")
PERIOD = {"start": seed.DAY.isoformat(), "end": seed.NEXT_DAY.isoformat()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Reply:
    status: int
    headers: Dict[str, str]
    set_cookies: list
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass
class Client:
    """A browser-like HTTP client that does not follow redirects (to see them)."""

    port: int
    cookies: Dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: Optional[dict] = None) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        headers = {}
        body = None
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        raw_cookies = response.headers.get_all("Set-Cookie") or []
        reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, raw_cookies,
                      response.read())
        connection.close()
        for cookie in raw_cookies:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in cookie:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return reply

    def get(self, path: str, **args: str) -> Reply:
        return self.request("GET", path + ("?" + urlencode(args) if args else ""))

    def post(self, path: str, form: dict) -> Reply:
        return self.request("POST", path, form)

    def login(self, name: str, password: str) -> Reply:
        page = self.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return self.post("/login", {"csrf_token": token, "name": name, "password": password, "next": "/"})

    def csrf(self) -> str:
        page = self.get("/", **PERIOD)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


@dataclass
class StaffApp:
    port: int
    app_db_url: str
    tracker_db_url: str
    process: subprocess.Popen
    folder: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Client:
        return Client(self.port)


def _wait_ready(process: subprocess.Popen, port: int, events: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bot.staff exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            health = json.loads(connection.getresponse().read())
            connection.close()
            if health.get("last_event_id") == events:  # the background ingestion has run
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError("the staff app did not ingest the seeded events in time")


def _staff_app(more: bool) -> Iterator[StaffApp]:
    from sqlalchemy import func, select

    from bot.analytics import engines
    from bot.analytics.models import tracker_events
    from bot.staff import auth
    from bot.staff.models import metadata

    folder = Path(tempfile.mkdtemp(prefix="staff-app-"))
    app_db_url = f"sqlite:///{folder / 'assistant.db'}"
    tracker_db_url = f"sqlite:///{folder / 'rasa-tracker.db'}"
    engine = engines.app_engine(app_db_url)
    asyncio.run(seed.seed_all(tracker_db_url, engine))
    if more:
        from tests.staff.seed_more import seed_more

        asyncio.run(seed_more(tracker_db_url, engine))
    with engines.tracker_engine(tracker_db_url).connect() as connection:
        events = connection.execute(select(func.count()).select_from(tracker_events)).scalar_one()
    metadata.create_all(engine)
    auth.add_user(engine, ADMIN[0], "admin", ADMIN[1])
    auth.add_user(engine, VIEWER[0], "viewer", VIEWER[1])
    auth.add_user(engine, LOCKABLE[0], "viewer", LOCKABLE[1])

    port = free_port()
    (ROOT / "results").mkdir(exist_ok=True)
    log = folder / "staff.log"
    env = {**os.environ, "APP_DB_URL": app_db_url, "TRACKER_DB_URL": tracker_db_url, "VAR_DIR": str(folder),
           "PYTHONPATH": str(ROOT), "STAFF_SECURE_COOKIES": "false"}
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "bot.staff", "serve", "--port", str(port)],
                                   cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    try:
        _wait_ready(process, port, events, log)
        yield StaffApp(port, app_db_url, tracker_db_url, process, folder)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def staff_app() -> Iterator[StaffApp]:
    """The seeded dataset whose every aggregate the tests know."""
    yield from _staff_app(more=False)


@pytest.fixture(scope="session")
def busy_staff_app() -> Iterator[StaffApp]:
    """The same with tests/staff/seed_more.py: many places, two weeks, typed reasons."""
    yield from _staff_app(more=True)


@pytest.fixture
def admin(staff_app) -> Client:
    client = staff_app.client()
    assert client.login(*ADMIN).status == 303
    return client


@pytest.fixture
def viewer(staff_app) -> Client:
    client = staff_app.client()
    assert client.login(*VIEWER).status == 303
    return client


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (make browser installs it)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is required (make browser)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
