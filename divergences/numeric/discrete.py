r"""f-divergences between discrete distributions, batched on the last dimension.

.. math::

    D_f(P \,\|\, Q) = \sum_x q(x)\, f\!\Big(\frac{p(x)}{q(x)}\Big)

with the conventions :math:`0 f(0/0) = 0`, :math:`q f(0/q) = q f(0^+)` and
:math:`0 f(p/0) = p \lim_{u \to \infty} f(u)/u` (Csiszár 1967), ``+inf`` where that limit is
infinite, never ``NaN``. For the ``gan`` entry the sum includes the offset :math:`f(1) = -\log 4`
(``D_gan(P||P) = -log 4``).

The sum is formed from the non-negative centred terms (:math:`f'(1)` at a kink: the midpoint of
the one-sided derivatives, a subgradient),

.. math::

    D_f(P \,\|\, Q) = \sum_x q\, \hat h\Big(\frac{p}{q}\Big)
        + f'(1) \sum_x (p - q) + f(1), \qquad
    \hat h(u) = f(u) - f(1) - f'(1)(u - 1) \ge 0,

which is the definition for distributions (:math:`\sum_x q = 1`; ``f(1)`` is added once, exactly).
Every term of the first sum is :math:`\ge 0`, so nothing cancels in it; the second is a sum of
differences, each exact where ``p`` and ``q`` are within a factor 2 of each other (Sterbenz), and
``0`` for ``P = Q``. Summing ``q f(p/q)`` instead loses the value of nearby distributions to
cancellation between terms of size :math:`|p - q|` (``kl([x, 1-x], [y, 1-y])`` with
``x - y = 1e-14`` was ``0``, true ``8.5e-28``; ``js(p, p)`` was ``2.2e-16``); with the centred
terms ``D(P, P)`` is exactly ``f(1)`` (``0``, ``-log 4`` for ``gan``) and nearby distributions keep
their relative accuracy (see ``docs/accuracy.md``).

On the CPU without autograd, ``kl``, ``reverse_kl`` and ``js`` first take a cheaper form of each
row (for ``kl`` the plain :math:`\sum p \log(p/q)`, one ``log`` per element) with a bound on the
rounding error of its terms, keep the rows the bound certifies to 16 eps of their value, and
recompute the others (nearby distributions, ``P = Q``, infinite values) from the centred terms
(:meth:`.kernels.Kernel.divergence`): most pairs cost about a third of SciPy's ``rel_entr`` sum,
and nearby ones keep the centred sum's accuracy.

By Jensen's inequality :math:`D_f(P \,\|\, Q) \ge f(1)` for distributions; a sum that rounding
(or inputs normalised only to within the tolerance) takes below :math:`f(1)` is returned as
:math:`f(1)`, so e.g. ``kl`` is never ``-1e-16`` and ``sqrt(kl)`` never ``NaN``.

A divergence whose registry entry has a hand kernel (:mod:`.kernels`) uses it
(:meth:`.kernels.Kernel.divergence`); any other divergence (a user's generator, a family without a
kernel) uses the emitted perspective's centred terms (:mod:`.emit.perspective`).
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
_Choice = tuple[_Pair, _Pair, float]
#: per FDivergence object: (element-wise perspective, the divergence over the last dimension,
#: f(1) as a float: converted once here, since SymPy's evalf cannot be traced by torch.compile)
_CHOICE: weakref.WeakKeyDictionary[FDivergence, _Choice] = weakref.WeakKeyDictionary()


def _choose(d: FDivergence) -> _Choice:
    """The entry's hand kernel for ``d``'s parameters, else the emitted perspective."""
    choice = _CHOICE.get(d)
    if choice is None:
        kernel = d.entry.kernel(d.parameters)
        if kernel is None:
            parts = d.torch.perspective_parts
            choice = (parts.elementwise, parts.divergence, float(d.offset))
        else:
            choice = (upcast(kernel), kernel.divergence, float(d.offset))
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
    _, summed, offset = _choose(d)
    # f(1) is the minimum over distributions (Jensen)
    return _floored_sum(p, q, summed, offset)


@upcast
def _floored_sum(p: Tensor, q: Tensor, summed: _Pair, floor: float) -> Tensor:
    """``summed(p, q)``, never below ``floor``."""
    return summed(p, q).clamp_min(floor)
