r"""One-pass means of exponentials of an affine score, :math:`\frac1N \sum_i e^{s v_i + c}` and
:math:`\frac1N \sum_i \operatorname{expm1}(s v_i + c)`, with closed-form backward passes.

These are the exponential terms of the f-GAN losses (``kl``: :math:`e^{v - 1}`; ``reverse_kl``,
``alpha``, ``js_weighted``: :math:`e^{\pm v}`; ``neyman`` and ``squared_hellinger``:
:math:`\operatorname{expm1}(-v/2)`, :math:`\operatorname{expm1}(\pm v)`), with the slope ``s`` and
intercept ``c`` read from the emitted symbolic term (:mod:`divergences.losses._plan`). The
contract is that of :class:`divergences.numeric.kernels.means.AffineTerm`'s exponential means:
the mean is finite whenever it is representable (a batch ``[-710, 0, ..., 0]`` of ``reverse_kl``
critic scores: :math:`e^{710}` alone overflows float64, its mean over 22 scores does not), the
``expm1`` form keeps its relative accuracy next to :math:`s v + c = 0`, and the gradient
:math:`s\, e^{s v_i + c} / N` is finite wherever it is representable, never ``0 * inf``.

Three ways compute it, with the same value up to rounding (:mod:`divergences.numeric.host`):

* direct (:class:`_DirectExpMean`, plain eager CPU tensors): the plain sum of :math:`e^{h_i}`,
  formed in place on one fresh tensor, which is kept for the backward (a ``mul``, no second
  exponential); one host read decides whether that sum is finite, and where it is not, the
  shifted sum below runs instead. The ``expm1`` form keeps nothing (its backward needs
  :math:`e^{h}`, which :math:`1 + \operatorname{expm1}(h)` gives inaccurately for
  :math:`h < -\log 2`) and recomputes the exponential;
* compiled on a CPU tensor (:class:`_GeneralExpMean` under ``torch.compile``): the plain sum
  and ``torch.cond`` on its finiteness, so the shifted sum runs only where the plain one
  overflowed (one pass over the data, not two: the read of the maximum cost 10 % of a
  compiled forward+backward on 10^6 float32 scores);
* general (:class:`_GeneralExpMean`: ``torch.func`` transforms, meta tensors, accelerators,
  where neither a host read nor a ``torch.cond`` on device data is wanted): the shifted sum of
  :math:`e^{h_i - \sigma}`, :math:`\sigma = \max(0, \max_i h_i - \ell)`,
  :math:`\ell = \log M - \log N - 1` (``M`` the dtype's largest number): no term exceeds
  :math:`e^{\ell}` and no partial sum overflows. Where :math:`\sigma = 0` it is the plain sum.

The compiled and general backward recompute :math:`s\, e^{h_i - \log N}` (finite wherever the
gradient is representable, the :math:`1/N` inside the exponential).

Cost on 10^6 float32 scores, one thread (``benchmarks/bench_fgan_losses.py``): the direct path
makes one fresh tensor and one exponential forward and one fresh tensor backward, against
``torch.exp(v - 1).mean()``'s four fresh tensors.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from divergences.numeric.host import reads_on_host

__all__ = ["exp_mean"]


def exp_mean(v: Tensor, slope: float, intercept: float, minus_one: bool) -> tuple[Tensor, Tensor]:
    r"""``(mean, log_mean)``: :math:`\frac1N \sum_i G(s v_i + c)` over all elements of ``v`` with
    :math:`G = \exp` (or :math:`\operatorname{expm1}` with ``minus_one``), and the logarithm of
    :math:`\frac1N \sum_i e^{s v_i + c}`, finite where the mean overflows (not differentiable).

    ``v``: float32/float64 scores, any non-empty shape; both results are 0-dimensional.
    """
    flat = v.reshape(-1)
    if reads_on_host(flat):
        mean, log_mean, _ = _DirectExpMean.apply(flat, slope, intercept, minus_one)
    else:
        mean, log_mean = _GeneralExpMean.apply(flat, slope, intercept, minus_one)
    return mean, log_mean


def _affine(v: Tensor, slope: float, intercept: float) -> Tensor:
    """``slope * v + intercept`` as a fresh tensor (one rounding for ``slope = +-1``)."""
    if slope == 1.0:
        return torch.add(v, intercept) if intercept != 0.0 else v.clone()
    if slope == -1.0:
        return torch.rsub(v, intercept)
    out = torch.mul(v, slope)
    return out.add_(intercept) if intercept != 0.0 else out


def _direct_limit(h: Tensor) -> float:
    """Below this, ``exp(h)`` summed over the last dimension cannot overflow."""
    return math.log(torch.finfo(h.dtype).max) - math.log(h.shape[-1]) - 1.0


def _shifted_mean(h: Tensor, minus_one: bool) -> tuple[Tensor, Tensor]:
    r"""``(mean, log_mean)`` of :math:`G(h)` by the shifted sum (module docstring); with
    :math:`\sigma` the shift,

    .. math::

        \frac1N \sum_i e^{h_i} = e^{\sigma}\, \frac1N \sum_i e^{h_i - \sigma}, \qquad
        \frac1N \sum_i \operatorname{expm1}(h_i)
            = e^{\sigma}\, \frac1N \sum_i \operatorname{expm1}(h_i - \sigma)
              + \operatorname{expm1}(\sigma);

    where :math:`e^{\sigma}` itself overflows the mean is at least :math:`e^{\max h}/N`: ``inf``
    (``h - s`` may have lost all its digits to the rounding of ``s``, so the product is not
    used). The choice is arithmetic, not a branch. ``h`` is not modified."""
    top = torch.finfo(h.dtype).max
    shift = (h.amax(-1, keepdim=True) - _direct_limit(h)).clamp(0.0, top)[..., 0]
    scale = torch.exp(shift)
    shifted_h = torch.sub(h, shift.unsqueeze(-1))
    if minus_one:
        shifted = shifted_h.expm1_().mean(-1)
        mean = shifted * scale + torch.expm1(shift)
        log_mean = shift + torch.log1p(shifted)
    else:
        shifted = shifted_h.exp_().mean(-1)
        mean = shifted * scale
        log_mean = shift + torch.log(shifted)
    return torch.where(torch.isinf(scale), math.inf, mean), log_mean


def _plain_mean(total: Tensor, n: int, minus_one: bool) -> tuple[Tensor, Tensor]:
    """``(mean, log_mean)`` from a finite plain sum of ``n`` terms."""
    mean = total / n
    return mean, torch.log1p(mean) if minus_one else torch.log(mean)


def _branches(slope: float, intercept: float, minus_one: bool) -> tuple:
    """The two branches of ``torch.cond``, pure functions of ``(total, v)`` (the shifted one
    forms ``s v + c`` again: passing it would make the compiled forward write it out)."""

    def plain(total: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        return _plain_mean(total, v.shape[-1], minus_one)

    def shifted(total: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        return _shifted_mean(_affine(v, slope, intercept), minus_one)

    return plain, shifted


def _general_forward(
    v: Tensor, slope: float, intercept: float, minus_one: bool
) -> tuple[Tensor, Tensor]:
    """The mean without a host read: under ``torch.compile`` on a CPU tensor, the plain sum
    and ``torch.cond`` on its finiteness (the shifted sum runs only where the plain one
    overflowed: one pass over the data instead of two); elsewhere the shifted sum."""
    if torch.compiler.is_compiling() and v.device.type == "cpu":
        h = _affine(v, slope, intercept)
        total = (torch.expm1(h) if minus_one else torch.exp(h)).sum(-1)
        branches = _branches(slope, intercept, minus_one)
        return torch.cond(torch.isfinite(total), *branches, (total, v))
    return _shifted_mean(_affine(v, slope, intercept), minus_one)


def _general_backward(v: Tensor, slope: float, intercept: float, grad: Tensor) -> Tensor:
    r""":math:`s\, e^{s v_i + c - \log N}` times ``grad``: representable wherever the gradient is
    (the ``1/N`` is inside the exponential). Recorded by autograd under ``create_graph=True``
    (out of place: the second derivative is that of this expression), in place otherwise."""
    n = v.shape[-1]
    scale = (grad * slope).unsqueeze(-1)
    if torch.is_grad_enabled():
        return torch.exp(v * slope + (intercept - math.log(n))) * scale
    return _affine(v, slope, intercept - math.log(n)).exp_().mul_(scale)


class _GeneralExpMean(torch.autograd.Function):
    """The shifted mean, no host read (see the module docstring)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(
        v: Tensor, slope: float, intercept: float, minus_one: bool
    ) -> tuple[Tensor, Tensor]:
        return _general_forward(v, slope, intercept, minus_one)

    @staticmethod
    def setup_context(ctx: object, inputs: tuple, output: tuple[Tensor, Tensor]) -> None:
        ctx.save_for_backward(inputs[0])  # type: ignore[attr-defined]
        ctx.line = inputs[1:3]  # type: ignore[attr-defined]
        ctx.set_materialize_grads(False)  # type: ignore[attr-defined]
        ctx.mark_non_differentiable(output[1])  # type: ignore[attr-defined]

    @staticmethod
    def backward(ctx: object, grad: Tensor, _: Tensor) -> tuple[Tensor, None, None, None]:
        (v,) = ctx.saved_tensors  # type: ignore[attr-defined]
        if grad is None:  # the mean was not used (grads are not materialised)
            return None, None, None, None
        return _general_backward(v, *ctx.line, grad), None, None, None  # type: ignore[attr-defined]


