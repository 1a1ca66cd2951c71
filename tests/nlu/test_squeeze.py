"""Letters typed twice are squeezed, real doubled spellings are kept."""

import pytest

from bot.nlu.text import squeeze_letters


@pytest.mark.parametrize("typed, meant", [("bạnn", "bạn"), ("ơiii", "ơi"), ("xoong", "xoong"), ("luu", "luu"),
                                          ("huu", "huu"), ("cuuu", "cu"), ("cccd", "cccd"), ("0905", "0905")])
def test_letters_typed_twice_are_squeezed_and_real_spellings_kept(typed, meant):
    assert squeeze_letters(typed) == meant
