r"""Hand-fused perspective kernels :math:`q f(p/q)` for the registered divergences.

The emitted perspective (:mod:`.emit.perspective`) works for any generator. For the registered
generators the perspective has a closed form in ``p`` and ``q`` that needs no ratio (so nothing
overflows when ``q`` is subnormal), fewer passes over the data and no ``f(0+)`` special case:

=====================  ==================================================================
name                   :math:`q f(p/q)`
=====================  ==================================================================
``kl``                 :math:`p (\log p - \log q)`
``reverse_kl``         :math:`q (\log q - \log p)`
``pearson``            :math:`(p - q)^2 / q = ((p - q)/\sqrt q)^2`
``neyman``             :math:`(p - q)^2 / p`
``squared_hellinger``  :math:`(\sqrt p - \sqrt q)^2 = ((p - q) / (\sqrt p + \sqrt q))^2`
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

**Next to** ``p = q``. ``log p - log q`` is rounded to :math:`\epsilon |\log p|` absolute, so
``p log(p/q)`` loses :math:`|\log p|/|z|` ulps for :math:`z = (p - q)/(p + q)` small (``5e-4``
relative at ``z = 1e-12``), and the sum :math:`\sum p \log(p/q)` of nearby distributions cancels
to nothing (``kl`` of ``[x, 1-x]``, ``[y, 1-y]`` with ``x - y = 1e-14`` was ``0``, true
``~1e-28``). In the near class :math:`|z| < 1/8` (:data:`~divergences.numeric.stable.NEAR_Z`;
``p - q`` is exact there) the log-ratio is the series
:math:`2 \operatorname{atanh} z = z (2 + z^2 S(z^2))`
(:func:`~divergences.numeric.stable.atanh_odd_series`), and the divergences are summed from
non-negative centred terms (:meth:`.base.Kernel.divergence`):

.. math::

    \mathrm{kl}:\ \ p \log\frac{p}{q} - p + q = z^2 \big(p + q + p\, z\, S(z^2)\big),
    \qquad
    \mathrm{js}:\ \ \tfrac12\Big[p \log \tfrac{2p}{p + q} + q \log \tfrac{2q}{p + q}\Big]
    = \tfrac14 (p + q)\, z^2 P(z^2)

(:func:`~divergences.numeric.stable.mixture_series`), plus :math:`f'(1) \sum (p - q)` (``kl``
``1``, ``reverse_kl`` ``-1``); outside the near class the closed forms above, whose terms do not
cancel there. ``jeffrey``'s terms are already non-negative; ``js``'s terms are the centred
``gan`` terms (:math:`f_{js}(1) = f_{js}'(1) = 0`), exactly ``0`` at ``p = q``; ``gan``
(:math:`f(1) = -\log 4`) sums its terms, which never cancel, and gives exactly ``-log 4`` where
``P = Q``. The series cost passes over the data: ``kl``'s divergence takes three fresh tensors
and about 35 element-wise passes where the plain sum took two and six (measured in
``docs/accuracy.md`` and ``benchmarks/bench_discrete.py``).

The ``gan`` terms are evaluated in the ratio :math:`r = s / l \in [0, 1]` of the
smaller :math:`s = \min(p, q)` to the larger :math:`l = \max(p, q)` (see
:func:`_mixture_terms`):

.. math::

    p \log \frac{p}{p + q} + q \log \frac{q}{p + q}
    = s \log r - (p + q) \operatorname{log1p}(r),

two terms :math:`\le 0` (nothing cancels), where the direct :math:`l \log \frac{l}{p + q}`
rounds the ratio to 1 for :math:`s \ll l` and loses its value :math:`\approx -s`.

Each kernel is a :class:`Kernel`: element-wise terms, a factor and a multiple of ``p + q``, the last
two applied once to the sums, so :func:`~divergences.numeric.discrete.divergence` does no
per-element scaling. Passes over the data matter more than flops here (every element-wise op reads
and writes whole tensors, and a fresh output tensor costs page faults); without autograd the
in-place variants reuse their temporaries (``benchmarks/bench_discrete.py``).

``tests/kernels/test_kernels.py`` checks each kernel against the emitted perspective and mpmath
(``test_kernel_equals_the_emitted_perspective``), that it stays finite where the ratio ``p/q``
overflows (``test_kernel_is_finite_where_the_naive_form_overflows``) and that its gradients are
not ``NaN`` at zero probabilities (``test_kernel_gradients_at_zero_probabilities``);
it also checks ``js`` and ``gan`` against mpmath where one probability
is far below the other (float64 and float32, with and without autograd), their gradients, and
that the in-place variants equal the plain terms bit for bit. ``tests/kernels/test_near_equal.py``
checks nearby distributions against mpmath, ``D(P, P) = f(1)`` exactly for every registered
divergence, and the in-place centred terms against the plain ones.

Reference: Csiszár, *Information-type measures of difference of probability distributions*,
Studia Sci. Math. Hungar. 1967 (the perspective and its conventions at zero).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from divergences.numeric.stable import NEAR_Z, atanh_odd_series, mixture_series
from divergences.registry import builtin as entries

from .base import register_kernel

__all__: list[str] = []

_INF = math.inf
_LN2 = math.log(2.0)


#: the smallest positive number of each working dtype (a subnormal)
_SMALLEST = {torch.float64: 2.0**-1074, torch.float32: 2.0**-149}
_NEAR_Y = NEAR_Z * NEAR_Z


def _near(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""``(d, near, z, y)``: ``d = p - q``, :math:`z = d/(p + q)` (the denominator masked where
    ``p = q = 0``, whose ``0/0`` would reach the backward as ``NaN``), the near class
    :math:`z^2 <` :data:`_NEAR_Y` (not ``p = q = 0``: there the far forms give ``0`` with the
    gradients of their finite branches) and :math:`y = z^2` in it (``0`` elsewhere, so the series
    see no other argument)."""
    d = p - q
    total = p + q
    positive = total > 0
    z = d / torch.where(positive, total, 1.0)
    y = z * z
    near = (y < _NEAR_Y) & positive
    return d, near, z, torch.where(near, y, 0.0)


