from bot.sanitise import clean_message


def test_control_characters_are_dropped_and_newlines_become_spaces():
    assert clean_message("\x00lệ\x07 phí\nbao nhiêu\x1b", 100) == "lệ phí bao nhiêu"


def test_length_is_capped():
    assert len(clean_message("a" * 10_000, 4000)) == 4000


def test_whitespace_only_becomes_empty():
    assert clean_message(" \t\n ", 100) == ""
