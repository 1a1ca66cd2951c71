"""The fast tier: the forms' validation actions (validate_dossier_status_form,
validate_online_application_form) run as Rasa runs them while a form asks — the latest message
on a tracker, the form's slots from domain.yml — in this process. A value is kept in its
canonical form; a wrong one empties the slot and says what to type; a way out ("thôi", "huỷ",
another question, another procedure) fills nothing and says nothing, so the rules answer it."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Tuple

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot import knowledge
from bot.actions.dossiers import ValidateDossierStatusForm
from bot.actions.online_service import NO_ID, ValidateOnlineApplicationForm
from bot.actions.texts import response_text
from bot.nlu.values import dossier_code, mobile_number
from tests.actions.fast import contact, domain, responses, run, shown, slots_set, tracker

CODE = "000.00.14.H46-261123-0015"
pytestmark = pytest.mark.usefixtures("knowledge_loaded")


def fill(form, requested: Optional[str], text: str, intent: str = "inform", confidence: float = 0.9,
         slots: Optional[Dict[str, Any]] = None, candidates: Optional[Dict[str, Any]] = None,
         ) -> Tuple[List[Dict[str, Any]], CollectingDispatcher]:
    """The form asks for `requested`; the citizen types `text`. `candidates`: slots Rasa's own
    mappings (from_entity) fill from the message, appended after it as Rasa does."""
    values = {"requested_slot": requested, **(slots or {}), **(candidates or {})}
    t = tracker(text, intent, values, active_loop=form.form_name(), confidence=confidence)
    t.events += [{"event": "slot", "name": k, "value": v} for k, v in (candidates or {}).items()]
    return run(form, t)


def example_values(response: str) -> List[str]:
    """The runs of digits, dots, dashes and letters a response shows as an example."""
    return re.findall(r"[\w.\- ]*\d[\w.\- ]*", response_text(domain(), response))


# -- the dossier lookup form -------------------------------------------------------------------

@pytest.mark.parametrize("typed", [CODE, "000 00 14 h46 261123 0015", "mã hồ sơ là 000.00.14.H46 - 261123 - 0015 nhé"])
def test_a_dossier_code_is_kept_in_its_canonical_form(app_db, typed):
    events, dispatcher = fill(ValidateDossierStatusForm(), "dossier_code", typed)
    assert slots_set(events) == {"dossier_code": CODE, "retry_count": 0} and dispatcher.messages == []


@pytest.mark.parametrize("typed", ["12345", "H46-261123", "000.00.14.H46-2611-0015"])
def test_a_code_of_the_wrong_shape_is_refused_with_an_example_that_works(app_db, typed):
    events, dispatcher = fill(ValidateDossierStatusForm(), "dossier_code", typed)
    slots = slots_set(events)
    assert slots["dossier_code"] is None and slots["retry_count"] == 1
    assert responses(dispatcher) == ["utter_invalid_dossier_code"]
    assert any(dossier_code(example) for example in example_values("utter_invalid_dossier_code"))


def test_a_second_wrong_value_also_offers_a_way_out(app_db):
    events, dispatcher = fill(ValidateDossierStatusForm(), "dossier_code", "12345", slots={"retry_count": 1})
    assert responses(dispatcher) == ["utter_invalid_dossier_code", "utter_form_way_out"]
    assert slots_set(events)["retry_count"] == 2 and contact()["hotline"] in shown(dispatcher)


def test_no_code_gets_where_to_find_it_and_ends_the_form(app_db):
    events, dispatcher = fill(ValidateDossierStatusForm(), "dossier_code", "tôi không nhớ mã hồ sơ")
    assert responses(dispatcher) == ["utter_dossier_code_help"]
    assert slots_set(events) == {"dossier_code": None, "requested_slot": None, "retry_count": 0}
    assert contact()["portal_url"] in shown(dispatcher)


@pytest.mark.parametrize("requested", ["dossier_code", "verification_value"])
@pytest.mark.parametrize("text, intent", [
    ("thôi", "deny"), ("huỷ", "deny"), ("hủy", "inform"), ("thôi để sau", "deny"), ("dừng lại", "inform"),
    ("làm sổ đỏ mất bao lâu", "ask_processing_time"), ("cho tôi gặp cán bộ", "human_handoff"),
])
def test_a_way_out_fills_nothing_and_says_nothing_so_the_rules_answer_it(app_db, requested, text, intent):
    events, dispatcher = fill(ValidateDossierStatusForm(), requested, text, intent)
    assert events == [] and dispatcher.messages == []


@pytest.mark.parametrize("typed, value", [
    ("8442", "8442"), ("4 số cuối là 8442 ạ", "8442"), ("0905128442", "8442"), ("+84 905 128 442", "8442"),
    ("049195001234", "049195001234"), ("0491 9500 1234", "049195001234"),
    ("0905 128 442", "8442"), ("0905.128.442", "8442"),  # a phone in groups: the whole phone, not its first group
])
def test_a_verification_value_is_read_from_what_citizens_type(typed, value):
    events, dispatcher = fill(ValidateDossierStatusForm(), "verification_value", typed, slots={"dossier_code": CODE})
    assert slots_set(events) == {"verification_value": value, "retry_count": 0} and dispatcher.messages == []


@pytest.mark.parametrize("typed", ["12345", "số cuối là tám bốn", CODE])
def test_anything_else_at_the_verification_question_is_refused(typed):
    events, dispatcher = fill(ValidateDossierStatusForm(), "verification_value", typed, slots={"dossier_code": CODE})
    assert slots_set(events)["verification_value"] is None
    assert responses(dispatcher) == ["utter_invalid_verification"]


def test_a_code_and_a_value_in_one_message_fill_both(app_db):
    text = "mã 000.00.14.H46-261123-0015, 4 số cuối 7506"
    events, dispatcher = fill(ValidateDossierStatusForm(), None, text, "check_dossier_status",
                              candidates={"dossier_code": "000.00.14.H46-261123-0015"})
    slots = slots_set(events)
    assert (slots["dossier_code"], slots["verification_value"]) == (CODE, "7506") and dispatcher.messages == []


# -- the online application form ---------------------------------------------------------------

APPLICATION = {"application_procedure": "khai_sinh", "procedure": "khai_sinh"}


def apply(requested: str, text: str, intent: str = "inform", **slots: Any):
    return fill(ValidateOnlineApplicationForm(), requested, text, intent, slots={**APPLICATION, **slots})


@pytest.mark.parametrize("requested, typed, value", [
    ("applicant_name", "Nguyễn Thị Sương", "Nguyễn Thị Sương"),
    ("applicant_name", "tên tôi là nguyễn văn an", "Nguyễn Văn An"),
    ("applicant_name", "thôi, tên tôi là Nguyễn Văn An", "Nguyễn Văn An"),  # "thôi" as a filler before the name
    ("applicant_phone", "0905 123 456", "0905123456"),
    ("applicant_phone", "+84 905.123.456", "0905123456"),
    ("applicant_id", "0491 9500 1234", "049195001234"),
    ("applicant_id", "bỏ qua", NO_ID),
    ("applicant_id", "ko có cccd", NO_ID),
])
def test_an_application_value_is_kept_in_its_canonical_form(requested, typed, value):
    events, dispatcher = apply(requested, typed)
    assert slots_set(events) == {requested: value, "retry_count": 0} and dispatcher.messages == []


@pytest.mark.parametrize("requested, typed, response, check", [
    ("applicant_phone", "09o5 l23 456", "utter_invalid_phone", mobile_number),  # letters for digits
    ("applicant_phone", "0236 3822 222", "utter_invalid_phone", mobile_number),  # a landline gets no OTP
    ("applicant_name", "A", "utter_invalid_applicant_name", None),
    ("applicant_name", "0905123456", "utter_invalid_applicant_name", None),  # the phone, one question early
    ("applicant_id", "04919500", "utter_invalid_id_number", None),
])
def test_a_wrong_application_value_empties_the_slot_and_says_what_to_type(requested, typed, response, check):
    events, dispatcher = apply(requested, typed)
    assert slots_set(events) == {requested: None, "retry_count": 1}
    assert responses(dispatcher) == [response] and shown(dispatcher).strip()
    if check is not None:  # the example the message shows is one the form takes
        assert any(check(example) for example in example_values(response))


@pytest.mark.parametrize("requested, text, intent", [
    ("applicant_name", "thôi khỏi", "deny"),
    ("applicant_name", "thôi để mai tính", "deny"),  # a stop, then a word that is also a family name
    ("applicant_phone", "hủy", "deny"),
    ("applicant_phone", "huỷ", "inform"),  # the old placement of the accent
    ("applicant_id", "thôi", "deny"),
    ("applicant_name", "làm khai sinh mất bao lâu", "ask_processing_time"),
    ("applicant_phone", "lệ phí bao nhiêu vậy", "ask_fee"),
    ("applicant_phone", "sửa họ tên", "correct_application"),  # which value, not the value
])
def test_a_way_out_of_the_application_fills_nothing_and_says_nothing(requested, text, intent):
    events, dispatcher = apply(requested, text, intent, applicant_name="Nguyễn Thị Sương")
    assert events == [] and dispatcher.messages == []


def test_another_procedure_mid_form_switches_the_application_and_keeps_the_values(app_db):
    wanted = knowledge.resolver().find_in_text("đăng ký hộ kinh doanh").procedure
    assert wanted and wanted != APPLICATION["application_procedure"]
    events, dispatcher = apply("applicant_phone", "thôi đổi qua đk hộ kinh doanh đi", "deny",
                               applicant_name="Nguyễn Thị Sương")
    assert responses(dispatcher) == ["utter_application_switched"]
    assert dispatcher.messages[0]["name"] == knowledge.catalogue().get(wanted)["name"]
    assert slots_set(events) == {"application_procedure": wanted, "procedure": wanted}  # the name is kept
    assert wanted not in shown(dispatcher)  # the procedure's name, never its id
