"""``docs/distributions.md`` runs as pasted, and the package's docstring examples pass.

The page's Python blocks run in order in a fresh process, with an empty derivation cache of its
own and without the test suite's hypothesis profile (as a user runs them, on one thread); a
block that shows
its output in a ``print(...)  # ... shown text`` comment is checked for that text. The
doctests of the package's modules run here.
"""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from divergences import distributions
from divergences.distributions import (
    _closed_normal,
    _divergence,
    _estimate,
    _logspace,
    _montecarlo,
    _quadrature,
    _registry,
    _support,
    _variational,
)

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "distributions.md"


@pytest.mark.slow  # a fresh process: ~8 s; tests/test_docs_code_blocks.py runs it when listed
def test_page_runs_as_pasted(tmp_path: Path) -> None:
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    shown = [line for block in blocks for line in re.findall(r"print\(.*\)\s+# \.\.\. (.+)", block)]
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    env["DIVERGENCES_CACHE_DIR"] = str(tmp_path / "cache")
    # one intra-op thread: on a shared two-core machine the critic training's small matmuls
    # took 10 s instead of 0.2 s waiting for busy cores (the values do not depend on it)
    env["OMP_NUM_THREADS"] = "1"
    script = "\n".join(blocks) + "\nprint('PAGE-OK')\n"
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    printed = out.stdout.splitlines()
    assert printed[-1] == "PAGE-OK"
    assert [line.strip() for line in printed[:-1]] == [s.strip() for s in shown]


@pytest.mark.parametrize(
    "module",
    [
        distributions,
        _closed_normal,
        _divergence,
        _estimate,
        _logspace,
        _montecarlo,
        _quadrature,
        _registry,
        _support,
        _variational,
    ],
    ids=lambda m: m.__name__.rsplit(".", 1)[-1],
)
def test_doctests(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, module.__name__
