"""The rule policy's search for applicable rules, started from the rules of the current turn."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Set, Tuple

from bot.rasa_patches.patch import Patch, Replacements


class RuleIndex:
    """The keys of a rule lookup by what each rule's last state (the current turn) asks for.

    A rule's last state applies to a conversation's current state only when both are the start
    of a conversation (no previous action) or both have one and every value the rule sets is the
    conversation's (RulePolicy._is_rule_applicable). So a rule that names a previous action and
    a user intent can only apply where the conversation has that action and that intent; the
    index hands out those, the rules that name no action or no intent, and nothing else. What it
    hands out is then checked by Rasa's own code, turn by turn, as before: the same keys come out.
    """

    def __init__(self, keys: Any, should_not_be_set: str, previous_action: str, user: str,
                 action_name: str, intent: str) -> None:
        self.keys = set(keys)
        self._names = (previous_action, user, action_name, intent)
        self.always: List[str] = []     # no state at all: applies at every turn
        self.starts: List[str] = []     # the start of a conversation (no previous action)
        self.any_action: List[str] = []  # a previous action, but no name it must have
        # action name -> (intent -> keys, keys that set no intent)
        self.by_action: Dict[str, Tuple[Dict[str, List[str]], List[str]]] = {}

        def named(value: Any) -> bool:
            return isinstance(value, str) and bool(value) and value != should_not_be_set

        for key in self.keys:
            states = json.loads(key)
            if not states:
                self.always.append(key)
                continue
            last = states[-1]
            previous = last.get(previous_action)
            if not previous:
                self.starts.append(key)
                continue
            action = previous.get(action_name)
            if not named(action):
                self.any_action.append(key)
                continue
            by_intent, free = self.by_action.setdefault(str(action), ({}, []))
            wanted = (last.get(user) or {}).get(intent)
            if named(wanted):
                by_intent.setdefault(str(wanted), []).append(key)
            else:
                free.append(key)

    def candidates(self, current: Dict[str, Any]) -> Set[str]:
        previous_action, user, action_name, intent = self._names
        previous = current.get(previous_action)
        if not previous:
            return set(self.always) | set(self.starts)
        found = set(self.always) | set(self.any_action)
        name = previous.get(action_name)
        by_intent, free = self.by_action.get(name, ({}, [])) if isinstance(name, str) else ({}, [])
        found.update(free)
        wanted = (current.get(user) or {}).get(intent)
        if isinstance(wanted, str):
            found.update(by_intent.get(wanted, ()))
        return found


def _rule_index() -> Replacements:
    """RulePolicy looks for applicable rules by trying every key of its lookup against every
    turn of the conversation (211 rules here: 10.8 % of a Rasa server's CPU on the cold mix,
    2026-12-04). The keys are first narrowed to those whose current turn can apply
    (`RuleIndex`), built once per lookup; Rasa's own search then runs on those."""
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
    from rasa.shared.nlu.constants import ACTION_NAME, INTENT

    original = RulePolicy._get_possible_keys
    indexes: Dict[int, Tuple[Any, RuleIndex]] = {}

    def index_of(lookup: Dict[str, Any]) -> RuleIndex:
        entry = indexes.get(id(lookup))
        # the same dict with the same keys (training adds and removes rules as it learns)
        if entry is None or entry[0] is not lookup or entry[1].keys != lookup.keys():
            if len(indexes) > 16:
                indexes.clear()
            entry = (lookup, RuleIndex(lookup, SHOULD_NOT_BE_SET, PREVIOUS_ACTION, USER, ACTION_NAME, INTENT))
            indexes[id(lookup)] = entry
        return entry[1]

    def get_possible_keys(self: RulePolicy, lookup: Dict[str, Any], states: List[Any]) -> Set[str]:
        if not states or not lookup:
            return original(self, lookup, states)
        candidates = index_of(lookup).candidates(states[-1])
        return original(self, dict.fromkeys(candidates), states)

    return {(RulePolicy, "_get_possible_keys"): get_possible_keys}


RULE_INDEX = Patch("rule_index", "the rule policy tries only the rules that can apply to the current turn",
                   _rule_index, ("rasa.core.policies.rule_policy:RulePolicy._get_possible_keys",
                                 "rasa.core.policies.rule_policy:RulePolicy._is_rule_applicable",
                                 "rasa.core.policies.rule_policy:RulePolicy._does_rule_match_state"))
