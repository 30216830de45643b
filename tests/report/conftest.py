"""One small report per test session, shared by the HTML, JSON and plot tests.

It covers what the pages must show with as little derivation as possible: ``reverse_kl`` (a
conjugate domain with an open end), ``total_variation`` (a closed end, a piecewise conjugate and
a numeric certificate step) and the ``saturation`` proposition (which has a plot).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gan_theory.report import write_report

ONLY = ("reverse_kl", "total_variation", "saturation")


@pytest.fixture(scope="session")
def small_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("report") / "site"
    paths = write_report(out, only=ONLY, progress=False)
    return out, paths
