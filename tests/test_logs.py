"""No secret and no citizen's personal data in what the assistant's processes write.

The whole stack (`python -m bot.run`) runs with fake but recognisable secrets in every secret
setting, Telegram (webhook mode) and Zalo against the local fakes, a one-stop system of our
own, and Rasa's most talkative level (LOG_LEVEL=DEBUG: Rasa logs the citizen's words, slots and
events there; the default, INFO, logs a subset of the same records). Citizens then give phone
numbers, a citizen ID number, an e-mail address and their name, look a dossier up with its
verification value, also while the one-stop system is down, and apply online. Then every log
the run wrote is read: the supervisor's output (which carries every child's), and every file
the processes left in VAR_DIR other than their databases.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import requests

from bot import knowledge
from tests.conftest import ROOT, Assistant, free_port
from tests.fakes.telegram_api import FakeTelegramApi, text_update
from tests.fakes.zalo_api import FakeZaloApi, signed_event, zalo_event

pytestmark = pytest.mark.integration

# Obviously fake, and long and odd enough that they cannot appear in a log by chance.
SECRETS = {
    "RASA_TOKEN": "fake-rasa-token-Qx7Lm2Vw",
    "ONESTOP_TOKEN": "fake-onestop-token-Hj4Kp8Zs",
    "ONESTOP_WEBHOOK_SECRET": "fake-webhook-secret-Tr5Nc1Yb",
    "TELEGRAM_TOKEN": "987654:fake-telegram-token-Wd3Fg6Ue",
    "TELEGRAM_SECRET_TOKEN": "fake-telegram-secret-Ao9Ji2Rk",
    "ZALO_APP_SECRET": "fake-zalo-app-secret-Gm8Xv4Pq",
    "ZALO_OA_SECRET_KEY": "fake-zalo-oa-key-Ls6Bd3Hn",
    "ZALO_ACCESS_TOKEN": "fake-zalo-access-token-Cy1Wz7Et",
    "ZALO_REFRESH_TOKEN": "fake-zalo-refresh-token-Ku5Ov0Mi",
}
PHONE = "0905123456"
CITIZEN_ID = "049123456789"
EMAIL = "tran.thi.lan@example.com"
NAME = "Trần Thị Lan"
# The dossier the citizens look up: its applicant's phone (last 4 digits) and ID number verify it.
APPLICANT = {"name": "Võ Thị Kim Hạnh", "phone": "0935417392", "id_number": "049187654321"}
PHONE4 = APPLICANT["phone"][-4:]
PERSONAL = [PHONE, "0905 123 456", CITIZEN_ID, EMAIL, NAME, APPLICANT["name"], APPLICANT["phone"],
            APPLICANT["id_number"]]
DATABASES = (".db", ".db-wal", ".db-shm", ".db-journal")
# The Zalo token store is where the refreshed tokens must be kept (README, Channels); not a log.
CREDENTIAL_STORES = ("zalo-tokens.json",)


# -- the masking itself ----------------------------------------------------------------------

def test_the_masker_hides_secrets_urls_credentials_and_personal_data():
    from bot.logs import Masker

    masker = Masker.from_environment({
        "RASA_TOKEN": SECRETS["RASA_TOKEN"], "TELEGRAM_TOKEN": SECRETS["TELEGRAM_TOKEN"], "ONESTOP_TOKEN": "abc",
        "TRACKER_DB_URL": "postgresql://rasa:pg%2Fpass-7Yq@db:5432/tracker"})
    lines = {
        f"GET /status?token={SECRETS['RASA_TOKEN']} 200": "GET /status?token=*** 200",
        f"Set Bot API URL: http://127.0.0.1:9/bot{SECRETS['TELEGRAM_TOKEN']}": "Set Bot API URL: http://127.0.0.1:9/bot***",
        "cannot reach postgresql://rasa:pg%2Fpass-7Yq@db:5432/tracker": "cannot reach postgresql://rasa:***@db:5432/tracker",
        "password pg/pass-7Yq refused": "password *** refused",
        "redis://:other-S3cret@cache:6379/0": "redis://:***@cache:6379/0",
        "Authorization: Bearer abc.def-ghi": "Authorization: Bearer ***",
        "url: /api/v1/dossiers/000.00.01.H46-261127-0001?verification=0284 (Caused by":
            "url: /api/v1/dossiers/000.00.01.H46-261127-0001?verification=*** (Caused by",
        "{'verification_value': '0284', 'requested_slot': None}":
            "{'verification_value': '***', 'requested_slot': None}",
        "SlotSet(key: verification_value, value: 0284)": "SlotSet(key: verification_value, value: ***)",
        f"tôi tên là {NAME}, sđt {PHONE}, mail {EMAIL}, CCCD {CITIZEN_ID}":
            "tôi tên là ***, sđt ***, mail ***, CCCD ***",
    }
    for line, expected in lines.items():
        assert masker.mask(line) == expected
    for line in ("token abc stays: too short to be a secret", "kiểm tra hồ sơ 000.00.12.H46-251104-0007",
                 "lệ phí 200.000 đồng, 07 ngày làm việc", "Rasa server answers after 21.7 s on port 46327"):
        assert masker.mask(line) == line


def test_rasa_structured_records_lose_the_conversation_fields():
    from bot.logs import Masker

    record = {"parse_data_text": PHONE4, "parse_data_intent": {"name": "inform", "confidence": 0.99},
              "parse_data_entities": [{"entity": "id_number", "value": CITIZEN_ID}], "rasa_events": [],
              "action_name": "action_check_dossier_status", "note": f"gọi {PHONE}", "event": "processor.message.parse",
              "endpoint": {"url": "http://127.0.0.1:5055/webhook", "token": "not-from-the-environment"},
              "level": "debug"}
    masked = json.loads(Masker().mask(json.dumps(record)))
    assert masked["parse_data_text"] == masked["parse_data_entities"] == masked["endpoint"]["token"] == "***"
    assert masked["parse_data_intent"] == record["parse_data_intent"] and masked["rasa_events"] == []
    assert masked["action_name"] == record["action_name"] and masked["note"] == "gọi ***"
    assert masked["endpoint"]["url"] == record["endpoint"]["url"]


def test_a_wrapped_program_has_its_logs_prints_and_tracebacks_masked():
    from bot.logs import wrap

    program = ("import logging, os, sys; logging.basicConfig(level=logging.INFO); "
               "logging.getLogger('x').info('token %s phone %s', os.environ['RASA_TOKEN'], '0905123456'); "
               "print('secret', os.environ['ZALO_APP_SECRET'], end=''); print(' mail', sys.argv[1], flush=True); "
               "raise SystemExit(f'stopped with {os.environ[\"RASA_TOKEN\"]}')")
    command = wrap([sys.executable, "-c", program, EMAIL])
    assert command[:3] == [sys.executable, "-m", "bot.logs"]
    assert wrap(["nginx", "-c", "x.conf"]) == ["nginx", "-c", "x.conf"]  # not a Python program
    env = {**os.environ, "PYTHONPATH": str(ROOT), **SECRETS}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "stopped with ***" in output, output
    assert "INFO:x:token *** phone ***" in output and "secret *** mail ***" in output, output
    assert not [value for value in (*SECRETS.values(), PHONE, EMAIL) if value in output]


# -- the whole stack ----------------------------------------------------------------------------

class OneStop:
    """The one-stop sandbox as the assistant's "real" system (ONESTOP_URL), so the test can stop it."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ONESTOP_TOKEN": SECRETS["ONESTOP_TOKEN"]}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.onestop.sandbox", "--port", str(self.port),
             "--db-url", f"sqlite:///{folder / 'onestop.db'}"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self.answers():
            assert self.process.poll() is None and time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.2)

    def answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/health", timeout=1).ok
        except requests.RequestException:
            return False

    def create(self, **fields: Any) -> Dict[str, Any]:
        reply = requests.post(f"{self.url}/sandbox/dossiers", json=fields, timeout=10,
                              headers={"Authorization": f"Bearer {SECRETS['ONESTOP_TOKEN']}"})
        assert reply.status_code == 201, reply.text
        return reply.json()

    def set_status(self, code: str, status: int) -> None:
        reply = requests.post(f"{self.url}/sandbox/dossiers/{code}/status", json={"status": status}, timeout=10,
                              headers={"Authorization": f"Bearer {SECRETS['ONESTOP_TOKEN']}"})
        assert reply.status_code == 200, reply.text

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)


