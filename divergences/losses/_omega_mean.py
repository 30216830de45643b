r"""The mean of :math:`G = \operatorname{expm1}(-L) - L`, :math:`L = \omega_{\log}(H)`, over an
affine score :math:`H = s v + c`: ``jeffrey``'s :math:`f^* \circ g_f` (``s = -1``, ``c = 0``).

:math:`L = \omega_{\log}(H)` is the real solution of :math:`e^L - 1 + L = H` (the logarithm of the
Wright omega function at :math:`H + 1`, :func:`divergences.numeric.stable.omega_log`). With
:math:`\psi(L) = \operatorname{expm1}(L) + L - H`, :math:`\psi' = e^L + 1`, :math:`\psi'' = e^L`,
the same piecewise initial guess as ``omega_log`` (series at ``0``, asymptotic expansions at both
ends, within 10 %) is refined by Halley's steps

.. math::

    L \leftarrow L - \frac{\delta}{1 - \tfrac12 \delta\, \sigma(L)}, \qquad
    \delta = \frac{\psi}{\psi'} = \frac{E + L - H}{E + 2}, \qquad
    \sigma(L) = \frac{e^L}{e^L + 1} = \frac{E + 1}{E + 2}, \qquad E = \operatorname{expm1}(L)

(``omega_log`` takes three steps in any dtype; float32 reaches its round-off in two, float64 in
three: cubic convergence from 10 %). Above :math:`H = 2^{64}`, :math:`L = \log(H + 1 - L)` is
:math:`\log H` to rounding (:math:`|1 - L|/H < 2^{-58}`): the iteration runs on
:math:`\min(H, 2^{64})`, where :math:`e^L` is far from overflowing, and :math:`\log H` (already
formed for the guess) is selected above. The value and the derivative are then

.. math::

    G = \operatorname{expm1}(-L) - L, \qquad
    \frac{dG}{dH} = -\big(e^{-L} + 1\big) \frac{dL}{dH} = -\frac{e^{-L} + 1}{e^{L} + 1}
        = -e^{-L},

:math:`G \approx -2L` next to ``H = 0`` without cancellation, and :math:`e^{-L}` computed directly
(not as :math:`1 + \operatorname{expm1}(-L)`, which loses its digits where it is small). The
regions of the guess are blended by 0/1 factors from the sign of ``H + 2`` and ``H - 1`` (no
``where``), each piece evaluated on a clamped argument so that every product is finite;
:math:`E` is evaluated at :math:`\min(L, \log M)`, so no iterate overflows. One autograd node,
in place on a dozen fresh tensors (``omega_log`` then ``expm1``: about forty, and a graph
through the iteration's detached value).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from divergences.losses._kept_derivative import keep_derivative, mean_gradient
from divergences.numeric.stable import log_max

__all__ = ["omega_conjugate_mean"]

#: Halley steps after the guess: float32 round-off in two, float64 in three
_STEPS = {torch.float32: 2, torch.float64: 3}
#: above this, :math:`L = \log H` to rounding in float32 and float64
_HUGE = 2.0**64


def omega_conjugate_mean(v: Tensor, slope: float, intercept: float) -> Tensor:
    r""":math:`\frac1N \sum_i \big(\operatorname{expm1}(-L_i) - L_i\big)`,
    :math:`L_i = \omega_{\log}(s v_i + c)`, over all elements of float32/float64 ``v``;
    a 0-dimensional tensor."""
    mean, _ = _OmegaConjugateMean.apply(v.reshape(-1), slope, intercept)
    return mean


def _guess(h: Tensor) -> tuple[Tensor, Tensor]:
    r"""``omega_log``'s initial guess (within 10 %) as a fresh tensor, blended without ``where``,
    and :math:`\log \max(H + 1, 2)` (fresh too)."""
    hm = h.clamp(-2.0, 1.0)
    # near H = 0 (L = 0): L = H/2 - H^2/16 + H^3/192
    middle = torch.mul(hm, -1.0 / 192.0).add_(1.0 / 16.0).mul_(hm).neg_().add_(0.5).mul_(hm)
    # H -> -oo: L ~ z - e^z, z = H + 1
    small = hm.copy_(h).add_(1.0)
    small.sub_(small.clamp_max(0.0).exp_())
    # H -> +oo: omega(z) ~ z - log z + log(z)/z (Corless et al. 1996, Eq. 4.20), z >= 2
    zb = torch.add(h, 1.0).clamp_min_(2.0)
    log_z = torch.log(zb)
    ratio = torch.div(log_z, zb)
    big = zb.sub_(log_z).add_(ratio).log_()
    # 0/1 factors: H < -2 and H > 1
    below = ratio.copy_(h).neg_().sub_(2.0).sign_().clamp_min_(0.0)
    above = torch.sub(h, 1.0).sign_().clamp_min_(0.0)
    small.sub_(middle).mul_(below)
    big.sub_(middle).mul_(above)
    return middle.add_(small).add_(big), log_z


def _solve(h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``L = omega_log(h)`` and two scratch tensors of its shape (module docstring); works in
    place on ``h``."""
    lw, log_z = _guess(h)
    # above 2^64, L = log(H + 1 - L) = log H to rounding (|1 - L| / H < 2^-58): the iteration
    # runs on min(H, 2^64), whose e^L is far from the overflow, and log H is selected after
    huge = torch.sub(h, _HUGE).sign_().clamp_min_(0.0)
    h.clamp_max_(_HUGE)
    lw.clamp_max_(math.log(_HUGE))
    cap = log_max(h.dtype)
    e, denominator, step = (torch.empty_like(lw) for _ in range(3))
    for _ in range(_STEPS[h.dtype]):
        e.copy_(lw).clamp_max_(cap).expm1_()  # E = expm1(L)
        denominator.copy_(e).add_(2.0)  # psi' = E + 2
        delta = step.copy_(e).add_(lw).sub_(h).div_(denominator)  # psi / psi'
        halley = e.add_(1.0).div_(denominator).mul_(delta).mul_(-0.5).add_(1.0)
        lw.sub_(delta.div_(halley))
    # a 0/1 selection: both terms are finite
    lw.mul_(e.copy_(huge).neg_().add_(1.0)).add_(log_z.mul_(huge))
    return lw, e, step


def _forward(v: Tensor, slope: float, intercept: float) -> tuple[Tensor, Tensor]:
    """``(mean of G, e^{-L})``; see the module docstring."""
    h = torch.rsub(v, intercept) if slope == -1.0 else torch.mul(v, slope).add_(intercept)
    lw, g, derivative = _solve(h)
    total = g.copy_(lw).neg_().expm1_().sub_(lw).sum(-1)
    return total / v.shape[-1], derivative.copy_(lw).neg_().exp_()


class _OmegaConjugateMean(torch.autograd.Function):
    """See :func:`omega_conjugate_mean`; :math:`e^{-L}` is kept from the forward."""

    generate_vmap_rule = True

    @staticmethod
    def forward(v: Tensor, slope: float, intercept: float) -> tuple[Tensor, Tensor]:
        return _forward(v, slope, intercept)

    setup_context = staticmethod(keep_derivative)

    @staticmethod
    def backward(ctx: object, grad: Tensor, _: Tensor) -> tuple[Tensor | None, None, None]:
        return mean_gradient(ctx, grad, -1.0), None, None  # dG/dH = -e^{-L}
