"""The fast tier: what the citizen is talking about, decided from the conversation
(bot/actions/context.py, steering.py, and the procedure in context of procedures.py): a
follow-up keeps the procedure, a new name or a new topic replaces it, a choice counts only as
the answer to the question just asked, a value typed after a lookup belongs to that lookup."""

from __future__ import annotations

from typing import Any, Dict

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge
from bot.actions.context import (asked_with, awaiting_confirmation, in_application, last_question,
                                 procedure_question, reinterpreted)
from bot.actions.dossiers import in_context
from bot.actions.places import ActionAnswerLocality
from bot.actions.procedures import ActionAnswerProcedure, resolve_procedure
from bot.actions.steering import steering
from tests.actions.fast import asked, entity, followups, ran, responses, run, said, shown, slots_set, tracker

pytestmark = pytest.mark.usefixtures("knowledge_loaded")
RATING_BUTTONS = [{"title": "Hữu ích", "payload": '/rate_answer{"rating": "useful"}'}]


def catalogue_entry(procedure_id: str) -> Dict[str, Any]:
    entry = knowledge.catalogue().get(procedure_id)
    assert entry, procedure_id
    return entry


# -- the procedure in context ------------------------------------------------------------------

@pytest.mark.parametrize("text, intent", [
    ("thế còn mất bao lâu?", "ask_processing_time"),
    ("lệ phí bao nhiêu", "ask_fee"),
    ("cần mang giấy tờ gì", "ask_documents"),
    ("nộp ở đâu vậy", "ask_agency"),
    ("vậy còn phí thì sao", "inform"),
])
def test_a_follow_up_keeps_the_procedure_in_context(text, intent):
    resolution = resolve_procedure(tracker(text, intent, {"procedure": "cap_so_do"}))
    assert (resolution.status, resolution.procedure) == ("found", "cap_so_do")


@pytest.mark.parametrize("entities", [[], [("procedure", "tạm trú")]])
def test_a_new_name_replaces_the_procedure_in_context(entities):
    text = "còn đăng ký tạm trú thì mất bao lâu"
    found = [entity(text, name, value) for name, value in entities]
    resolution = resolve_procedure(tracker(text, "ask_processing_time", {"procedure": "cap_so_do"}, entities=found))
    assert (resolution.status, resolution.procedure) == ("found", "tam_tru")


def test_a_new_topic_is_noticed_instead_of_answering_the_old_procedure(app_db):
    text = "còn xin giấy phép nuôi chim yến thì sao"  # after the land title: no procedure of the catalogue
    events, dispatcher = run(ActionAnswerProcedure(), tracker(text, "ask_procedure", {"procedure": "cap_so_do"}))
    assert responses(dispatcher) == ["utter_procedure_not_in_catalogue"]  # the honest answer, the portal's search
    slots = slots_set(events)
    assert "procedure" not in slots and slots["unmet_procedure"] == "?"
    entry = catalogue_entry("cap_so_do")
    assert entry["name"] not in shown(dispatcher) and entry["fee"]["text"][:40] not in shown(dispatcher)


def test_the_answer_to_a_follow_up_is_about_the_procedure_in_context(app_db):
    entry = catalogue_entry("cap_so_do")
    events, dispatcher = run(ActionAnswerProcedure(), tracker(
        "thế còn mất bao lâu?", "ask_processing_time", {"procedure": "cap_so_do", "procedure_aspect": "fee"},
        before=[said("lệ phí làm sổ đỏ bao nhiêu", "ask_fee"), ran("action_answer_procedure")]))
    slots = slots_set(events)
    assert (slots["procedure"], slots["procedure_aspect"]) == ("cap_so_do", "time")
    text = shown(dispatcher)
    assert entry["name"] in text and entry["processing_time"]["text"][:60] in text
    assert "cap_so_do" not in text  # the name, never the id


