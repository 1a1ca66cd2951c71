import unicodedata

import pytest
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.tokenizer import NO_WORDS, VietnameseTokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return VietnameseTokenizer(VietnameseTokenizer.get_default_config())


def spans(tokens, text):
    return [text[t.start : t.end] for t in tokens]


def test_words_are_segmented_and_offsets_point_into_the_message(tokenizer):
    text = "Đăng ký khai sinh cho con ở Tam Kỳ"
    tokens = tokenizer.tokenize_text(text)
    assert [t.text for t in tokens] == ["Đăng ký", "khai sinh", "cho", "con", "ở", "Tam Kỳ"]
    assert spans(tokens, text) == [t.text for t in tokens]


def test_nfd_message_keeps_offsets_into_the_nfd_text(tokenizer):
    text = unicodedata.normalize("NFD", "thủ tục đăng ký tạm trú")
    tokens = tokenizer.tokenize_text(text)
    assert [t.text for t in tokens][:2] == ["thủ tục", "đăng ký"]
    assert [unicodedata.normalize("NFC", s) for s in spans(tokens, text)] == [t.text for t in tokens]
    assert tokens[-1].end == len(text)


def test_old_and_new_tone_placement_give_the_same_features(tokenizer):
    old = tokenizer.tokenize_text("hòa giải")
    new = tokenizer.tokenize_text("hoà giải")
    assert [t.lemma for t in old] == [t.lemma for t in new]
    assert [t.text for t in old] == [t.text for t in new]
    assert spans(new, "hoà giải")[0] == "hoà"


def test_unaccented_message_has_the_lemmas_of_its_accented_form(tokenizer):
    accented = " ".join(t.lemma for t in tokenizer.tokenize_text("đăng ký kết hôn cần giấy tờ gì"))
    bare = " ".join(t.lemma for t in tokenizer.tokenize_text("dang ky ket hon can giay to gi"))
    assert accented == bare


def test_teencode_tokens_point_at_the_abbreviation(tokenizer):
    text = "đk kết hôn cần j"
    tokens = tokenizer.tokenize_text(text)
    assert tokens[0].text == "đăng ký" and spans(tokens, text)[0] == "đk"
    assert tokens[-1].text == "gì" and spans(tokens, text)[-1] == "j"


def test_emoji_are_not_words(tokenizer):
    text = "😀 làm căn cước 👍"
    tokens = tokenizer.tokenize_text(text)
    assert spans(tokens, text) == ["làm", "căn cước"]


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "???", "\x00\x07"])
def test_messages_without_words_get_one_blank_token(tokenizer, text):
    tokens = tokenizer.tokenize_text(text)
    assert [t.text for t in tokens] == [NO_WORDS]
    assert 0 <= tokens[0].start <= tokens[0].end <= len(text)


def test_a_10000_character_message(tokenizer):
    text = ("xin hỏi thủ tục đăng ký khai sinh cho con như thế nào ạ " * 200)[:10_000]
    tokens = tokenizer.tokenize_text(text)
    assert len(tokens) > 1000
    assert all(0 <= t.start < t.end <= len(text) for t in tokens)
    assert all(a.end <= b.start for a, b in zip(tokens, tokens[1:]))


def test_rasa_message_is_tokenised_through_the_component_api(tokenizer):
    message = Message({TEXT: "lệ phí làm sổ đỏ bao nhiêu"})
    tokenizer.process([message])
    assert [t.text for t in message.get(TOKENS_NAMES[TEXT])][:2] == ["lệ phí", "làm"]
