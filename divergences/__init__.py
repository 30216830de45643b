"""divergences: verified f-divergences and GAN losses.

The symbolic layer derives, from a convex generator ``f`` alone, the Fenchel conjugate ``f^*``,
its domain, the f-GAN output activation and the optimal critic, and certifies each derivation.

>>> import divergences as dv
>>> dv.get("js").conjugate_domain
Interval.open(-oo, log(2)/2)
"""

from __future__ import annotations

from importlib import metadata as _metadata

from ._shortcuts import (
    jeffrey,
    js,
    kl,
    neyman,
    pearson,
    reverse_kl,
    squared_hellinger,
    total_variation,
)
from .errors import DerivationError, InputError, InvalidGeneratorError, NotConvexError
from .fdivergence import FDivergence, get, names, register
from .numeric.wasserstein import wasserstein_1d
from .registry import RegistrationError
from .symbolic.fgan import optimal_discriminator

__all__ = [
    "DerivationError",
    "FDivergence",
    "InputError",
    "InvalidGeneratorError",
    "NotConvexError",
    "RegistrationError",
    "get",
    "jeffrey",
    "js",
    "kl",
    "names",
    "neyman",
    "optimal_discriminator",
    "pearson",
    "register",
    "reverse_kl",
    "squared_hellinger",
    "total_variation",
    "wasserstein_1d",
]

try:  # one source of truth: the installed distribution's metadata (pyproject.toml)
    __version__ = _metadata.version("divergences")
except _metadata.PackageNotFoundError:  # pragma: no cover - run from a tree that is not installed
    __version__ = "0+unknown"
