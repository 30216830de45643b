"""The Python blocks of the documentation pages run as pasted, in order, in a fresh process.

(``docs/extending.md`` and ``docs/testing.md`` have their own tests, which also check what they
print.) A block whose output is shown in a ``# ...`` comment is checked for that text.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["docs/security.md"]


def _blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (ROOT / page).read_text(encoding="utf-8"), re.S)


def _shown_output(block: str) -> list[str]:
    """The text after ``# ...`` in ``print(...)  # ... shown text`` lines."""
    return re.findall(r"print\(.*\)\s+# \.\.\. (.+)", block)


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_as_pasted(page: str) -> None:
    blocks = _blocks(page)
    assert blocks, f"{page} has no python blocks"
    script = "\n".join(blocks) + "\nprint('PAGE-OK')\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert out.returncode == 0, out.stderr[-4000:]
    assert "PAGE-OK" in out.stdout
    for block in blocks:
        for shown in _shown_output(block):
            assert shown in out.stdout, f"{page}: {shown!r} not printed:\n{out.stdout}"
