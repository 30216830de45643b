"""Numeric layer: emitted f-divergence functions, discrete divergences, earth mover distances."""

from divergences.numeric import analytic as analytic
from divergences.numeric.discrete import divergence as divergence
from divergences.numeric.emit import Emitted as Emitted
from divergences.numeric.emit import emit as emit
from divergences.numeric.wasserstein import sliced_wasserstein as sliced_wasserstein
from divergences.numeric.wasserstein import wasserstein_1d as wasserstein_1d
from divergences.numeric.wasserstein import wasserstein_nd as wasserstein_nd

__all__ = [
    "Emitted",
    "divergence",
    "emit",
    "sliced_wasserstein",
    "wasserstein_1d",
    "wasserstein_nd",
]
