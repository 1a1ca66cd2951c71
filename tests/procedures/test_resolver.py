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


def test_an_unknown_name_gets_at_most_four_suggestions_that_share_its_words(resolver):
    resolution = resolver.find_in_text("lm giay to nha dat")
    assert resolution.status == "unknown"
    assert 1 <= len(resolution.suggestions) <= 4
    assert all(knowledge.catalogue().get(i)["field"] == "dat_dai" for i in resolution.suggestions)


@pytest.mark.parametrize("text", ["xin giấy phép bắn pháo hoa tết", "thủ tục mua vé máy bay giá rẻ",
                                  "đăng ký nuôi chim yến trong nhà"])
def test_nothing_unrelated_is_offered_for_what_no_name_covers(resolver, text):
    resolution = resolver.find_in_text(text)
    assert resolution.status == "unknown" and resolution.suggestions == ()


@pytest.mark.parametrize("text, wrong_field", [("sang tên xe máy cũ cần gì", "dat_dai"),
                                               ("rút bhxh 1 lần ở đâu", "dat_dai"),
                                               ("cấp lại hộ chiếu bị mất", "tu_phap")])
def test_a_vehicle_or_a_passport_is_never_land(resolver, text, wrong_field):
    resolution = resolver.find_in_text(text)
    entry = knowledge.catalogue().get(resolution.procedure) if resolution.status == "found" else None
    assert entry is None or entry["field"] != wrong_field
    assert all(knowledge.catalogue().get(i) is None or knowledge.catalogue().get(i)["field"] != wrong_field
               for i in resolution.suggestions)


def test_a_directory_name_is_routed_and_a_longer_one_wins_over_a_catalogue_name_inside_it(resolver):
    entries = list(knowledge.directory().entries.values())
    assert all(resolver.resolve(e["name"]).procedure == e["id"] for e in entries)  # the official name
    short = [e for e in entries if len(e["name"].split()) <= 8 and resolver.find_in_text(e["name"]).status == "directory"]
    assert len(short) >= 20
    for entry in short:
        resolution = resolver.find_in_text(f"cho hỏi {entry['name'].lower()} thế nào")
        assert (resolution.status, resolution.procedure) == ("directory", entry["id"]), entry["name"]
        assert resolver.resolve(entry["id"]).status == "directory"  # a button's payload


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
