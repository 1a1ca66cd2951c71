"""Reading the project's data files (YAML): one place, one error that names the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class DataFileError(ValueError):
    """A data file is missing or malformed; the message names the file."""


def read_yaml(path: str | Path) -> Any:
    file = Path(path)
    try:
        with file.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as error:
        raise DataFileError(f"{file}: file not found") from error
    except yaml.YAMLError as error:
        raise DataFileError(f"{file}: not valid YAML: {error}") from error
