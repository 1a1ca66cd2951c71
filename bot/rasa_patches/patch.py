"""What a patch of Rasa is: a name, the attributes it replaces, the Rasa code it relies on; and
what an import hook is: the same, for a change that must be in before Rasa is imported."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

# (the object whose attribute is replaced, the attribute's name) -> the replacement
Replacements = Dict[Tuple[Any, str], Any]


@dataclass(frozen=True)
class Patch:
    name: str                                  # the switch: RASA_PATCHES_OFF=<name>,...
    why: str                                   # one line for the log and the README
    replacements: Callable[[], Replacements]   # built when installed, never at import
    watches: Tuple[str, ...]                   # "module:Qualified.name" of the Rasa code it was written against


@dataclass(frozen=True)
class ImportHook:
    """A change that replaces no attribute: a finder on `sys.meta_path`, put in before Rasa's
    modules are imported. It decides for itself whether it applies (to Rasa's command line), and
    it may have to stay in once modules were imported through it."""
    name: str                                                  # the switch, as for a Patch
    why: str
    put_in: Callable[[Optional[Sequence[str]]], Optional[str]]  # Rasa's arguments -> None when in, else why not
    take_out: Callable[[], bool]                               # whether it is out afterwards
    is_in: Callable[[], bool]
    watches: Tuple[str, ...]


def source(path: str) -> str:
    """The source text of `"module:Qualified.name"` as Rasa ships it, read from its file (so a
    patch installed in this process does not hide it); the whole module for `"module:"`."""
    module_name, _, qualified = path.partition(":")
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise LookupError(f"no module {module_name}")
    text = Path(spec.origin).read_text(encoding="utf-8")
    if not qualified:
        return text
    body: List[ast.stmt] = ast.parse(text).body
    node: Optional[ast.stmt] = None
    for part in qualified.split("."):
        node = next((n for n in body if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                     and n.name == part), None)
        if node is None:
            raise LookupError(f"{path}: Rasa has no {part} there")
        body = getattr(node, "body", [])
    assert node is not None  # a qualified name has at least one part
    return ast.get_source_segment(text, node) or ""


def fingerprint(path: str) -> str:
    """A digest of the source of the Rasa code at `path` (changes when Rasa changes it)."""
    return hashlib.sha256(source(path).encode()).hexdigest()[:16]