def test_a_follow_up_about_a_directory_procedure_stays_with_it():
    resolver = knowledge.resolver()
    listed = next(e for e in knowledge.directory().entries.values()
                  if e["aliases"] and resolver.find_in_text(f"{e['aliases'][0]} cần giấy tờ gì").status == "directory")
    resolution = resolve_procedure(tracker("lệ phí bao nhiêu", "ask_fee", {"procedure": listed["id"]}))
    assert (resolution.status, resolution.procedure) == ("directory", listed["id"])
    events, dispatcher = run(ActionAnswerProcedure(), tracker("lệ phí bao nhiêu", "ask_fee",
                                                              {"procedure": listed["id"]}))
    assert responses(dispatcher) == ["utter_procedure_in_directory"]
    assert dispatcher.messages[0]["name"] == listed["name"] and listed["id"] not in shown(dispatcher)


@pytest.mark.parametrize("text, intent, expected", [
    ("khai sinh cho con cần giấy tờ gì", "complain", True),  # a question the NLU read as a complaint
    ("đăng ký kết hôn ở đâu vậy", "nlu_fallback", True),
    ("khiếu nại cán bộ làm khai sinh chậm quá, vô lý", "ask_procedure", False),  # a complaint stays one
    ("hồ sơ khai sinh 000.00.14.H46-261123-0015 sao rồi", "check_dossier_status", False),  # a lookup
    ("tra cứu hồ sơ kết hôn của tôi đến đâu rồi", "check_dossier_status", False),
    ("làm khai sinh", "check_dossier_status", False),  # names one, asks nothing
])
def test_a_procedure_question_read_as_something_else_is_told_apart(text, intent, expected):
    assert procedure_question(tracker(text, intent)) is expected


# -- choices count as the answer to the question just asked ------------------------------------

def test_a_button_counts_only_as_the_answer_to_the_question_just_asked():
    press = '/rate_answer{"rating": "useful"}'
    just_asked = [ran("action_answer_procedure"), asked("Câu trả lời có hữu ích không?", "utter_ask_rating",
                                                         RATING_BUTTONS)]
    assert asked_with(tracker(press, "rate_answer", before=just_asked), "/rate_answer")
    assert last_question(tracker(press, "rate_answer", before=just_asked))["response"] == "utter_ask_rating"
    later = just_asked + [said("cảm ơn", "thank"), ran("utter_thank"), asked("Không có gì ạ.", "utter_thank")]
    assert not asked_with(tracker(press, "rate_answer", before=later), "/rate_answer")  # an old button
    unanswered = just_asked + [said("ờ", "affirm"), ran("action_listen")]  # a message between, not answered
    assert not asked_with(tracker(press, "rate_answer", before=unanswered), "/rate_answer")
    assert last_question(tracker(press, "rate_answer", before=unanswered)) == {}


@pytest.mark.parametrize("after, waiting", [
    ([], True),  # the summary is shown
    ([said("lệ phí bao nhiêu", "ask_fee"), ran("action_answer_procedure")], True),  # a question asked at it
    ([said("ok", "affirm"), ran("action_create_draft")], False),  # sent
    ([said("thôi", "deny"), ran("action_restart")], False),
    ([said("sửa tên", "correct_application"), ran("online_application_form")], False),  # corrected: asks again
])
def test_an_application_waits_at_its_summary_until_sent_corrected_or_cancelled(after, waiting):
    before = [ran("online_application_form"), ran("action_confirm_application"),
              asked("Bạn kiểm tra lại thông tin…", "utter_confirm_application"), *after]
    t = tracker("cho hỏi thêm", "inform", before=before)
    assert awaiting_confirmation(t) is waiting and in_application(t) is waiting


def test_a_message_is_read_again_once_and_never_in_a_loop():
    t = tracker("khai sinh cho con cần gì", "complain", channel="zalo")
    events = reinterpreted(t, set(), force="ask_procedure")
    assert [e["event"] for e in events] == ["rewind", "action", "user"]
    again = events[-1]
    assert again["parse_data"]["intent"]["name"] == "ask_procedure" and again["input_channel"] == "zalo"
    assert reinterpreted(tracker(again["text"], "ask_procedure", reread=True), set(), force="ask_procedure") == []


# -- a lookup in context -----------------------------------------------------------------------

DOSSIER = {"code": "000.00.14.H46-261123-0015", "procedure_id": "tam_tru", "procedure_name": "Đăng ký tạm trú",
           "status": 5, "status_label": "Yêu cầu bổ sung giấy tờ", "received": "20/11/2026", "due": "04/12/2026",
           "late_days": 0, "missing": ["Bản sao hợp đồng thuê nhà"], "reason": "", "continue_url": "",
           "agency": "Công an phường Hải Châu"}


