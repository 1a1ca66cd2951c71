"""The fast tier: dossier lookups cannot be brute-forced, seen as a citizen sees them. The lookup
action and the lookup form run on trackers in this process, against a temporary assistant
database and the one-stop sandbox's own store (no Rasa server, no HTTP): a sender who keeps
typing wrong values is locked, a code guessed from ever new sender ids is locked for everyone,
and the owner who types the right value before any limit gets the status.

The policy itself, on SQLite and PostgreSQL, and the same through a running assistant and its
channels, are in test_lookup_lockout.py."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional, Tuple

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot import clock, knowledge
from bot.actions import lookup_lockout
from bot.actions.dossiers import ActionCheckDossierStatus, ValidateDossierStatusForm, in_context
from bot.config import load_settings
from tests.actions.fast import contact, followups, ran, responses, run, shown, slots_set, tracker

PHONE, ID_NUMBER, NAME = "0935777888", "049195001234", "Lê Văn Cường"
RIGHT = PHONE[-4:]
WRONG = [f"{1000 + i}" for i in range(30)]  # never the last 4 digits of PHONE
T0 = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.timezone.utc)
pytestmark = pytest.mark.usefixtures("knowledge_loaded")


@pytest.fixture
def policy() -> lookup_lockout.Policy:
    return lookup_lockout.Policy.of(load_settings())


@pytest.fixture
def now(monkeypatch) -> List[dt.datetime]:
    """The actions' clock, standing still at T0 until a test moves it."""
    at = [T0]
    monkeypatch.setattr(clock, "now", lambda: at[0])
    return at


@pytest.fixture
def dossier(app_db, onestop, now) -> Dict[str, Any]:
    assert not set(WRONG) & {RIGHT}
    return onestop.create(procedure_id="tam_tru", procedure_name="Đăng ký tạm trú", status=4,
                          applicant={"name": NAME, "phone": PHONE, "id_number": ID_NUMBER})


def lookup(code: str, value: str, sender: str = "citizen-1", channel: str = "rest"
           ) -> Tuple[Dict[str, Any], CollectingDispatcher]:
    """The form has the code and the value: the lookup runs. Its slots, and what it said."""
    events, dispatcher = run(ActionCheckDossierStatus(), tracker(
        value, "inform", {"dossier_code": code, "verification_value": value, "requested_slot": None},
        before=[ran("dossier_status_form")], sender=sender, channel=channel))
    return slots_set(events), dispatcher


def form_given_code(code: str, sender: str) -> Tuple[Dict[str, Any], CollectingDispatcher]:
    """The lookup form asked for the code and the citizen typed it."""
    events, dispatcher = run(ValidateDossierStatusForm(), tracker(
        code, "inform", {"requested_slot": "dossier_code"}, sender=sender, active_loop="dossier_status_form"))
    return slots_set(events), dispatcher


def minutes_said(dispatcher: CollectingDispatcher) -> Optional[int]:
    return next((m["minutes"] for m in dispatcher.messages if "minutes" in m), None)


def reveals_nothing(dispatcher: CollectingDispatcher, *secrets: str) -> None:
    text = shown(dispatcher)
    assert text.strip()
    for secret in (PHONE, ID_NUMBER, NAME, RIGHT, *secrets):
        assert secret not in text, (secret, text)


def test_wrong_values_from_one_sender_lock_that_sender_at_the_limit(dossier, onestop, policy):
    code = dossier["code"]
    for value in WRONG[:policy.sender_failures - 1]:
        slots, dispatcher = lookup(code, value)
        assert responses(dispatcher) == ["utter_dossier_not_matched"]
        # the value is forgotten at once; the code is kept so that a value typed next is tried with it
        assert slots["lookup_outcome"] == "verification_failed" and slots["verification_value"] is None
        assert slots["pending_code"] == code
        reveals_nothing(dispatcher, code)
    slots, dispatcher = lookup(code, WRONG[policy.sender_failures])
    assert responses(dispatcher) == ["utter_dossier_not_matched", "utter_lookup_locked"]
    assert slots["pending_code"] is None and minutes_said(dispatcher) == policy.minutes
    reveals_nothing(dispatcher, code, "citizen-1")
    assert contact()["hotline"] in shown(dispatcher)

    asked = len(onestop.lookups)
    slots, dispatcher = lookup(code, RIGHT)  # now even the right value is refused …
    assert responses(dispatcher) == ["utter_lookup_locked"] and slots["lookup_outcome"] == "locked"
    assert "dossier_context" not in slots and "followable_code" not in slots
    assert len(onestop.lookups) == asked  # … without asking the one-stop system
    reveals_nothing(dispatcher, code)


