r"""Torch functions emitted from an :class:`~divergences.FDivergence`'s derived expressions.

For any divergence, registered or built with ``FDivergence.from_generator``, :func:`emit` returns
an :class:`Emitted` object holding element-wise torch callables generated from the SymPy
expressions of the symbolic layer:

* ``generator(u)``: :math:`f(u)` for ``u >= 0`` (``u = 0`` gives the limit :math:`f(0^+)`, a
  piece of its own with gradient 0; ``u < 0`` gives ``NaN``);
* ``conjugate(t)``: :math:`f^*(t)`, ``+inf`` outside the conjugate's domain;
* ``activation(v)``: :math:`g_f(v)`, mapping every real ``v`` into the domain;
* ``conjugate_of_activation(v)``: :math:`f^*(g_f(v))`, composed and simplified *symbolically*
  before printing (``kl``: :math:`e^{v-1}`; ``reverse_kl``: :math:`v - 1`; ``gan``:
  :math:`\operatorname{softplus}(v)`; ``jeffrey``:
  :math:`\operatorname{expm1}(-L) - L` with :math:`L = \log W(e^{1-v})`), never the conjugate
  applied to an already rounded activation;
* ``optimal_critic(r)``: :math:`T^*(r) = f'(r)` for ``r >= 0`` (``r = 0`` gives :math:`f'(0^+)`,
  ``r < 0`` gives ``NaN``);
* ``perspective(p, q)``: :math:`q f(p/q)` with the conventions (Csiszár 1967; Liese and Vajda,
  *Convex Statistical Distances*, 1987)

  .. math::
      0 f(0/0) = 0, \qquad q f(0/q) = q f(0^+), \qquad
      0 f(p/0) = p \lim_{u\to\infty} f(u)/u,

  ``+inf`` where the limit is infinite and never ``NaN``, also in the gradient.

How each expression is printed:

1. a piecewise expression is split into branches with their regions (sets of the real line);
2. each branch gets candidate forms (SymPy's ``simplify``, ``factor``, ``expand_log``, ...),
   each passed through the stability rewrites of :mod:`._rewrite` (``log1p``, ``expm1``,
   ``softplus``, ``log1mexp``, ``xlogy``, Lambert W through the Wright omega function);
3. the candidate with the smallest float64 error against mpmath on a probe grid of the branch's
   region wins (:mod:`._select`); ties go to the cheaper form;
4. the branches are printed as torch source with the "double where" pattern
   (:mod:`._printer`) and compiled.

The chosen forms and their probe scores are cached on disk with the derivations
(:mod:`divergences.symbolic.cache`), so the search runs once per generator.

Every callable keeps the input's dtype and device (float16/bfloat16 are computed in float32 and
rounded once), does no host synchronisation, and works under ``torch.compile(fullgraph=True)``
and ``torch.func.grad``/``vmap``. Inputs are finite numbers: ``+-inf`` is outside the contract
(``f(inf)`` may be ``NaN``); the perspective handles ``p/q = inf`` by its limit.

``tests/numeric/test_emit.py`` checks every function against literature closed forms (mpmath)
to ``4 eps (|h(x)| + |x h'(x)|)`` in float64 (and the same bound with the dtype's eps in float32,
float16, bfloat16), the conjugate against a numeric supremum, and values and gradients for
``NaN``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import sympy as sp
import torch
from torch import Tensor

from divergences.symbolic.cache import cached
from divergences.symbolic.symbols import r, t, u, v

from ._primitives import expm1, softplus
from ._printer import Piece, compile_pieces
from ._rewrite import _simplify, candidate_forms
from ._select import choose, split_constant
from .stable import softplus_threshold

if TYPE_CHECKING:
    from divergences.fdivergence import FDivergence

__all__ = ["QUANTITIES", "AffineTerm", "Emitted", "emit"]

#: bump when the emitted forms for the same derivation may change
EMIT_VERSION = "2"


def _emitter_fingerprint() -> str:
    """A hash of the modules that decide the emitted forms: editing them invalidates the cache."""
    digest = hashlib.sha256()
    for name in ("_primitives", "_rewrite", "_select", "_printer", "stable", "emit"):
        digest.update((Path(__file__).parent / f"{name}.py").read_bytes())
    return digest.hexdigest()[:16]


_FINGERPRINT = _emitter_fingerprint()

#: the element-wise quantities, with their variable and the region where they are defined
QUANTITIES: Mapping[str, tuple[sp.Symbol, sp.Set]] = MappingProxyType(
    {
        "generator": (u, sp.Interval(0, sp.oo)),
        "conjugate": (t, sp.Reals),
        "activation": (v, sp.Reals),
        "conjugate_of_activation": (v, sp.Reals),
        "optimal_critic": (r, sp.Interval(0, sp.oo)),
    }
)

_POSITIVE = sp.Interval.open(0, sp.oo)


@dataclass(frozen=True)
class _Forms:
    """What the search produced for one quantity (plain SymPy data, pickled in the disk cache).

    ``pieces``: ``(form, region)`` to print; ``scores``: their probe errors in ulps; ``terms``:
    ``(a, b, G)`` of the best single form when the quantity is one branch on its domain.
    """

    pieces: tuple[Piece, ...]
    scores: tuple[float, ...]
    terms: tuple[sp.Expr, sp.Expr, sp.Expr] | None


@dataclass(frozen=True)
class AffineTerm:
    r"""An element-wise function written :math:`h(v) = a + b\, G(v)` with numbers ``a``, ``b``.

    ``mean(v)`` computes :math:`a + b \cdot \overline{G(v)}`: the constant is added once to the
    mean instead of to every element, which saves two passes over the data and keeps the
    rounding error of the mean at a few ulps of :math:`|a| + |b \overline{G}|`. Where
    :math:`a = -b` and :math:`G = e^{H}`, the split is :math:`b \operatorname{expm1}(H)` instead
    (:func:`_affine_split`), so the mean keeps its relative accuracy next to :math:`H = 0`
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


