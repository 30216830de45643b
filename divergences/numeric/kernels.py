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
would square them (:func:`_rescaled_inputs`).

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

``tests/numeric/test_emit.py`` checks each kernel against the emitted perspective and mpmath
(``test_kernel_equals_the_emitted_perspective``), that it stays finite where the ratio ``p/q``
overflows (``test_kernel_is_finite_where_the_naive_form_overflows``) and that its gradients are
not ``NaN`` at zero probabilities (``test_kernel_gradients_at_zero_probabilities``);
``tests/numeric/test_kernels.py`` checks ``js`` and ``gan`` against mpmath where one probability
is far below the other (float64 and float32, with and without autograd), their gradients, and
that the in-place variants equal the plain terms bit for bit.

Reference: Csiszár, *Information-type measures of difference of probability distributions*,
Studia Sci. Math. Hungar. 1967 (the perspective and its conventions at zero).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["KERNELS", "Kernel"]

_INF = math.inf
_LN2 = math.log(2.0)


def _log_safe(x: Tensor, mask: Tensor) -> Tensor:
    """``log x`` where ``mask`` holds, ``0`` elsewhere (``log`` never sees a masked zero)."""
    return torch.log(torch.where(mask, x, 1.0))


def _tracks_gradient(p: Tensor, q: Tensor) -> bool:
    """Whether autograd records operations on ``p`` or ``q`` (``torch.func.grad`` included)."""
    return torch.is_grad_enabled() and (p.requires_grad or q.requires_grad)


#: dtype -> (below, factor): pairs whose larger entry is below ``below`` (the square root of
#: the smallest normal number) are evaluated on ``factor * (p, q)``; both powers of two
_RESCALE = {torch.float64: (2.0**-511, 2.0**600), torch.float32: (2.0**-63, 2.0**100)}


