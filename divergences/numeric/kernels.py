r"""Hand-fused perspective kernels :math:`q f(p/q)` for the registered divergences.

The emitted perspective (:mod:`.emit`) works for any generator: it forms the ratio ``u = p/q`` and
evaluates ``q f(u)``. For the registered generators the perspective has a closed form in ``p`` and
``q`` that needs no ratio (so nothing overflows when ``q`` is subnormal), fewer passes over the
data and no ``f(0+)`` special case:

=====================  ==================================================================
name                   :math:`q f(p/q)`
=====================  ==================================================================
``kl``                 :math:`p (\log p - \log q)`
``reverse_kl``         :math:`q (\log q - \log p)`
``pearson``            :math:`(p - q)^2 / q`
``neyman``             :math:`(p - q)^2 / p`
``squared_hellinger``  :math:`(\sqrt p - \sqrt q)^2 = (p - q)^2 / (\sqrt p + \sqrt q)^2`
``jeffrey``            :math:`(p - q)(\log p - \log q)`
``js``                 :math:`\tfrac12 [p \log \tfrac{2p}{p + q} + q \log \tfrac{2q}{p + q}]`
``gan``                :math:`p \log \tfrac{p}{p + q} + q \log \tfrac{q}{p + q}`
``total_variation``    :math:`\tfrac12 |p - q|`
=====================  ==================================================================

with :math:`0 \log 0 = 0`, :math:`0 f(0/0) = 0` and ``+inf`` where the divergence is infinite
(``p > 0 = q`` for ``kl``, ``pearson`` and ``jeffrey``, ``q > 0 = p`` for ``reverse_kl``,
``neyman`` and ``jeffrey``). Each singular subexpression is evaluated on a masked argument
("double where"), so neither values nor gradients are ``NaN``; the gradient at a zero
probability is the one of the finite branch (e.g. 0 for ``p log p`` at ``p = 0``).

``tests/numeric/test_discrete.py`` checks each kernel against the emitted perspective on ratios
where both are exact, and that the kernel stays finite where the ratio ``p/q`` overflows.

Reference: Csiszár, *Information-type measures of difference of probability distributions*,
Studia Sci. Math. Hungar. 1967 (the perspective and its conventions at zero).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["KERNELS"]

_LN2 = math.log(2.0)
_INF = math.inf


def _log_safe(x: Tensor, mask: Tensor) -> Tensor:
    """``log x`` where ``mask`` holds, ``0`` elsewhere (``log`` never sees a masked zero)."""
    return torch.log(torch.where(mask, x, 1.0))


def _kl(p: Tensor, q: Tensor) -> Tensor:
    pos = p > 0
    # q = 0 < p: log 0 = -inf gives +inf, the value of the divergence there
    value = p * (_log_safe(p, pos) - torch.log(torch.where(pos, q, 1.0)))
    return torch.where(pos, value, 0.0)


def _reverse_kl(p: Tensor, q: Tensor) -> Tensor:
    return _kl(q, p)


def _pearson(p: Tensor, q: Tensor) -> Tensor:
    pos = q > 0
    value = torch.square(p - q) / torch.where(pos, q, 1.0)
    return torch.where(pos, value, torch.where(p > 0, _INF, 0.0))


def _neyman(p: Tensor, q: Tensor) -> Tensor:
    return _pearson(q, p)


def _squared_hellinger(p: Tensor, q: Tensor) -> Tensor:
    both = (p > 0) & (q > 0)
    ps, qs = torch.where(both, p, 1.0), torch.where(both, q, 1.0)
    value = torch.square(ps - qs) / torch.square(torch.sqrt(ps) + torch.sqrt(qs))
    # one of them zero: (sqrt p - sqrt q)^2 = p + q
    return torch.where(both, value, p + q)


def _jeffrey(p: Tensor, q: Tensor) -> Tensor:
    both = (p > 0) & (q > 0)
    value = (p - q) * (_log_safe(p, both) - _log_safe(q, both))
    return torch.where(both, value, torch.where((p > 0) | (q > 0), _INF, 0.0))


def _mixture_terms(p: Tensor, q: Tensor) -> Tensor:
    r""":math:`p \log \frac{p}{p + q} + q \log \frac{q}{p + q}` (``0 log 0 = 0``)."""
    m = p + q
    pos_p, pos_q = p > 0, q > 0
    ms = torch.where(pos_p | pos_q, m, 1.0)
    term_p = torch.where(pos_p, p * torch.log(torch.where(pos_p, p, 1.0) / ms), 0.0)
    term_q = torch.where(pos_q, q * torch.log(torch.where(pos_q, q, 1.0) / ms), 0.0)
    return term_p + term_q


def _js(p: Tensor, q: Tensor) -> Tensor:
    return 0.5 * _mixture_terms(p, q) + (0.5 * _LN2) * (p + q)


def _gan(p: Tensor, q: Tensor) -> Tensor:
    return _mixture_terms(p, q)


def _total_variation(p: Tensor, q: Tensor) -> Tensor:
    return 0.5 * torch.abs(p - q)


#: registry name -> element-wise ``(p, q) -> q f(p/q)``
KERNELS: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "kl": _kl,
    "reverse_kl": _reverse_kl,
    "pearson": _pearson,
    "neyman": _neyman,
    "squared_hellinger": _squared_hellinger,
    "jeffrey": _jeffrey,
    "js": _js,
    "gan": _gan,
    "total_variation": _total_variation,
}
