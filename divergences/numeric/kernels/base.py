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

from divergences.numeric.host import reads_on_host

if TYPE_CHECKING:
    from divergences.registry import Entry

__all__ = ["CERTIFIED", "Kernel", "fast_form_applies", "offset_sum", "register_kernel"]


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


_Centred = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
_Fast = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]

#: a row of a kernel's fast form is kept when its rounding-error bound is at most this many
#: machine epsilons of its value (16 eps: ``3.6e-15`` relative in float64, ``1.9e-6`` in float32)
CERTIFIED = 16


#: elements per block of the fast form by default (512 KB of float64 per temporary: within the
#: L2 cache); a kernel with fewer temporaries may take larger blocks (``fast_block``)
_BLOCK = 2**16


def fast_form_applies(p: Tensor, q: Tensor) -> bool:
    """Whether :meth:`Kernel.divergence` may take the fast form with its row-wise check.

    The check reads one flag per row on the host and recomputes the rows it rejects by indexing,
    so it runs on plain strided float32/float64 CPU tensors only: never on an accelerator (no
    host synchronisation there), under ``torch.compile`` or inside a ``torch.func`` transform
    (which need one graph without data-dependent control flow), or when autograd records the
    call (the centred terms have the accurate gradients).
    """
    return reads_on_host(p, q) and not _tracks_gradient(p, q)


def offset_sum(offset: float, q: Tensor) -> Tensor:
    r""":math:`f(1) \sum_x q` over the last dimension, with a sum within rounding of ``1``
    (``n`` eps for ``n`` outcomes) taken as exactly ``1``: for distributions the term is
    :math:`f(1)` itself, so ``D(P, P)`` is exactly ``f(1)`` (``gan``: ``-log 4``), while a sum of
    an unnormalised ``q`` (``validate=False``) keeps its perspective :math:`\sum q f(p/q)`."""
    total = q.sum(-1)
    rounding = max(q.shape[-1], 1) * torch.finfo(q.dtype).eps
    return offset * torch.where((total - 1.0).abs() <= rounding, 1.0, total)


