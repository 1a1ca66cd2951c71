"""The benchmark's mixes: the cold one is the blind data file, drawn as the issue asked."""

import random

import yaml

from scripts.bench import COLD_MIX, COLD_WEIGHTS, MIXES, cold_conversation


def test_the_cold_mix_draws_from_every_section_of_its_data_file():
    data = yaml.safe_load(COLD_MIX.read_text(encoding="utf-8"))
    assert set(data) == set(COLD_WEIGHTS) and all(data[kind] for kind in data)
    rng = random.Random(7)
    drawn = [cold_conversation(rng) for _ in range(3000)]
    assert all(talk and all(isinstance(m, str) and m for m in talk) for talk in drawn)
    singles = {m for kind in ("openers", "fallbacks", "out_of_scope", "long") for m in data[kind]}
    assert any(talk[0] in singles for talk in drawn) and any(len(talk) > 1 for talk in drawn)
    assert any(len(talk[0]) > 300 for talk in drawn)  # long messages reach the assistant


def test_about_half_the_cold_messages_open_a_new_conversation():
    rng = random.Random(11)
    talks = [cold_conversation(rng) for _ in range(5000)]
    share = len(talks) / sum(len(t) for t in talks)
    assert 0.4 <= share <= 0.6


def test_both_mixes_are_offered():
    assert set(MIXES) == {"project", "cold"}
