import pytest

from bot import knowledge


@pytest.fixture(scope="module")
def resolver():
    return knowledge.resolver()


@pytest.mark.parametrize(
    "named, procedure",
    [("sổ đỏ", "cap_so_do"), ("so do", "cap_so_do"), ("SỔ HỒNG", "cap_so_do"),
     ("giấy xác nhận độc thân", "xac_nhan_hon_nhan"), ("bằng lái", "giay_phep_lai_xe"),
     ("làm CCCD", "can_cuoc"), ("lm cccd", "can_cuoc"), ("khai sinhh", "khai_sinh"),
     ("ket hoon", "ket_hon"), ("ly lich tu phap", "ly_lich_tu_phap"), ("khai_tu", "khai_tu")],
)
def test_names_in_any_spelling_resolve(resolver, named, procedure):
    resolution = resolver.resolve(named)
    assert (resolution.status, resolution.procedure) == ("found", procedure)


def test_an_ambiguous_name_offers_the_candidates(resolver):
    resolution = resolver.resolve("giấy phép")
    assert resolution.status == "ambiguous"
    assert {"giay_phep_xay_dung", "giay_phep_lai_xe"} <= set(resolution.procedures)


def test_an_unknown_name_gets_the_closest_matches(resolver):
    resolution = resolver.find_in_text("thủ tục nhận nuôi con nuôi cần gì")
    assert resolution.status == "unknown"
    assert 1 <= len(resolution.suggestions) <= 3


@pytest.mark.parametrize("text", ["lệ phí bao nhiêu", "mất bao lâu vậy", "nộp ở đâu ạ"])
def test_a_question_without_a_name_names_nothing(resolver, text):
    assert resolver.find_in_text(text).status == "none"


def test_a_name_inside_a_question_is_found(resolver):
    assert resolver.find_in_text("cấp giấy phép xây dựng mất bao lâu").procedure == "giay_phep_xay_dung"
    assert resolver.find_in_text("xin giấy phép ở đâu").status == "ambiguous"


def test_a_shared_alias_is_ambiguous_among_every_name_it_begins(resolver):
    resolution = resolver.resolve("giay phep")
    assert resolution.status == "ambiguous"
    assert {"giay_phep_xay_dung", "giay_phep_lai_xe", "ho_kinh_doanh"} <= set(resolution.procedures)