class _DirectExpMean(torch.autograd.Function):
    """The plain sum, one host read (see the module docstring); third output: the exponentials
    kept for the backward (empty where the backward recomputes them)."""

    @staticmethod
    def forward(
        v: Tensor, slope: float, intercept: float, minus_one: bool
    ) -> tuple[Tensor, Tensor, Tensor]:
        terms = _affine(v, slope, intercept)
        terms = terms.expm1_() if minus_one else terms.exp_()
        total = terms.sum()
        if not math.isfinite(total.item()):
            mean, log_mean = _shifted_mean(_affine(v, slope, intercept), minus_one)
            return mean, log_mean, v.new_empty(0)
        mean, log_mean = _plain_mean(total, v.shape[-1], minus_one)
        return mean, log_mean, v.new_empty(0) if minus_one else terms

    @staticmethod
    def setup_context(ctx: object, inputs: tuple, output: tuple[Tensor, Tensor, Tensor]) -> None:
        kept = output[2]
        ctx.save_for_backward(kept, inputs[0])  # type: ignore[attr-defined]
        ctx.kept = bool(kept.numel())  # type: ignore[attr-defined]
        ctx.line = inputs[1:3]  # type: ignore[attr-defined]
        ctx.set_materialize_grads(False)  # type: ignore[attr-defined]
        ctx.mark_non_differentiable(output[1], kept)  # type: ignore[attr-defined]

    @staticmethod
    def backward(ctx: object, grad: Tensor, *_: Tensor) -> tuple[Tensor, None, None, None]:
        kept, v = ctx.saved_tensors  # type: ignore[attr-defined]
        slope, intercept = ctx.line  # type: ignore[attr-defined]
        if grad is None:  # the mean was not used (grads are not materialised)
            return None, None, None, None
        if ctx.kept and not torch.is_grad_enabled():  # type: ignore[attr-defined]
            return kept * (grad * (slope / kept.shape[-1])), None, None, None
        # recomputed (also under create_graph=True: kept is not differentiable)
        return _general_backward(v, slope, intercept, grad), None, None, None
