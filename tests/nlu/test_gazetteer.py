import pytest

from bot.nlu.gazetteer import gazetteer_for


@pytest.fixture(scope="module")
def gazetteer():
    return gazetteer_for("data/procedures", "data/localities", "data/lexicon/teencode.yml")


def found(gazetteer, text, entity):
    return [(m.value, m.text) for m in gazetteer.find(text) if m.entity == entity]


@pytest.mark.parametrize(
    "text, procedure",
    [("làm sổ đỏ hết bao nhiêu", "cap_so_do"), ("lam so do het bao nhieu", "cap_so_do"),
     ("SỔ ĐỎ", "cap_so_do"), ("giấy xác nhận độc thân", "xac_nhan_hon_nhan"),
     ("đổi bằng lái ở đâu", "giay_phep_lai_xe"), ("làm CCCD", "can_cuoc"), ("lm cccd", "can_cuoc"),
     ("đk kết hôn cần j", "ket_hon"), ("sang tên sổ đỏ", "bien_dong_dat_dai")],
)
def test_procedures_are_found_in_any_spelling(gazetteer, text, procedure):
    assert [value for value, _ in found(gazetteer, text, "procedure")] == [procedure]


def test_offsets_point_into_the_original_text(gazetteer):
    text = "cho hỏi đk kết hôn ở huyện Núi Thành"
    spans = [m.text for m in gazetteer.find(text)]
    assert spans == ["đk kết hôn", "huyện Núi Thành"]


def test_former_district_resolves_to_its_record(gazetteer):
    assert found(gazetteer, "ở tp tam kỳ", "locality") == [("cu-thanh-pho-tam-ky", "tp tam kỳ")]


def test_an_ambiguous_place_keeps_what_the_citizen_wrote(gazetteer):
    # "Hội An" is today's phường and the former city: the resolver must ask.
    assert found(gazetteer, "tôi ở Hội An", "locality") == [("Hội An", "Hội An")]


def test_no_name_no_match(gazetteer):
    assert gazetteer.find("hôm nay trời đẹp quá") == []