@dataclass(frozen=True)
class Kernel:
    r"""The perspective of one registered generator, split so the reduction does less work.

    .. math::

        q f(p/q) = \text{scale} \cdot \text{terms}(p, q) + \text{linear} \cdot (p + q)

    Calling a kernel gives the element-wise :math:`q f(p/q)`; :meth:`reduce` gives the sum over
    the last dimension with ``scale`` and ``linear`` applied once to the sums (of the terms, of
    ``p`` and of ``q``) instead of to every element.

    :meth:`divergence` sums the non-negative centred terms instead
    (:mod:`divergences.numeric.discrete`),

    .. math::

        \sum_x q f(p/q) = \text{centred\_scale} \sum_x \text{centred}(p, q)
            + \text{slope} \sum_x (p - q) + \text{offset} \sum_x q,

    with ``centred`` returning :math:`q \hat h(p/q) / \text{centred\_scale} \ge 0`
    (:math:`\hat h(u) = f(u) - f(1) - f'(1)(u - 1)`) and the sum of the differences over the last
    dimension, ``slope`` :math:`= f'(1)` and ``offset`` :math:`= f(1)`. A kernel whose terms are
    already non-negative with ``f(1) = f'(1) = 0`` (``pearson``, ``total_variation``, ``js``)
    leaves ``centred`` unset: its divergence is :meth:`reduce`. ``centred_inplace`` is
    ``centred`` on fresh tensors reused in place, bit for bit (up to the sign of zeros), for calls
    autograd does not record; the recorded ones evaluate tiny pairs rescaled
    (:func:`_rescaled_inputs`: the near-class ratio ``(p - q)/(p + q)`` has a backward in
    ``(p + q)^2``).

    ``fast``, when given, is a cheaper form of the same divergence for the rows that do not need
    the centred terms' accuracy: it returns the row values and a bound on their rounding error
    (see the kernel's docstring for its derivation). On the CPU without autograd
    (:func:`fast_form_applies`) :meth:`divergence` keeps a row whose bound is at most
    :data:`CERTIFIED` eps of its value and recomputes the others (nearly equal distributions,
    ``P = Q``, non-finite values) from the centred terms. Most pairs of distributions are far
    enough apart that the fast form is kept: for ``kl`` it is one ``log`` per element instead of
    two plus the near-class series.

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
    centred: _Centred | None = None
    centred_inplace: _Centred | None = None
    centred_scale: float = 1.0
    slope: float = 0.0
    offset: float = 0.0
    fast: _Fast | None = None
    fast_block: int = _BLOCK

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

    def centred_terms(self, p: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
        r"""``(q \hat h(p/q), sum(p - q))``: the element-wise centred terms (``centred_scale``
        applied) and the sum of the differences over the last dimension."""
        if self.centred is None:
            terms = self(p, q)
            return terms, (p - q).sum(-1)
        tracked = _tracks_gradient(p, q)
        if self.centred_inplace is not None and not tracked:
            terms, diff = self.centred_inplace(p, q)
        elif tracked:
            ps, qs, factor = _rescaled_inputs(p, q)
            terms, diff = self.centred(ps, qs)
            if factor is not None:
                # the factor is per element: the differences are summed unscaled
                terms, diff = terms / factor, (p - q).sum(-1)
        else:
            terms, diff = self.centred(p, q)
        return (terms if self.centred_scale == 1.0 else terms * self.centred_scale), diff

    def divergence(self, p: Tensor, q: Tensor) -> Tensor:
        r""":math:`\sum_x q f(p/q)` over the last dimension, from the centred terms (see the class
        docstring): nothing cancels, and ``D(P, P)`` is exactly ``0``.

        With an ``offset`` :math:`f(1) \ne 0` (``gan``) the centred form would trade its accuracy
        next to :math:`D = 0` (nearly disjoint supports: :math:`\sum \hat h \approx -f(1)`
        cancels against :math:`f(1)`) for the one next to ``P = Q``, where the perspective's terms
        :math:`\approx f(1)\, q` do not cancel anyway; the sum of the terms is kept, and a row
        with ``p = q`` everywhere gives exactly :math:`f(1) \sum q` (:func:`offset_sum`: exactly
        ``f(1)`` for a distribution).

        With a ``fast`` form, on the CPU without autograd, rows are first computed by it and kept
        where its error bound certifies them (see the class docstring).
        """
        if self.fast is not None and fast_form_applies(p, q):
            return self._certified(p, q)
        return self._accurate(p, q)

    def _certified(self, p: Tensor, q: Tensor) -> Tensor:
        """The fast form's rows where its bound is within :data:`CERTIFIED` eps of the value,
        the centred sum elsewhere (host reads of the row flags; CPU only).

        Rows are taken in blocks of about ``fast_block`` elements: their temporaries stay in the
        cache and are recycled by the allocator, where whole-batch temporaries would each cost a
        fresh allocation (page faults) and a pass through memory (2-3x slower at
        ``1024 x 1000``), and a block's rejected rows are recomputed while they are in the
        cache. After a block whose rows were all rejected (e.g. a batch of nearby
        distributions), the next block goes straight to the centred sum; which form a row takes
        changes its value by at most the certified margin.
        """
        p, q = torch.broadcast_tensors(p, q)
        batch, outcomes = p.shape[:-1], p.shape[-1]
        p, q = p.reshape(-1, outcomes), q.reshape(-1, outcomes)
        out = p.new_empty(p.shape[0])
        step = max(1, self.fast_block // max(outcomes, 1))
        margin = CERTIFIED * torch.finfo(p.dtype).eps
        fast = True
        for start in range(0, p.shape[0], step):
            block = slice(start, start + step)
            p_block, q_block = p[block], q[block]
            if not fast:
                out[block] = self._accurate(p_block, q_block)
                fast = True
                continue
            value, bound = self.fast(p_block, q_block)
            rejected = ~(torch.isfinite(value) & (bound <= margin * value.abs()))
            if bool(rejected.any()):
                rows = rejected.nonzero().squeeze(-1)
                value[rows] = self._accurate(p_block[rows], q_block[rows])
                fast = not bool(rejected.all())
            out[block] = value
        return out.reshape(batch)

    def _accurate(self, p: Tensor, q: Tensor) -> Tensor:
        """The divergence from the centred terms (the ``offset`` rule for ``gan``)."""
        if self.offset:
            equal = (p == q).all(-1)
            return torch.where(equal, offset_sum(self.offset, q), self.reduce(p, q))
        if self.centred is None:
            return self.reduce(p, q)
        terms, diff = self.centred_terms(p, q)
        out = terms.sum(-1)
        return out + self.slope * diff if self.slope else out


def register_kernel(
    entry: Entry,
    *,
    scale: float = 1.0,
    linear: float = 0.0,
    inplace_terms: Callable[[Tensor, Tensor], Tensor] | None = None,
    inplace_sign: float = 1.0,
    rescale: bool = False,
    centred: _Centred | None = None,
    centred_inplace: _Centred | None = None,
    centred_scale: float = 1.0,
    slope: float = 0.0,
    offset: float = 0.0,
    fast: _Fast | None = None,
    fast_block: int = _BLOCK,
) -> Callable[[Callable[[Tensor, Tensor], Tensor]], Callable[[Tensor, Tensor], Tensor]]:
    r"""Decorator: attach ``terms`` as the hand kernel of ``entry`` (see :class:`Kernel`).

    .. math:: q f(p/q) = \text{scale} \cdot \text{terms}(p, q) + \text{linear} \cdot (p + q)

    ``centred``, ``centred_inplace``, ``centred_scale``, ``slope`` (:math:`f'(1)`) and ``offset``
    (:math:`f(1)`) give the divergence as a sum of non-negative terms (:meth:`Kernel.divergence`);
    ``fast`` is the optional cheaper form checked row by row, over blocks of about
    ``fast_block`` elements.

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
        kernel = Kernel(
            terms,
            scale,
            linear,
            inplace_terms,
            inplace_sign,
            rescale,
            centred,
            centred_inplace,
            centred_scale,
            slope,
            offset,
            fast,
            fast_block,
        )
        entry.attach_kernel(lambda: kernel)
        return terms

    return decorator