def _near_(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """:func:`_near` on two fresh tensors (``z`` and ``y``), for the in-place variants: the
    sum of ``d`` over the last dimension instead of ``d``, and the denominator clamped to the
    smallest subnormal instead of masked, so ``p = q = 0`` is in the near class (``z = 0``): its
    value there is the same ``0`` (no gradient is taken on this path). Masks are applied by
    multiplying with the boolean mask (``NaN`` stays ``NaN``), half the time of
    ``masked_fill_`` on the CPU."""
    z = torch.sub(p, q)  # broadcast shape: every in-place update goes to a fresh tensor
    diff = z.sum(-1)
    y = torch.add(p, q).clamp_min_(_SMALLEST[p.dtype])
    z.div_(y)
    y.copy_(z).mul_(z)
    near = y < _NEAR_Y
    y.mul_(near)
    return diff, near, z, y


def _log_ratio(p: Tensor, q: Tensor, pos: Tensor) -> Tensor:
    """``log p - log q`` where ``pos`` (``p > 0``), ``0`` elsewhere (both logs see 1)."""
    return torch.log(torch.where(pos, p, 1.0)) - torch.log(torch.where(pos, q, 1.0))


def _log_ratio_(p: Tensor, q: Tensor, out_p: Tensor, out_q: Tensor) -> Tensor:
    """``log(max(p, smallest)) - log q`` in ``out_p`` (``out_q`` is scratch). Where ``p > 0``
    it is :func:`_log_ratio`; where ``p = 0`` it is finite unless ``q = 0``, and ``p`` times it
    is the same ``0`` (``p = q = 0`` is in the near class, whose value is taken there)."""
    log_p = out_p.copy_(p).clamp_min_(_SMALLEST[p.dtype]).log_()
    return log_p.sub_(out_q.copy_(q).log_())


def _kl(p: Tensor, q: Tensor) -> Tensor:
    r"""``p log(p/q)``, the log-ratio :math:`z (2 + y S(y))` in the near class
    (:func:`~divergences.numeric.stable.atanh_odd_series`: relative accuracy next to ``p = q``,
    where ``log p - log q`` loses :math:`|\log p| / |z|` ulps), ``log p - log q`` elsewhere (no
    ratio that could overflow)."""
    pos = p > 0
    _, near, z, y = _near(p, q)
    log_ratio = torch.where(near, z * (y * atanh_odd_series(y) + 2.0), _log_ratio(p, q, pos))
    # p = 0: both logs see 1, so the term is 0 * 0 = 0 with zero gradient (no outer mask);
    # q = 0 < p: log 0 = -inf gives +inf, the value of the divergence there
    return p * log_ratio


def _kl_centred(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    r"""``(p log(p/q) - p + q >= 0, sum(p - q))`` (:math:`q \hat h(p/q)` with ``f'(1) = 1``).

    Near class: :math:`y (p + q + p z S)` with :math:`y = z^2` (no cancellation; written
    ``y ((S z p + p) + q)``, the order of :func:`_kl_centred_inplace`); elsewhere
    ``(p (log p - log q) - p) + q``, whose terms do not cancel there (:math:`|z| \ge 1/8`).
    """
    pos = p > 0
    d, near, z, y = _near(p, q)
    value = y * ((atanh_odd_series(y) * z * p + p) + q)
    far = (_log_ratio(p, q, pos) * p - p) + q
    return torch.where(near, value, far), d.sum(-1)


def _kl_centred_inplace(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`_kl_centred` bit for bit (up to the sign of zeros), on three fresh tensors."""
    diff, near, z, y = _near_(p, q)
    value = atanh_odd_series(y, inplace=True)  # 0 outside the near class: y = 0 there
    value.mul_(z).mul_(p).add_(p).add_(q).mul_(y)
    terms = _log_ratio_(p, q, z, y).mul_(p).sub_(p).add_(q)
    # masked, not multiplied: the far form is NaN at p = q = 0 (in the near class here)
    return terms.masked_fill_(near, 0.0).add_(value), diff


#: unit roundoff per working dtype
_UNIT = {torch.float64: 2.0**-53, torch.float32: 2.0**-24}
#: :math:`2^{11}` times the smallest subnormal: bounds :math:`p |\Delta \log r|` of an element
#: whose ratio is subnormal or underflows (``|log|`` of a ratio of floats is below
#: :math:`2^{11}`), per unit of ``q``
_SUBNORMAL_SLACK = {torch.float64: 2.0**-1063, torch.float32: 2.0**-138}


#: kl's fast form keeps one temporary: blocks of 2^18 elements (2 MB of float64, in the last-level
#: cache) cost fewer dispatches than the default 2^16; measured at 1024 x 1000 float64, one
#: thread: 5.6 ms against 6.4 ms (js, with more temporaries, is fastest at 2^16)
_KL_BLOCK = 2**18


def _kl_fast_terms(p: Tensor, q: Tensor) -> Tensor:
    """``p log(p/q)`` from the rounded ratio, clamped to at least the smallest subnormal (so
    ``p = 0`` gives ``0``; ``NaN`` stays ``NaN``), on one fresh tensor of the broadcast
    shape."""
    return torch.div(p, q).clamp_min_(_SMALLEST[p.dtype]).log_().mul_(p)


def _kl_fast(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    r"""``kl``'s rows :math:`\sum_x p \log(p/q)` with one ``log`` per element, and a bound on the
    rounding error of their terms (:meth:`.base.Kernel.divergence` keeps a row where the bound is
    small against its value).

    The log-ratio is the ``log`` of the rounded ratio :math:`\hat r = p/q (1 + \delta)`,
    :math:`|\delta| \le u`, clamped to at least the smallest subnormal (``p = 0`` gives
    ``0 \cdot \log`` = ``0``; a negative ratio, from inputs outside the contract of
    ``validate=False``, is clamped too). With torch's CPU ``log`` within 1 ulp (SLEEF ``u10``,
    :math:`\le 2u` relative) and the product rounded once,

    .. math::

        |\widehat{p L} - p L| \le u\, p\, (1.01 + 3.01 |L|), \qquad L = \log(p/q),

    so the terms of a row are within :math:`B = u (1.01 \sum p + 3.02 \sum p |\hat L|)` of
    their exact values (:math:`|L| \le |\hat L| + 1.01 u (1 + |L|)`). A ratio that is
    subnormal or underflows to ``0`` has :math:`p < 2^{-1022} q`, and its term is off by at most
    :math:`p \cdot 2^{11} < 2^{-1063} q` (:data:`_SUBNORMAL_SLACK`), added to ``B``. Summation
    errors are not in ``B``: every form sums its terms the same way. A ratio that overflows
    (``q = 0 < p`` or a subnormal ``q``) or is ``NaN`` (``p = q = 0``) gives a non-finite row,
    which the caller recomputes.

    Nearby distributions: :math:`\sum p |L| \ge D` but ``B`` stays of order
    :math:`u \sum p`, far above ``D``, so those rows go to the centred sum.
    """
    unit, slack = _UNIT[p.dtype], _SUBNORMAL_SLACK[p.dtype]
    terms = _kl_fast_terms(p, q)
    value = terms.sum(-1)
    spread = terms.abs_().sum(-1)  # p |L| for p >= 0
    bound = (p.sum(-1) * 1.01 + spread * 3.02) * unit + q.sum(-1) * slack
    return value, bound


register_kernel(
    entries.KL,
    rescale=True,
    centred=_kl_centred,
    centred_inplace=_kl_centred_inplace,
    slope=1.0,
    fast=_kl_fast,
    fast_block=_KL_BLOCK,
)(_kl)


def _reverse_kl(p: Tensor, q: Tensor) -> Tensor:
    """``q log(q/p)``."""
    return _kl(q, p)


def _reverse_kl_centred(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    terms, diff = _kl_centred(q, p)
    return terms, -diff


def _reverse_kl_centred_inplace(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    terms, diff = _kl_centred_inplace(q, p)
    return terms, diff.neg_()


def _reverse_kl_fast(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    return _kl_fast(q, p)


register_kernel(
    entries.REVERSE_KL,
    rescale=True,
    centred=_reverse_kl_centred,
    centred_inplace=_reverse_kl_centred_inplace,
    slope=-1.0,
    fast=_reverse_kl_fast,
    fast_block=_KL_BLOCK,
)(_reverse_kl)


@register_kernel(entries.PEARSON, rescale=True)
def _pearson(p: Tensor, q: Tensor) -> Tensor:
    """``(p - q)^2 / q``, as ``((p - q) / sqrt q)^2``: the square of ``p - q`` underflows below
    ``1.5e-154`` where the quotient does not (``p = 2.2e-308``, ``q = 5e-324``: ``1e293``, was
    ``0``), and ``(p - q)/q`` overflows where the value does not (``p - q = 1e-10``,
    ``q = 1e-320``: ``1e300``)."""
    pos = q > 0
    value = torch.square((p - q) / torch.sqrt(torch.where(pos, q, 1.0)))
    return torch.where(pos, value, torch.where(p > 0, _INF, 0.0))


@register_kernel(entries.NEYMAN, rescale=True)
def _neyman(p: Tensor, q: Tensor) -> Tensor:
    """``(p - q)^2 / p``."""
    return _pearson(q, p)


@register_kernel(entries.SQUARED_HELLINGER, rescale=True)
def _squared_hellinger(p: Tensor, q: Tensor) -> Tensor:
    """``(sqrt p - sqrt q)^2 = ((p - q) / (sqrt p + sqrt q))^2`` (no cancellation next to
    ``p = q``; the quotient is squared, not ``p - q``, which underflows below ``1.5e-154``)."""
    both = (p > 0) & (q > 0)
    ps, qs = torch.where(both, p, 1.0), torch.where(both, q, 1.0)
    value = torch.square((ps - qs) / (torch.sqrt(ps) + torch.sqrt(qs)))
    # one of them zero: (sqrt p - sqrt q)^2 = p + q
    return torch.where(both, value, p + q)


@register_kernel(entries.JEFFREY, rescale=True)
def _jeffrey(p: Tensor, q: Tensor) -> Tensor:
    """``(p - q)(log p - log q)``, the log-ratio from the series in the near class (as
    :func:`_kl`): both factors have the same sign, so the terms are ``>= 0`` and the sum needs no
    centring."""
    both = (p > 0) & (q > 0)
    d, near, z, y = _near(p, q)
    log_ratio = torch.where(near, z * (y * atanh_odd_series(y) + 2.0), _log_ratio(p, q, both))
    value = d * log_ratio
    return torch.where(both, value, torch.where((p > 0) | (q > 0), _INF, 0.0))


def _mixture_terms_and_log1p(
    p: Tensor, q: Tensor, total: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    r""":func:`_mixture_terms` with five fresh tensors instead of ten (in place: the masks and
    ``s log r``), and :math:`\operatorname{log1p}(r)` of the ratio ``r = min/max``. Instead of
    masks, ``max`` and ``r`` are clamped to at least the smallest subnormal: ``max = 0`` (both
    zero) gives ``r = 0``, and ``r = 0`` gives ``0 * log(2^-1074) = -0`` where the masked form
    has ``0 * log 1 = 0``: the same values up to the sign of zeros for non-negative inputs (a
    ratio that underflows to 0 gives a finite ``s log 2^-1074`` instead of ``-inf``), at a
    tenth of the time of a comparison and a masked add on the CPU. ``total``, when the caller
    has it, is ``p + q`` (not recomputed)."""
    smallest = _SMALLEST[p.dtype]
    small, large = torch.minimum(p, q), torch.maximum(p, q)
    ratio = torch.div(small, large.clamp_min_(smallest))
    del large
    log1p_ratio = torch.log1p(ratio)
    terms = ratio.clamp_min_(smallest).log_().mul_(small)
    total = p + q if total is None else total
    return terms.addcmul_(total, log1p_ratio, value=-1.0), log1p_ratio


def _mixture_terms_inplace(p: Tensor, q: Tensor) -> Tensor:
    """:func:`_mixture_terms` on fresh tensors updated in place (bit for bit)."""
    return _mixture_terms_and_log1p(p, q)[0]


@register_kernel(
    entries.GAN, inplace_terms=_mixture_terms_inplace, rescale=True, offset=-2.0 * _LN2
)
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


def _mixture_centred(p: Tensor, q: Tensor) -> Tensor:
    r""":math:`p \log \frac{2p}{p + q} + q \log \frac{2q}{p + q} \ge 0`: twice ``js``'s terms.

    Near class: :math:`\tfrac12 (p + q)\, y\, P(y)` (:func:`~divergences.numeric.stable.\
mixture_series`, all terms positive), where the closed forms subtract terms of size :math:`|z|`;
    elsewhere the ``gan`` terms plus :math:`\log 2\,(p + q)` (:math:`|z| \ge 1/8`: the sum is at
    least :math:`0.0078\,(p + q)`).
    """
    _, near, _, y = _near(p, q)
    total = p + q
    value = mixture_series(y) * y * total * 0.5
    far = _mixture_terms(p, q) + total * _LN2
    return torch.where(near, value, far)


def _mixture_centred_inplace(p: Tensor, q: Tensor) -> Tensor:
    """:func:`_mixture_centred` bit for bit (up to the sign of zeros)."""
    _, near, total, y = _near_(p, q)
    value = mixture_series(y, inplace=True).mul_(y)
    value.mul_(total.copy_(p).add_(q)).mul_(0.5)
    terms, _ = _mixture_terms_and_log1p(p, q, total)
    terms.add_(total.mul_(_LN2))
    # finite everywhere (NaN only from NaN inputs): the far terms are multiplied by the mask
    return terms.mul_(near.logical_not_()).add_(value)


def _abs_difference_inplace(p: Tensor, q: Tensor) -> Tensor:
    return torch.sub(p, q).abs_()


@register_kernel(entries.TOTAL_VARIATION, scale=0.5, inplace_terms=_abs_difference_inplace)
def _abs_difference(p: Tensor, q: Tensor) -> Tensor:
    """``|p - q|`` (twice the total variation's terms)."""
    return torch.abs(p - q)


#: ``log1p(0.77)``: the ratio ``min/max`` of every pair of the near class (:math:`|z| < 1/8`,
#: ratio :math:`> 7/9 = 0.777\ldots`) exceeds ``0.77``, so ``log1p`` of it exceeds this
_NEAR_LOG1P = math.log1p(0.77)


def _js_fast(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    r"""``js``'s rows from the far-class terms for every element, and a bound on how far they
    can be from the centred sum (:meth:`.base.Kernel.divergence` keeps a row where the bound is
    small against its value).

    Outside the near class the terms are those of :func:`_mixture_centred_inplace`, bit for bit
    (the same operations on the same values): only the near class differs, where the centred
    sum takes the series. There the far form
    :math:`t = s \log r - (p + q)\operatorname{log1p}(r) + (p + q) \log 2` (``s = min(p, q)``,
    ``r = s/max(p, q)``, :math:`|\log r| < 0.2513`) is rounded to at most

    .. math::

        u \big[s (1.01 + 3.01 |\log r|) + 4.67 (p + q) + |t|\big] \le 5.56\, u\, (p + q)

    (``r`` rounded once, ``log`` and ``log1p`` within 1 ulp, the constant ``log 2`` and each
    product, sum and difference rounded once; :math:`s \le (p + q)/2`), and the series' own
    error is below :math:`0.01\, u\, (p + q)`. With the factor ``1/2`` of ``js`` the row is
    within :math:`B = 2.79\, u \sum_{\text{near}} (p + q)` of the centred sum's terms; the sum
    over the near class is taken over the pairs with ``log1p(r)`` above :data:`_NEAR_LOG1P`, a
    superset of the near class.
    """
    terms, near_mass = _js_fast_terms(p, q)
    return terms.sum(-1) * 0.5, near_mass * (2.79 * _UNIT[p.dtype])


def _js_fast_terms(p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    """Twice ``js``'s far-class terms for every element, and the row sums of ``p + q`` over the
    pairs that may be in the near class."""
    total = torch.add(p, q)
    terms, log1p_ratio = _mixture_terms_and_log1p(p, q, total)
    # the 0/1 indicator written as floats into log1p_ratio itself (no bool tensor, no cast)
    near = torch.gt(log1p_ratio, _NEAR_LOG1P, out=log1p_ratio)
    near_mass = torch.linalg.vecdot(total, near)
    return terms.add_(total.mul_(_LN2)), near_mass


# js: f_js(u) = (f_gan(u) + (u + 1) log 2) / 2 = (gan's centred generator) / 2: its terms are
# half the centred mixture terms, non-negative and exactly 0 at p = q (f_js(1) = f_js'(1) = 0)
register_kernel(
    entries.JS,
    scale=0.5,
    inplace_terms=_mixture_centred_inplace,
    rescale=True,
    fast=_js_fast,
)(_mixture_centred)
