import pytest

from bot import knowledge


@pytest.fixture(scope="module")
def places():
    return knowledge.localities()


def names(places, resolution):
    return {places.unit(u)["name"] for u in resolution.units}


def test_a_former_district_lists_todays_units(places):
    resolution = places.resolve("huyện Núi Thành")
    assert resolution.status == "choose"
    assert len(resolution.units) > 1
    assert all(places.unit(u)["kind"] == "unit" for u in resolution.units)


def test_a_former_commune_maps_to_its_unit(places):
    resolution = places.resolve("cu-xa-cam-kim-hoi-an")
    assert resolution.status == "one" and names(places, resolution) == {"phường Hội An"}


def test_a_split_commune_asks_which_part(places):
    resolution = places.resolve("xã Hòa Liên")
    assert resolution.status == "choose"
    assert names(places, resolution) == {"phường Hải Vân", "phường Liên Chiểu"}
    assert any(r.get("split") for r in resolution.records)


def test_unaccented_names_resolve(places):
    assert names(places, places.resolve("tp tam ky")) == names(places, places.resolve("thành phố Tam Kỳ"))
    assert names(places, places.resolve("thanh pho Tam Ky")) == names(places, places.resolve("thành phố Tam Kỳ"))


def test_unknown_place(places):
    assert places.resolve("Hà Nội").status == "unknown"
