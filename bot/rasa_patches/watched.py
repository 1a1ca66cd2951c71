"""Digests of the Rasa code the patches replace or rely on, against those recorded in watched.yml.

    python -m bot.rasa_patches.watched          # what changed since watched.yml was written
    python -m bot.rasa_patches.watched --write  # after checking every changed function by hand
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict

import yaml

from bot.rasa_patches import HOOKS, PATCHES, RASA_VERSION, RELIED_ON
from bot.rasa_patches.patch import fingerprint

RECORDED = Path(__file__).with_name("watched.yml")


def watched_paths() -> Dict[str, str]:
    """Each watched path → who watches it (a patch's name, or `plug-ins`)."""
    paths = {path: patch.name for patch in PATCHES for path in patch.watches}
    paths.update({path: hook.name for hook in HOOKS for path in hook.watches})
    paths.update({path: "plug-ins" for path in RELIED_ON})
    return paths


def current() -> Dict[str, str]:
    return {path: fingerprint(path) for path in sorted(watched_paths())}


def recorded() -> Dict[str, str]:
    data = yaml.safe_load(RECORDED.read_text(encoding="utf-8"))
    return dict(data["sources"])


def changed() -> Dict[str, str]:
    """Watched path → its watcher, for every path whose source differs from the recorded one."""
    now, then, watchers = current(), recorded(), watched_paths()
    return {path: watchers[path] for path in sorted(set(now) | set(then)) if now.get(path) != then.get(path)}


def write() -> None:
    lines = [f"# sha256 (first 16 hex digits) of the source of the Rasa {RASA_VERSION} code bot/rasa_patches",
             "# replaces or relies on. Written by `python -m bot.rasa_patches.watched --write` after checking",
             "# each changed function against the patch that watches it.",
             f"rasa: {RASA_VERSION}", "sources:"]
    lines += [f'  "{path}": {digest}' for path, digest in current().items()]
    RECORDED.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write()
    for path, watcher in changed().items():
        print(f"changed: {path} (watched by {watcher})")
