"""The blind conversation set (tests/conversations/*.yml) played against a running assistant:
strict task success per group (tests/conversations/runner.py; `make converse` prints the same
report with every failure). The set is never edited to pass: new conversations are added."""

from __future__ import annotations


import pytest

from tests.conftest import ROOT
from tests.conversations import runner

pytestmark = pytest.mark.integration

TARGET = 0.85  # strict: a conversation with one failed turn is a failure


@pytest.fixture(scope="module")
def played():
    with runner.served() as (url, app_db_url):
        outcomes = runner.run(runner.Client(url), runner.load(), app_db_url)
    result = runner.report(outcomes, ROOT / "results" / "converse.json")
    runner.print_summary(result)
    return result


def test_the_set_is_big_enough_and_covers_every_group():
    conversations = runner.load()
    assert len(conversations) >= 150
    assert {c["group"] for c in conversations} == set(runner.GROUPS)
    assert all(c.get("goal") and c.get("success") and c.get("turns") for c in conversations)


def test_citizens_reach_their_goal(played):
    assert played["share"] >= TARGET, played["groups"]


def test_no_reply_is_longer_than_a_phone_screen_allows(played):
    assert played["replies_over_1000"] == 0, f"longest reply: {played['longest_reply']} characters"


def test_the_runner_compares_as_the_format_says():
    answer = [{"text": "Lệ phí: miễn phí khi đăng ký đúng hạn.", "buttons": [{"title": "Nộp trực tuyến"}]}]
    assert runner.check({"any": ["mien", "0 đ"], "none": ["kết hôn"]}, answer) == []
    assert runner.check({"any": [["lệ phí"], ["truc tuyen"]]}, answer) == []  # button titles count
    assert runner.check({"all": ["lệ phí", "khai sinh"]}, answer) == ["missing 'khai sinh'"]
    assert runner.check({"none": ["Lệ Phí"]}, answer) == ["must not say 'Lệ Phí'"]
    assert runner.general_problems([{"text": "Thủ tục khai_sinh"}], 200)[0].startswith("an internal id")
    assert runner.general_problems([{"text": "xem https://dichvucong.gov.vn/p/home/dvc_trang_chu.html"}], 200) == []
    assert runner.general_problems([{"text": "x" * 1001}], 200) == ["a reply of 1001 characters"]
    assert runner.general_problems([], 200) == ["no answer (HTTP 200)"]