class Run:
    """Everything the run wrote, read once every process has stopped."""

    def __init__(self, assistant: Assistant) -> None:
        self.files: Dict[str, str] = {assistant.log.name: Path(assistant.log.name).read_text("utf-8", "replace")}
        for path in sorted(assistant.var.rglob("*")):
            if path.is_file() and not path.name.endswith(DATABASES) and path.name not in CREDENTIAL_STORES:
                self.files[str(path)] = path.read_text("utf-8", "replace")

    def lines_with(self, value: str) -> List[str]:
        """Lines with the value as written or as JSON writes it ("Tr\\u1ea7n")."""
        forms = {value, json.dumps(value)[1:-1]}
        return [f"{name}: {line[:300]}" for name, text in self.files.items()
                for line in text.splitlines() if any(form in line for form in forms)]


def texts(answer: List[Dict[str, Any]]) -> str:
    return "\n".join(message.get("text", "") for message in answer)


def post(url: str, raw: bytes, headers: Dict[str, str]) -> int:
    request = urllib.request.Request(url, data=raw, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def converse(assistant: Assistant, one_stop: OneStop, telegram: FakeTelegramApi, zalo: FakeZaloApi) -> None:
    """Citizens give personal data on every channel; each conversation is checked to have happened."""
    said = texts(assistant.say("free", f"tôi tên là {NAME}, số điện thoại {PHONE}, email {EMAIL}, "
                                       f"CCCD {CITIZEN_ID}, cần hỏi đăng ký tạm trú"))
    assert said

    code = one_stop.create(procedure_id="tam_tru", procedure_name="Đăng ký tạm trú", status=4,
                           applicant=APPLICANT)["code"]
    assistant.say("lookup-id", f"kiểm tra hồ sơ {code}")
    assert "Đang xử lý" in texts(assistant.say("lookup-id", APPLICANT["id_number"]))
    assert code in texts(assistant.say("lookup-id", "/subscribe_dossier"))
    one_stop.set_status(code, 9)  # a signed webhook to the notifier, which calls Rasa's API with the token
    deadline = time.monotonic() + 30
    while not any(event.get("event") == "bot" and "Đã xử lý xong" in (event.get("text") or "")
                  for event in requests.get(f"{assistant.url}/conversations/lookup-id/tracker",
                                            params={"token": assistant.token}, timeout=10).json()["events"]):
        assert time.monotonic() < deadline, "the notification did not reach the citizen"
        time.sleep(0.5)
    one_stop.set_status(code, 4)
    assistant.say("lookup-phone", "tra cứu hồ sơ")
    assistant.say("lookup-phone", code.lower().replace(".", " ").replace("-", " "))
    assert "Đang xử lý" in texts(assistant.say("lookup-phone", PHONE4))

    entry = next(e for e in knowledge.catalogue().procedures.values() if e["online"]["level"] == "toan_trinh")
    assistant.say("apply", f"tôi muốn nộp hồ sơ {entry['aliases'][0]} trực tuyến")
    assistant.say("apply", "có")
    assistant.say("apply", NAME)
    assistant.say("apply", "0905 123 456")
    assert NAME in texts(assistant.say("apply", CITIZEN_ID))  # the summary shows them to the citizen
    assert "Mã hồ sơ" in texts(assistant.say("apply", "/affirm"))

    hook = f"{assistant.url}/webhooks/telegram/webhook"
    update = text_update(7001, f"sđt của tôi {PHONE}, mail {EMAIL}", update_id=501)
    assert post(hook, json.dumps(update).encode(), {"X-Telegram-Bot-Api-Secret-Token": "wrong"}) == 403
    assert post(hook, json.dumps(update).encode(),
                {"X-Telegram-Bot-Api-Secret-Token": SECRETS["TELEGRAM_SECRET_TOKEN"]}) == 200
    assert telegram.wait_for_messages(7001, 1, timeout=60)

    raw, headers = signed_event(zalo_event("user_send_text", "z-citizen", f"CCCD {CITIZEN_ID} email {EMAIL}",
                                           app_id="fake-app"), SECRETS["ZALO_OA_SECRET_KEY"])
    assert post(f"{assistant.url}/webhooks/zalo/webhook", raw, headers) == 200
    assert zalo.wait_for("z-citizen", 1, timeout=60)

    one_stop.stop()  # the one-stop system is down: the lookup fails, and the failure is logged
    assistant.say("lookup-down", f"kiểm tra hồ sơ {code}")
    assert "không kết nối được" in texts(assistant.say("lookup-down", APPLICANT["id_number"]))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    (ROOT / "results").mkdir(exist_ok=True)
    one_stop = OneStop(tmp_path_factory.mktemp("onestop"))
    telegram = FakeTelegramApi(SECRETS["TELEGRAM_TOKEN"]).start()
    zalo = FakeZaloApi(app_id="fake-app", app_secret=SECRETS["ZALO_APP_SECRET"],
                       access_token=SECRETS["ZALO_ACCESS_TOKEN"], refresh_token=SECRETS["ZALO_REFRESH_TOKEN"]).start()
    assistant = Assistant(extra_env={
        **SECRETS, "LOG_LEVEL": "DEBUG", "ONESTOP_URL": one_stop.url, "ONESTOP_READ_TIMEOUT_S": "2",
        "TELEGRAM_API_URL": telegram.api_url, "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_URL": "https://tro-ly.example.invalid/webhooks/telegram/webhook",
        "ZALO_APP_ID": "fake-app", "ZALO_API_URL": zalo.url, "ZALO_OAUTH_URL": zalo.url,
    })
    assistant.token = SECRETS["RASA_TOKEN"]
    try:
        assistant.wait_ready()
        converse(assistant, one_stop, telegram, zalo)
        time.sleep(1.0)  # the last background deliveries and their log lines
        assistant.process.send_signal(signal.SIGTERM)  # every process stops and flushes; VAR_DIR stays
        assistant.process.wait(timeout=60)
        yield Run(assistant)
    finally:
        assistant.stop()
        one_stop.stop()
        telegram.stop()
        zalo.stop()


def test_the_run_logged_at_debug_level(run):
    everything = "\n".join(run.files.values())
    assert "processor.message.parse" in everything  # Rasa's DEBUG record of each parsed message
    assert "one-stop system unavailable" in everything


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_no_secret_is_logged(run, name):
    assert run.lines_with(SECRETS[name]) == []


@pytest.mark.parametrize("value", PERSONAL)
def test_no_personal_data_is_logged(run, value):
    assert run.lines_with(value) == []


def test_no_verification_value_is_logged(run):
    """A 4-digit value may be a port or a size somewhere; as a value of its own it must not be there."""
    shown = re.compile(rf"""(verification\w*["']?\s*[:=(]\s*["']?{PHONE4}|["']{PHONE4}["']|text: {PHONE4}\b)""")
    assert [line for name, text in run.files.items() for line in text.splitlines() if shown.search(line)] == []


def test_no_literal_secret_is_in_the_repository():
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    suspicious = [
        re.compile(r"\b\d{8,10}:[A-Za-z0-9_-]{35}\b"),                     # a Telegram bot token
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
        re.compile(r"\bAKIA[0-9A-Z]{16}\b"),                                 # an AWS access key
    ]
    # A password in a URL ("password" and RabbitMQ's "guest" are placeholders; tests use fake ones on purpose).
    in_url = re.compile(r"\b(?:postgres(?:ql)?|redis|amqp)[a-z0-9+]*://[^\s:/@'\"]*:(?!password@|guest@|\$\{)"
                        r"[^\s@/'\"]+@")
    found = []
    for name in files:
        path = ROOT / name
        if not path.is_file() or path.suffix in (".png", ".jpg", ".gz", ".ico", ".woff2", ".db"):
            continue
        text = path.read_text("utf-8", "replace")
        patterns = suspicious if name.startswith("tests/") else [*suspicious, in_url]
        found += [f"{name}: {match.group(0)}" for pattern in patterns for match in pattern.finditer(text)]
    assert found == []
    assert not [name for name in files if Path(name).name in (".env", "credentials.local.yml")]
