r"""The one-pass means of the f-GAN losses: :class:`AffineTerm` and its autograd Functions.

An f-GAN loss is a difference of means of element-wise terms :math:`h(v) = a + b\, G(v)` (the
activation and :math:`f^* \circ g_f` of :mod:`divergences.numeric.emit`). The emitter decides the
split ``(a, b, G)`` symbolically; this module computes the means in one pass over the data,
accurately (a constant added once, exponential means that overflow only if their value does, a
centred softplus mean accurate next to zero) and with closed-form backward passes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from divergences.numeric.stable import softplus_threshold

__all__ = ["AffineTerm"]


@dataclass(frozen=True)
class AffineTerm:
    r"""An element-wise function written :math:`h(v) = a + b\, G(v)` with numbers ``a``, ``b``.

    ``mean(v)`` computes :math:`a + b \cdot \overline{G(v)}`: the constant is added once to the
    mean instead of to every element, which saves two passes over the data and keeps the
    rounding error of the mean at a few ulps of :math:`|a| + |b \overline{G}|`. Where
    :math:`a = -b` and :math:`G = e^{H}`, the split is :math:`b \operatorname{expm1}(H)` instead
    (``_affine_split`` in :mod:`divergences.numeric.emit.emitted`), so the mean keeps its
    relative accuracy next to :math:`H = 0`
    (``neyman``, ``squared_hellinger``: :math:`1 - e^{-v}` is :math:`-\operatorname{expm1}(-v)`),
    and where :math:`a = -b \log 2` and :math:`G = \operatorname{softplus}(H)` (``js``), the core is
    :math:`\operatorname{softplus}(H) - \log 2` and its mean is :class:`_MeanCentredSoftplus`
    (``kind`` ``"softplus_centred"``), accurate next to :math:`H = 0`.

    When :math:`G = e^{H}` or :math:`G = \operatorname{expm1}(H)` (``kind`` ``"exp"`` or
    ``"expm1"``), ``log_core`` computes ``H`` and the mean is formed by :class:`_MeanExp`, finite
    whenever it is representable (a batch ``[-710, 0, ..., 0]`` of ``reverse_kl`` critic scores,
    where :math:`e^{710}` alone overflows float64 but its mean over 22 scores does not).
    :meth:`log_magnitude` gives :math:`\log |b\, \overline{G}|` even where the mean overflows
    (used to decide the sign of ``inf - inf`` in a difference of two means).
    """

    constant: float
    factor: float
    core: Callable[[Tensor], Tensor]
    log_core: Callable[[Tensor], Tensor] | None = None
    kind: str | None = None
    #: ``kind == "exp"``: :math:`H` = ``log_core(v) + log_offset``, the constant applied inside the
    #: one-pass mean (``kl``'s :math:`e^{v - 1}` needs no pass to form :math:`v - 1`)
    log_offset: float = 0.0

    def __call__(self, v: Tensor) -> Tensor:
        out = self.core(v)
        if self.factor != 1.0:
            out = out * self.factor
        return out + self.constant if self.constant != 0.0 else out

    def mean(self, v: Tensor) -> Tensor:
        if self.log_core is None or self.kind is None:
            out = self.core(v).mean()
        elif self.kind == "softplus_centred":
            out = _MeanCentredSoftplus.apply(self.log_core(v).reshape(-1))
        else:
            out, _ = self._mean_exp(v)
        return self._affine(out)

    def mean_and_log_magnitude(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`mean` and :meth:`log_magnitude` from one pass over the data (the core must be
        exponential; the log-magnitude is meaningful where the mean overflows)."""
        out, log_mean = self._mean_exp(v)
        return self._affine(out), log_mean + math.log(abs(self.factor))

    def _mean_exp(self, v: Tensor) -> tuple[Tensor, Tensor]:
        """The mean of the exponential core and its logarithm (:class:`_MeanExp`)."""
        if self.log_core is None or not self.exponential:
            raise ValueError("log_magnitude needs a core of the form exp(H) or expm1(H)")
        h = self.log_core(v).reshape(-1)
        return _MeanExp.apply(h, self.kind == "expm1", self.log_offset)

    def _affine(self, mean_core: Tensor) -> Tensor:
        out = mean_core * self.factor if self.factor != 1.0 else mean_core
        return out + self.constant if self.constant != 0.0 else out

    @property
    def exponential(self) -> bool:
        r""":math:`G` is :math:`e^{H}` or :math:`\operatorname{expm1}(H)`: its mean may overflow."""
        return self.log_core is not None and self.kind in ("exp", "expm1")

    def log_magnitude(self, v: Tensor) -> Tensor:
        r""":math:`\log|b| + \log \frac1N \sum_i e^{H_i}`, the size of an overflowing mean (the
        core must be exponential); see :meth:`mean_and_log_magnitude`."""
        return self.mean_and_log_magnitude(v)[1]


