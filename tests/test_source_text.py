"""Source and documentation files hold printable text only.

A docstring written as a plain string with LaTeX inside (``"\\big["``, ``"\\text"``) turns
``\\b`` into a backspace and ``\\t`` into a tab: the rendered math is silently wrong and no
linter sees it (it is valid Python). This test finds such characters in every tracked source,
test, benchmark and documentation file.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = {".py", ".md", ".rst", ".toml", ".cfg", ".txt", ".json", ".yml", ".yaml"}
#: control characters other than newline and carriage return (tabs are refused too: the style
#: indents with spaces, and a tab inside a docstring is almost always a swallowed ``\t``)
CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")


def _files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False
    ).stdout.split(b"\0")
    files = [ROOT / name.decode() for name in listed if name]
    if not files:  # not a git checkout (an unpacked sdist): every file below the root
        files = [p for p in ROOT.rglob("*") if ".venv" not in p.parts and p.is_file()]
    return [p for p in files if p.suffix in SUFFIXES and p.is_file()]


def test_the_file_list_is_not_empty() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _files()}
    assert {"README.md", "divergences/__init__.py", "docs/index.md"} <= names


def test_no_control_characters_in_text_files() -> None:
    found = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            match = CONTROL.search(line)
            if match:
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group()!r}")
    assert not found, "control characters:\n" + "\n".join(found[:20])
