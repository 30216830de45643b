r"""The mean of :math:`\operatorname{softplus}(s v)`, :math:`s = \pm 1`, in one autograd node.

``gan``'s terms: :math:`g_f(v) = -\operatorname{softplus}(-v)` and
:math:`f^*(g_f(v)) = \operatorname{softplus}(v)` (Goodfellow et al. 2014 through the f-GAN
table). The emitted function evaluates :func:`divergences.numeric.stable.softplus` of ``-v``
(a negation, a softplus and a negation: three fresh tensors, and autograd's mean backward a
fourth); here one call of ``torch.nn.functional.softplus`` with ``beta = s`` forms the terms,

.. math::

    \operatorname{softplus}(s v) = s \cdot \tfrac{1}{s} \log(1 + e^{s v}),

the same ``log1p(exp(s v))`` rounded the same way, with the same dtype-dependent threshold
(:func:`divergences.numeric.stable.softplus_threshold`: above it the value is :math:`s v` itself),
and the backward is the closed form

.. math:: \frac{d}{dv} \operatorname{softplus}(s v) = s\, \sigma(s v),

:math:`\sigma(s v)` computed directly (never as :math:`1 - \sigma(-s v)`, which loses its digits
where it is small): one fresh tensor forward, one backward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from divergences.numeric.stable import softplus_threshold

__all__ = ["softplus_mean"]


def softplus_mean(v: Tensor, slope: float) -> Tensor:
    r""":math:`\frac1N \sum_i \operatorname{softplus}(s v_i)` over all elements of
    float32/float64 ``v`` (``slope`` :math:`s = \pm 1`); a 0-dimensional tensor."""
    if slope not in (1.0, -1.0):
        raise ValueError(f"slope must be +1 or -1, got {slope}")
    return _SoftplusMean.apply(v.reshape(-1), slope)


class _SoftplusMean(torch.autograd.Function):
    """See :func:`softplus_mean`."""

    generate_vmap_rule = True

    @staticmethod
    def forward(v: Tensor, slope: float) -> Tensor:
        terms = F.softplus(v, beta=slope, threshold=softplus_threshold(v.dtype))
        total = terms.sum(-1)
        return (total if slope == 1.0 else -total) / v.shape[-1]

    @staticmethod
    def setup_context(ctx: object, inputs: tuple[Tensor, float], output: Tensor) -> None:
        ctx.save_for_backward(inputs[0])  # type: ignore[attr-defined]
        ctx.slope = inputs[1]  # type: ignore[attr-defined]

    @staticmethod
    def backward(ctx: object, grad: Tensor) -> tuple[Tensor, None]:
        (v,) = ctx.saved_tensors  # type: ignore[attr-defined]
        slope = ctx.slope  # type: ignore[attr-defined]
        scale = (grad * (slope / v.shape[-1])).unsqueeze(-1)
        if torch.is_grad_enabled():  # create_graph=True: recorded, out of place
            return torch.sigmoid(v * slope) * scale, None
        sigma = torch.sigmoid(v) if slope == 1.0 else torch.neg(v).sigmoid_()
        return sigma.mul_(scale), None
