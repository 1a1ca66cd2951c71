"""Procedure questions through the REST channel of a running assistant, for every procedure."""


import pytest

from bot import knowledge
from bot.nlu.text import strip_accents

pytestmark = pytest.mark.integration

QUESTIONS = {
    "documents": "làm {name} cần chuẩn bị giấy tờ gì",
    "fee": "lệ phí {name} là bao nhiêu",
    "time": "{name} mất bao lâu thì có kết quả",
}


def reply_of(answer):
    return "\n".join(m.get("text", "") for m in answer)


def expected_content(entry, aspect):
    if aspect == "documents":
        return entry["documents"][0]["name"] if entry["documents"] else "Giấy tờ cần chuẩn bị"
    if aspect == "fee":
        return entry["fee"]["text"]
    return entry["processing_time"]["text"]


CASES = [
    (procedure_id, aspect, spelling)
    for procedure_id in sorted(knowledge.catalogue().procedures)
    for aspect in QUESTIONS
    for spelling in ("accented", "unaccented")
]


@pytest.mark.parametrize("procedure_id, aspect, spelling", CASES)
def test_every_procedure_answers_documents_fee_and_time(assistant, procedure_id, aspect, spelling):
    entry = knowledge.catalogue().get(procedure_id)
    question = QUESTIONS[aspect].format(name=entry["aliases"][0])
    if spelling == "unaccented":
        question = strip_accents(question)
    answer = assistant.say(f"{procedure_id}-{aspect}-{spelling}", question)
    reply = reply_of(answer)
    assert entry["name"] in reply, (question, reply)
    # A phone-sized answer: its beginning here, the rest behind the details button.
    assert expected_content(entry, aspect)[:80] in reply, (question, reply)
    assert max(len(m.get("text", "")) for m in answer) <= 600, (question, reply)
    source = knowledge.procedure_texts()["source"].split("{")[0]
    assert reply.count(source) == 1 and entry["legal_basis"][0] in reply, (question, reply)


def test_a_follow_up_uses_the_procedure_in_context_and_a_new_name_replaces_it(assistant):
    catalogue = knowledge.catalogue()
    first = reply_of(assistant.say("follow", "lệ phí làm sổ đỏ bao nhiêu"))
    assert catalogue.get("cap_so_do")["name"] in first
    follow = reply_of(assistant.say("follow", "thế còn mất bao lâu?"))
    assert catalogue.get("cap_so_do")["name"] in follow
    assert catalogue.get("cap_so_do")["processing_time"]["text"] in follow
    replaced = reply_of(assistant.say("follow", "còn đăng ký tạm trú thì mất bao lâu"))
    assert catalogue.get("tam_tru")["name"] in replaced
    again = reply_of(assistant.say("follow", "lệ phí thì sao"))
    assert catalogue.get("tam_tru")["name"] in again


def test_an_ambiguous_name_gives_buttons_and_a_press_answers(assistant):
    answer = assistant.say("ambiguous", "xin giấy phép cần giấy tờ gì")
    buttons = [b for m in answer for b in m.get("buttons", [])]
    payloads = {b["payload"] for b in buttons}
    choice = '/ask_documents{"procedure": "giay_phep_xay_dung"}'
    assert choice in payloads and any("giay_phep_lai_xe" in p for p in payloads)
    pressed = reply_of(assistant.say("ambiguous", choice))
    assert knowledge.catalogue().get("giay_phep_xay_dung")["name"] in pressed


def test_fields_and_their_procedures_can_be_browsed(assistant):
    fields = assistant.say("browse", "/browse_procedures")
    field_payloads = [b["payload"] for m in fields for b in m.get("buttons", [])]
    assert '/browse_procedures{"field": "ho_tich"}' in field_payloads
    listed = assistant.say("browse", '/browse_procedures{"field": "ho_tich"}')
    titles = [b["title"] for m in listed for b in m.get("buttons", [])]
    assert knowledge.catalogue().get("khai_sinh")["name"] in titles


def listed_entry():
    """A directory procedure its first alias names in a question."""
    resolver = knowledge.resolver()
    return next(e for e in knowledge.directory().entries.values()
                if e["aliases"] and resolver.find_in_text(f"{e['aliases'][0]} cần giấy tờ gì").status == "directory")


