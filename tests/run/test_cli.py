"""`python -m bot.run`: starts both servers, and stops every child on SIGTERM."""

import os
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, Assistant, free_port, trained_model

pytestmark = pytest.mark.integration


def children_of(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_sigterm_stops_every_child():
    running = Assistant()
    try:
        running.wait_ready()
        children = children_of(running.process.pid)
        # sandbox, action server, Rasa server, notifier, widget page, staff app
        assert len(children) == 6
        assert running.say("s", "xin chào")
    finally:
        code = running.stop()
    assert code == 0
    deadline = time.monotonic() + 15
    while any(alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(p) for p in children)


def test_a_busy_port_is_refused_with_a_clear_message():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "RASA_PORT": str(port), "ACTIONS_PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-m", "bot.run", "serve", "--model", str(trained_model())],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )
    assert result.returncode == 1
    assert f"port {port}" in result.stdout and "already in use" in result.stdout


def test_missing_model_is_reported():
    result = subprocess.run(
        [sys.executable, "-m", "bot.run", "serve", "--model", "/nonexistent/model.tar.gz"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "make train" in result.stderr


def test_a_broken_catalogue_stops_start_up_naming_file_entry_and_field(tmp_path):
    import shutil

    import yaml

    data = tmp_path / "data"
    shutil.copytree(ROOT / "data", data)
    path = data / "procedures" / "cu_tru.yml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    del document["procedures"][1]["processing_time"]
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "DATA_DIR": str(data), "RASA_PORT": str(free_port()),
           "ACTIONS_PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot.run", "serve", "--model", str(trained_model())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "cu_tru.yml" in result.stderr and "entry 1" in result.stderr
    assert "processing_time" in result.stderr and "nothing started" in result.stderr