class Emitted:
    """The torch functions of one divergence (see the module docstring for each one).

    Each function is searched for, printed and compiled on first access, so a caller that needs
    only the perspective never pays for the conjugate. The object is immutable.

    Attributes:
        name: the divergence's name.
        generator, conjugate, activation, conjugate_of_activation, optimal_critic: element-wise
            ``Tensor -> Tensor`` callables.
        perspective: ``(p, q) -> q f(p/q)`` element-wise with the zero conventions.
        activation_term, conjugate_of_activation_term: the same functions as
            :class:`AffineTerm` (constant hoisted out of the mean), used by the f-GAN losses.
        limit_at_zero: :math:`f(0^+)` (may be ``inf``).
        slope_at_infinity: :math:`\\lim_{u\\to\\infty} f(u)/u` (may be ``inf``).
        offset: :math:`f(1)` (``-log 4`` for ``gan``, else ``0``).
    """

    def __init__(self, d: FDivergence) -> None:
        object.__setattr__(self, "name", d.name)
        object.__setattr__(self, "_d", d)
        object.__setattr__(self, "_key", _cache_key(d))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Emitted is immutable (cannot set {name!r})")

    def __repr__(self) -> str:
        return f"Emitted({self.name!r})"

    # -- search results (cached on disk) --------------------------------------------------------
    def forms(self, quantity: str) -> _Forms:
        """The chosen pieces, probe scores and affine split of ``quantity`` (a QUANTITIES key)."""
        return cached((*self._key, quantity), lambda: _search(self._d, quantity))

    def source(self, quantity: str) -> str:
        """The printed torch source of ``quantity``."""
        return self._compiled(quantity)[0]

    def _compiled(self, quantity: str) -> tuple[str, Callable[[Tensor], Tensor]]:
        cache = self.__dict__.setdefault("_functions", {})
        if quantity not in cache:
            var, _ = QUANTITIES[quantity]
            cache[quantity] = compile_pieces(self.forms(quantity).pieces, var, quantity)
        return cache[quantity]

    # -- the element-wise functions ------------------------------------------------------------
    @cached_property
    def generator(self) -> Callable[[Tensor], Tensor]:
        return self._compiled("generator")[1]

    @cached_property
    def conjugate(self) -> Callable[[Tensor], Tensor]:
        return self._compiled("conjugate")[1]

    @cached_property
    def activation(self) -> Callable[[Tensor], Tensor]:
        return self._compiled("activation")[1]

    @cached_property
    def conjugate_of_activation(self) -> Callable[[Tensor], Tensor]:
        return self._compiled("conjugate_of_activation")[1]

    @cached_property
    def optimal_critic(self) -> Callable[[Tensor], Tensor]:
        return self._compiled("optimal_critic")[1]

    @cached_property
    def activation_term(self) -> AffineTerm:
        return self._affine("activation")

    @cached_property
    def conjugate_of_activation_term(self) -> AffineTerm:
        return self._affine("conjugate_of_activation")

    def _affine(self, quantity: str) -> AffineTerm:
        split = self.forms(quantity).terms
        if split is None:
            return AffineTerm(0.0, 1.0, self._compiled(quantity)[1])
        a, b, core = _affine_split(*split)
        _, core_fn = compile_pieces(((core, sp.Reals),), v, f"{quantity}_core")
        kind, inner = _core_kind(core)
        log_core, log_offset = None, 0.0
        if inner is not None:
            if kind == "exp":  # e^{H + c}: c applied inside the mean (AffineTerm.log_offset)
                offset, inner = inner.as_independent(v, as_Add=True)
                log_offset = float(offset)
            _, log_core = compile_pieces(((inner, sp.Reals),), v, f"{quantity}_log_core")
        return AffineTerm(float(a), float(b), core_fn, log_core, kind, log_offset)

    # -- limits and the perspective -------------------------------------------------------------
    @cached_property
    def limit_at_zero(self) -> float:
        return _constant(cached((*self._key, "f(0+)"), lambda: _generator_limits(self._d)[0]))

    @cached_property
    def slope_at_infinity(self) -> float:
        return _constant(cached((*self._key, "f/u(oo)"), lambda: _generator_limits(self._d)[1]))

    @cached_property
    def offset(self) -> float:
        return float(self._d.offset)

    @cached_property
    def perspective(self) -> Callable[[Tensor, Tensor], Tensor]:
        pieces = tuple(p for p in self.forms("generator").pieces if p[1] != sp.FiniteSet(0))
        _, f_positive = compile_pieces(pieces, u, "generator_positive")
        return _perspective(f_positive, self.limit_at_zero, self.slope_at_infinity)


