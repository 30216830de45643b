"""Numeric layer: emitted f-divergence functions, hand kernels, discrete divergences, earth mover.

Sub-packages and modules are loaded on first use (``import divergences`` does not load the
emitter, the analytic references or POT):

* :mod:`.emit`: the compiler from a derivation to torch functions;
* :mod:`.kernels`: hand-fused perspectives attached to registry entries, one-pass means;
* :mod:`.discrete`: f-divergences between discrete distributions;
* :mod:`.wasserstein`: earth mover distances (exact 1-D, sliced, n-D through POT);
* :mod:`.analytic`: reference closed forms and quadratures (NumPy/SciPy/mpmath);
* :mod:`.stable`, :mod:`.precision`, :mod:`._checks`: stable primitives, the dtype policy,
  input validation.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["divergence", "sliced_wasserstein", "wasserstein_1d", "wasserstein_nd"]

_LAZY = {
    "divergence": ("divergences.numeric.discrete", "divergence"),
    "sliced_wasserstein": ("divergences.numeric.wasserstein", "sliced_wasserstein"),
    "wasserstein_1d": ("divergences.numeric.wasserstein", "wasserstein_1d"),
    "wasserstein_nd": ("divergences.numeric.wasserstein", "wasserstein_nd"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