def test_a_procedure_of_the_directory_is_routed_honestly_and_stays_the_topic(assistant):
    entry = listed_entry()
    first = reply_of(assistant.say("listed", "lệ phí làm sổ đỏ bao nhiêu"))
    assert knowledge.catalogue().get("cap_so_do")["name"] in first
    routed = reply_of(assistant.say("listed", f"{entry['aliases'][0]} cần giấy tờ gì"))
    assert "Tôi chưa có hướng dẫn chi tiết cho «" + entry["name"] in routed, routed
    assert entry["agency"] in routed and "1022" in routed and "https://" in routed
    assert knowledge.catalogue().get("cap_so_do")["name"] not in routed
    follow = reply_of(assistant.say("listed", "lệ phí bao nhiêu"))  # never the land fee again
    assert entry["name"] in follow and knowledge.catalogue().get("cap_so_do")["fee"]["text"] not in follow


def test_nothing_matches_gets_the_portal_search_for_the_citizens_words_and_the_hotline(assistant):
    answer = assistant.say("nothing", "xin giấy phép bắn pháo hoa tết cần gì")
    text = reply_of(answer)
    search = knowledge.province()["procedure_search"]["url"]
    assert search + "?keyword=" in text and "1022" in text, text
    assert "ph%C3%A1o+hoa" in text  # the citizen's own words, for the portal's search
    assert not [b for m in answer for b in m.get("buttons", [])]  # no unrelated procedures offered


def test_a_caveat_is_said_with_its_answer(assistant):
    entry = next(e for e in knowledge.catalogue().procedures.values()
                 if any(c["aspect"] == "fee" and not c.get("valid_until") for c in e.get("caveats") or []))
    caveat = next(c for c in entry["caveats"] if c["aspect"] == "fee" and not c.get("valid_until"))
    reply = reply_of(assistant.say("caveat", f"lệ phí {entry['aliases'][0]} bao nhiêu"))
    assert entry["name"] in reply and caveat["text"][:40] in reply, reply  # a long one is cut, after the answer


def test_overview_has_the_five_buttons(assistant):
    answer = assistant.say("overview", "thủ tục đăng ký khai sinh như thế nào")
    titles = [b["title"] for m in answer for b in m.get("buttons", [])]
    assert titles == list(knowledge.procedure_texts()["aspects"].values())


def test_online_question_explains_levels_and_offers_to_start(assistant):
    levels = reply_of(assistant.say("online", "dịch vụ công mức độ 4 là gì"))
    assert "toàn trình" in levels.lower() and "mức độ 3" in levels
    catalogue = knowledge.catalogue()
    online = [e for e in catalogue.procedures.values() if e["online"]["level"] in ("toan_trinh", "mot_phan")]
    entry = online[0]
    answer = assistant.say("online", f"{entry['aliases'][0]} làm online được không")
    assert entry["online"]["how"] in reply_of(answer)
    payloads = [b["payload"] for m in answer for b in m.get("buttons", [])]
    assert f'/start_online_service{{"procedure": "{entry["id"]}"}}' in payloads


def test_a_former_district_asks_for_todays_unit_and_a_former_commune_names_it(assistant):
    answer = assistant.say("place", "đăng ký khai sinh ở huyện Núi Thành thì nộp ở đâu")
    text = reply_of(answer)
    assert "Cấp huyện không còn" in text
    assert len([b for m in answer for b in m.get("buttons", [])]) > 1
    named = reply_of(assistant.say("place2", "đăng ký khai sinh ở xã Cẩm Kim thì nộp ở đâu"))
    assert "phường Hội An" in named and "xã Cẩm Kim" in named


def test_unverified_facts_say_so(assistant):
    catalogue = knowledge.catalogue()
    entry = next(e for e in catalogue.procedures.values() if not e["fee"]["verified"])
    reply = reply_of(assistant.say("unverified", f"lệ phí {entry['aliases'][0]} bao nhiêu"))
    warning = knowledge.procedure_texts()["unverified"].split("{")[0]
    assert warning in reply, reply
    again = reply_of(assistant.say("unverified", "thế còn mất bao lâu"))
    assert warning not in again, again  # said once per procedure in a conversation
