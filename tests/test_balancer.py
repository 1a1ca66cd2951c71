"""Two Rasa servers and two action servers behind nginx, sharing PostgreSQL, Redis and RabbitMQ."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import List

import pytest

from bot.run.supervision import port_in_use
from tests.conftest import (Assistant, assert_analytics_has_every_event, assert_turns_whole, delete_rabbitmq_queue, free_port,
                            free_port_block, temporary_postgres_database, tracker_rows, wait_for_rasa)


@pytest.fixture(scope="module")
def scaled():
    queue = f"test_scaled_{uuid.uuid4().hex[:10]}"
    base = free_port_block()
    with temporary_postgres_database() as tracker_url, temporary_postgres_database() as app_url:
        running = Assistant({"ASSISTANT_PROFILE": "production", "TRACKER_DB_URL": tracker_url,
                             "APP_DB_URL": app_url, "REDIS_URL": "redis://127.0.0.1:6379/6",
                             "RABBITMQ_QUEUE": queue, "ANALYTICS_CONSUMER_PORT": str(free_port()),
                             "RASA_SERVERS": "2", "ACTION_SERVERS": "2", "REPLICA_PORT_BASE": str(base),
                             # what a killed server never published is copied from the tracker soon
                             "ANALYTICS_RECONCILE_S": "2", "ANALYTICS_RECONCILE_GRACE_S": "5"})
        try:
            running.wait_ready(timeout=400)  # through nginx: one server up is enough for that
            for port in (base, base + 1):  # the tests also talk to each server directly
                wait_for_rasa(port, running.token)
            running.app_url = app_url
            yield running, tracker_url, [base, base + 1]
        finally:
            running.stop()
            delete_rabbitmq_queue(queue)


def say(port: int, token: str, sender: str, message: str) -> List[dict]:
    status, answer = answered(port, sender, message)
    assert status == 200, answer
    return answer


def test_a_conversation_alternating_between_the_two_rasa_servers_keeps_its_state(scaled):
    assistant, tracker_url, (first, second) = scaled
    sender = f"alt-{uuid.uuid4().hex[:8]}"
    turns = [(first, "đk kết hôn cần j"), (second, "lệ phí bao nhiêu"), (first, "mất bao lâu"), (second, "nộp ở đâu")]
    answers = [say(port, assistant.token, sender, message) for port, message in turns]
    # the procedure chosen on the first server is known to the second, and back
    for answer in answers:
        assert "kết hôn" in answer[0]["text"].lower(), answer
    stored = tracker_rows(tracker_url, sender)
    assert [json.loads(r.data)["text"] for r in stored if r.type_name == "user"] == [m for _, m in turns]
    assert [r.timestamp for r in stored] == sorted(r.timestamp for r in stored)  # stored in the order it happened


def test_simultaneous_messages_of_one_citizen_on_both_servers_are_taken_one_at_a_time(scaled):
    assert_simultaneous_messages_taken_one_at_a_time(*scaled)


def assert_simultaneous_messages_taken_one_at_a_time(assistant, tracker_url: str, ports: List[int]) -> None:
    """Three citizens each send six messages at once, alternately to each server."""
    first, second = ports
    senders = [f"both-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    messages = ["lệ phí làm căn cước bao nhiêu", "xin chào", "đk kết hôn cần j", "cảm ơn",
                "đăng ký tạm trú ở đâu", "lam so do mat bao lau"]
    sends = [(first if i % 2 == 0 else second, sender, m) for sender in senders for i, m in enumerate(messages)]
    with ThreadPoolExecutor(len(sends)) as pool:
        answers = list(pool.map(lambda send: say(send[0], assistant.token, send[1], send[2]), sends))
    assert all(answers)
    for sender in senders:
        assert_turns_whole(tracker_rows(tracker_url, sender), messages)


def test_the_balancer_spreads_citizens_over_both_servers(scaled):
    assistant, _, _ = scaled
    for i in range(6):
        assert say(assistant.rasa_port, assistant.token, f"lb-{uuid.uuid4().hex[:6]}-{i}", "xin chào")


def pid_listening_on(port: int) -> int:
    from pathlib import Path

    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--enable-api" in args and b"--port" in args and args[args.index(b"--port") + 1] == str(port).encode():
            return int(entry.name)
    raise AssertionError(f"no Rasa server on port {port}")


def wait_until_gone(pid: int, timeout: float = 10) -> None:
    """Until the process has exited (gone, or a zombie its parent has not reaped yet)."""
    from pathlib import Path

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still runs {timeout} s after SIGKILL")


def answered(port: int, sender: str, message: str) -> tuple:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                                     data=json.dumps({"sender": sender, "message": message}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_rasa_server_killed_in_the_middle_of_a_conversation(scaled):
    import os
    import signal

    from bot.balancer import unavailable_text
    from bot.config import load_settings

    assistant, tracker_url, (first, second) = scaled
    sender = f"kill-{uuid.uuid4().hex[:8]}"
    assert answered(assistant.rasa_port, sender, "đk kết hôn cần j")[0] == 200
    victim = pid_listening_on(first)
    # messages of other citizens in flight through the balancer when one server dies
    others = [f"flight-{uuid.uuid4().hex[:6]}-{i}" for i in range(6)]
    with ThreadPoolExecutor(len(others)) as pool:
        flights = [pool.submit(answered, assistant.rasa_port, other, "đăng ký tạm trú cần giấy tờ gì")
                   for other in others]
        time.sleep(0.05)
        os.kill(victim, signal.SIGKILL)
        outcomes = [flight.result(timeout=90) for flight in flights]
    # SIGKILL takes effect a moment later: until then the dying server still accepts connections
    # (a message sent then is one "in flight", above). On a fast machine the flights were answered
    # before it died and the next message reached it (reset: "try again", 1 run in 5).
    wait_until_gone(victim)
    for status, answer in outcomes:  # answered, or told clearly in Vietnamese to try again
        assert (status == 200 and answer) or (status, answer) == (503, [{"text": unavailable_text(load_settings())}])
    # the citizen goes on through the balancer: the other server answers, with the conversation's state
    later = [answered(assistant.rasa_port, sender, m) for m in ("lệ phí bao nhiêu", "mất bao lâu", "nộp ở đâu")]
    for status, answer in later:
        assert status == 200 and "kết hôn" in answer[0]["text"].lower(), answer
    # the supervisor starts the dead server again, without anybody
    wait_for_rasa(first, assistant.token, timeout=180)
    assert pid_listening_on(first) != victim
    status, answer = answered(first, sender, "cảm ơn")
    assert status == 200 and answer
    # what the citizen was told was answered is in the tracker store, in order; nothing else lost
    stored = [json.loads(r.data).get("text") for r in tracker_rows(tracker_url, sender) if r.type_name == "user"]
    assert stored == ["đk kết hôn cần j", "lệ phí bao nhiêu", "mất bao lâu", "nộp ở đâu", "cảm ơn"]
    for other, (status, _) in zip(others, outcomes, strict=True):
        if status == 200:
            assert [r.type_name for r in tracker_rows(tracker_url, other)].count("user") == 1
    # and every event the tracker store holds reached the analytics, the dead server's included
    for conversation in [sender, *others]:
        assert_analytics_has_every_event(tracker_url, assistant.app_url, conversation)


def test_with_no_rasa_server_up_the_balancer_answers_in_the_channels_format(tmp_path, monkeypatch):
    import subprocess
    import urllib.error
    import urllib.request

    from bot import balancer
    from bot.config import load_settings

    base = free_port_block()
    rasa_port, actions_port = free_port(), free_port()
    for name, value in {"RASA_PORT": str(rasa_port), "ACTIONS_PORT": str(actions_port),
                        "RASA_SERVERS": "2", "ACTION_SERVERS": "2", "REPLICA_PORT_BASE": str(base)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("bot.config.VAR", tmp_path)  # the run's directory (VAR_DIR)
    settings = load_settings()
    nginx = subprocess.Popen([balancer.nginx_binary(), "-c", str(balancer.write_nginx_config(settings)),
                              "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not port_in_use(rasa_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        request = urllib.request.Request(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
                                         data=json.dumps({"sender": "s", "message": "xin chào"}).encode(),
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 503
        assert json.loads(refused.value.read()) == [{"text": balancer.unavailable_text(load_settings())}]
        assert "Xin lỗi" in balancer.unavailable_text(load_settings())
    finally:
        nginx.terminate()
        nginx.wait(10)


def test_a_widget_conversation_gets_its_notification_whichever_server_sends_it(scaled):
    """The browser is connected to one Rasa server (nginx keeps socket.io on one); the notifier's
    trigger for its conversation may land on the other: the answer still reaches the browser."""
    import threading
    import urllib.request

    import socketio

    assistant, _, (first, second) = scaled
    session_id = uuid.uuid4().hex
    received: List[dict] = []
    confirmed = threading.Event()
    client = socketio.Client(reconnection=False)
    client.on("bot_uttered", received.append)
    client.on("session_confirm", lambda *_: confirmed.set())
    client.connect(f"http://127.0.0.1:{first}", wait_timeout=20)
    try:
        client.emit("session_request", {"session_id": session_id})
        assert confirmed.wait(20)
        client.call("user_uttered", {"message": "xin chào", "session_id": session_id}, timeout=60)
        deadline = time.monotonic() + 20
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert received, "no answer on the widget's own server"
        before = len(received)
        body = json.dumps({"name": "dossier_status_changed", "entities": {
            "dossier_code": "000.00.24.H47-261120-0001", "status_code": "9", "status_label": "Đã xử lý xong"}})
        request = urllib.request.Request(
            f"http://127.0.0.1:{second}/conversations/{session_id}/trigger_intent"
            f"?output_channel=latest&token={assistant.token}", data=body.encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            assert reply.status == 200
        deadline = time.monotonic() + 20
        while len(received) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        texts = " ".join(m.get("text", "") for m in received[before:])
        assert "000.00.24.H47-261120-0001" in texts and "Đã xử lý xong" in texts, received
    finally:
        client.disconnect()


def test_a_busy_answer_of_every_server_reaches_the_citizen_as_it_is(tmp_path, monkeypatch):
    """Admission control's 503 (Retry-After, the "busy" text) is not replaced by the balancer's
    "unavailable" page, and does not mark the server down: every busy answer reaches its citizen."""
    import subprocess
    import threading
    import urllib.error
    import urllib.request
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from bot import balancer
    from bot.channels.delivery import channel_texts
    from bot.config import load_settings

    busy = json.dumps([{"recipient_id": "s", "text": channel_texts()["busy"]}], ensure_ascii=False).encode()
    asked: List[int] = []

    class Busy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            asked.append(self.server.server_address[1])
            self.send_response(503)
            self.send_header("Retry-After", "60")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(busy)))
            self.end_headers()
            self.wfile.write(busy)

        def log_message(self, *_: object) -> None:
            pass

    base = free_port_block()
    servers = [ThreadingHTTPServer(("127.0.0.1", base + i), Busy) for i in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    rasa_port, actions_port = free_port(), free_port()
    for name, value in {"RASA_PORT": str(rasa_port), "ACTIONS_PORT": str(actions_port),
                        "RASA_SERVERS": "2", "ACTION_SERVERS": "2", "REPLICA_PORT_BASE": str(base)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("bot.config.VAR", tmp_path)
    nginx = subprocess.Popen([balancer.nginx_binary(), "-c", str(balancer.write_nginx_config(load_settings())),
                              "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not port_in_use(rasa_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        request = urllib.request.Request(f"http://127.0.0.1:{rasa_port}/webhooks/rest/webhook",
                                         data=json.dumps({"sender": "s", "message": "xin chào"}).encode(),
                                         headers={"Content-Type": "application/json"})
        for _ in range(6):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == 503 and refused.value.headers["Retry-After"] == "60"
            assert json.loads(refused.value.read())[0]["text"] == channel_texts()["busy"]
        assert sorted(set(asked)) == [base, base + 1] and len(asked) == 6  # neither was taken out
    finally:
        nginx.terminate()
        nginx.wait(10)
        for server in servers:
            server.shutdown()
