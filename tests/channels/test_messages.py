import pytest

from bot.channels.messages import Button, from_rasa, split_text


def test_rasa_output_becomes_the_neutral_model():
    message = from_rasa({"text": "Xem tại https://dichvucong.gov.vn nhé",
                         "buttons": [{"title": "Lệ phí", "payload": '/ask_fee{"procedure": "khai_sinh"}'},
                                     {"title": "Cổng", "payload": "https://dichvucong.gov.vn"}]})
    assert message.buttons[0] == Button("Lệ phí", '/ask_fee{"procedure": "khai_sinh"}')
    assert message.buttons[1].is_link and not message.buttons[0].is_link
    assert message.links == ("https://dichvucong.gov.vn",)


def test_an_empty_output_is_empty():
    assert from_rasa({}).empty and not from_rasa({"text": "chào"}).empty


def test_long_text_is_split_at_paragraphs_within_the_limit():
    paragraphs = ["Đoạn %d. " % i + "chữ " * 300 for i in range(6)]
    text = "\n\n".join(paragraphs)
    parts = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in parts)
    assert all(p.startswith("Đoạn") for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_an_unbroken_word_is_cut_hard():
    assert split_text("x" * 5000, 2000) == ["x" * 2000, "x" * 2000, "x" * 1000]


def test_short_text_is_one_part():
    assert split_text("  chào bạn  ", 2000) == ["chào bạn"]
    with pytest.raises(ValueError):
        split_text("a", 0)
