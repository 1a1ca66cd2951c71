"""Read-only access to the data files the actions answer from, loaded once per process."""

from __future__ import annotations

from functools import lru_cache
from typing import Dict

from bot.config import load_settings
from bot.localities import Localities, localities_at
from bot.datafiles import read_yaml
from bot.nlu.lexicon import teencode_table
from bot.procedures.catalogue import Catalogue, catalogue_at
from bot.procedures.directory import Directory, directory_at
from bot.procedures.resolver import ProcedureResolver


@lru_cache(maxsize=1)
def province() -> dict:
    return read_yaml(load_settings().province_profile)


@lru_cache(maxsize=1)
def intent_labels() -> Dict[str, str]:
    return dict(read_yaml(load_settings().intent_labels)["intents"])


@lru_cache(maxsize=1)
def procedure_texts() -> dict:
    return read_yaml(load_settings().data_dir / "texts" / "procedures.yml")


@lru_cache(maxsize=1)
def dossier_texts() -> dict:
    return read_yaml(load_settings().data_dir / "texts" / "dossiers.yml")


@lru_cache(maxsize=1)
def feedback_texts() -> dict:
    return read_yaml(load_settings().data_dir / "texts" / "feedback.yml")


def catalogue() -> Catalogue:
    return catalogue_at(str(load_settings().procedures_dir))


def localities() -> Localities:
    data = load_settings().data_dir
    return localities_at(str(data / "localities"), str(data / "lexicon" / "teencode.yml"))


def directory() -> Directory:
    settings = load_settings()
    return directory_at(str(settings.directory_dir), str(settings.procedures_dir))


@lru_cache(maxsize=1)
def resolver() -> ProcedureResolver:
    data = load_settings().data_dir
    return ProcedureResolver(
        catalogue(),
        teencode_table(str(data / "lexicon" / "teencode.yml")),
        read_yaml(data / "lexicon" / "generic_words.yml")["words"],
        directory(),
    )
