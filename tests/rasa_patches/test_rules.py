"""The rule policy's search narrowed by the current turn finds the keys Rasa's own search finds."""

import asyncio

from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.importers.importer import TrainingDataImporter

from bot import rasa_patches
from bot.config import ROOT
from bot.rasa_patches.rules import _rule_index
from tests.rasa_patches import rasas_own


def story_trackers(domain):
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(ROOT / "domain.yml"),
        training_data_paths=[str(ROOT / "data" / "rules"), str(ROOT / "data" / "stories"), str(ROOT / "tests" / "stories")])
    graph = asyncio.run(importer.get_stories()) if asyncio.iscoroutinefunction(importer.get_stories) else importer.get_stories()
    return TrainingDataGenerator(graph, domain, augmentation_factor=0, remove_duplicates=False).generate()


def test_the_narrowed_search_finds_rasas_keys_at_every_turn_of_every_story(agent):
    runner = agent.processor.graph_runner
    policy = next(node._component for node in runner._instantiated_nodes.values()
                  if isinstance(getattr(node, "_component", None), RulePolicy))
    domain = agent.domain
    original = rasas_own(RulePolicy, "_get_possible_keys")
    assert "rule_index" in rasa_patches.installed()
    narrowed = _rule_index()[(RulePolicy, "_get_possible_keys")]
    assert original.__module__ == RulePolicy.__module__ != narrowed.__module__
    lookups = [policy.lookup[name] for name in ("rules", "rules_for_loop_unhappy_path")]
    compared = found = 0
    for tracker in story_trackers(domain):
        for prior, _ in tracker.generate_all_prior_trackers():
            states = policy._prediction_states(prior, domain, rule_only_data=policy._get_rule_only_data())
            for lookup in lookups:
                expected = original(policy, lookup, states)
                assert narrowed(policy, lookup, states) == expected, (tracker.sender_id, states[-1])
                compared += 1
                found += bool(expected)
    # the stories reach most rules: the comparison is not made on empty answers only
    assert compared > 1000 and found > compared / 4, (compared, found)
