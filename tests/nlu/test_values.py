import pytest

from bot.nlu.values import canonical_value, dossier_code, id_number, phone_number

CODE = "000.00.12.H46-251104-0007"


@pytest.mark.parametrize(
    "typed",
    [CODE, "000.00.12.h46-251104-0007", "000 00 12 H46 251104 0007", "0000012H46-251104-0007",
     "hồ sơ 000.00.12.H46 - 251104 - 0007 đến đâu rồi", "000.00.12.H46–251104–0007"],
)
def test_dossier_codes_typed_any_way_get_the_canonical_form(typed):
    assert dossier_code(typed) == CODE


@pytest.mark.parametrize("typed", ["000.00.12-251104-0007", "12.H46-251104-0007", "0905123456", ""])
def test_things_that_are_not_dossier_codes(typed):
    assert dossier_code(typed) is None


@pytest.mark.parametrize(
    "typed, canonical",
    [("0905123456", "0905123456"), ("0905 123 456", "0905123456"), ("+84 905 123 456", "0905123456"),
     ("84905123456", "0905123456"), ("0235.3812.345", "02353812345")],
)
def test_phone_numbers(typed, canonical):
    assert phone_number(typed) == canonical


@pytest.mark.parametrize("typed", ["12345", "090512345", "049195001234"])
def test_not_phone_numbers(typed):
    assert phone_number(typed) is None


def test_id_numbers_have_twelve_digits():
    assert id_number("049 195 001 234") == "049195001234"
    assert id_number("04919500123") is None


def test_canonical_value_drops_impossible_values_and_keeps_others():
    assert canonical_value("dossier_code", "000 00 12 h46 251104 0007") == CODE
    assert canonical_value("phone_number", "123") is None
    assert canonical_value("procedure", "khai_sinh") == "khai_sinh"
