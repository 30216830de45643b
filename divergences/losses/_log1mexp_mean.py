r"""The mean of :math:`G(y) = \log(1 - e^{-e^{y}})` over an affine score :math:`y = s v + c`.

This is ``js_weighted``'s :math:`f^* \circ g_f` (``log1mexp_negexp(-v + log((1 - pi)/pi))``,
:func:`divergences.numeric.stable.log1mexp_negexp`), fused into one autograd node with the same
cases and the same derivative, on four or five fresh tensors and four transcendental functions
per element (the emitted function: nine fresh tensors, five transcendentals and a ``where``).

With :math:`z = e^{y_c}`, :math:`y_c = \min(\max(y, \log t), \log M)` (``t`` the smallest normal
number, ``M`` the largest), :math:`q = e^{-z}` and :math:`w = -\operatorname{expm1}(-z) = 1 - q`
(each to an ulp or two),

.. math::

    G = \begin{cases}
        \log w + \min(y - \log t, 0) & w \le \tfrac12 \ (z \le \log 2), \\
        \log w - \dfrac{(w - 1) + q}{w}\ \big(= \operatorname{log1p}(-q)\big) & w > \tfrac12,
    \end{cases}
    \qquad \frac{dG}{dy} = \frac{z\, e^{-z}}{1 - e^{-z}} = \frac{z q}{w}.

The first case is the emitted one (Maechler 2012: :math:`\log(-\operatorname{expm1}(-z))` has no
cancellation for :math:`z \le \log 2`); below :math:`\log t` the value is :math:`y` to the
dtype's resolution, which the correction supplies where :math:`e^{y}` would underflow. In the
second, :math:`\log(1 - q)` would lose the digits of a small :math:`q` to the rounding of
:math:`w`; instead of a second logarithm (``log1p``), the rounding is put back:
:math:`w - 1` is exact for :math:`w \in [\tfrac12, 2]` (Sterbenz), so is :math:`(w - 1) + q`
(both are :math:`-q` to an ulp), and
:math:`\log(1 - q) = \log w + \operatorname{log1p}(e/w)` with :math:`e = (1 - q) - w`,
:math:`|e/w| \le 2\varepsilon`, whose second-order term is below the rounding. For
:math:`q < \varepsilon/2` (``w`` rounds to 1) the value is exactly :math:`-q`, as ``log1p``'s.
The branch is taken by arithmetic (a 0/1 factor from the sign of :math:`w - \tfrac12`), not by a
``where``: the same operations on every device and under every transform. On plain eager CPU
tensors (:mod:`divergences.numeric.host`) one host read of the range of ``y`` skips the clamps
and the correction below :math:`\log t` where none of them can act.
"""

from __future__ import annotations

import torch
from torch import Tensor

from divergences.losses._kept_derivative import keep_derivative, mean_gradient
from divergences.numeric.host import reads_on_host
from divergences.numeric.stable import log_max, log_tiny

__all__ = ["log1mexp_negexp_mean"]


def log1mexp_negexp_mean(v: Tensor, slope: float, intercept: float, intercept_low: float) -> Tensor:
    r""":math:`\frac1N \sum_i \log(1 - e^{-e^{y_i}})`, :math:`y = s v + c` (``c`` given as the
    float ``intercept`` plus ``intercept_low``, the rest of an irrational constant, added after
    as the emitter's double-double constants are), over all elements of float32/float64 ``v``;
    a 0-dimensional tensor."""
    mean, _ = _Log1mexpNegexpMean.apply(v.reshape(-1), slope, intercept, intercept_low)
    return mean


def _forward(
    v: Tensor, slope: float, intercept: float, intercept_low: float
) -> tuple[Tensor, Tensor]:
    """``(mean of G, dG/dy)``; see the module docstring. Works in place on its own tensors."""
    low, cap = log_tiny(v.dtype), log_max(v.dtype)
    y = torch.rsub(v, intercept) if slope == -1.0 else torch.mul(v, slope).add_(intercept)
    if intercept_low != 0.0:
        y.add_(intercept_low)
    below = None
    if _inside(y, low, cap):  # no clamp can act: one fresh tensor and four passes fewer
        z = y.exp_()
        q = torch.neg(z).exp_()
    else:
        y_c = y.clamp_min(low)
        # sum of min(y - log t, 0): exact where y >= log t (0), G = y - log t + log(t) there
        below = y.sub_(y_c).sum(-1)
        z = y_c.clamp_max_(cap).exp_()
        q = y.copy_(z).neg_().exp_()
    w = torch.neg(z).expm1_().neg_()
    slope_out = z.mul_(q).div_(w)  # dG/dy = z q / w
    far = torch.sub(w, 1.0).add_(q).div_(w)  # ((w - 1) + q) / w = -e / w, exact numerator
    far.mul_(q.copy_(w).sub_(0.5).sign_().clamp_min_(0.0))  # for w > 1/2 only
    total = w.log_().sub_(far).sum(-1)
    return (total if below is None else total + below) / v.shape[-1], slope_out


def _inside(y: Tensor, low: float, cap: float) -> bool:
    """Every ``y`` in ``[low, cap]``, read on the host where that is free
    (:func:`divergences.numeric.host.reads_on_host`); ``False`` (clamp) elsewhere."""
    if not reads_on_host(y):
        return False
    smallest, largest = torch.aminmax(y)
    return bool(((smallest >= low) & (largest <= cap)).item())


class _Log1mexpNegexpMean(torch.autograd.Function):
    """See :func:`log1mexp_negexp_mean`; the derivative is kept from the forward."""

    generate_vmap_rule = True

    @staticmethod
    def forward(
        v: Tensor, slope: float, intercept: float, intercept_low: float
    ) -> tuple[Tensor, Tensor]:
        return _forward(v, slope, intercept, intercept_low)

    setup_context = staticmethod(keep_derivative)

    @staticmethod
    def backward(ctx: object, grad: Tensor, _: Tensor) -> tuple[Tensor | None, None, None, None]:
        return mean_gradient(ctx, grad, 1.0), None, None, None
