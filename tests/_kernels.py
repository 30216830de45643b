"""The built-in hand kernels by registry name (test parametrisation only: the library finds a
kernel through the entry an ``FDivergence`` carries, never by name)."""

from __future__ import annotations

import divergences.numeric.kernels  # noqa: F401  (attaches the built-in kernels)
from divergences.numeric.kernels import Kernel
from divergences.registry import REGISTRY

KERNELS: dict[str, Kernel] = {
    name: entry.kernel({})
    for name, entry in REGISTRY.items()
    if not entry.parameters and entry.kernel({}) is not None
}
