"""The README's layout table stays true: every module of bot/ and scripts/ is named in it, and
every path it names exists."""

from __future__ import annotations

import re

from bot.config import ROOT

README = ROOT / "README.md"


def layout_table() -> str:
    text = README.read_text(encoding="utf-8")
    return text[text.index("## Layout"):text.index("\n## ", text.index("## Layout") + 1)]


def rows() -> list:
    """(folder or file named first in the row, every backticked name in the row)."""
    found = []
    for line in layout_table().splitlines():
        if line.startswith("|") and "`" in line:
            names = re.findall(r"`([^`]+)`", line)
            found.append(names)
    return found


def test_every_module_is_in_the_layout_table():
    named = set()
    for names in rows():
        folders = [n for n in names if n.endswith("/")]
        for name in names:
            named.add(name.rstrip("/"))
            for folder in folders:  # "`bot/channels/` … `rest.py`" names bot/channels/rest.py
                named.add(folder + name)
    modules = [p for p in sorted((ROOT / "bot").rglob("*.py")) + sorted((ROOT / "scripts").glob("*.py"))
               if p.name != "__init__.py" and "versions" not in p.parts and "sandbox" not in p.parts]
    missing = [str(p.relative_to(ROOT)) for p in modules if str(p.relative_to(ROOT)) not in named]
    assert missing == []


def test_every_path_in_the_layout_table_exists():
    absent = []
    for names in rows():
        folders = [n for n in names if n.endswith("/")]
        for name in names:
            if "/" in name.rstrip("/") or name.endswith("/") or "." in name and " " not in name:
                candidates = [ROOT / name] + [ROOT / folder / name for folder in folders]
                outside = name.startswith("shared/")  # the workplace's shared data, beside the repository
                if not outside and not any(c.exists() for c in candidates):
                    absent.append(name)
    assert absent == []
