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
probability is the one of the finite branch (e.g. 0 for ``p log p`` at ``p = 0``). Pairs of
tiny probabilities (subnormal ones included) are evaluated on a rescaled copy where a backward
would square them (:func:`.base._rescaled_inputs`).

The ``js`` and ``gan`` terms are evaluated in the ratio :math:`r = s / l \in [0, 1]` of the
smaller :math:`s = \min(p, q)` to the larger :math:`l = \max(p, q)` (see
:func:`_mixture_terms`):

.. math::

    p \log \frac{p}{p + q} + q \log \frac{q}{p + q}
    = s \log r - (p + q) \operatorname{log1p}(r),

two terms :math:`\le 0` (nothing cancels), where the direct :math:`l \log \frac{l}{p + q}`
rounds the ratio to 1 for :math:`s \ll l` and loses its value :math:`\approx -s`.

Each kernel is a :class:`Kernel`: element-wise terms, a factor and a multiple of ``p + q``, the last
two applied once to the sums (``js`` is :math:`\tfrac12` of the ``gan`` terms plus
:math:`\tfrac12 \log 2\,(p + q)`; ``total_variation`` is :math:`\tfrac12 |p - q|`), so
:func:`~divergences.numeric.discrete.divergence` does no per-element scaling. Passes over the data
matter more than flops here (every element-wise op reads and writes whole tensors, and a fresh
output tensor costs page faults): ``kl`` takes 7 element-wise ops, ``js`` 12, ``total_variation``
2, and without autograd the in-place variants reuse their temporaries
(``benchmarks/bench_discrete.py``).

``tests/kernels/test_kernels.py`` checks each kernel against the emitted perspective and mpmath
(``test_kernel_equals_the_emitted_perspective``), that it stays finite where the ratio ``p/q``
overflows (``test_kernel_is_finite_where_the_naive_form_overflows``) and that its gradients are
not ``NaN`` at zero probabilities (``test_kernel_gradients_at_zero_probabilities``);
it also checks ``js`` and ``gan`` against mpmath where one probability
is far below the other (float64 and float32, with and without autograd), their gradients, and
that the in-place variants equal the plain terms bit for bit.

Reference: Csiszár, *Information-type measures of difference of probability distributions*,
Studia Sci. Math. Hungar. 1967 (the perspective and its conventions at zero).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from divergences.registry import builtin as entries

from .base import _log_safe, register_kernel

__all__: list[str] = []

_INF = math.inf
_LN2 = math.log(2.0)


def _kl_inplace(p: Tensor, q: Tensor) -> Tensor:
    """The terms of :func:`_kl` *negated*, ``p (log q - log p)``: three fresh tensors, not six."""
    pos = p > 0
    # log_q depends on p and q, so it has the broadcast shape (and batch dims under vmap):
    # the in-place updates go there; b - a = -(a - b) exactly, so the negation is exact
    log_q = torch.where(pos, q, 1.0).log_()
    return log_q.sub_(torch.where(pos, p, 1.0).log_()).mul_(p)


@register_kernel(entries.KL, inplace_terms=_kl_inplace, inplace_sign=-1.0)
def _kl(p: Tensor, q: Tensor) -> Tensor:
    """``p (log p - log q)``."""
    pos = p > 0
    # p = 0: both logs see 1, so the term is 0 * (0 - 0) = 0 with zero gradients (no outer mask);
    # q = 0 < p: log 0 = -inf gives +inf, the value of the divergence there
    return p * (torch.log(torch.where(pos, p, 1.0)) - torch.log(torch.where(pos, q, 1.0)))


def _reverse_kl_inplace(p: Tensor, q: Tensor) -> Tensor:
    return _kl_inplace(q, p)


@register_kernel(entries.REVERSE_KL, inplace_terms=_reverse_kl_inplace, inplace_sign=-1.0)
def _reverse_kl(p: Tensor, q: Tensor) -> Tensor:
    """``q (log q - log p)``."""
    return _kl(q, p)


@register_kernel(entries.PEARSON, rescale=True)
def _pearson(p: Tensor, q: Tensor) -> Tensor:
    """``(p - q)^2 / q``."""
    pos = q > 0
    value = torch.square(p - q) / torch.where(pos, q, 1.0)
    return torch.where(pos, value, torch.where(p > 0, _INF, 0.0))


@register_kernel(entries.NEYMAN, rescale=True)
def _neyman(p: Tensor, q: Tensor) -> Tensor:
    """``(p - q)^2 / p``."""
    return _pearson(q, p)


