r"""The backward of a fused mean whose forward keeps the element-wise derivative.

A fused mean :math:`\overline{G} = \frac1N \sum_i G(s v_i + c)` whose forward also returns a
tensor :math:`D` with :math:`dG/dH = \sigma D` at :math:`H = s v + c` (``sigma`` a fixed sign:
``+1`` for :func:`._log1mexp_mean.log1mexp_negexp_mean`, ``-1`` for
:func:`._omega_mean.omega_conjugate_mean`) has the gradient

.. math:: \frac{\partial \overline{G}}{\partial v_i} = \frac{\sigma s}{N} D_i,

one multiplication by a scalar in the backward, nothing recomputed. The autograd Functions
share their ``setup_context`` and backward from here (forward inputs ``(v, slope, *constants)``,
outputs ``(mean, D)``).
"""

from __future__ import annotations

from torch import Tensor

__all__ = ["keep_derivative", "mean_gradient"]


def keep_derivative(ctx: object, inputs: tuple, output: tuple[Tensor, Tensor]) -> None:
    """``setup_context`` of a fused mean: save :math:`D` (``output[1]``, not differentiable) and
    the slope (``inputs[1]``)."""
    ctx.save_for_backward(output[1])  # type: ignore[attr-defined]
    ctx.slope = inputs[1]  # type: ignore[attr-defined]
    ctx.set_materialize_grads(False)  # type: ignore[attr-defined]
    ctx.mark_non_differentiable(output[1])  # type: ignore[attr-defined]


def mean_gradient(ctx: object, grad: Tensor | None, sign: float) -> Tensor | None:
    r""":math:`\sigma s D / N` times ``grad`` (``sign`` = :math:`\sigma`); ``None`` when the mean
    was not used (gradients are not materialised)."""
    if grad is None:
        return None
    (derivative,) = ctx.saved_tensors  # type: ignore[attr-defined]
    scale = grad * (sign * ctx.slope / derivative.shape[-1])  # type: ignore[attr-defined]
    return derivative * scale.unsqueeze(-1)
