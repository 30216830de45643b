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

A divergence whose registry entry has a hand kernel (:mod:`.kernels`) uses it; any other
divergence (a user's generator, a family without a kernel) uses the emitted perspective
(:mod:`.emit`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from torch import Tensor

from . import kernels as _kernels  # noqa: F401  (attaches the built-in kernels to their entries)
from ._checks import check_distributions
from .precision import upcast

if TYPE_CHECKING:
    from divergences.fdivergence import FDivergence

__all__ = ["divergence", "perspective"]

_Pair = Callable[[Tensor, Tensor], Tensor]
#: per FDivergence object: (element-wise perspective, its sum over the last dimension)
_CHOICE: weakref.WeakKeyDictionary[FDivergence, tuple[_Pair, _Pair]] = weakref.WeakKeyDictionary()


def _choose(d: FDivergence) -> tuple[_Pair, _Pair]:
    """The entry's hand kernel for ``d``'s parameters, else the emitted perspective."""
    choice = _CHOICE.get(d)
    if choice is None:
        kernel = d.entry.kernel(d.parameters)
        if kernel is None:
            elementwise = d.torch.perspective
            choice = (elementwise, lambda p, q: elementwise(p, q).sum(-1))
        else:
            choice = (upcast(kernel), kernel.reduce)
        choice = _CHOICE.setdefault(d, choice)
    return choice


def perspective(d: FDivergence) -> _Pair:
    """The element-wise ``(p, q) -> q f(p/q)`` of ``d``: its entry's kernel or the emitted
    function."""
    return _choose(d)[0]


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
    # f(1) is the minimum over distributions (Jensen)
    return _floored_sum(p, q, _choose(d)[1], float(d.offset))


@upcast
def _floored_sum(p: Tensor, q: Tensor, summed: _Pair, floor: float) -> Tensor:
    """``summed(p, q)``, never below ``floor``."""
    return summed(p, q).clamp_min(floor)