def _rescaled_inputs(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
    r"""``(s p, s q, s)`` with ``s`` a power of two where both probabilities are tiny, else 1.

    Every perspective is positively homogeneous of degree one, :math:`K(sp, sq) = s K(p, q)`:

    .. math:: K(p, q) = K(s p, s q) / s, \qquad \nabla K(p, q) = (\nabla K)(s p, s q).

    The backward of ``(p - q)^2 / q``, of ``(sqrt p - sqrt q)^2`` and of the ratio ``s / l`` of
    the ``js``/``gan`` terms forms the square of a probability, which underflows to ``0`` below
    the square root of the smallest normal number: at ``p = q = 1e-310`` (or ``1e-40`` in
    float32, a softmax output of a confident model) their gradients were ``NaN``. Pairs whose
    larger entry is below ``2^-511`` (float64; ``2^-63`` in float32) are evaluated scaled by
    ``2^600`` (``2^100``), where the squares are normal numbers. Only the autograd path does this
    (the values need no rescaling): every operation of these kernels scales exactly by a power of
    two (``sqrt`` by ``2^300``, the ratio ``s / l`` not at all), so both paths give identical
    values wherever the unscaled evaluation stays out of the subnormal range.
    ``(p, q, None)`` for other dtypes (float16/bfloat16 are computed in float32 by the caller).
    """
    rule = _RESCALE.get(p.dtype)
    if rule is None:
        return p, q, None
    below, factor = rule
    tiny = torch.maximum(p, q).detach() < below
    s = torch.where(tiny, p.new_full((), factor), p.new_ones(()))
    return p * s, q * s, s


@dataclass(frozen=True)
class Kernel:
    r"""The perspective of one registered generator, split so the reduction does less work.

    .. math::

        q f(p/q) = \text{scale} \cdot \text{terms}(p, q) + \text{linear} \cdot (p + q)

    Calling a kernel gives the element-wise :math:`q f(p/q)`; :meth:`reduce` gives the sum over
    the last dimension with ``scale`` and ``linear`` applied once to the sums (of the terms, of
    ``p`` and of ``q``) instead of to every element.

    ``inplace_terms``, when given, computes the same terms bit for bit (times ``inplace_sign``,
    which is exact) reusing its own temporaries in place: fewer fresh tensors, so fewer page
    faults and passes on large inputs. It is used when autograd does not record the call (no
    input requires grad, or grad mode is off); it works under ``torch.func.vmap`` and ``jvp`` and
    ``torch.compile`` (in-place updates only on a temporary that depends on both inputs, no
    ``out=``), and it never writes to ``p`` or ``q``.
    """

    terms: Callable[[Tensor, Tensor], Tensor]
    scale: float = 1.0
    linear: float = 0.0
    inplace_terms: Callable[[Tensor, Tensor], Tensor] | None = None
    inplace_sign: float = 1.0
    #: evaluate pairs of tiny probabilities on a rescaled copy (:func:`_rescaled_inputs`)
    rescale: bool = False

    def _scaled_terms(self, p: Tensor, q: Tensor, reduce: bool) -> Tensor:
        tracked = _tracks_gradient(p, q)
        if self.inplace_terms is not None and not tracked:
            out, scale = self.inplace_terms(p, q), self.scale * self.inplace_sign
        elif self.rescale and tracked:
            ps, qs, factor = _rescaled_inputs(p, q)
            out, scale = self.terms(ps, qs), self.scale
            if factor is not None:
                out = out / factor
        else:
            out, scale = self.terms(p, q), self.scale
        if reduce:
            out = out.sum(-1)
        return out if scale == 1.0 else out * scale

    def __call__(self, p: Tensor, q: Tensor) -> Tensor:
        out = self._scaled_terms(p, q, reduce=False)
        return out + self.linear * (p + q) if self.linear else out

    def reduce(self, p: Tensor, q: Tensor) -> Tensor:
        r""":math:`\sum_x q f(p/q)` over the last dimension (leading dimensions broadcast)."""
        out = self._scaled_terms(p, q, reduce=True)
        return out + self.linear * (p.sum(-1) + q.sum(-1)) if self.linear else out


def _kl(p: Tensor, q: Tensor) -> Tensor:
    """``p (log p - log q)``."""
    pos = p > 0
    # p = 0: both logs see 1, so the term is 0 * (0 - 0) = 0 with zero gradients (no outer mask);
    # q = 0 < p: log 0 = -inf gives +inf, the value of the divergence there
    return p * (torch.log(torch.where(pos, p, 1.0)) - torch.log(torch.where(pos, q, 1.0)))


def _kl_inplace(p: Tensor, q: Tensor) -> Tensor:
    """The terms of :func:`_kl` *negated*, ``p (log q - log p)``: three fresh tensors, not six."""
    pos = p > 0
    # log_q depends on p and q, so it has the broadcast shape (and batch dims under vmap):
    # the in-place updates go there; b - a = -(a - b) exactly, so the negation is exact
    log_q = torch.where(pos, q, 1.0).log_()
    return log_q.sub_(torch.where(pos, p, 1.0).log_()).mul_(p)


def _reverse_kl(p: Tensor, q: Tensor) -> Tensor:
    """``q (log q - log p)``."""
    return _kl(q, p)


def _reverse_kl_inplace(p: Tensor, q: Tensor) -> Tensor:
    return _kl_inplace(q, p)


def _pearson(p: Tensor, q: Tensor) -> Tensor:
    """``(p - q)^2 / q``."""
    pos = q > 0
    value = torch.square(p - q) / torch.where(pos, q, 1.0)
    return torch.where(pos, value, torch.where(p > 0, _INF, 0.0))


def _neyman(p: Tensor, q: Tensor) -> Tensor:
    """``(p - q)^2 / p``."""
    return _pearson(q, p)


def _squared_hellinger(p: Tensor, q: Tensor) -> Tensor:
    """``(sqrt p - sqrt q)^2``."""
    both = (p > 0) & (q > 0)
    ps, qs = torch.where(both, p, 1.0), torch.where(both, q, 1.0)
    value = torch.square(ps - qs) / torch.square(torch.sqrt(ps) + torch.sqrt(qs))
    # one of them zero: (sqrt p - sqrt q)^2 = p + q
    return torch.where(both, value, p + q)


def _jeffrey(p: Tensor, q: Tensor) -> Tensor:
    """``(p - q)(log p - log q)``."""
    both = (p > 0) & (q > 0)
    value = (p - q) * (_log_safe(p, both) - _log_safe(q, both))
    return torch.where(both, value, torch.where((p > 0) | (q > 0), _INF, 0.0))


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


def _mixture_terms_inplace(p: Tensor, q: Tensor) -> Tensor:
    """:func:`_mixture_terms` with five fresh tensors instead of ten (in place: the masks and
    ``s log r``)."""
    small, large = torch.minimum(p, q), torch.maximum(p, q)
    ratio = torch.div(small, large.masked_fill_(large <= 0, 1.0))
    del large
    log1p_ratio = torch.log1p(ratio)
    terms = ratio.masked_fill_(small <= 0, 1.0).log_().mul_(small)
    return terms.addcmul_(p + q, log1p_ratio, value=-1.0)


def _abs_difference(p: Tensor, q: Tensor) -> Tensor:
    """``|p - q|`` (twice the total variation's terms)."""
    return torch.abs(p - q)


def _abs_difference_inplace(p: Tensor, q: Tensor) -> Tensor:
    return torch.sub(p, q).abs_()


#: registry name -> element-wise ``(p, q) -> q f(p/q)`` (a :class:`Kernel`, with ``.reduce``)
KERNELS: dict[str, Kernel] = {
    "kl": Kernel(_kl, inplace_terms=_kl_inplace, inplace_sign=-1.0),
    "reverse_kl": Kernel(_reverse_kl, inplace_terms=_reverse_kl_inplace, inplace_sign=-1.0),
    "pearson": Kernel(_pearson, rescale=True),
    "neyman": Kernel(_neyman, rescale=True),
    "squared_hellinger": Kernel(_squared_hellinger, rescale=True),
    "jeffrey": Kernel(_jeffrey),
    "js": Kernel(
        _mixture_terms,
        scale=0.5,
        linear=0.5 * _LN2,
        inplace_terms=_mixture_terms_inplace,
        rescale=True,
    ),
    "gan": Kernel(_mixture_terms, inplace_terms=_mixture_terms_inplace, rescale=True),
    "total_variation": Kernel(_abs_difference, scale=0.5, inplace_terms=_abs_difference_inplace),
}
