r"""Numerically stable torch primitives used by the emitted functions and the hand-fused kernels.

Every function is element-wise, keeps the input's dtype and device, has no host synchronisation
and no Python loop over elements, and works under ``torch.compile(fullgraph=True)`` and
``torch.func`` (``grad``, ``vmap``). Gradients are finite wherever the function's derivative is.

.. math::

    \operatorname{softplus}(x) = \log(1 + e^x), \qquad
    \operatorname{log1mexp}(x) = \log(1 - e^x) \ (x < 0), \qquad
    \operatorname{xlogy}(x, y) = x \log y \ (0 \log 0 = 0),

    \operatorname{log1mexp\_negexp}(y) = \log(1 - e^{-e^{y}}),

    \omega_{\log}(y) = L \ \text{ with } \ e^L - 1 + L = y
    \ \ (\text{so } e^{L} = W(e^{y + 1}), \text{ the Wright omega function } \omega(y + 1)),
    \qquad W(x) = \text{principal branch of Lambert W}, \ x \ge -1/e.

References:
    Maechler, *Accurately computing log(1 - exp(-|a|))*, Rmpfr vignette, 2012 (log1mexp);
    Corless, Gonnet, Hare, Jeffrey and Knuth, *On the Lambert W function*, Adv. Comput. Math.
    1996 (series and Halley's iteration); Lawrence, Corless and Jeffrey, *Algorithm 917: complex
    double-precision evaluation of the Wright omega function*, ACM TOMS 2012 (the omega
    formulation that avoids overflowing ``exp``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .precision import working_dtype

__all__ = [
    "NEAR_Z",
    "atanh_odd_series",
    "exp_capped",
    "expm1_capped",
    "lambertw",
    "log1mexp",
    "log1mexp_negexp",
    "log_max",
    "log_tiny",
    "mixture_series",
    "omega_log",
    "softplus",
    "softplus_threshold",
    "xlogy",
]

_LN2 = math.log(2.0)
_INV_E = math.exp(-1.0)
#: Halley steps after the initial guess. The guesses are within about 10 % everywhere and
#: Halley's cubic convergence reaches float64 round-off in two steps from there (measured: 0.7 eps
#: relative over +-10**(k/16), |k| < 400, and +-10**(k/4) up to 1e308); one more for margin.
_HALLEY_STEPS = 3
#: Lambert W on [-1/e, 3]: one more step, since the branch-point series converges more slowly.
_HALLEY_STEPS_W = 4


#: ``F.softplus`` returns ``x`` itself above its threshold, dropping :math:`\log(1 + e^{-x})
#: \approx e^{-x}`: harmless once that is below half an ulp of ``x``, which needs a threshold of 37
#: in float64 (:math:`e^{-37} = 8.5 \cdot 10^{-17} < 3.6 \cdot 10^{-15}`; the default 20 leaves
#: :math:`e^{-20} = 2 \cdot 10^{-9}`, 4.6e5 ulps) and 20 in float32 and below.
_SOFTPLUS_THRESHOLD_FLOAT64 = 37.0
_SOFTPLUS_THRESHOLD = 20.0


def softplus(x: Tensor) -> Tensor:
    r""":math:`\log(1 + e^x)` without overflow, accurate to a few ulps for every finite ``x``.

    ``torch.nn.functional.softplus`` (one fused kernel forward and backward, against four for
    ``logaddexp(x, 0)``) with a threshold that depends on the dtype: below it the value is
    ``log1p(exp(x))``, exact to rounding; above it ``x`` (see :data:`_SOFTPLUS_THRESHOLD_FLOAT64`).
    The gradient is :math:`\sigma(x)`, ``1`` above the threshold.
    """
    return torch.nn.functional.softplus(x, threshold=softplus_threshold(x.dtype))


def softplus_threshold(dtype: torch.dtype) -> float:
    r"""Above this, :math:`\log(1 + e^x) = x` to half an ulp in ``dtype`` (37 in float64, 20
    below; see :data:`_SOFTPLUS_THRESHOLD_FLOAT64`)."""
    return _SOFTPLUS_THRESHOLD_FLOAT64 if dtype == torch.float64 else _SOFTPLUS_THRESHOLD


def log1mexp(x: Tensor) -> Tensor:
    r""":math:`\log(1 - e^{x})` for ``x <= 0`` (``-inf`` at ``0``, ``NaN`` for ``x > 0``).

    .. math::
        \operatorname{log1mexp}(x) = \begin{cases}
            \log(-\operatorname{expm1}(x)) & -\log 2 < x \le 0, \\
            \operatorname{log1p}(-e^{x}) & x \le -\log 2,
        \end{cases}

    each branch used where it has no cancellation (Maechler 2012). The second branch is evaluated
    on ``min(x, -log 2)`` so its singularity at ``0`` sends no ``NaN`` into the gradient.
    """
    near = x > -_LN2
    far = torch.log1p(-torch.exp(x.clamp_max(-_LN2)))
    return torch.where(near, torch.log(-torch.expm1(x)), far)


def log1mexp_negexp(y: Tensor) -> Tensor:
    r""":math:`\log(1 - e^{-e^{y}})` for every real ``y``, finite where :math:`e^y` underflows.

    With :math:`z = e^{y}`, the two forms of :func:`log1mexp` (Maechler 2012), each where it has
    no cancellation,

    .. math::
        \operatorname{log1mexp\_negexp}(y) = \begin{cases}
            \log(-\operatorname{expm1}(-z)) + (y - y_c) & z < \log 2, \\
            \operatorname{log1p}(-e^{-z}) & z \ge \log 2,
        \end{cases}
        \qquad z = e^{y_c}, \ y_c = \min(\max(y, \log t), \log M),

    (``t`` the dtype's smallest normal number, ``M`` its largest): below :math:`\log t` the
    value is :math:`y + \log((1 - e^{-z})/z) = y` to the dtype's resolution, which the correction
    :math:`y - y_c` supplies where :math:`e^{y}` itself would underflow (``log(0) = -inf``); above
    :math:`\log M` the value is ``-0``.

    One autograd node: the forward works in place on fresh tensors (no graph of ten element-wise
    operations), and the derivative

    .. math:: \frac{d}{dy} = \frac{z e^{-z}}{1 - e^{-z}} = \frac{z}{\operatorname{expm1}(z)}

    is formed from :math:`z`, :math:`e^{-z}` and :math:`1 - e^{-z}` saved by the forward, each
    accurate to a few ulps (``1`` for ``y -> -oo``, ``0`` once :math:`e^{-z}` underflows; never
    ``NaN``). float16/bfloat16 are computed in float32 and rounded once.
    """
    work = _working_dtype(y)
    value, *_ = _Log1mexpNegexp.apply(y.to(work))
    return value.to(y.dtype)


class _Log1mexpNegexp(torch.autograd.Function):
    """See :func:`log1mexp_negexp` (float32 or float64 input)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(y: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        low = log_tiny(y.dtype)
        y_c = y.clamp(low, log_max(y.dtype))
        z = torch.exp(y_c)
        neg_z = torch.neg(z)
        exp_neg_z = torch.exp(neg_z)
        one_minus = neg_z.expm1_().neg_()  # 1 - e^{-z}, accurate for small z
        near = torch.log(one_minus).add_(y_c.sub_(y).neg_())
        far = torch.neg(exp_neg_z).log1p_()
        return torch.where(z < _LN2, near, far), z, exp_neg_z, one_minus

    @staticmethod
    def setup_context(ctx: object, inputs: tuple[Tensor], output: tuple[Tensor, ...]) -> None:
        _, z, exp_neg_z, one_minus = output
        ctx.save_for_backward(z, exp_neg_z, one_minus)  # type: ignore[attr-defined]
        ctx.mark_non_differentiable(z, exp_neg_z, one_minus)  # type: ignore[attr-defined]

    @staticmethod
    def backward(ctx: object, grad: Tensor, *_: Tensor) -> Tensor:
        z, exp_neg_z, one_minus = ctx.saved_tensors  # type: ignore[attr-defined]
        return z * exp_neg_z / one_minus * grad


def _exp_cap(dtype: torch.dtype) -> float:
    """The largest number of ``dtype``, a few steps below ``log(max)``, whose ``exp`` is finite.

    ``math.log(max)`` itself rounds *up* in float32 (88.722839 -> 88.7228394), and
    ``exp`` of it is ``inf``; the cap is rounded down and stepped down four more numbers of the
    dtype, a margin for ``exp`` implementations that round differently (CUDA).
    """
    cap = torch.tensor(math.log(torch.finfo(dtype).max), dtype=torch.float64).to(dtype)
    down = torch.tensor(-math.inf, dtype=dtype)
    for _ in range(4):
        cap = torch.nextafter(cap, down)
    while torch.isinf(torch.exp(cap.to(_working_dtype(cap)))):
        cap = torch.nextafter(cap, down)
    return cap.item()


def log_max(dtype: torch.dtype) -> float:
    r"""The largest number of ``dtype`` whose ``exp`` is finite (:math:`\log M` rounded down,
    ``M`` the dtype's largest finite number): the cap of :func:`exp_capped`."""
    cap = _EXP_CAPS.get(dtype)
    return cap if cap is not None else _exp_cap(dtype)


def log_tiny(dtype: torch.dtype) -> float:
    r""":math:`\log t`, ``t`` the smallest normal number of ``dtype``."""
    return math.log(torch.finfo(dtype).tiny)


def exp_capped(x: Tensor) -> Tensor:
    r""":math:`e^{\min(x, \log M)}` with ``M`` the dtype's largest finite number.

    Used for an exponential *inside* another function (e.g. ``log1mexp(-2 exp(-v))``): the
    exponential then never becomes ``inf``, so the chain rule never forms ``0 * inf = NaN``
    where the outer function is flat; the outer function sees a huge finite argument instead
    of ``inf`` (the emitter checks that the composite still has the right value).
    """
    return torch.exp(x.clamp_max(log_max(x.dtype)))


def expm1_capped(x: Tensor) -> Tensor:
    r""":math:`e^{\min(x, \log M)} - 1`, see :func:`exp_capped`."""
    return torch.expm1(x.clamp_max(log_max(x.dtype)))


def xlogy(x: Tensor, y: Tensor) -> Tensor:
    r""":math:`x \log y` with :math:`0 \log y = 0` (also for ``y = 0``), as ``torch.xlogy``."""
    return torch.xlogy(x, y)


#: the near class of the log-ratio kernels (``kl``, ``reverse_kl``, ``jeffrey``, ``js``, ``gan``):
#: :math:`|z| < 1/8` with :math:`z = (p - q)/(p + q)`, i.e. :math:`p/q \in (7/9, 9/7)`
NEAR_Z = 0.125
#: :math:`2/(2k + 3)`, ``k < 8``: on :math:`y \le 1/64` the first omitted term is
#: :math:`2 y^8/19 \le 3.7 \cdot 10^{-16}` of the sum's leading :math:`2/3` (an ulp is
#: :math:`1.1 \cdot 10^{-16}`), and it enters the kernels multiplied by :math:`|z|/3 \le 1/24`
_ATANH_ODD = tuple(2.0 / (2 * k + 3) for k in range(8))
#: :math:`1/((k + 1)(2k + 1))`, ``k < 8``: the first omitted term is
#: :math:`y^8/153 \le 2.3 \cdot 10^{-17}` of the leading ``1``
_MIXTURE = tuple(1.0 / ((k + 1) * (2 * k + 1)) for k in range(8))


def _horner(y: Tensor, coefficients: tuple[float, ...], inplace: bool) -> Tensor:
    """``sum c_k y^k`` by Horner's rule; ``inplace``: on one fresh tensor (same roundings, so
    the same bits), for callers that autograd does not record."""
    if inplace:
        out = torch.mul(y, coefficients[-1]).add_(coefficients[-2])
        for c in reversed(coefficients[:-2]):
            out.mul_(y).add_(c)
        return out
    out = y * coefficients[-1] + coefficients[-2]
    for c in reversed(coefficients[:-2]):
        out = out * y + c
    return out


def atanh_odd_series(y: Tensor, inplace: bool = False) -> Tensor:
    r""":math:`2(\operatorname{atanh} z - z)/z^3 = \sum_{k \ge 0} 2 y^k / (2k + 3)` for
    :math:`y = z^2 \le 1/64` (:data:`NEAR_Z`), to float64 rounding (8 terms).

    With it :math:`\log(p/q) = 2 \operatorname{atanh} z = z (2 + y\, S)` keeps its relative
    accuracy next to ``p = q`` (``log p - log q`` loses :math:`|\log p|/|z|` ulps), and
    :math:`p \log(p/q) - p + q = y \big(p + q + p z S\big)` has no cancellation
    (:math:`(1 + x)\operatorname{log1p}(x) - x \approx x^2/2` loses ``2/|x|`` ulps).
    """
    return _horner(y, _ATANH_ODD, inplace)


def mixture_series(y: Tensor, inplace: bool = False) -> Tensor:
    r""":math:`\psi(z)/z^2 = \sum_{k \ge 0} y^k / ((k + 1)(2k + 1))` for :math:`y = z^2 \le 1/64`,
    with :math:`\psi(z) = (1 + z)\operatorname{log1p}(z) + (1 - z)\operatorname{log1p}(-z)`
    (8 terms, all positive): ``js``'s terms are :math:`\tfrac14 (p + q)\, \psi(z)`,
    ``z = (p - q)/(p + q)``, which every closed form computes as a difference of terms of size
    :math:`|z|`."""
    return _horner(y, _MIXTURE, inplace)


def _working_dtype(x: Tensor) -> torch.dtype:
    return working_dtype(x.dtype)


#: :func:`_exp_cap` of each floating dtype, as Python floats (compiled code only reads them; no
#: torch work at import). ``tests/test_stable.py`` recomputes them with :func:`_exp_cap`.
_EXP_CAPS = {
    torch.float64: float.fromhex("0x1.62e42fefa39ebp+9"),  # 709.7827128933835
    torch.float32: float.fromhex("0x1.62e428p+6"),  # 88.72280883789062
    torch.float16: float.fromhex("0x1.62p+3"),  # 11.0625
    torch.bfloat16: float.fromhex("0x1.5ap+6"),  # 86.5
}


def _omega_log_guess(y: Tensor) -> Tensor:
    """Initial guess for ``L`` with ``expm1(L) + L = y`` (within 10 %; see :func:`omega_log`)."""
    z = y + 1.0
    # y -> -oo: e^L -> 0 and L = z - e^L ~ z - e^z
    small = z - torch.exp(z.clamp_max(0.0))
    # y -> +oo: omega(z) ~ z - log z + log(z)/z (Corless et al. 1996, Eq. 4.20)
    zb = z.clamp_min(2.0)
    log_z = torch.log(zb)
    big = torch.log(zb - log_z + log_z / zb)
    # near y = 0 (L = 0): L = y/2 - y^2/16 + y^3/192 + ...
    middle = y * (0.5 - y * (1.0 / 16.0 - y / 192.0))
    return torch.where(y < -2.0, small, torch.where(y > 1.0, big, middle))


def _omega_log_detached(y: Tensor) -> Tensor:
    r"""Solve :math:`\psi(L) = e^L - 1 + L - y = 0` by Halley's method, without autograd.

    Halley's step :math:`\delta / (1 - \delta \psi''/(2\psi'))` with :math:`\delta = \psi/\psi'`
    is written with :math:`\psi''/\psi' = \sigma(L)` and, for ``L > 1``, with ``exp(-L)`` so that
    nothing overflows even at ``y = 1.7e308`` (``L = 709.8``).
    """
    y = y.detach()
    big_y = torch.isinf(y) & (y > 0)
    y_work = torch.where(torch.isfinite(y), y, 0.0)
    lw = _omega_log_guess(y_work)
    for _ in range(_HALLEY_STEPS):
        large = lw > 1.0
        # psi / psi' for L <= 1: (expm1(L) + L - y) / (e^L + 1)
        lw_low = lw.clamp_max(1.0)
        low = (torch.expm1(lw_low) + lw_low - y_work) / (torch.exp(lw_low) + 1.0)
        # for L > 1, divided through by e^L: (1 - (1 + y - L) e^{-L}) / (1 + e^{-L})
        e_neg = torch.exp(-lw.clamp_min(1.0))
        high = (1.0 - (1.0 + y_work - lw) * e_neg) / (1.0 + e_neg)
        delta = torch.where(large, high, low)
        lw = lw - delta / (1.0 - 0.5 * delta * torch.sigmoid(lw))
    lw = torch.where(big_y, torch.inf, lw)
    return torch.where(torch.isinf(y) & (y < 0), -torch.inf, torch.where(torch.isnan(y), y, lw))


def omega_log(y: Tensor) -> Tensor:
    r"""The logarithm of the Wright omega function: the real ``L`` with :math:`e^L - 1 + L = y`.

    Equivalently :math:`e^{L} = W(e^{y + 1})` (principal Lambert W). The function is increasing,
    :math:`L \approx y/2` near ``0``, :math:`L \approx y + 1 - e^{y+1}` for ``y -> -oo`` and
    :math:`L \approx \log(y + 1 - \log(y + 1))` for ``y -> +oo``; it is finite for every finite
    ``y``, where ``W(e^{y+1})`` itself would overflow.

    Computation: a piecewise initial guess (series at ``0``, asymptotic expansions at both ends),
    then a fixed number of Halley steps in a working precision of at least float32, detached
    from autograd. The gradient is attached by one exact implicit-function step,

    .. math:: \frac{dL}{dy} = \frac{1}{e^L + 1} = \sigma(-L),

    so the value is the converged iterate and the derivative is exact (first order only: the
    second derivative through this function is not provided).
    """
    work = _working_dtype(y)
    yw = y.to(work)
    lw = _omega_log_detached(yw)
    finite = torch.isfinite(yw)
    dy = torch.where(finite, yw, 0.0) - torch.where(finite, yw, 0.0).detach()
    slope = torch.sigmoid(-lw).detach()
    return (lw + dy * slope).to(y.dtype)


def _lambertw_small_detached(x: Tensor) -> Tensor:
    """``W(x)`` for ``-1/e <= x <= 3`` by Halley's method on ``w e^w = x`` (no autograd)."""
    x = x.detach().clamp(-_INV_E, 3.0)
    # branch-point series in p = sqrt(2 (e x + 1)) (Corless et al. 1996, Eq. 4.22)
    p = torch.sqrt((2.0 * (math.e * x + 1.0)).clamp_min(0.0))
    near_branch = -1.0 + p * (1.0 - p * (1.0 / 3.0 - p * (11.0 / 72.0)))
    # Winitzki's uniform approximation W ~ l (1 - log1p(l) / (2 + l)), l = log1p(x)
    lg = torch.log1p(x.clamp_min(-0.3))
    uniform = lg * (1.0 - torch.log1p(lg) / (2.0 + lg))
    w = torch.where(x < -0.3, near_branch, uniform)
    for _ in range(_HALLEY_STEPS_W):
        ew = torch.exp(w)
        fw = w * ew - x
        wp1 = w + 1.0
        denom = ew * wp1 - (w + 2.0) * fw / (2.0 * wp1)
        step = torch.where(denom != 0, fw / torch.where(denom != 0, denom, 1.0), 0.0)
        w = w - step
    return w.clamp_min(-1.0)


def lambertw(x: Tensor) -> Tensor:
    r"""Principal branch :math:`W_0(x)` of Lambert W for real ``x >= -1/e`` (``NaN`` below).

    For ``x > 3``, :math:`W(x) = e^{L}` with :math:`L = \omega_{\log}(\log x - 1)` (no overflow
    for any finite ``x``); for ``-1/e <= x <= 3``, Halley's iteration on :math:`w e^w = x` from the
    branch-point series (``x < -0.3``) or Winitzki's approximation, which keeps the relative
    accuracy for tiny ``|x|``. The derivative :math:`W'(x) = 1 / (e^{W} (1 + W))` is attached by
    one exact implicit step (infinite at the branch point ``x = -1/e``).
    """
    work = _working_dtype(x)
    xw = x.to(work)
    large = xw > 3.0
    log_x = torch.log(torch.where(large, xw, 3.0))
    w_large = torch.exp(omega_log(log_x - 1.0))
    x_small = torch.where(large, 0.0, xw)
    w_small = _lambertw_small_detached(x_small)
    slope = (1.0 / (torch.exp(w_small) * (1.0 + w_small))).detach()
    w_small = w_small + (x_small - x_small.detach()) * slope
    w = torch.where(large, w_large, w_small)
    return torch.where(xw < -_INV_E, torch.nan, w).to(x.dtype)
