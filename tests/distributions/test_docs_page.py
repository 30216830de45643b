"""The doctests of ``divergences.distributions``' modules.

``docs/distributions.md`` runs as pasted in ``tests/test_docs_code_blocks.py`` (a fresh process,
an empty derivation cache, hypothesis' default settings; ``print(...)  # ... text`` checked).
"""

from __future__ import annotations

import doctest
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