def test_a_follow_up_after_a_lookup_is_answered_from_that_dossier():
    dispatcher = CollectingDispatcher()
    events = in_context(dispatcher, tracker("thiếu giấy gì vậy", "ask_documents",
                                            {"dossier_context": DOSSIER, "has_dossier": True, "procedure": "tam_tru"}))
    assert events == [] and responses(dispatcher) == ["utter_dossier_followup"]
    assert DOSSIER["missing"][0] in shown(dispatcher)
    dispatcher = CollectingDispatcher()
    in_context(dispatcher, tracker("khi nào xong vậy", "ask_processing_time", {"dossier_context": DOSSIER}))
    assert DOSSIER["due"] in shown(dispatcher)


def test_a_procedure_named_after_a_lookup_is_a_new_question_not_a_follow_up():
    text = "thường trú thì khi nào xong"
    dispatcher = CollectingDispatcher()
    events = in_context(dispatcher, tracker(text, "ask_processing_time", {"dossier_context": DOSSIER},
                                            entities=[entity(text, "procedure", "thường trú")]),
                        procedure_questions=False)
    assert events is None and dispatcher.messages == []


@pytest.mark.parametrize("text, expected", [
    ("tôi không nhớ mã hồ sơ", "help"),
    ("hồ sơ tạm trú của tôi sao rồi", "action_dossier_followup"),
    ("lệ phí tạm trú bao nhiêu", None),
])
def test_what_a_message_means_after_a_lookup_was_asked(text, expected):
    dispatcher = CollectingDispatcher()
    events = in_context(dispatcher, tracker(text, "inform"), procedure_questions=False)
    if expected == "help":
        assert events == [] and responses(dispatcher) == ["utter_dossier_code_help"]
    elif expected is None:
        assert events is None and dispatcher.messages == []
    else:
        assert followups(events) == [expected]


# -- steering: a value, or a way out -----------------------------------------------------------

@pytest.mark.parametrize("text, stop", [
    ("thôi", True), ("thôi khỏi nha", True), ("hủy đi em", True), ("huỷ", True), ("để sau nha, giờ đang bận", True),
    ("Lê Quang Huy", False), ("le quang huy", False),  # a name that ends like "hủy"
    ("thôi thì lệ phí bao nhiêu?", False),  # a question
])
def test_a_stop_is_told_from_a_value(text, stop):
    assert steering().is_stop(text) is stop


def test_what_the_citizen_wants_to_correct_is_read():
    lexicon = steering()
    assert lexicon.field_named("sửa số điện thoại") == "applicant_phone"
    assert lexicon.field_named("sai số định danh rồi") == "applicant_id"
    assert lexicon.name_in("sai tên rồi, tên đúng là Lê Bình") == "Lê Bình"
    assert lexicon.name_in("ten dung la Nguyen Thi Lanh") == "Nguyen Thi Lanh"


# -- places ------------------------------------------------------------------------------------

def test_an_unknown_place_is_said_back_as_typed_and_not_kept():
    text = "xã Xuân Lộc Hạ giờ thuộc đâu"
    events, dispatcher = run(ActionAnswerLocality(), tracker(
        text, "ask_locality", entities=[entity(text, "locality", "Xuân Lộc Hạ")]))
    assert responses(dispatcher) == ["utter_locality_answer"] and events == []
    assert "«Xuân Lộc Hạ»" in shown(dispatcher)


def test_a_former_commune_is_answered_with_names_and_kept_as_its_unit():
    text = "phường Điện Nam Bắc cũ giờ thuộc đâu"
    events, dispatcher = run(ActionAnswerLocality(), tracker(
        text, "ask_locality", entities=[entity(text, "locality", "Điện Nam Bắc")]))
    unit = knowledge.localities().unit("phuong-dien-ban-dong")
    assert slots_set(events) == {"locality": "phuong-dien-ban-dong"}
    answer = shown(dispatcher)
    assert unit["name"] in answer and "phuong-dien-ban-dong" not in answer and "cu-" not in answer
