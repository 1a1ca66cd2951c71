import pytest

from bot.privacy import MASK, mask_event, mask_message, mask_text, prompt_of


@pytest.mark.parametrize("text", [
    "số của tôi 0905123456",
    "gọi 0905 123 456 giúp tôi",
    "sđt: 0905.123.456",
    "liên hệ +84 905 123 456 nhé",
    "số 84905123456",
    "máy bàn 0235 3812 345",
])
def test_phone_numbers_are_masked(text):
    masked = mask_text(text)
    assert MASK in masked
    assert not any(ch.isdigit() for ch in masked), masked


def test_twelve_digit_id_numbers_are_masked_plain_or_grouped():
    assert mask_text("CCCD 049123456789 ạ") == f"CCCD {MASK} ạ"
    assert mask_text("số định danh 049 123 456 789") == f"số định danh {MASK}"


def test_what_is_not_personal_stays():
    for text in ["kiểm tra hồ sơ 000.00.12.H46-251104-0007", "lệ phí 200.000 đồng", "ngày 04/11/2025",
                 "thủ tục 2.000815", "trong 07 ngày làm việc", "năm 2026"]:
        assert mask_text(text) == text


@pytest.mark.parametrize("text, expected", [
    ("tên tôi là Nguyễn Văn An", f"tên tôi là {MASK}"),
    ("Tên tôi là Nguyễn Văn An, tôi muốn hỏi khai sinh", f"Tên tôi là {MASK}, tôi muốn hỏi khai sinh"),
    ("tên tôi là nguyễn văn an ở tam kỳ", f"tên tôi là {MASK} ở tam kỳ"),
    ("em tên là Lan ạ", f"em tên là {MASK} ạ"),
    ("tôi tên Trần Bình cần làm sổ đỏ", f"tôi tên {MASK} cần làm sổ đỏ"),
    ("họ và tên: Lê Thị Hoa", f"họ và tên: {MASK}"),
    ("tên của mình là Phạm Minh Tuấn.", f"tên của mình là {MASK}."),
])
def test_names_the_citizen_introduces_are_masked(text, expected):
    assert mask_text(text) == expected


def test_answer_to_the_name_question_is_masked_whole():
    prompt = prompt_of("Họ và tên người nộp hồ sơ (có dấu), ví dụ: Nguyễn Văn An")
    assert prompt == "name"
    assert mask_message("Trần Thị Bích", prompt) == MASK
    assert mask_message("nguyen van an", prompt) == MASK


def test_answers_to_phone_id_and_verification_questions_lose_the_value():
    assert prompt_of("", "utter_ask_applicant_phone") == "phone"
    assert prompt_of("", "utter_ask_applicant_id") == "id"
    assert prompt_of("Để bảo vệ thông tin của bạn, vui lòng nhập 4 số cuối số điện thoại đã khai") == "verification"
    assert mask_message("5678", "verification") == MASK
    assert mask_message("5678 ạ", "verification") == MASK
    assert mask_message("0905 123 456", "phone") == MASK
    assert mask_message("049-123-456-789", "id") == MASK


@pytest.mark.parametrize("text, prompt, expected", [
    # A complaint typed instead of the value is read whole: the staff need it.
    ("tôi không nhớ 4 số cuối, hồ sơ trễ hẹn cả tháng rồi mà không ai gọi",
     "verification", "tôi không nhớ 4 số cuối, hồ sơ trễ hẹn cả tháng rồi mà không ai gọi"),
    ("số cuối là 5678 nhưng sao hồ sơ vẫn chưa xong", "verification",
     f"số cuối là {MASK} nhưng sao hồ sơ vẫn chưa xong"),
    ("sđt em là 0905 123 456 còn số kia hết dùng rồi", "phone", f"sđt em là {MASK} còn số kia hết dùng rồi"),
    ("không nhớ số", "verification", "không nhớ số"),
    ("dạ em tên Trần Thị Bích nhưng giấy tờ ghi tên cũ", "name",
     f"dạ em tên {MASK} nhưng giấy tờ ghi tên cũ"),
])
def test_a_sentence_typed_at_a_personal_question_keeps_its_words(text, prompt, expected):
    assert mask_message(text, prompt) == expected


def test_a_button_payload_after_a_question_is_not_personal():
    assert mask_message("/deny", "name") == "/deny"


def test_an_ordinary_question_is_not_a_prompt():
    assert prompt_of("Xin chào! Tôi là trợ lý dịch vụ công.", "utter_greet") is None
    assert mask_message("5678", None) == "5678"


def test_verification_value_said_in_a_sentence():
    assert mask_text("4 số cuối là 5678") == f"4 số cuối là {MASK}"


def test_the_bot_confirmation_loses_name_phone_and_id():
    text = ("Bạn kiểm tra lại thông tin:\n• Họ tên: Trần Thị Bích\n• Số điện thoại: 0905123456\n"
            "• Số định danh: 049123456789\n• Địa bàn: phường Tam Kỳ")
    masked = mask_text(text)
    for secret in ("Trần Thị Bích", "0905123456", "049123456789"):
        assert secret not in masked
    assert "phường Tam Kỳ" in masked


def test_rasa_events_lose_personal_slots_entities_and_channel_metadata():
    user = {"event": "user", "text": "0905123456", "metadata": {"first_name": "An"},
            "parse_data": {"text": "0905123456", "intent": {"name": "inform"},
                           "entities": [{"entity": "phone_number", "value": "0905123456"},
                                        {"entity": "procedure", "value": "khai sinh"}]}}
    masked = mask_event(user)
    assert masked["text"] == MASK and masked["parse_data"]["text"] == MASK
    assert masked["parse_data"]["entities"][0]["value"] == MASK
    assert masked["parse_data"]["entities"][1]["value"] == "khai sinh"
    assert masked["metadata"] == {}
    assert mask_event({"event": "slot", "name": "applicant_name", "value": "An"})["value"] == MASK
    assert mask_event({"event": "slot", "name": "procedure", "value": "khai_sinh"})["value"] == "khai_sinh"
    assert mask_event({"event": "user", "text": "Trần Bích", "parse_data": {}}, "name")["text"] == MASK
    assert user["text"] == "0905123456"  # the original is not changed
