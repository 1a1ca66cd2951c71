"""Plays the blind long-tail set (tests/longtail/questions.yml: one question each about a procedure,
written before the knowledge was) against a running assistant through its REST channel.

    python -m tests.longtail.runner                 # starts its own assistant (make longtail)
    python -m tests.longtail.runner --url http://127.0.0.1:5005 --show

A question is answered or routed correctly when the reply names the procedure asked about (one of
`names`), says nothing only another procedure's answer would (`wrong`), shows no internal id or
payload, and is not the honest "nothing matches" reply: that reply is right when the assistant
knows nothing, but every question of the set is about a real procedure it should at least route.
Results go to results/longtail.json with the tier of every reply.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from tests.conversations.runner import ROOT, Client, fold, general_problems, served

HERE = Path(__file__).resolve().parent

# How a reply shows its tier (the openings of the responses in domain.yml).
TIER_MARKS = {
    "directory": "chua co huong dan chi tiet cho",
    "nothing": "chua co thong tin ve thu tuc ban hoi",
}


def load(path: Path = HERE / "questions.yml") -> List[Dict[str, Any]]:
    questions = yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]
    ids = [q["id"] for q in questions]
    if len(set(ids)) != len(ids):
        raise SystemExit("duplicate question ids")
    return questions


def tier(answer: List[Dict[str, Any]]) -> str:
    said = fold(" ".join(m.get("text") or "" for m in answer))
    return next((name for name, mark in TIER_MARKS.items() if mark in said), "answer")


def judge(question: Dict[str, Any], answer: List[Dict[str, Any]], status: int) -> List[str]:
    said = fold(" ".join([m.get("text") or "" for m in answer]
                         + [b.get("title") or "" for m in answer for b in m.get("buttons") or []]))
    problems = general_problems(answer, status)
    if tier(answer) == "nothing":
        problems.append("not recognised (the 'nothing matches' reply)")
    elif not any(fold(name) in said for name in question["names"]):
        problems.append(f"names none of {question['names']}")
    problems += [f"says {w!r} (another procedure)" for w in question.get("wrong") or [] if fold(w) in said]
    return problems


def run(client: Client, questions: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    outcomes = []
    for question in questions:
        status, answer = client.say(f"longtail-{question['id']}-{uuid.uuid4().hex[:8]}", question["say"])
        problems = judge(question, answer, status)
        outcomes.append({"id": question["id"], "field": question["field"], "say": question["say"],
                         "procedure": question["procedure"], "tier": tier(answer), "ok": not problems,
                         "problems": problems,
                         "answer": [{"text": m.get("text", ""), "buttons": [b.get("title") for b in m.get("buttons") or []]}
                                    for m in answer]})
    return outcomes


def summary(outcomes: List[Dict[str, Any]]) -> Dict[str, Any]:
    fields: Dict[str, Dict[str, int]] = {}
    for outcome in outcomes:
        counts = fields.setdefault(outcome["field"], {"questions": 0, "ok": 0})
        counts["questions"] += 1
        counts["ok"] += outcome["ok"]
    tiers: Dict[str, int] = {}
    for outcome in outcomes:
        tiers[outcome["tier"]] = tiers.get(outcome["tier"], 0) + 1
    ok = sum(o["ok"] for o in outcomes)
    return {"questions": len(outcomes), "ok": ok, "share": round(ok / max(1, len(outcomes)), 3),
            "tiers": tiers, "fields": fields}


def report(outcomes: List[Dict[str, Any]], out: Path) -> Dict[str, Any]:
    result = summary(outcomes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": result, "questions": outcomes}, ensure_ascii=False, indent=1))
    return result


def print_summary(result: Dict[str, Any]) -> None:
    for name, counts in sorted(result["fields"].items()):
        print(f"{name:<28} {counts['ok']:>3} / {counts['questions']:<3}")
    print(f"{'all':<28} {result['ok']:>3} / {result['questions']:<3} {result['share'] * 100:5.1f} %")
    print("replies by tier: " + ", ".join(f"{k} {v}" for k, v in sorted(result["tiers"].items())))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running assistant (default: start one)")
    parser.add_argument("--only", nargs="*", help="question ids or fields")
    parser.add_argument("--show", action="store_true", help="print every failed question")
    parser.add_argument("--out", default=str(ROOT / "results" / "longtail.json"))
    args = parser.parse_args(argv)
    questions = load()
    if args.only:
        questions = [q for q in questions if q["id"] in args.only or q["field"] in args.only]
    with served(args.url) as (url, _):
        outcomes = run(Client(url), questions)
    result = report(outcomes, Path(args.out))
    if args.show:
        for outcome in outcomes:
            if not outcome["ok"]:
                print(f"\n✗ {outcome['id']} ({outcome['procedure']}) » {outcome['say']}")
                for message in outcome["answer"]:
                    print("      " + message["text"].replace("\n", " ⏎ ")[:300])
                    if message["buttons"]:
                        print(f"      [{' | '.join(message['buttons'])}]")
                for problem in outcome["problems"]:
                    print(f"      ! {problem}")
    print_summary(result)
    print(f"details: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
