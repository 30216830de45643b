r"""The mean of a quadratic of a clamped score, :math:`P(\max(v, t))` or :math:`P(\min(v, t))`,
where :math:`P(x) = c_2 x^2 + c_1 x + c_0` is flat at the clamp, :math:`P'(t) = 0`.

These are the :math:`f^* \circ g_f` of the chi-square type divergences with the identity
activation: ``pearson`` (:math:`f^*(t) = t^2/4 + t` above :math:`-2`, :math:`-1` below) and
``alpha`` = 2 (:math:`t^2/2 + t` above :math:`-1`). The emitted function is
``c2 * square(x) + c1 * x (+ c0)`` on ``x = v.clamp_min(t)``, and autograd keeps four tensors of
the batch for its backward; here the same expression, rounded the same way, is formed in place
on one fresh tensor, and the backward is the closed form

.. math::

    \frac{d}{dv} P(\max(v, t)) = P'(\max(v, t)) = 2 c_2 \max(v, t) + c_1,

which is :math:`0` below the clamp because :math:`P'(t) = 0` (the branch the conjugate's domain
ends with), so no mask is needed: one fresh tensor forward, one backward.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["clamped_quadratic_mean"]


def clamped_quadratic_mean(
    v: Tensor, coefficients: tuple[float, float, float], clamp: float, below: bool
) -> Tensor:
    r""":math:`\frac1N \sum_i P(x_i)`, :math:`x = \max(v, t)` (``below``: the constant piece is
    below ``t``) or :math:`\min(v, t)`, :math:`P(x) = c_2 x^2 + c_1 x + c_0` with
    ``coefficients = (c2, c1, c0)``, over all elements of float32/float64 ``v``; 0-dimensional.
    """
    return _ClampedQuadraticMean.apply(v.reshape(-1), coefficients, clamp, below)


def _clamped(v: Tensor, clamp: float, below: bool) -> Tensor:
    return v.clamp_min(clamp) if below else v.clamp_max(clamp)


class _ClampedQuadraticMean(torch.autograd.Function):
    """See :func:`clamped_quadratic_mean`."""

    generate_vmap_rule = True

    @staticmethod
    def forward(
        v: Tensor, coefficients: tuple[float, float, float], clamp: float, below: bool
    ) -> Tensor:
        c2, c1, c0 = coefficients
        x = _clamped(v, clamp, below)
        terms = torch.square(x).mul_(c2)
        terms = terms.add_(x) if c1 == 1.0 else terms.add_(x.mul_(c1))
        total = terms.sum(-1) / v.shape[-1]
        return total + c0 if c0 != 0.0 else total

    @staticmethod
    def setup_context(ctx: object, inputs: tuple, output: Tensor) -> None:
        ctx.save_for_backward(inputs[0])  # type: ignore[attr-defined]
        ctx.rule = inputs[1:]  # type: ignore[attr-defined]

    @staticmethod
    def backward(ctx: object, grad: Tensor) -> tuple[Tensor, None, None, None]:
        (v,) = ctx.saved_tensors  # type: ignore[attr-defined]
        (c2, c1, _), clamp, below = ctx.rule  # type: ignore[attr-defined]
        scale = (grad / v.shape[-1]).unsqueeze(-1)
        if torch.is_grad_enabled():  # create_graph=True: recorded, out of place
            return (_clamped(v, clamp, below) * (2.0 * c2) + c1) * scale, None, None, None
        slope = _clamped(v, clamp, below).mul_(2.0 * c2).add_(c1)
        return slope.mul_(scale), None, None, None