def _affine_split(a: sp.Expr, b: sp.Expr, core: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    r"""``a + b e^{H}`` with ``a = -b`` as ``0 + b expm1(H)``; other splits unchanged.

    The hoisted constant would cancel the mean of :math:`e^{H}` next to :math:`H = 0` (``neyman``
    and ``squared_hellinger`` at ``v = 1e-8``: 1e7 ulps); ``expm1`` keeps the relative accuracy.
    """
    if isinstance(core, sp.exp) and a != 0 and sp.simplify(a + b) == 0:
        return sp.S.Zero, b, expm1(core.args[0])
    if isinstance(core, softplus) and a != 0 and sp.simplify(a + b * sp.log(2)) == 0:
        return sp.S.Zero, b, sp.Add(core, -sp.log(2), evaluate=False)
    return a, b, core


def _core_kind(core: sp.Expr) -> tuple[str | None, sp.Expr | None]:
    """``(kind, H)`` of an :class:`AffineTerm` core: ``exp(H)``, ``expm1(H)`` or
    ``softplus(H) - log 2``; ``(None, None)`` for any other core."""
    if isinstance(core, (sp.exp, expm1)):
        return ("exp" if isinstance(core, sp.exp) else "expm1"), core.args[0]
    if isinstance(core, sp.Add) and len(core.args) == 2:
        spl = [arg for arg in core.args if isinstance(arg, softplus)]
        if spl and sp.simplify(core - spl[0] + sp.log(2)) == 0:
            return "softplus_centred", spl[0].args[0]
    return None, None


# --------------------------------------------------------------------------------------------
# From the symbolic quantities to chosen pieces
# --------------------------------------------------------------------------------------------


def _pairs(expr: sp.Expr, domain: sp.Set) -> list[Piece]:
    """``(expression, region)`` pairs covering ``domain``, empty regions dropped."""
    pairs = expr.as_expr_set_pairs(domain) if isinstance(expr, sp.Piecewise) else [(expr, domain)]
    return [(e, region) for e, region in pairs if region is not sp.S.EmptySet]


def _choose_pieces(expr: sp.Expr, var: sp.Symbol, domain: sp.Set) -> _Forms:
    """Search the forms of every branch of ``expr`` on ``domain`` (see the module docstring)."""
    pieces: list[Piece] = []
    scores: list[float] = []
    pairs = _pairs(sp.piecewise_fold(expr), domain)
    terms = None
    for branch, region in pairs:
        if not branch.free_symbols:
            pieces.append((branch, region))
            scores.append(math.nan)
            continue
        choice = choose(
            candidate_forms(branch, var, region),
            branch,
            var,
            region,
            alternates=(_simplify(branch),),
        )
        pieces += choice.pieces
        scores += choice.scores
        if len(pairs) == 1:
            terms = split_constant(choice.single, var)
    return _Forms(tuple(pieces), tuple(scores), terms)


def _limit(expr: sp.Expr, var: sp.Symbol, at: sp.Expr, direction: str) -> sp.Expr:
    if isinstance(expr, sp.Piecewise):
        # the branch that holds near the point
        near = sp.Float(1e-30) if at == 0 else sp.Float(1e30)
        (branch,) = [e for e, region in _pairs(expr, _POSITIVE) if region.contains(near)]
        expr = branch
    return sp.simplify(sp.limit(expr, var, at, direction))


def _generator_limits(d: FDivergence) -> tuple[sp.Expr, sp.Expr]:
    """:math:`f(0^+)` and :math:`\\lim_{u \\to \\infty} f(u)/u`."""
    f = d.generator.expr
    return _limit(f, u, 0, "+"), _limit(f / u, u, sp.oo, "-")


def _search(d: FDivergence, quantity: str) -> _Forms:
    """The forms of ``quantity``; on ``[0, oo)`` the point ``0`` is a piece of its own, the limit.

    (``u`` and ``r`` are positive symbols, so ``Piecewise((f0, Eq(u, 0)), (f, True))`` would
    collapse to ``f``: the value at ``0`` would be whatever the chosen form gives there, ``NaN``
    for ``u * log(u)``, and its gradient ``NaN`` even where the value is right.)
    """
    var, domain = QUANTITIES[quantity]
    expr = _expression(d, quantity)
    if domain != sp.Interval(0, sp.oo):
        return _choose_pieces(expr, var, domain)
    at_zero = _limit(expr, var, 0, "+")
    positive = _choose_pieces(expr, var, _POSITIVE)
    return _Forms(
        ((at_zero, sp.FiniteSet(0)), *positive.pieces), (math.nan, *positive.scores), None
    )


def _expression(d: FDivergence, quantity: str) -> sp.Expr:
    """The SymPy expression of ``quantity`` in its variable (for ``u > 0``, ``r > 0``)."""
    if quantity == "generator":
        return d.generator.expr
    if quantity == "conjugate":
        return d.conjugate(t)
    if quantity == "activation":
        return d.activation(v)
    if quantity == "optimal_critic":
        return d.optimal_critic(r)
    # conjugate_of_activation: compose symbolically; the activation maps R into the domain
    # (certified by the symbolic layer), so the branches equal to oo are never reached
    composed = sp.piecewise_fold(d.conjugate(d.activation(v)))
    pairs = [(e, region) for e, region in _pairs(composed, sp.Reals) if e is not sp.oo]
    if len(pairs) == 1:
        return pairs[0][0]
    return sp.Piecewise(*[(e, region.as_relational(v)) for e, region in pairs])


def _cache_key(d: FDivergence) -> tuple[str, ...]:
    return (
        "emit",
        EMIT_VERSION,
        _FINGERPRINT,
        sp.srepr(d.generator.expr),
        sp.srepr(d.conjugate(t)),
        sp.srepr(d.activation(v)),
    )


# --------------------------------------------------------------------------------------------
# The perspective
# --------------------------------------------------------------------------------------------


def _constant(x: sp.Expr) -> float:
    return math.inf if x is sp.oo else -math.inf if x is sp.S.NegativeInfinity else float(x)


def _perspective(
    f: Callable[[Tensor], Tensor], f0: float, slope: float
) -> Callable[[Tensor, Tensor], Tensor]:
    """``q f(p/q)`` with the zero conventions; no branch sees a singular argument."""

    def at_zero(q: Tensor) -> Tensor:  # q f(0+)
        return torch.full_like(q, math.inf) if math.isinf(f0) else q * f0

    def at_infinity(p: Tensor) -> Tensor:  # p lim f(u)/u
        return torch.full_like(p, math.inf) if math.isinf(slope) else p * slope

    def impl(p: Tensor, q: Tensor) -> Tensor:
        p, q = torch.broadcast_tensors(p, q)
        both = (p > 0) & (q > 0)
        ps = torch.where(both, p, 1.0)
        qs = torch.where(both, q, 1.0)
        ratio = ps / qs
        # the ratio may underflow to 0 or overflow to inf (subnormal p or q): use the limits
        regular = both & (ratio > 0) & (ratio < math.inf)
        us = torch.where(regular, ratio, 1.0)
        value = qs * f(us)
        zero_side = (p == 0) | (ratio == 0)
        limits = torch.where(zero_side, torch.where(q == 0, 0.0, at_zero(q)), at_infinity(p))
        return torch.where(regular, value, limits)

    def perspective(p: Tensor, q: Tensor) -> Tensor:
        if p.dtype in (torch.float16, torch.bfloat16):
            return impl(p.float(), q.float()).to(p.dtype)
        return impl(p, q)

    perspective.__doc__ = "q f(p/q) element-wise with 0 f(0/0) = 0 and the limits at 0 and inf"
    return perspective


_EMITTED: dict[tuple[str, ...], Emitted] = {}


def emit(d: FDivergence) -> Emitted:
    """The torch functions of ``d`` (one object per generator, each function built on first use).

    Example:
        >>> import torch, divergences as dv
        >>> from divergences.numeric import emit
        >>> e = emit(dv.get("gan"))
        >>> e.conjugate_of_activation(torch.tensor([0.0, 1e4]))  # softplus(v), no overflow
        tensor([6.9315e-01, 1.0000e+04])
    """
    key = _cache_key(d)
    emitted = _EMITTED.get(key)
    if emitted is None:
        emitted = _EMITTED.setdefault(key, Emitted(d))
    return emitted
