r"""Hand-fused perspective kernels: the :class:`Kernel` object and :func:`register_kernel`.

A kernel computes the perspective :math:`q f(p/q)` of one divergence in closed form in ``p`` and
``q`` (no ratio that could overflow, fewer passes over the data than the emitted perspective).
It is attached to its registry entry with :func:`register_kernel`, next to the entry::

    @register_kernel(MY_ENTRY)
    def _mine(p, q):
        return ...  # q f(p/q), element-wise, 0 f(0/0) = 0, +inf where infinite, never NaN

:func:`divergences.numeric.discrete.divergence` then uses it for that entry (and its
parameters); every other divergence uses the emitted perspective. ``docs/extending.md`` has a
worked example.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from divergences.registry import Entry

__all__ = ["Kernel", "register_kernel"]


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


def register_kernel(
    entry: Entry,
    *,
    scale: float = 1.0,
    linear: float = 0.0,
    inplace_terms: Callable[[Tensor, Tensor], Tensor] | None = None,
    inplace_sign: float = 1.0,
    rescale: bool = False,
) -> Callable[[Callable[[Tensor, Tensor], Tensor]], Callable[[Tensor, Tensor], Tensor]]:
    r"""Decorator: attach ``terms`` as the hand kernel of ``entry`` (see :class:`Kernel`).

    .. math:: q f(p/q) = \text{scale} \cdot \text{terms}(p, q) + \text{linear} \cdot (p + q)

    Only for an entry without parameters (a family's kernel depends on its parameters: attach a
    factory with :meth:`divergences.registry.Entry.attach_kernel`). Returns ``terms`` unchanged.

    Raises:
        ValueError: the entry has parameters or already has a kernel.
    """

    def decorator(terms: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
        if entry.parameters:
            raise ValueError(
                f"divergence {entry.name!r} has parameters: attach a kernel factory with "
                "entry.attach_kernel(factory)"
            )
        kernel = Kernel(terms, scale, linear, inplace_terms, inplace_sign, rescale)
        entry.attach_kernel(lambda: kernel)
        return terms

    return decorator