def test_a_locked_sender_is_told_at_the_code_question_for_any_code(dossier, onestop, policy):
    other = onestop.create(procedure_id="khai_sinh", status=2, applicant={"name": NAME, "phone": PHONE})
    for value in WRONG[:policy.sender_failures]:
        lookup(dossier["code"], value, sender="typo-prone")
    slots, dispatcher = form_given_code(other["code"], "typo-prone")
    assert responses(dispatcher) == ["utter_lookup_locked"]
    # the form ends here instead of asking for a verification value in vain
    assert slots["dossier_code"] is None and slots["requested_slot"] is None and slots["lookup_outcome"] == "locked"


def test_another_senders_lock_does_not_lock_the_owner(dossier, policy):
    for value in WRONG[:policy.sender_failures]:
        lookup(dossier["code"], value, sender="neighbour")
    assert policy.sender_failures < policy.code_failures
    slots, dispatcher = lookup(dossier["code"], RIGHT, sender="owner")
    assert responses(dispatcher) == ["utter_dossier_status"] and slots["lookup_outcome"] == "found"


def test_a_code_guessed_from_ever_new_sender_ids_is_locked_for_everyone(dossier, onestop, policy):
    code, channels = dossier["code"], ["rest", "socketio", "zalo", "telegram"]
    for i, value in enumerate(WRONG[:policy.code_failures - 1]):
        slots, dispatcher = lookup(code, value, sender=f"guesser-{i}", channel=channels[i % len(channels)])
        assert responses(dispatcher) == ["utter_dossier_not_matched"], i  # no sender reached its own limit
    slots, dispatcher = lookup(code, WRONG[policy.code_failures], sender="guesser-last")
    assert responses(dispatcher) == ["utter_dossier_not_matched", "utter_dossier_locked"]
    assert minutes_said(dispatcher) == policy.minutes
    reveals_nothing(dispatcher, code, "guesser-last")

    asked = len(onestop.lookups)
    slots, dispatcher = lookup(code, RIGHT, sender="somebody-new", channel="zalo")
    assert responses(dispatcher) == ["utter_dossier_locked"] and slots["lookup_outcome"] == "locked"
    assert "dossier_context" not in slots and len(onestop.lookups) == asked
    reveals_nothing(dispatcher, code, "somebody-new")


def test_a_locked_code_is_said_at_the_code_question_and_other_codes_still_work(dossier, onestop, policy):
    for i, value in enumerate(WRONG[:policy.code_failures]):
        lookup(dossier["code"], value, sender=f"guesser-{i}")
    slots, dispatcher = form_given_code(dossier["code"].lower().replace(".", " "), "owner")  # typed loosely
    assert responses(dispatcher) == ["utter_dossier_locked"]
    assert slots["dossier_code"] is None and slots["requested_slot"] is None and slots["lookup_outcome"] == "locked"

    other = onestop.create(procedure_id="khai_sinh", status=2, applicant={"name": NAME, "phone": PHONE})
    slots, dispatcher = form_given_code(other["code"], "owner")
    assert dispatcher.messages == [] and slots["dossier_code"] == other["code"]
    slots, dispatcher = lookup(other["code"], RIGHT, sender="owner")
    assert responses(dispatcher) == ["utter_dossier_status"]


def test_the_right_value_before_the_limit_shows_the_status_and_keeps_no_secret(dossier, policy):
    code = dossier["code"]
    for value in WRONG[:policy.sender_failures - 1]:
        lookup(code, value)
    slots, dispatcher = lookup(code, RIGHT)
    assert responses(dispatcher) == ["utter_dossier_status"]
    said = dispatcher.messages[0]
    assert said["code"] == code and said["status_label"] == dossier["status"]["label"]
    assert slots["lookup_outcome"] == "found" and slots["has_dossier"] is True and slots["followable_code"] == code
    assert slots["procedure"] == "tam_tru" and knowledge.catalogue().get("tam_tru")
    assert slots["verification_value"] is None and slots["pending_code"] is None
    kept = repr(slots["dossier_context"])
    for secret in (PHONE, RIGHT, ID_NUMBER, NAME):
        assert secret not in kept
    reveals_nothing(dispatcher)
    assert code in shown(dispatcher)  # the citizen's own code, after the check, is said


