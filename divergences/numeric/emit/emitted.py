r"""Torch functions emitted from a :class:`~divergences.symbolic.derivation.Derivation`.

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

  ``+inf`` where the limit is infinite and never ``NaN``, also in the gradient; evaluated in
  classes of the ratio ``min(p, q)/max(p, q)`` (near ``p = q`` in ``x = (p - q)/q``, in the
  ratio below 1, in the log-ratio where the ratio is subnormal), so it neither overflows nor
  loses the digits of ``p - q`` (:mod:`.perspective`); ``perspective_parts`` also holds the
  non-negative centred terms :math:`q (f(p/q) - f(1) - f'(1)(p/q - 1))` that the discrete
  divergences sum.

How each expression is printed:

1. a piecewise expression is split into branches with their regions (sets of the real line);
2. each branch gets candidate forms (SymPy's ``simplify``, ``factor``, ``expand_log``, ...),
   each passed through the stability rewrites of :mod:`.rewrite` (``log1p``, ``expm1``,
   ``softplus``, ``log1mexp``, ``xlogy``, Lambert W through the Wright omega function);
3. the candidate with the smallest float64 error against mpmath on a probe grid of the branch's
   region wins (:mod:`.select`); ties go to the cheaper form;
4. the branches are printed as torch source with the "double where" pattern
   (:mod:`.printer`) and compiled.

The chosen forms and their probe scores are cached on disk with the derivations
(:mod:`divergences.symbolic.cache`), so the search runs once per generator. The search for one
quantity has a wall-clock budget, :data:`SEARCH_BUDGET_S`; once it is spent the search stops with
a ``DerivationError`` naming the generator, the quantity and the budget. The budget is checked
between SymPy calls, and the sign decisions of the rewrites bound their own SymPy work
(:func:`.rewrite._sign_on_region`), so no single call runs away.

Every callable keeps the input's dtype and device (float16/bfloat16 are computed in float32 and
rounded once), does no host synchronisation, and works under ``torch.compile(fullgraph=True)``
and ``torch.func.grad``/``vmap``. Inputs are finite numbers: ``+-inf`` is outside the contract
(``f(inf)`` may be ``NaN``).

``tests/emit/`` checks every function against literature closed forms (mpmath)
to ``4 eps (|h(x)| + |x h'(x)|)`` in float64 (and the same bound with the dtype's eps in float32,
float16, bfloat16), the conjugate against a numeric supremum, and values and gradients for
``NaN``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import sympy as sp
from torch import Tensor

from divergences.numeric.kernels.means import AffineTerm
from divergences.symbolic.cache import cached, source_fingerprint
from divergences.symbolic.conjugate import internal_errors
from divergences.symbolic.legendre import is_numeric
from divergences.symbolic.serialize import register_dataclass
from divergences.symbolic.symbols import r, t, u, v

from . import perspective as perspective_forms
from .perspective import Perspective
from .primitives import expm1, softplus
from .printer import Piece, compile_pieces
from .rewrite import _simplify, candidate_forms, time_budget
from .select import choose, split_constant

if TYPE_CHECKING:
    from divergences.symbolic.derivation import Derivation

__all__ = ["QUANTITIES", "Emitted", "emit"]


def _fingerprint() -> str:
    """A hash of the sources that decide the emitted forms (this package and the torch
    primitives it prints): editing any of them invalidates the cached forms."""
    here = Path(__file__).parent
    return source_fingerprint(here, here.parent / "stable.py")


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

#: wall-clock budget (seconds) of the form search for one quantity of one generator. Registered
#: divergences need 0.1-5 s each on two busy cores; past the budget the search stops with a
#: ``DerivationError`` instead of running on (it is checked between SymPy calls).
SEARCH_BUDGET_S = 120.0


@register_dataclass
@dataclass(frozen=True)
class _Forms:
    """What the search produced for one quantity (plain SymPy data, stored in the JSON disk cache).

    ``pieces``: ``(form, region)`` to print; ``scores``: their probe errors in ulps; ``terms``:
    ``(a, b, G)`` of the best single form when the quantity is one branch on its domain.
    """

    pieces: tuple[Piece, ...]
    scores: tuple[float, ...]
    terms: tuple[sp.Expr, sp.Expr, sp.Expr] | None


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

    def __init__(self, derivation: Derivation) -> None:
        object.__setattr__(self, "name", derivation.name)
        object.__setattr__(self, "_d", derivation)
        object.__setattr__(self, "_key", _cache_key(derivation))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Emitted is immutable (cannot set {name!r})")

    def __repr__(self) -> str:
        return f"Emitted({self.name!r})"

    # -- search results (cached on disk) --------------------------------------------------------
    def forms(self, quantity: str) -> _Forms:
        """The chosen pieces, probe scores and affine split of ``quantity`` (a QUANTITIES key)."""
        return cached(
            (*self._key, quantity), lambda: _search(self._d, quantity), fingerprint=_fingerprint()
        )

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
        return _constant(self._d.generator.limits.value_at_zero)

    @cached_property
    def slope_at_infinity(self) -> float:
        return _constant(self._d.generator.limits.slope_at_infinity)

    @cached_property
    def offset(self) -> float:
        return float(self._d.generator.offset)

    @cached_property
    def perspective(self) -> Callable[[Tensor, Tensor], Tensor]:
        """``(p, q) -> q f(p/q)`` element-wise, without overflow and accurate next to ``p = q``
        (:mod:`.perspective`)."""
        return self.perspective_parts.elementwise

    @cached_property
    def perspective_parts(self) -> Perspective:
        """The element-wise perspective, its centred terms
        :math:`q (f(p/q) - f(1) - f'(1)(p/q - 1)) \\ge 0`, :math:`f'(1)` and :math:`f(1)`: what
        :func:`divergences.numeric.discrete.divergence` sums for a divergence without a kernel."""
        return _perspective(self)


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
        if not branch.free_symbols or is_numeric(branch):
            # a constant, or a numeric conjugate (printed as its solver, :mod:`.legendre`):
            # nothing to search
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


def _search(d: Derivation, quantity: str) -> _Forms:
    """The forms of ``quantity``, searched within :data:`SEARCH_BUDGET_S` seconds.

    Raises:
        DerivationError: the budget is spent (naming the generator, the quantity and the budget),
            or an internal error (:func:`~divergences.symbolic.conjugate.internal_errors`).
    """
    what = f"generator {d.name!r}, {quantity}"
    with internal_errors(what), time_budget(SEARCH_BUDGET_S, what):
        return _search_unbounded(d, quantity)


def _search_unbounded(d: Derivation, quantity: str) -> _Forms:
    """The forms of ``quantity``; on ``[0, oo)`` the point ``0`` is a piece of its own, the limit.

    (``u`` and ``r`` are positive symbols, so ``Piecewise((f0, Eq(u, 0)), (f, True))`` would
    collapse to ``f``: the value at ``0`` would be whatever the chosen form gives there, ``NaN``
    for ``u * log(u)``, and its gradient ``NaN`` even where the value is right.)
    """
    var, domain = QUANTITIES[quantity]
    expr = _expression(d, quantity)
    if domain != sp.Interval(0, sp.oo):
        return _choose_pieces(expr, var, domain)
    limits = d.generator.limits  # derived once, in the symbolic layer
    at_zero = limits.value_at_zero if quantity == "generator" else limits.slope_at_zero
    positive = _choose_pieces(expr, var, _POSITIVE)
    return _Forms(
        ((at_zero, sp.FiniteSet(0)), *positive.pieces), (math.nan, *positive.scores), None
    )


def _expression(d: Derivation, quantity: str) -> sp.Expr:
    """The SymPy expression of ``quantity`` in its variable (for ``u > 0``, ``r > 0``)."""
    if quantity == "generator":
        return d.generator.expr
    if quantity == "conjugate":
        return d.conjugate.expr
    if quantity == "activation":
        return d.activation
    if quantity == "optimal_critic":
        return d.optimal_critic
    # conjugate_of_activation: compose symbolically; the activation maps R into the domain
    # (certified by the symbolic layer), so the branches equal to oo are never reached
    composed = sp.piecewise_fold(sp.Lambda(t, d.conjugate.expr)(d.activation))
    pairs = [(e, region) for e, region in _pairs(composed, sp.Reals) if e is not sp.oo]
    if len(pairs) == 1:
        return pairs[0][0]
    return sp.Piecewise(*[(e, region.as_relational(v)) for e, region in pairs])


def _cache_key(d: Derivation) -> tuple[str, ...]:
    return (
        "emit",
        sp.srepr(d.generator.expr),
        sp.srepr(d.conjugate.expr),
        sp.srepr(d.activation),
    )


# --------------------------------------------------------------------------------------------
# The perspective
# --------------------------------------------------------------------------------------------


def _constant(x: sp.Expr) -> float:
    return math.inf if x is sp.oo else -math.inf if x is sp.S.NegativeInfinity else float(x)


def _perspective(emitted: Emitted) -> Perspective:
    """The perspective of ``emitted``'s derivation: forms searched once (cached on disk with the
    other forms, within :data:`SEARCH_BUDGET_S`), then compiled."""
    d = emitted._d
    what = f"generator {d.name!r}, perspective"

    def run() -> perspective_forms.PerspectiveForms:
        with internal_errors(what), time_budget(SEARCH_BUDGET_S, what):
            return perspective_forms.search(d)

    forms = cached((*emitted._key, "perspective"), run, fingerprint=_fingerprint())
    return perspective_forms.build(forms, "perspective")


_EMITTED: dict[tuple[str, ...], Emitted] = {}


def emit(derivation: Derivation) -> Emitted:
    """The torch functions of a derivation (one object per generator, each function built on
    first use). ``FDivergence.torch`` is ``emit`` of its derivation.

    Example:
        >>> import torch, divergences as dv
        >>> from divergences.numeric.emit import emit
        >>> e = emit(dv.get("gan").derived)
        >>> e.conjugate_of_activation(torch.tensor([0.0, 1e4]))  # softplus(v), no overflow
        tensor([6.9315e-01, 1.0000e+04])
        >>> e is dv.get("gan").torch
        True
    """
    key = _cache_key(derivation)
    emitted = _EMITTED.get(key)
    if emitted is None:
        emitted = _EMITTED.setdefault(key, Emitted(derivation))
    return emitted
