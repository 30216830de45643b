r"""f-divergences between discrete distributions, batched on the last dimension.

.. math::

    D_f(P \,\|\, Q) = \sum_x q(x)\, f\!\Big(\frac{p(x)}{q(x)}\Big)

with the conventions :math:`0 f(0/0) = 0`, :math:`q f(0/q) = q f(0^+)` and
:math:`0 f(p/0) = p \lim_{u \to \infty} f(u)/u` (Csiszár 1967), ``+inf`` where that limit is
infinite, never ``NaN``. For the ``gan`` entry the sum includes the offset :math:`f(1) = -\log 4`
(``D_gan(P||P) = -log 4``).

Registered divergences use the hand-fused kernels of :mod:`.kernels`; any other generator uses
the emitted perspective of :mod:`.emit`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sympy as sp
import torch
from torch import Tensor

from divergences.symbolic.registry import REGISTRY

from ._checks import check_distributions
from .kernels import KERNELS

if TYPE_CHECKING:
    from divergences.fdivergence import FDivergence

__all__ = ["divergence", "perspective"]

_CHOICE: dict[str, Callable[[Tensor, Tensor], Tensor]] = {}


def _registered_kernel(d: FDivergence) -> Callable[[Tensor, Tensor], Tensor] | None:
    """The kernel of ``d`` if ``d`` *is* a registered generator (not merely named like one)."""
    base = d.name.split("(")[0]
    if base not in KERNELS or d.parameters:
        return None
    entry = REGISTRY[base]
    if sp.srepr(entry.generator()) != sp.srepr(d.generator.expr):
        return None
    return KERNELS[base]


def perspective(d: FDivergence) -> Callable[[Tensor, Tensor], Tensor]:
    """The element-wise ``(p, q) -> q f(p/q)`` of ``d``: a kernel or the emitted function."""
    key = sp.srepr(d.generator.expr)
    if key not in _CHOICE:
        kernel = _registered_kernel(d)
        if kernel is None:
            from .emit import emit

            _CHOICE[key] = emit(d).perspective
        else:
            _CHOICE[key] = _upcast(kernel)
    return _CHOICE[key]


def _upcast(kernel: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    def run(p: Tensor, q: Tensor) -> Tensor:
        if p.dtype in (torch.float16, torch.bfloat16):
            return kernel(p.float(), q.float()).to(p.dtype)
        return kernel(p, q)

    run.__doc__ = kernel.__doc__
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
    if p.dtype in (torch.float16, torch.bfloat16):
        return perspective(d)(p.float(), q.float()).sum(-1).to(p.dtype)
    return perspective(d)(p, q).sum(-1)
