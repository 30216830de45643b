"""``docs/extending.md`` works as pasted: its Python blocks run, in order, in a fresh process
(registering an entry changes the global registry, so not in this one)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_extending_guide_runs_as_pasted() -> None:
    text = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3
    script = "\n".join(blocks) + "\nprint('EXTENDING-OK')\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert out.returncode == 0, out.stderr[-4000:]
    assert "EXTENDING-OK" in out.stdout
    assert "Interval(-oo, 1)" in out.stdout