class _MeanExp(torch.autograd.Function):
    r""":math:`\frac1N \sum_i e^{h_i}` (or :math:`\frac1N \sum_i \operatorname{expm1}(h_i)`) over
    the last dimension, finite whenever it is representable, in one pass over the data (with
    ``offset`` ``c``, :math:`\frac1N \sum_i e^{h_i + c}`: ``h + c`` is formed in that same pass):

    .. math::

        \frac1N \sum_i e^{h_i} = e^{s}\, \frac1N \sum_i e^{h_i - s}, \qquad
        \frac1N \sum_i \operatorname{expm1}(h_i)
            = e^{s}\, \frac1N \sum_i \operatorname{expm1}(h_i - s) + \operatorname{expm1}(s),

    with the shift :math:`s = \max(0, \max_i h_i - \ell)` and :math:`\ell = \log M - \log N - 1`
    (``M`` the dtype's largest number): no term :math:`e^{h_i - s} \le e^{\ell}` and no partial
    sum can overflow, and the result overflows only if the mean does (it is then at least
    :math:`e^{\max h}/N`; where :math:`e^{s}` itself overflows the result is ``inf`` directly).
    In the usual case :math:`s = 0` the sum is the direct one, so the
    ``expm1`` form keeps its relative accuracy next to :math:`h = 0`. The choice is arithmetic, not
    a branch: no host synchronisation. The gradient :math:`e^{h_i - \log N}` is computed per
    element (finite where it is representable, never ``0 * inf``). The second output,
    :math:`s + \log \frac1N \sum_i e^{h_i - s}` (``log1p`` of the shifted ``expm1`` mean), is the
    logarithm of the mean where it overflows (not differentiable; see
    :meth:`AffineTerm.mean_and_log_magnitude`).
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(h: Tensor, minus_one: bool, offset: float) -> tuple[Tensor, Tensor]:
        limit = _direct_limit(h)
        top = torch.finfo(h.dtype).max
        shift = (h.amax(-1, keepdim=True) + offset - limit).clamp(0.0, top)[..., 0]
        scale = torch.exp(shift)
        if minus_one:  # (offset 0, see AffineTerm.log_offset)
            shifted = torch.sub(h, shift.unsqueeze(-1)).expm1_().mean(-1)
            mean = shifted * scale + torch.expm1(shift)
            log_mean = shift + torch.log1p(shifted)
        else:
            shifted = torch.sub(h, (shift - offset).unsqueeze(-1)).exp_().mean(-1)
            mean = shifted * scale
            log_mean = shift + torch.log(shifted)
        # e^s = inf: the mean is at least e^{max h}/N, also inf (h - s may have lost all its
        # digits to the rounding of s, e.g. 0 for h = 1e300, so the product can be 0 * inf)
        return torch.where(torch.isinf(scale), math.inf, mean), log_mean

    @staticmethod
    def setup_context(
        ctx: object, inputs: tuple[Tensor, bool, float], output: tuple[Tensor, Tensor]
    ) -> None:
        ctx.save_for_backward(inputs[0])  # type: ignore[attr-defined]
        ctx.offset = inputs[2]  # type: ignore[attr-defined]
        ctx.mark_non_differentiable(output[1])  # type: ignore[attr-defined]

    @staticmethod
    def backward(ctx: object, grad: Tensor, _: Tensor) -> tuple[Tensor, None, None]:
        (h,) = ctx.saved_tensors  # type: ignore[attr-defined]
        slope = torch.sub(h, math.log(h.shape[-1]) - ctx.offset).exp_()  # type: ignore[attr-defined]
        return slope.mul_(grad.unsqueeze(-1)), None, None


class _MeanCentredSoftplus(torch.autograd.Function):
    r""":math:`\frac1N \sum_i \big(\operatorname{softplus}(h_i) - \log 2\big)` over the last
    dimension, to a few ulps of the result also where it is close to ``0`` (``h ~ 0``):

    .. math::

        \operatorname{softplus}(h) - \log 2 = \log\frac{1 + e^{h}}{2}
            = \operatorname{log1p}\big(\tfrac12 \operatorname{expm1}(m)\big) + (h - m),
        \qquad m = \min(h, c),

    exact for :math:`h \le c`; above, the dropped :math:`\log(1 + e^{-h}) - \log(1 + e^{-c})`
    is below :math:`e^{-c}`, under half an ulp of the result for ``c`` the threshold of
    :func:`.stable.softplus` (37 in float64, 20 in float32 and below). No
    overflow for any finite ``h``; for :math:`h \to -\infty` the value tends to
    :math:`\operatorname{log1p}(-\tfrac12) = -\log 2` without cancellation. One fused pass
    forward (in place) and one backward, the derivative :math:`\sigma(h_i)/N`: as fast as the
    plain ``softplus(h).mean() - log 2``, whose hoisted constant cancels next to ``h = 0``
    (1e7 ulps of the mean at ``h = 1e-8``).
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(h: Tensor) -> Tensor:
        cut = softplus_threshold(h.dtype)
        near = h.clamp_max(cut).expm1_().mul_(0.5).log1p_().sum(-1)
        far = torch.sub(h, cut).clamp_min_(0.0).sum(-1)
        return (near + far) / h.shape[-1]

    @staticmethod
    def setup_context(ctx: object, inputs: tuple[Tensor], output: Tensor) -> None:
        ctx.save_for_backward(inputs[0])  # type: ignore[attr-defined]

    @staticmethod
    def backward(ctx: object, grad: Tensor) -> Tensor:
        (h,) = ctx.saved_tensors  # type: ignore[attr-defined]
        return torch.sigmoid(h).mul_((grad / h.shape[-1]).unsqueeze(-1))


def _direct_limit(h: Tensor) -> float:
    """Below this, ``exp(h)`` summed over the last dimension cannot overflow."""
    return math.log(torch.finfo(h.dtype).max) - math.log(h.shape[-1]) - 1.0
