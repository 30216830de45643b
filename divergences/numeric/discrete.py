r"""f-divergences between discrete distributions, batched on the last dimension.

.. math::

    D_f(P \,\|\, Q) = \sum_x q(x)\, f\!\Big(\frac{p(x)}{q(x)}\Big)

with the conventions :math:`0 f(0/0) = 0`, :math:`q f(0/q) = q f(0^+)` and
:math:`0 f(p/0) = p \lim_{u \to \infty} f(u)/u` (Csiszár 1967), ``+inf`` where that limit is
infinite, never ``NaN``. For the ``gan`` entry the sum includes the offset :math:`f(1) = -\log 4`
(``D_gan(P||P) = -log 4``).

By Jensen's inequality :math:`D_f(P \,\|\, Q) \ge f(1)` for distributions; a sum that rounding
(or inputs normalised only to within the tolerance) takes below :math:`f(1)` is returned as
:math:`f(1)`, so e.g. ``kl`` is never ``-1e-16`` and ``sqrt(kl)`` never ``NaN``.

Registered divergences use the hand-fused kernels of :mod:`.kernels`; any other generator uses
the emitted perspective of :mod:`.emit`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import sympy as sp
import torch
from torch import Tensor

from divergences.symbolic.registry import REGISTRY

from ._checks import check_distributions
from .kernels import KERNELS, Kernel

if TYPE_CHECKING:
    from divergences.fdivergence import FDivergence

__all__ = ["divergence", "perspective"]

_CHOICE: dict[str, Callable[[Tensor, Tensor], Tensor]] = {}
_SUM: dict[str, Callable[[Tensor, Tensor], Tensor]] = {}
# per FDivergence object: the key below costs milliseconds (SymPy's srepr), a lookup microseconds
_KEYS: weakref.WeakKeyDictionary[FDivergence, str] = weakref.WeakKeyDictionary()
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _key(d: FDivergence) -> str:
    key = _KEYS.get(d)
    if key is None:
        key = _KEYS.setdefault(d, sp.srepr(d.generator.expr))
    return key


def _registered_kernel(d: FDivergence) -> Kernel | None:
    """The kernel of ``d`` if ``d`` *is* a registered generator (not merely named like one)."""
    base = d.name.split("(")[0]
    if base not in KERNELS or d.parameters:
        return None
    entry = REGISTRY[base]
    if sp.srepr(entry.generator()) != sp.srepr(d.generator.expr):
        return None
    return KERNELS[base]


def _choose(d: FDivergence, key: str) -> None:
    kernel = _registered_kernel(d)
    if kernel is None:
        from .emit import emit

        elementwise = emit(d).perspective
        _CHOICE[key] = elementwise
        _SUM[key] = lambda p, q: elementwise(p, q).sum(-1)
    else:
        _CHOICE[key] = _upcast(kernel)
        _SUM[key] = kernel.reduce


def perspective(d: FDivergence) -> Callable[[Tensor, Tensor], Tensor]:
    """The element-wise ``(p, q) -> q f(p/q)`` of ``d``: a kernel or the emitted function."""
    key = _key(d)
    if key not in _CHOICE:
        _choose(d, key)
    return _CHOICE[key]


def _summed(d: FDivergence) -> Callable[[Tensor, Tensor], Tensor]:
    """``(p, q) -> sum_x q f(p/q)`` over the last dimension, for float32/float64 inputs."""
    key = _key(d)
    if key not in _SUM:
        _choose(d, key)
    return _SUM[key]


def _upcast(kernel: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    def run(p: Tensor, q: Tensor) -> Tensor:
        if p.dtype in _LOW_PRECISION:
            return kernel(p.float(), q.float()).to(p.dtype)
        return kernel(p, q)

    run.__doc__ = getattr(kernel, "terms", kernel).__doc__
    return run


def divergence(d: FDivergence, p: Tensor, q: Tensor, *, validate: bool = True) -> Tensor:
    r""":math:`D_f(P \| Q)` for distributions on the last dimension (see the module docstring).

    Args:
        d: the divergence.
        p, q: probabilities, shapes ``(..., n)`` with broadcastable leading dimensions, the
            same floating dtype and device.
        validate: check the values (finite, non-negative, normalised; one host sync).

    Returns:
        Tensor of shape ``broadcast(p.shape, q.shape)[:-1]`` in the inputs' dtype; float16 and
        bfloat16 are computed in float32 and rounded once.
    """
    p, q = check_distributions(p, q, validate=validate)
    summed = _summed(d)
    floor = float(d.offset)  # f(1): the minimum over distributions (Jensen)
    if p.dtype in _LOW_PRECISION:
        return summed(p.float(), q.float()).clamp_min(floor).to(p.dtype)
    return summed(p, q).clamp_min(floor)
