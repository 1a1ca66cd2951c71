import unicodedata

import pytest

from bot.nlu.text import fix_tone_placement, fold, normalise, strip_accents, load_teencode

TEENCODE = load_teencode({"đk": "đăng ký", "j": "gì", "ko": "không", "cccd": "căn cước công dân"})


@pytest.mark.parametrize(
    "new_style, old_style",
    [("hoà", "hòa"), ("Hoà", "Hòa"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"), ("loè", "lòe"), ("tuỳ", "tùy")],
)
def test_tone_placement_is_unified_to_one_convention(new_style, old_style):
    assert fix_tone_placement(new_style) == old_style
    assert fix_tone_placement(old_style) == old_style


@pytest.mark.parametrize("word", ["quý", "hoàng", "thuyền", "khuya", "người", "a", ""])
def test_tone_placement_leaves_other_words_alone(word):
    assert fix_tone_placement(word) == word


def test_nfd_input_becomes_nfc_and_spans_point_back():
    original = unicodedata.normalize("NFD", "Đăng ký khai sinh")
    result = normalise(original)
    assert result.text == "Đăng ký khai sinh"
    start, end = result.original_span(0, 7)
    assert unicodedata.normalize("NFC", original[start:end]) == "Đăng ký"


def test_teencode_expands_and_maps_to_the_abbreviation():
    text = "đk kết hôn cần j"
    result = normalise(text, TEENCODE)
    assert result.text == "đăng ký kết hôn cần gì"
    assert text[slice(*result.original_span(0, 7))] == "đk"
    assert text[slice(*result.original_span(len(result.text) - 2, len(result.text)))] == "j"


def test_teencode_matches_unaccented_and_upper_case_keys():
    assert normalise("DK ket hon can J", TEENCODE).text == "đăng ký ket hon can gì"


def test_whitespace_punctuation_and_control_characters_are_tidied():
    text = "  làm\t\tCCCD\u200b  ở đâu???\x07  "
    result = normalise(text, TEENCODE)
    assert result.text == "làm căn cước công dân ở đâu?"
    assert len(result.spans) == len(result.text)


def test_accent_folding():
    assert strip_accents("Đăng ký thường trú") == "Dang ky thuong tru"
    assert fold("ĐĂNG KÝ") == fold("dang ky") == "dang ky"
    assert fold(unicodedata.normalize("NFD", "hòa")) == "hoa"


def test_empty_and_emoji_only_text():
    assert normalise("").text == ""
    assert normalise("   ").text == ""
    assert normalise("😀👍").text == "😀👍"
