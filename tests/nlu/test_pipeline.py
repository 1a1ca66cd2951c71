"""The trained project pipeline, end to end through Rasa's Agent."""

import asyncio

import pytest

CODE = "000.00.12.H46-251104-0007"


def parse(agent, text):
    return asyncio.run(agent.parse_message(text))


def entities(result, name):
    return [e["value"] for e in result["entities"] if e["entity"] == name]


@pytest.mark.parametrize(
    "accented, bare, teencode",
    [
        ("đăng ký kết hôn cần giấy tờ gì", "dang ky ket hon can giay to gi", "đk kết hôn cần j"),
        ("lệ phí làm căn cước bao nhiêu", "le phi lam can cuoc bao nhieu", "lm cccd mất bn tiền"),
        ("kiểm tra hồ sơ của tôi đến đâu rồi", "kiem tra ho so cua toi den dau roi", "ktra hs của e tới đâu r"),
    ],
)
def test_unaccented_and_teencode_are_understood_like_accented(agent, accented, bare, teencode):
    intents = {parse(agent, text)["intent"]["name"] for text in (accented, bare, teencode)}
    assert len(intents) == 1 and "nlu_fallback" not in intents


@pytest.mark.parametrize("typed", ["000 00 12 h46 251104 0007", "000.00.12.h46-251104-0007", CODE])
def test_dossier_code_entity_has_the_canonical_value(agent, typed):
    result = parse(agent, f"tra cứu hồ sơ {typed}")
    assert entities(result, "dossier_code") == [CODE]
    assert result["intent"]["name"] == "check_dossier_status"


def test_phone_and_id_numbers_are_entities(agent):
    assert entities(parse(agent, "sdt của tôi là 0905 123 456"), "phone_number") == ["0905123456"]
    assert entities(parse(agent, "cccd của em là 049195001234"), "id_number") == ["049195001234"]


def test_procedure_and_locality_entities(agent):
    result = parse(agent, "lam so do o huyen Nui Thanh mat bao lau")
    assert entities(result, "procedure") == ["cap_so_do"]
    assert entities(result, "locality") == ["cu-huyen-nui-thanh"]
    assert result["intent"]["name"] == "ask_processing_time"


@pytest.mark.parametrize("text", ["😀😀😀", "xyz qwe", "asdfgh jkl"])
def test_messages_without_known_words_go_to_the_fallback(agent, text):
    assert parse(agent, text)["intent"]["name"] == "nlu_fallback"
