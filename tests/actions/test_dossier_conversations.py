"""Dossier lookups, online applications and notifications through a running assistant,
against the real sandbox over HTTP (nothing mocked)."""

import time

import pytest
import requests

from bot import knowledge

pytestmark = pytest.mark.integration


def texts(answer):
    return "\n".join(m.get("text", "") for m in answer)


def buttons(answer):
    return [b for m in answer for b in m.get("buttons", [])]


@pytest.fixture(scope="module")
def sandbox(assistant):
    base = f"http://127.0.0.1:{assistant.sandbox_port}"
    session = requests.Session()
    session.headers["Authorization"] = "Bearer sandbox-token"

    def create(**fields):
        reply = session.post(f"{base}/sandbox/dossiers", json=fields, timeout=10)
        assert reply.status_code == 201, reply.text
        return reply.json()

    def set_status(code, status, **extra):
        reply = session.post(f"{base}/sandbox/dossiers/{code}/status", json={"status": status, **extra}, timeout=10)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def submit(code):
        reply = session.post(f"{base}/sandbox/dossiers/{code}/submit", timeout=10)
        assert reply.status_code == 200, reply.text

    def fault(mode, delay_s=0):
        assert session.post(f"{base}/sandbox/faults", json={"mode": mode, "delay_s": delay_s}, timeout=10).ok

    session.create, session.set_status, session.submit, session.fault = create, set_status, submit, fault
    return session


APPLICANT = {"name": "Trần Thị Bình", "phone": "0935111222", "id_number": "049195001234", "locality": "phường Tam Kỳ"}


def new_dossier(sandbox, status=4, **extra):
    return sandbox.create(procedure_id="tam_tru", procedure_name="Đăng ký tạm trú", status=status,
                          applicant=APPLICANT, received_at="2026-11-20T08:00:00+07:00",
                          due_date="2026-11-27", **extra)


def test_lookup_asks_code_then_verification_and_shows_nothing_before(assistant, sandbox):
    dossier = new_dossier(sandbox)
    code = dossier["code"]
    first = texts(assistant.say("lookup", "kiểm tra hồ sơ của tôi"))
    assert "mã hồ sơ" in first
    typed = code.lower().replace(".", " ").replace("-", " ")
    asked = texts(assistant.say("lookup", typed))
    assert "4 số cuối" in asked and "Đăng ký tạm trú" not in asked
    answer = assistant.say("lookup", "1222")
    reply = texts(answer)
    assert code in reply and "Đang xử lý" in reply and "Đăng ký tạm trú" in reply
    assert "27/11/2026" in reply
    assert "/subscribe_dossier" in [b["payload"] for b in buttons(answer)]


def test_a_malformed_code_gets_an_example(assistant):
    assistant.say("malformed", "tra cứu hồ sơ")
    reply = texts(assistant.say("malformed", "12345"))
    assert "000.00.12.H46-251104-0007" in reply


def test_missing_documents_are_listed(assistant, sandbox):
    dossier = new_dossier(sandbox, status=5, missing_documents=["Bản sao hợp đồng thuê nhà", "Giấy tờ chứng minh chỗ ở hợp pháp"])
    assistant.say("missing", f"hồ sơ {dossier['code']} đến đâu rồi")
    reply = texts(assistant.say("missing", "049195001234"))
    assert "Bản sao hợp đồng thuê nhà" in reply and "Giấy tờ chứng minh chỗ ở hợp pháp" in reply


def test_overdue_is_said(assistant, sandbox):
    dossier = sandbox.create(procedure_id="khai_sinh", procedure_name="Đăng ký khai sinh", status=4,
                             applicant=APPLICANT, due_date="2026-01-05")
    assistant.say("overdue", f"kiểm tra hồ sơ {dossier['code']}")
    answer = texts(assistant.say("overdue", "1222"))
    # Overdue: how many days, and where to call or complain (not "wait for the due date").
    assert "quá hạn" in answer and knowledge.province()["hotline"]["number"] in answer, answer
    follow = texts(assistant.say("overdue", "khi nào xong vậy"))
    assert "quá hạn" in follow and "chờ" not in follow, follow


def test_wrong_verification_reveals_nothing_and_five_failures_lock(assistant, sandbox):
    dossier = new_dossier(sandbox)
    for attempt in range(5):
        assistant.say("prober", f"kiểm tra hồ sơ {dossier['code']}")
        reply = texts(assistant.say("prober", "9999"))
        assert "Không tìm thấy hồ sơ khớp" in reply and "tạm trú" not in reply.lower()
        if attempt == 4:  # the fifth failure says so at once
            assert "tạm khóa 15 phút" in reply
    # told as soon as the code is given (nothing is asked in vain); even the right value is refused
    locked = texts(assistant.say("prober", f"kiểm tra hồ sơ {dossier['code']}"))
    assert "tạm khóa 15 phút" in locked and "Đang xử lý" not in locked
    after = texts(assistant.say("prober", "1222"))
    assert "Đang xử lý" not in after