def test_a_verified_lookup_forgives_the_senders_own_mistakes(dossier, policy):
    code = dossier["code"]
    for value in WRONG[:policy.sender_failures - 1]:
        lookup(code, value)
    lookup(code, RIGHT)
    assert 2 * (policy.sender_failures - 1) < policy.code_failures
    for value in WRONG[:policy.sender_failures - 1]:  # as many again: still not locked
        slots, dispatcher = lookup(code, value)
        assert responses(dispatcher) == ["utter_dossier_not_matched"]


def test_an_unknown_code_and_a_wrong_value_read_the_same(dossier):
    unknown = dossier["code"][:-4] + ("9999" if not dossier["code"].endswith("9999") else "9998")
    wrong_slots, wrong = lookup(dossier["code"], WRONG[0], sender="a")
    unknown_slots, nothing = lookup(unknown, RIGHT, sender="b")
    assert (wrong_slots["lookup_outcome"], unknown_slots["lookup_outcome"]) == ("verification_failed", "not_found")
    assert shown(wrong) == shown(nothing) and responses(nothing) == ["utter_dossier_not_matched"]


def test_a_lock_ends_after_its_minutes(dossier, policy, now):
    for i, value in enumerate(WRONG[:policy.code_failures]):
        lookup(dossier["code"], value, sender=f"guesser-{i}")
    now[0] = T0 + dt.timedelta(minutes=policy.minutes - 1)
    slots, dispatcher = lookup(dossier["code"], RIGHT, sender="owner")
    assert responses(dispatcher) == ["utter_dossier_locked"] and minutes_said(dispatcher) == 1
    now[0] = T0 + dt.timedelta(minutes=policy.minutes, seconds=1)
    slots, dispatcher = lookup(dossier["code"], RIGHT, sender="owner")
    assert responses(dispatcher) == ["utter_dossier_status"]


def test_the_one_stop_systems_own_refusal_locks_the_code_without_asking_again(dossier, onestop):
    onestop.lock(dossier["code"], 90)
    slots, dispatcher = lookup(dossier["code"], RIGHT, sender="owner")
    assert responses(dispatcher) == ["utter_dossier_locked"] and minutes_said(dispatcher) == 2
    assert slots["lookup_outcome"] == "locked" and len(onestop.lookups) == 1
    slots, dispatcher = lookup(dossier["code"], RIGHT, sender="another")
    assert responses(dispatcher) == ["utter_dossier_locked"] and len(onestop.lookups) == 1
    reveals_nothing(dispatcher, dossier["code"])


def test_a_value_typed_after_a_failure_is_tried_with_the_same_code(dossier):
    slots, _ = lookup(dossier["code"], WRONG[0])
    dispatcher = CollectingDispatcher()
    events = in_context(dispatcher, tracker("à nhầm, 4 số cuối là " + RIGHT, "inform", slots))
    assert followups(events) == ["action_check_dossier_status"] and dispatcher.messages == []
    again = slots_set(events)
    assert (again["dossier_code"], again["verification_value"]) == (dossier["code"], RIGHT)
    slots, dispatcher = lookup(again["dossier_code"], again["verification_value"])
    assert responses(dispatcher) == ["utter_dossier_status"]


def test_the_owner_typing_the_whole_phone_in_groups_gets_the_status(dossier):
    grouped = f"{PHONE[:4]} {PHONE[4:7]} {PHONE[7:]}"  # as a phone is written on a form
    events, _ = run(ValidateDossierStatusForm(), tracker(
        grouped, "inform", {"requested_slot": "verification_value", "dossier_code": dossier["code"]},
        active_loop="dossier_status_form"))
    value = slots_set(events)["verification_value"]
    slots, dispatcher = lookup(dossier["code"], value)
    assert responses(dispatcher) == ["utter_dossier_status"]
