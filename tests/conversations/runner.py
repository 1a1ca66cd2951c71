"""Plays the blind conversation set (tests/conversations/*.yml, format in FORMAT.md) against a
running assistant through its REST channel and reports strict task success per group.

    python -m tests.conversations.runner                 # starts its own assistant (make converse)
    python -m tests.conversations.runner --url http://127.0.0.1:5005 --app-db-url sqlite:///var/assistant.db
    python -m tests.conversations.runner --only lookup-012 --show

Each conversation is a new citizen (a new sender id). Between conversations the runner clears
the lookup lock-outs of the assistant's database: each conversation is another person at
another time, and the lookups group tries wrong values on purpose. Results go to
results/converse.json (every turn: what was said, what came back, what failed).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import requests
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
GROUPS = ("known_procedures", "case_questions", "places", "lookups", "online_start", "edge_cases")
MAX_CHARS = 1000

# What a citizen must never be shown (checked on every turn, texts and button titles).
_URL = re.compile(r"https?://\S+|\b[\w.-]+\.(?:gov|com|org|net)\.vn\S*|\b\w+\.gov\.vn\S*", re.IGNORECASE)
_LEAKS = [
    ("an internal id or slug", re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")),
    ("an internal id or slug", re.compile(r"\b[a-z]+(?:-[a-z]+){2,}\b")),
    ("a raw payload", re.compile(r"(?:^|\s)/[a-z_]+(?:\{|\s|$)|\{\"")),
    ("an unfilled placeholder", re.compile(r"\{[a-z_]+\}")),
    ("None or null", re.compile(r"\b(?:None|null|undefined|NaN)\b")),
    ("English error text", re.compile(r"\b(?:Traceback|Exception|Error|error)\b")),
]


def fold(text: str) -> str:
    """Lower case, no accents (đ → d), single spaces: how expectations are compared."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


def leaks(text: str) -> List[str]:
    bare = _URL.sub(" ", text)
    return [f"{name}: {match.group(0).strip()!r}" for name, pattern in _LEAKS
            for match in [pattern.search(bare)] if match]


@dataclass
class Turn:
    said: str
    pressed: Optional[str]
    answer: List[Dict[str, Any]]
    status: int
    problems: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        return {"said": self.said, "pressed": self.pressed, "status": self.status, "problems": self.problems,
                "answer": [{"text": m.get("text", ""), "buttons": [b.get("title") for b in m.get("buttons") or []]}
                           for m in self.answer]}


@dataclass
class Outcome:
    id: str
    group: str
    goal: str
    turns: List[Turn]

    @property
    def success(self) -> bool:
        return all(not turn.problems for turn in self.turns)


def load(folder: Path = HERE) -> List[Dict[str, Any]]:
    conversations = []
    for path in sorted(folder.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        group = document["group"]
        if group not in GROUPS:
            raise SystemExit(f"{path.name}: unknown group {group!r}")
        for conversation in document["conversations"]:
            conversations.append({**conversation, "group": group, "file": path.name})
    ids = [c["id"] for c in conversations]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise SystemExit(f"duplicate conversation ids: {sorted(duplicates)}")
    return conversations


def _phrases(value: Any) -> List[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def check(expect: Dict[str, Any], answer: List[Dict[str, Any]]) -> List[str]:
    said = fold(" ".join([m.get("text") or "" for m in answer]
                         + [b.get("title") or "" for m in answer for b in m.get("buttons") or []]))
    problems = []
    wanted = _phrases(expect.get("any"))
    groups = wanted if wanted and all(isinstance(w, list) for w in wanted) else ([wanted] if wanted else [])
    for group in groups:
        if not any(fold(str(p)) in said for p in group):
            problems.append(f"none of {group}")
    for phrase in _phrases(expect.get("all")):
        if fold(str(phrase)) not in said:
            problems.append(f"missing {phrase!r}")
    for phrase in _phrases(expect.get("none")):
        if fold(str(phrase)) in said:
            problems.append(f"must not say {phrase!r}")
    return problems


def general_problems(answer: List[Dict[str, Any]], status: int) -> List[str]:
    problems = []
    if status != 200 or not answer:
        problems.append(f"no answer (HTTP {status})")
    for message in answer:
        text = message.get("text") or ""
        if len(text) > MAX_CHARS:
            problems.append(f"a reply of {len(text)} characters")
        for title in [text] + [b.get("title") or "" for b in message.get("buttons") or []]:
            problems += leaks(title)
    return problems


class Client:
    def __init__(self, url: str, timeout: float = 60) -> None:
        self.url = url.rstrip("/") + "/webhooks/rest/webhook"
        self.session = requests.Session()
        self.timeout = timeout

    def say(self, sender: str, text: str) -> tuple:
        for attempt in range(30):
            reply = self.session.post(self.url, json={"sender": sender, "message": text}, timeout=self.timeout)
            if reply.status_code == 503 and reply.headers.get("Retry-After"):  # busy: as a citizen, wait
                time.sleep(2)
                continue
            try:
                body = reply.json()
            except ValueError:
                body = []
            return reply.status_code, body if isinstance(body, list) else []
        return 503, []


def play(client: Client, conversation: Dict[str, Any]) -> Outcome:
    sender = f"blind-{conversation['id']}-{uuid.uuid4().hex[:8]}"
    turns: List[Turn] = []
    previous: List[Dict[str, Any]] = []
    for step in conversation["turns"]:
        pressed = None
        if "press" in step:
            wanted = [fold(p) for p in _phrases(step["press"])]
            button = next((b for m in previous for b in m.get("buttons") or []
                           if any(w in fold(b.get("title") or "") for w in wanted)), None)
            if button is None:
                offered = [b.get("title") for m in previous for b in m.get("buttons") or []]
                turns.append(Turn(f"[press {step['press']}]", None, [], 0,
                                  [f"no button {step['press']} among {offered}"]))
                break
            text, pressed = button.get("payload") or "", button.get("title")
        else:
            text = str(step.get("say", ""))
        status, answer = client.say(sender, text)
        problems = general_problems(answer, status) + check(step.get("expect") or {}, answer)
        turns.append(Turn(text if pressed is None else f"[{pressed}]", pressed, answer, status, problems))
        previous = answer
    return Outcome(conversation["id"], conversation["group"], conversation.get("goal", ""), turns)


def clear_lockouts(app_db_url: Optional[str]) -> None:
    if not app_db_url:
        return
    from sqlalchemy import create_engine, delete

    from bot.store.models import lookup_failures, lookup_locks

    engine = create_engine(app_db_url, future=True)
    try:
        with engine.begin() as connection:
            connection.execute(delete(lookup_failures))
            connection.execute(delete(lookup_locks))
    finally:
        engine.dispose()


def run(client: Client, conversations: Sequence[Dict[str, Any]], app_db_url: Optional[str]) -> List[Outcome]:
    outcomes = []
    for conversation in conversations:
        clear_lockouts(app_db_url)
        outcomes.append(play(client, conversation))
    return outcomes


def summary(outcomes: Iterable[Outcome]) -> Dict[str, Any]:
    outcomes = list(outcomes)
    groups: Dict[str, Dict[str, int]] = {}
    for outcome in outcomes:
        counts = groups.setdefault(outcome.group, {"conversations": 0, "succeeded": 0})
        counts["conversations"] += 1
        counts["succeeded"] += outcome.success
    for counts in groups.values():
        counts["share"] = round(counts["succeeded"] / counts["conversations"], 3)
    replies = [m.get("text") or "" for o in outcomes for t in o.turns for m in t.answer]
    succeeded = sum(o.success for o in outcomes)
    return {"conversations": len(outcomes), "succeeded": succeeded,
            "share": round(succeeded / max(1, len(outcomes)), 3), "groups": groups,
            "replies": len(replies), "replies_over_1000": sum(len(r) > MAX_CHARS for r in replies),
            "replies_over_600": sum(len(r) > 600 for r in replies),
            "longest_reply": max((len(r) for r in replies), default=0)}


def report(outcomes: List[Outcome], out: Path) -> Dict[str, Any]:
    result = summary(outcomes)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": result, "conversations": [
        {"id": o.id, "group": o.group, "goal": o.goal, "success": o.success,
         "turns": [t.as_dict() for t in o.turns]} for o in outcomes]}, ensure_ascii=False, indent=1))
    return result


