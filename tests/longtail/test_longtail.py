"""The blind long-tail set (tests/longtail/questions.yml) played against a running assistant:
the share of questions about procedures answered or routed to the right place
(tests/longtail/runner.py; `make longtail` prints every failure). The set is never edited to
pass: new questions are added."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.longtail import runner

pytestmark = pytest.mark.integration

TARGET = 0.90


@pytest.fixture(scope="module")
def played():
    with runner.served() as (url, _):
        outcomes = runner.run(runner.Client(url), runner.load())
    result = runner.report(outcomes, ROOT / "results" / "longtail.json")
    runner.print_summary(result)
    return result


def test_the_set_has_at_least_a_hundred_questions_over_many_fields():
    questions = runner.load()
    assert len(questions) >= 100
    assert len({q["field"] for q in questions}) >= 10
    assert all(q["names"] and q["say"] for q in questions)


def test_questions_are_answered_or_routed(played):
    assert played["share"] >= TARGET, played["fields"]


def test_the_judge_refuses_another_procedure_and_the_nothing_reply():
    question = {"names": ["hộ chiếu"], "wrong": ["quyền sử dụng đất"]}
    routed = [{"text": "Tôi chưa có hướng dẫn chi tiết cho «Cấp hộ chiếu phổ thông». Thủ tục này do Công an thành phố giải quyết."}]
    assert runner.judge(question, routed, 200) == []
    assert runner.tier(routed) == "directory"
    other = [{"text": "Giấy tờ sang tên quyền sử dụng đất: …", "buttons": [{"title": "Hộ chiếu"}]}]
    assert runner.judge(question, other, 200) == ["says 'quyền sử dụng đất' (another procedure)"]
    nothing = [{"text": "Tôi chưa có thông tin về thủ tục bạn hỏi (hộ chiếu)."}]
    assert "not recognised (the 'nothing matches' reply)" in runner.judge(question, nothing, 200)
