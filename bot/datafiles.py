"""Reading the project's data files (YAML): one place, one error that names the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class DataFileError(ValueError):
    """A data file is missing or malformed; the message names the file."""


# libyaml's parser when PyYAML was built with it (the wheels are): the same safe loading, ten
# times faster; the data files were a third of a Rasa server's start-up (py-spy, 2026-12-04)
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """yaml.safe_load with libyaml's parser when there is one."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 (a safe loader)


def read_yaml(path: str | Path) -> Any:
    file = Path(path)
    try:
        with file.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=SafeLoader)  # noqa: S506 (a safe loader)
    except FileNotFoundError as error:
        raise DataFileError(f"{file}: file not found") from error
    except yaml.YAMLError as error:
        raise DataFileError(f"{file}: not valid YAML: {error}") from error