def test_one_stop_faults_get_a_clear_answer_with_the_hotline(assistant, sandbox):
    dossier = new_dossier(sandbox)
    hotline = knowledge.province()["hotline"]["number"]
    for mode, words in (("error", "không phục vụ"), ("malformed", "không đọc được")):
        sandbox.fault(mode)
        try:
            assistant.say(f"fault-{mode}", f"kiểm tra hồ sơ {dossier['code']}")
            reply = texts(assistant.say(f"fault-{mode}", "1222"))
        finally:
            sandbox.fault("none")
        assert words in reply and hotline in reply


def test_follow_and_get_notified_then_unfollow(assistant, sandbox):
    dossier = new_dossier(sandbox)
    assistant.say("follower", f"kiểm tra hồ sơ {dossier['code']}")
    assistant.say("follower", "1222")
    assert dossier["code"] in texts(assistant.say("follower", "/subscribe_dossier"))
    sandbox.set_status(dossier["code"], 9, note="Đã ký duyệt")
    deadline = time.monotonic() + 20
    found = False
    while time.monotonic() < deadline and not found:
        tracker = requests.get(f"{assistant.url}/conversations/follower/tracker",
                               params={"token": assistant.token}, timeout=10).json()
        found = any(e.get("event") == "bot" and "Đã xử lý xong" in (e.get("text") or "")
                    and dossier["code"] in e["text"] for e in tracker["events"])
        time.sleep(0.5)
    assert found, "the status change did not reach the citizen's conversation"
    assert dossier["code"] in texts(assistant.say("follower", "hủy theo dõi"))
    assert "chưa theo dõi" in texts(assistant.say("follower", "hủy theo dõi"))


def test_start_an_online_service_creates_a_draft(assistant, sandbox):
    catalogue = knowledge.catalogue()
    entry = next(e for e in catalogue.procedures.values() if e["online"]["level"] == "toan_trinh")
    confirm = texts(assistant.say("applicant", f"tôi muốn nộp hồ sơ {entry['aliases'][0]} trực tuyến"))
    assert entry["name"] in confirm
    assert "Họ và tên" in texts(assistant.say("applicant", "có"))
    assert "Họ tên chỉ gồm chữ cái" in texts(assistant.say("applicant", "123"))
    assert "Số điện thoại" in texts(assistant.say("applicant", "nguyễn văn an"))
    assert "chưa đúng" in texts(assistant.say("applicant", "12345"))
    assert "12 số" in texts(assistant.say("applicant", "0905 123 456"))
    summary = texts(assistant.say("applicant", "049195001234"))
    assert "Nguyễn Văn An" in summary and "0905123456" in summary and "049195001234" in summary
    created = assistant.say("applicant", "/affirm")
    reply = texts(created)
    assert "Mã hồ sơ" in reply and "https://" in reply and "VNeID" in reply
    code = next(word for word in reply.split() if word.count("-") == 2 and "." in word)
    looked_up = requests.get(f"http://127.0.0.1:{assistant.sandbox_port}/api/v1/dossiers/{code}",
                             params={"verification": "3456"},
                             headers={"Authorization": "Bearer sandbox-token"}, timeout=10)
    assert looked_up.status_code == 200 and looked_up.json()["status"]["code"] == 0


def test_a_procedure_that_is_not_online_says_where_to_go(assistant):
    catalogue = knowledge.catalogue()
    offline = [e for e in catalogue.procedures.values() if e["online"]["level"] in ("khong", "chua_ro")]
    if not offline:
        pytest.skip("every procedure of the catalogue can be done online")
    entry = offline[0]
    reply = texts(assistant.say("offline", f"tôi muốn nộp {entry['aliases'][0]} online"))
    assert entry["handled_by"]["agency"] in reply


def test_account_and_payment_help(assistant):
    assert "VNeID" in texts(assistant.say("help", "quên mật khẩu đăng nhập dịch vụ công"))
    assert "Thanh toán" in texts(assistant.say("help", "thanh toán lệ phí online bằng cách nào"))


def test_the_online_funnel_is_recorded_up_to_submission(assistant, sandbox):
    from sqlalchemy import create_engine, select

    from bot.store.models import funnel_events

    assistant.say("funnel", "đăng ký tạm trú làm online được không")
    assistant.say("funnel", "tôi muốn nộp hồ sơ tạm trú trực tuyến")
    assistant.say("funnel", "có")
    assistant.say("funnel", "Phạm Thị Dung")
    assistant.say("funnel", "0905000111")
    assistant.say("funnel", "bỏ qua")
    reply = texts(assistant.say("funnel", "/affirm"))
    code = next(word for word in reply.split() if word.count("-") == 2 and "." in word)
    sandbox.submit(code)
    engine = create_engine(f"sqlite:///{assistant.var / 'assistant.db'}", future=True)
    deadline, stages = time.monotonic() + 15, []
    while time.monotonic() < deadline and "submitted" not in stages:
        with engine.connect() as connection:
            rows = connection.execute(
                select(funnel_events.c.stage, funnel_events.c.procedure_id)
                .where(funnel_events.c.sender_id == "funnel").order_by(funnel_events.c.id)
            ).all()
        stages = [stage for stage, _ in rows]
        time.sleep(0.3)
    assert {"online_guidance", "draft_created", "submitted"} <= set(stages)
    assert all(procedure == "tam_tru" for _, procedure in rows)
    assert stages.index("draft_created") < stages.index("submitted")
