"""Numeric layer: torch implementations (earth mover distances here; more to come)."""

from divergences.numeric.wasserstein import sliced_wasserstein as sliced_wasserstein
from divergences.numeric.wasserstein import wasserstein_1d as wasserstein_1d
from divergences.numeric.wasserstein import wasserstein_nd as wasserstein_nd

__all__ = ["sliced_wasserstein", "wasserstein_1d", "wasserstein_nd"]
