"""Hostile input: the parsers and the REST channel never crash on what a client can send.

Hypothesis generates the inputs (arbitrary Unicode, surrogates' neighbours, control and format
characters, huge numbers, nested JSON of wrong types); every property is what a citizen or an
operator would notice if it broke.
"""

from __future__ import annotations

import json
import unicodedata
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.analytics.broker_rows import rows_of
from bot.nlu.text import fold, normalise
from bot.nlu.values import dossier_code, dossier_code_spans, id_number, number_spans, phone_number
from bot.sanitise import clean_message

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
# What JSON can carry besides: lone surrogates ("\ud800"), which once stopped the Rasa server.
ANY_TEXT = st.text(alphabet=st.characters(whitelist_categories=("Cs", "Cc", "Cf", "Lu", "Ll", "Lo", "Mn", "Nd", "Zs")),
                   max_size=60)
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)


@given(TEXT, st.integers(min_value=1, max_value=500))
def test_a_cleaned_message_is_short_printable_and_trimmed(text, limit):
    cleaned = clean_message(text, limit)
    assert len(cleaned) <= limit and cleaned == cleaned.strip()
    assert not any(unicodedata.category(c) in ("Cc", "Cs", "Co") for c in cleaned)


@given(TEXT)
def test_normalisation_keeps_a_span_in_the_original_for_every_character(text):
    result = normalise(text, {"k": "không", "dc": "được"})
    assert len(result.spans) == len(result.text)
    assert all(0 <= start <= end <= len(text) for start, end in result.spans)
    assert isinstance(fold(result.text), str)


@given(TEXT)
def test_value_parsers_answer_or_decline(text):
    for start, end in dossier_code_spans(text) + number_spans(text):
        assert 0 <= start < end <= len(text)
    for parse in (dossier_code, phone_number, id_number):
        value = parse(text)
        assert value is None or (isinstance(value, str) and 0 < len(value) <= 40)


@given(st.binary(max_size=600) | JSON.map(lambda value: json.dumps(value).encode()))
def test_the_consumer_stores_rasa_events_or_nothing(body):
    rows = rows_of(body)
    for row in rows or []:
        assert isinstance(row["sender_id"], str) and 0 < len(row["sender_id"]) <= 255
        assert len(row["digest"]) == 64 and json.loads(row["data"]) is not None


# -- the REST channel of the running assistant ---------------------------------------------

BODIES = st.one_of(
    st.binary(max_size=300),
    JSON.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries({"sender": st.one_of(TEXT, ANY_TEXT, st.integers(), st.none(), JSON),
                           "message": st.one_of(TEXT, ANY_TEXT, st.integers(), st.none(), JSON)},
                          optional={"metadata": JSON, "input_channel": JSON})
    .map(lambda body: json.dumps(body).encode()),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_whatever_is_posted_the_rest_channel_answers_without_a_server_error(assistant, body):
    status, answer = assistant.post(body)
    assert status in (200, 400, 413, 429), (status, answer)
    if status == 200:
        assert isinstance(answer, list) and all("text" in m or "buttons" in m or "custom" in m for m in answer)
    else:
        assert answer is None or isinstance(answer, (dict, list))


def test_an_oversized_body_is_refused_and_nothing_is_stored(assistant):
    sender = f"big-{uuid.uuid4().hex[:6]}"
    status, _ = assistant.post(json.dumps({"sender": sender, "message": "a" * 2_000_000}).encode())
    assert status == 413
    assert assistant.say(sender, "xin chào")  # the same citizen is then answered normally
