"""The real client against the real sandbox over HTTP, including its failures."""

import socket
import subprocess
import sys
import time

import pytest
import requests

from bot.onestop.client import (MALFORMED, REFUSED, TOO_SLOW, UNREACHABLE, CircuitBreaker,
                                DossierFound, DossierNotFound, DraftCreated, OneStopClient,
                                OneStopUnavailable, RequestRejected, VerificationFailed)
from tests.conftest import ROOT, free_port

TOKEN = "sandbox-token"


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory):
    port = free_port()
    db = tmp_path_factory.mktemp("sandbox") / "s.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.onestop.sandbox", "--port", str(port), "--db-url", f"sqlite:///{db}"],
        cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def sandbox(sandbox_url):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    yield session
    session.post(f"{sandbox_url}/sandbox/faults", json={"mode": "none", "delay_s": 0}, timeout=5)


@pytest.fixture
def dossier(sandbox, sandbox_url):
    reply = sandbox.post(f"{sandbox_url}/sandbox/dossiers", json={
        "procedure_id": "khai_sinh", "procedure_name": "Đăng ký khai sinh", "status": 2,
        "applicant": {"name": "Lê Văn Cường", "phone": "0905777888", "id_number": "049200012345"},
    }, timeout=5)
    assert reply.status_code == 201
    return reply.json()


def client(url, **options):
    return OneStopClient(url, TOKEN, connect_timeout_s=1, read_timeout_s=options.pop("read", 1.0),
                         backoff_s=0.05, **options)


def fault(sandbox, url, mode, delay_s=0):
    assert sandbox.post(f"{url}/sandbox/faults", json={"mode": mode, "delay_s": delay_s}, timeout=5).ok


def test_lookup_outcomes(sandbox_url, dossier):
    one_stop = client(sandbox_url)
    found = one_stop.lookup(dossier["code"], "7888")
    assert isinstance(found, DossierFound) and found.dossier["status"]["code"] == 2
    assert isinstance(one_stop.lookup(dossier["code"], "049200012345"), DossierFound)
    assert isinstance(one_stop.lookup(dossier["code"], "0000"), VerificationFailed)
    assert isinstance(one_stop.lookup("000.00.12.H46-991231-9999", "7888"), DossierNotFound)
    assert isinstance(one_stop.lookup("not-a-code", "7888"), RequestRejected)


def test_create_draft(sandbox_url):
    one_stop = client(sandbox_url)
    created = one_stop.create_draft("tam_tru", "Đăng ký tạm trú", "Nguyễn Văn An", "0905123456", "rest")
    assert isinstance(created, DraftCreated) and created.continue_url.startswith("https://")
    rejected = one_stop.create_draft("tam_tru", "Đăng ký tạm trú", "A", "12", "rest")
    assert isinstance(rejected, RequestRejected)
    assert {"applicant.name", "applicant.phone"} <= set(rejected.fields)


def test_a_system_that_is_down_is_unreachable_fast():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(OneStopUnavailable) as error:
        client(f"http://127.0.0.1:{port}").lookup("000.00.12.H46-251104-0007", "1234")
    assert error.value.kind == UNREACHABLE
    assert time.monotonic() - started < 5


def test_slower_than_the_read_timeout_is_too_slow(sandbox, sandbox_url, dossier):
    fault(sandbox, sandbox_url, "slow", delay_s=1.5)
    with pytest.raises(OneStopUnavailable) as error:
        client(sandbox_url, read=0.5, read_retries=0).lookup(dossier["code"], "7888")
    assert error.value.kind == TOO_SLOW


def test_a_500_is_refused_after_retries_and_a_write_is_not_retried(sandbox, sandbox_url, dossier):
    fault(sandbox, sandbox_url, "error")
    one_stop = client(sandbox_url, read_retries=2)
    with pytest.raises(OneStopUnavailable) as error:
        one_stop.lookup(dossier["code"], "7888")
    assert error.value.kind == REFUSED
    with pytest.raises(OneStopUnavailable):
        one_stop.create_draft("tam_tru", "Đăng ký tạm trú", "Nguyễn Văn An", "0905123456", "rest")
    fault(sandbox, sandbox_url, "none")
    assert isinstance(one_stop.lookup(dossier["code"], "7888"), DossierFound)


def test_malformed_json_is_malformed(sandbox, sandbox_url, dossier):
    fault(sandbox, sandbox_url, "malformed")
    with pytest.raises(OneStopUnavailable) as error:
        client(sandbox_url).lookup(dossier["code"], "7888")
    assert error.value.kind == MALFORMED


def test_a_wrong_token_is_refused(sandbox_url, dossier):
    with pytest.raises(OneStopUnavailable) as error:
        OneStopClient(sandbox_url, "wrong", backoff_s=0.01).lookup(dossier["code"], "7888")
    assert error.value.kind == REFUSED


def test_the_circuit_opens_after_repeated_failures_and_recovers(sandbox, sandbox_url, dossier):
    clock = [0.0]
    breaker = CircuitBreaker(threshold=2, cooldown_s=30, clock=lambda: clock[0])
    one_stop = client(sandbox_url, read_retries=0, breaker=breaker)
    fault(sandbox, sandbox_url, "error")
    for _ in range(2):
        with pytest.raises(OneStopUnavailable):
            one_stop.lookup(dossier["code"], "7888")
    fault(sandbox, sandbox_url, "none")
    with pytest.raises(OneStopUnavailable) as error:  # open: not even tried
        one_stop.lookup(dossier["code"], "7888")
    assert "circuit open" in str(error.value)
    clock[0] = 31.0  # half-open after the cooldown: one try, which succeeds and closes it
    assert isinstance(one_stop.lookup(dossier["code"], "7888"), DossierFound)
    assert breaker.allow()