@register_kernel(entries.SQUARED_HELLINGER, rescale=True)
def _squared_hellinger(p: Tensor, q: Tensor) -> Tensor:
    """``(sqrt p - sqrt q)^2``."""
    both = (p > 0) & (q > 0)
    ps, qs = torch.where(both, p, 1.0), torch.where(both, q, 1.0)
    value = torch.square(ps - qs) / torch.square(torch.sqrt(ps) + torch.sqrt(qs))
    # one of them zero: (sqrt p - sqrt q)^2 = p + q
    return torch.where(both, value, p + q)


@register_kernel(entries.JEFFREY)
def _jeffrey(p: Tensor, q: Tensor) -> Tensor:
    """``(p - q)(log p - log q)``."""
    both = (p > 0) & (q > 0)
    value = (p - q) * (_log_safe(p, both) - _log_safe(q, both))
    return torch.where(both, value, torch.where((p > 0) | (q > 0), _INF, 0.0))


def _mixture_terms_inplace(p: Tensor, q: Tensor) -> Tensor:
    """:func:`_mixture_terms` with five fresh tensors instead of ten (in place: the masks and
    ``s log r``)."""
    small, large = torch.minimum(p, q), torch.maximum(p, q)
    ratio = torch.div(small, large.masked_fill_(large <= 0, 1.0))
    del large
    log1p_ratio = torch.log1p(ratio)
    terms = ratio.masked_fill_(small <= 0, 1.0).log_().mul_(small)
    return terms.addcmul_(p + q, log1p_ratio, value=-1.0)


@register_kernel(entries.GAN, inplace_terms=_mixture_terms_inplace, rescale=True)
def _mixture_terms(p: Tensor, q: Tensor) -> Tensor:
    r""":math:`p \log \frac{p}{p + q} + q \log \frac{q}{p + q}` (``0 log 0 = 0``), in the ratio
    :math:`r = s / l \in [0, 1]` of the smaller :math:`s = \min(p, q)` to the larger
    :math:`l = \max(p, q)`:

    .. math::

        p \log \frac{p}{p + q} + q \log \frac{q}{p + q}
        = s \log \frac{s}{l} - (p + q) \operatorname{log1p}\Big(\frac{s}{l}\Big),

    since :math:`\log \frac{s}{s + l} = \log r - \operatorname{log1p}(r)` and
    :math:`\log \frac{l}{s + l} = -\operatorname{log1p}(r)`. Both terms are :math:`\le 0`, so
    nothing cancels, and the larger one's :math:`l \log \frac{l}{p + q} \approx -s` for
    :math:`s \ll l` comes from ``log1p`` (the ratio ``l/(p + q)`` rounds to 1 there and the
    direct form loses it: 1.7 % of ``gan`` at ``p = 1e-30, q = 1e-5``). ``r <= 1`` never
    overflows.

    Where ``s = 0`` its log sees 1 and the term is ``0 * 0`` with zero gradient; ``l = 0`` (both
    zero) is replaced by 1 so no ``0/0`` reaches the gradient. The gradients are those of the
    closed form, :math:`\log \frac{s}{p + q}` for the smaller and :math:`\log \frac{l}{p + q}`
    for the larger, finite at zeros (``-1`` for a zero ``p`` next to a positive ``q``, ``0`` at
    ``p = q = 0``).
    """
    small, large = torch.minimum(p, q), torch.maximum(p, q)
    # masks "x <= 0", so that the in-place masked_fill_ below computes the same values (NaN too)
    ratio = small / torch.where(large <= 0, 1.0, large)
    term_small = small * torch.log(torch.where(small <= 0, 1.0, ratio))
    return torch.addcmul(term_small, p + q, torch.log1p(ratio), value=-1.0)


def _abs_difference_inplace(p: Tensor, q: Tensor) -> Tensor:
    return torch.sub(p, q).abs_()


@register_kernel(entries.TOTAL_VARIATION, scale=0.5, inplace_terms=_abs_difference_inplace)
def _abs_difference(p: Tensor, q: Tensor) -> Tensor:
    """``|p - q|`` (twice the total variation's terms)."""
    return torch.abs(p - q)


# js: f_js(u) = (f_gan(u) + (u + 1) log 2) / 2, so its perspective is half the gan terms plus
# (log 2 / 2)(p + q)
register_kernel(
    entries.JS,
    scale=0.5,
    linear=0.5 * _LN2,
    inplace_terms=_mixture_terms_inplace,
    rescale=True,
)(_mixture_terms)