def print_summary(result: Dict[str, Any]) -> None:
    print(f"{'group':<18} {'succeeded':>9} / {'of':<4} share")
    for group in GROUPS:
        counts = result["groups"].get(group)
        if counts:
            print(f"{group:<18} {counts['succeeded']:>9} / {counts['conversations']:<4} {counts['share'] * 100:5.1f} %")
    print(f"{'all':<18} {result['succeeded']:>9} / {result['conversations']:<4} {result['share'] * 100:5.1f} %")
    print(f"replies: {result['replies']}, over 600 characters: {result['replies_over_600']}, over 1,000: "
          f"{result['replies_over_1000']}, longest {result['longest_reply']}")


@contextmanager
def served(url: Optional[str] = None, app_db_url: Optional[str] = None) -> Iterator[Tuple[str, Optional[str]]]:
    """The assistant at `url`, or one started for the run (rate limit off: one citizen after
    another, as fast as the runner goes) and stopped after it; with its database URL."""
    if url is not None:
        yield url, app_db_url
        return
    from tests.conftest import Assistant

    assistant = Assistant({"RATE_LIMIT_MESSAGES": "0"})
    try:
        assistant.wait_ready()
        yield assistant.url, f"sqlite:///{assistant.var / 'assistant.db'}"
    finally:
        assistant.stop()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running assistant (default: start one)")
    parser.add_argument("--app-db-url", help="its database, to clear lock-outs between conversations")
    parser.add_argument("--only", nargs="*", help="conversation ids or groups")
    parser.add_argument("--show", action="store_true", help="print every failed conversation")
    parser.add_argument("--out", default=str(ROOT / "results" / "converse.json"))
    args = parser.parse_args(argv)
    conversations = load()
    if args.only:
        conversations = [c for c in conversations if c["id"] in args.only or c["group"] in args.only]
    with served(args.url, args.app_db_url) as (url, app_db_url):
        outcomes = run(Client(url), conversations, app_db_url)
    result = report(outcomes, Path(args.out))
    if args.show:
        for outcome in outcomes:
            if not outcome.success:
                print(f"\n✗ {outcome.id} ({outcome.group}): {outcome.goal}")
                for turn in outcome.turns:
                    mark = "  ✗" if turn.problems else "  ·"
                    print(f"{mark} » {turn.said}")
                    for message in turn.answer:
                        print("      " + (message.get("text") or "").replace("\n", " ⏎ ")[:300])
                        titles = [b.get("title") for b in message.get("buttons") or []]
                        if titles:
                            print(f"      [{' | '.join(titles)}]")
                    for problem in turn.problems:
                        print(f"      ! {problem}")
    print_summary(result)
    print(f"details: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
