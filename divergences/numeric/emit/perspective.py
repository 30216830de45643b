r"""The emitted perspective :math:`q f(p/q)` of any generator, and its centred sum.

:class:`~.emitted.Emitted` ``.perspective`` (every divergence without a hand kernel: a user's
generator, ``alpha``, ``js_weighted``) is built here from the generator alone. Forming the ratio
``p/q`` and evaluating ``q f(p/q)`` fails at both ends of the float range (SciPy gh-20710): the
ratio overflows where ``q`` is subnormal, underflows where ``p`` is, and next to ``p = q`` the
rounding of the ratio costs every digit of ``f(p/q) ~ f'(1)(p/q - 1)``. Instead the pair is
classified by the ratio of the smaller to the larger probability,
:math:`w = \min(p, q)/\max(p, q) \in (0, 1]`, and each class has its own variable, which is never
rounded where it matters:

.. math::

    q f(p/q) =
    \begin{cases}
    q\, h(x) + f(1)\, q + f'(1)\,(p - q), & x = (p - q)/q,\ \ w \ge \tfrac12
        \quad\text{(near: } p - q \text{ is exact)}\\
    q\, f(w) & p < q,\ \ \varepsilon_{\min} \le w < \tfrac12\\
    p\, g(w), \quad g(w) = w f(1/w) & p > q,\ \ \varepsilon_{\min} \le w < \tfrac12\\
    q f(0^+) + p\, H(\lambda) \ \text{ or } \ q F(\lambda) & p < q,\ \ w < \varepsilon_{\min}\\
    p g(0^+) + q\, H_g(\lambda) \ \text{ or } \ p F_g(\lambda) & p > q,\ \ w < \varepsilon_{\min}
    \end{cases}

with the centred generator :math:`h(x) = f(1 + x) - f(1) - f'(1)\,x \ge 0`, the log-ratio
:math:`\lambda = \log \min(p, q) - \log \max(p, q)` (exact to rounding, no ratio formed) and
:math:`\varepsilon_{\min}` the smallest normal number of the dtype. In the last two rows
(:math:`w` subnormal or zero) the perspective is written in :math:`\lambda`, using
:math:`e^{\lambda} = w`:

.. math::

    q f(w) = q f(0^+) + p\, H(\lambda), \qquad H(\lambda) = \frac{f(e^{\lambda}) - f(0^+)}
    {e^{\lambda}} \quad (f(0^+) < \infty), \qquad q f(w) = q\, F(\lambda), \quad
    F(\lambda) = f(e^{\lambda}) \quad (f(0^+) = \infty),

(``kl``: :math:`H = \lambda`, so the term is :math:`p \lambda` to full relative accuracy for
subnormal ``p``), and the same for :math:`g` with :math:`g(0^+) = \lim_{u\to\infty} f(u)/u`.
On this class :math:`e^{\lambda} \le 2^{-126}`, so :math:`H` and :math:`F` are printed from
their first-order expansion in :math:`e^{\lambda}` (:func:`_asymptotic`; the next term is below
``1e-38`` relative), scored against the exact expression. Where :math:`H` or :math:`F` itself
overflows although the product does not (``neyman``: :math:`F = e^{-\lambda}(1 -
e^{\lambda})^2`, so :math:`q F = q^2/p` with ``p = 5e-324``, ``q = 1e-10``: ``2e303``), the
product is :math:`\pm\exp(\log c + \log|K(\lambda)|)` with :math:`\log|K|` emitted as a
function of its own (``-lambda - 2 exp(lambda)``), below a log-ratio found by bisection for each
dtype (:func:`_overflow_point`), so neither form is evaluated where it overflows. This class
costs accuracy: :math:`\lambda` is rounded to :math:`\epsilon|\lambda|` absolute
(:math:`|\lambda| \le 1455`), which moves the value by :math:`\epsilon|\lambda||p f'(u)|` at
most (``tests/numeric/test_perspective_extremes.py`` states the bound).

Every function of :math:`x`, :math:`w` or :math:`\lambda` is derived symbolically from the
generator's smooth pieces and printed by the emitter's form search (:func:`.select.choose`: the
candidate forms of :mod:`.rewrite`, scored against mpmath), so :math:`f` is used where it is
accurate and the 1-homogeneity :math:`q f(p/q) = p\, g(q/p)` where the ratio would exceed 1. For
:math:`h` the candidates also include its Taylor polynomial on :math:`|x| \le \tau`
(:func:`_taylor`): the closed form of ``kl``'s :math:`(1 + x)\operatorname{log1p}(x) - x \approx
x^2/2` cancels to nothing next to ``x = 0``; the degree is the smallest whose truncation error is
below :math:`2^{-57}` relative on the piece, and the polynomial is scored like every other form
(``js``'s :math:`h` needs none: the search finds :math:`\tfrac{x}{2}\operatorname{log1p}
(\tfrac{x}{x+2}) + \tfrac12 \operatorname{log1p}(-\tfrac{x^2}{(x+2)^2})`, an ``atanh`` form
without cancellation).

**Sums.** For :math:`f(1) = 0`,
:math:`D_f(P\|Q) = \sum_x q\, \hat h(p/q) + f'(1) \sum_x (p - q)` with
:math:`\hat h(u) = f(u) - f(1) - f'(1)(u - 1) \ge 0` (convexity; at a kink :math:`f'(1)` is the
midpoint of the one-sided derivatives, a subgradient). Every term of the first sum is
non-negative, so it has no cancellation; the second is a sum of differences, exact where
``p`` and ``q`` are within a factor 2 (Sterbenz), so ``D(P, P)`` is exactly ``0`` and nearby
distributions keep their relative accuracy (``kl`` of ``[x, 1 - x]`` and ``[y, 1 - y]`` with
``x - y = 1e-14`` is ``~1e-28``, not ``0``). The centred terms are :math:`q\, h(x)` near
``p = q`` and :math:`q \hat h(w)`, :math:`p \hat g(w)` (:math:`\hat g(w) = w \hat h(1/w)`) for
``w < 1/2``, searched like the others when :math:`f'(1) \ne 0` and equal to :math:`f`,
:math:`g` otherwise; in the log-ratio classes they are the perspective less the affine part
(there :math:`\hat h(w) \ge \hat h(1/2)` is not small). With an offset :math:`f(1) \ne 0`
(``allow_offset=True``) the perspective itself is summed and a row with ``p = q`` gives exactly
:math:`f(1)` (:meth:`Perspective.divergence`).

**Zeros** keep the conventions of :mod:`.emitted`: ``0 f(0/0) = 0``,
:math:`q f(0/q) = q f(0^+)`, :math:`0 f(p/0) = p \lim_{u\to\infty} f(u)/u`, ``+inf`` where the
limit is, never ``NaN``. Every branch is evaluated on a masked argument (the "double where"), so
no class's singularity reaches the value or the gradient of another. Nothing depends on the data
in Python (no host sync), so the functions trace under ``torch.compile(fullgraph=True)`` and
``torch.func``; the class boundaries depend on the dtype only.

``tests/numeric/test_perspective_extremes.py`` sweeps ``p, q`` over ``[5e-324, 1]`` (subnormals
included) against mpmath for registered and user generators.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mpmath
import sympy as sp
import torch
from torch import Tensor

from divergences.numeric.kernels.base import _rescaled_inputs, offset_sum
from divergences.numeric.precision import upcast
from divergences.symbolic.serialize import register_dataclass
from divergences.symbolic.symbols import u

from .primitives import MPMATH, log1p
from .printer import Piece, compile_pieces
from .rewrite import _simplify, candidate_forms, check_budget, stabilise
from .select import choose, max_ulps, probe_points, reference_values

if TYPE_CHECKING:
    from divergences.symbolic.derivation import Derivation
    from divergences.symbolic.generator import Generator

__all__ = ["Perspective", "PerspectiveForms", "build", "search"]

#: the near variable ``x = p/q - 1``, the ratio ``w = min/max`` and the log-ratio ``lambda``
x = sp.Symbol("x", real=True)
w = sp.Symbol("w", positive=True)
lam = sp.Symbol("lam", real=True)
#: ``t = e^lambda``, the ratio in the log-ratio class (symbolic only)
ratio_t = sp.Symbol("t", positive=True)

#: where each class's function is searched (the probe regions of :func:`.select.choose`)
NEAR = sp.Interval(sp.Rational(-1, 2), 1)
RATIO = sp.Interval.Lopen(0, sp.Rational(1, 2))
#: the log-ratio class: ``lambda <= log(2^-126) = -87.3`` in float32 (float64's,
#: ``lambda <= -708.4``, lies inside), down to the smallest log-ratio of two positive finite
#: float64 numbers, ``log(2^-1074) - log(2^1024) = -1454.9``
_DEEPEST = -1455
TAIL = sp.Interval(_DEEPEST, -87)
_U_POSITIVE = sp.Interval.open(0, sp.oo)

#: radii of the Taylor piece of ``h``, largest first (a larger one leaves less of the interval
#: to closed forms that cancel next to ``x = 0``), and the highest degree tried
TAYLOR_RADII = (sp.Rational(1, 4), sp.Rational(1, 8), sp.Rational(1, 16), sp.Rational(1, 32))
TAYLOR_MAX_DEGREE = 30
#: the truncation error allowed relative to ``h``
TAYLOR_TOLERANCE = mpmath.mpf(2) ** -57
#: a search result at or below this many ulps needs no Taylor piece
GOOD_ENOUGH_ULPS = 8.0
#: ``|K(lambda)|`` at the deepest log-ratio above this (float32's largest number is 3.4e38)
#: means ``K`` can overflow where ``c K`` does not: its logarithm is emitted too
LOG_FORM_THRESHOLD = mpmath.mpf(10) ** 30


@register_dataclass
@dataclass(frozen=True)
class Branches:
    """Chosen pieces ``(form, region)`` of one function and their probe scores (ulps)."""

    pieces: tuple[Piece, ...]
    scores: tuple[float, ...]


@register_dataclass
@dataclass(frozen=True)
class Tail:
    r"""The log-ratio class of one side: :math:`c_a A + c_b K(\lambda)`.

    ``constant`` is :math:`A` (:math:`f(0^+)` or :math:`g(0^+)`; ``oo`` when infinite: then
    ``K`` is the whole value and multiplies the larger probability); ``log_forms`` is
    :math:`\log(\text{sign}\cdot K)` where ``K`` can overflow, else ``None``, and
    ``overflow_float64``/``overflow_float32`` the log-ratio below which :math:`|K|` exceeds half
    the dtype's largest number (the log form is used there, the direct one above: neither is
    ever evaluated where it overflows, so no ``inf`` reaches a gradient).
    """

    constant: sp.Expr
    forms: Branches
    log_forms: Branches | None
    sign: int
    overflow_float64: float = -math.inf
    overflow_float32: float = -math.inf


@register_dataclass
@dataclass(frozen=True)
class PerspectiveForms:
    """Everything the perspective of one generator is printed from (cached on disk)."""

    offset: sp.Expr
    slope: sp.Expr
    at_zero: sp.Expr
    at_infinity: sp.Expr
    near: Branches
    low: Branches
    high: Branches
    #: ``None`` where they are ``low``/``high`` (``f'(1) = 0``) or unused (``f(1) != 0``)
    low_centred: Branches | None
    high_centred: Branches | None
    low_tail: Tail
    high_tail: Tail


# --------------------------------------------------------------------------------------------
# Symbolic quantities
# --------------------------------------------------------------------------------------------


def slope_at_one(gen: Generator) -> sp.Expr:
    r""":math:`f'(1)`, the midpoint of the one-sided derivatives where ``u = 1`` is a kink (a
    subgradient: :math:`\hat h \ge 0` either way)."""
    left = next(p for p in gen.pieces if p.left < 1 <= p.right)
    right = next(p for p in gen.pieces if p.left <= 1 < p.right)
    slopes = [sp.diff(p.expr, u).subs(u, 1) for p in (left, right)]
    return sp.nsimplify(sp.simplify((slopes[0] + slopes[1]) / 2), [sp.log(2), sp.log(3)])


def _mapped(
    gen: Generator,
    var: sp.Symbol,
    substitute: sp.Expr,
    bounds: Callable[[sp.Expr, sp.Expr], tuple[sp.Expr, sp.Expr]],
    domain: sp.Set,
    transform: Callable[[sp.Expr], sp.Expr],
) -> list[tuple[sp.Expr, sp.Set]]:
    """``transform(f_i(substitute))`` for every smooth piece ``f_i`` of ``f`` on its interval
    mapped into ``var`` by ``bounds`` (open ends), intersected with ``domain``; empty parts
    dropped, a junction point given to the piece that contains it in ``domain``."""
    out: list[tuple[sp.Expr, sp.Set]] = []
    for piece in gen.pieces:
        lo, hi = bounds(piece.left, piece.right)
        region = sp.Interval(lo, hi).intersect(domain)
        if region is sp.S.EmptySet or (isinstance(region, sp.FiniteSet) and not out):
            continue
        expr = transform(piece.expr.subs(u, substitute))
        out.append((expr, region))
    # the closed intervals overlap at the junctions: each point belongs to the first piece
    disjoint: list[tuple[sp.Expr, sp.Set]] = []
    covered: sp.Set = sp.S.EmptySet
    for expr, region in out:
        part = sp.Complement(region, covered)
        if part is not sp.S.EmptySet and not isinstance(part, sp.FiniteSet):
            disjoint.append((expr, part))
            covered = sp.Union(covered, part)
    return disjoint


def _reciprocal_bounds(lo: sp.Expr, hi: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    return (sp.S.Zero if hi is sp.oo else 1 / hi), (sp.oo if lo == 0 else 1 / lo)


def near_branches(gen: Generator, slope: sp.Expr) -> list[tuple[sp.Expr, sp.Set]]:
    r""":math:`h(x) = f(1 + x) - f(1) - f'(1) x` on :data:`NEAR`, piece by piece."""
    offset = gen.offset
    return _mapped(
        gen,
        x,
        1 + x,
        lambda lo, hi: (lo - 1, hi - 1),
        NEAR,
        lambda e: e - offset - slope * x,
    )


def _shifted_forms(gen: Generator, slope: sp.Expr, region: sp.Set) -> list[sp.Expr]:
    r"""The stable forms of the piece of :math:`f` on ``1 + region``, as forms of ``h``:
    :math:`f_i(1 + x) - f(1) - f'(1) x`. Away from ``x = 0`` (:math:`|x| > \tau`) rounding
    ``1 + x`` costs nothing, and a form searched for ``f`` near ``u = 2`` may beat every form of
    ``h`` (``alpha``: :math:`\tfrac{10x}{3} - \tfrac{100}{21}\operatorname{expm1}(0.7
    \operatorname{log1p} x)` cancels to 66 ulps at ``x = 1``)."""
    shifted = sp.Interval(region.inf + 1, region.sup + 1)
    piece = next(
        p for p in gen.pieces if shifted.intersect(sp.Interval.open(p.left, p.right)).measure > 0
    )
    return [
        form.subs(u, 1 + x) - gen.offset - slope * x
        for form in candidate_forms(piece.expr, u, shifted.intersect(_U_POSITIVE))
    ]


def ratio_branches(
    gen: Generator, dual: bool, centred: tuple[sp.Expr, sp.Expr] | None
) -> list[tuple[sp.Expr, sp.Set]]:
    r""":math:`f(w)` (``dual``: :math:`g(w) = w f(1/w)`) on :data:`RATIO`; ``centred = (f(1),
    f'(1))`` gives :math:`\hat h(w)` (:math:`\hat g(w) = w \hat h(1/w)`) instead."""
    off, slope = centred if centred is not None else (sp.S.Zero, sp.S.Zero)
    if dual:
        return _mapped(
            gen,
            w,
            1 / w,
            _reciprocal_bounds,
            RATIO,
            lambda e: w * (e - off - slope * (1 / w - 1)),
        )
    return _mapped(gen, w, w, lambda lo, hi: (lo, hi), RATIO, lambda e: e - off - slope * (w - 1))


def tail_branches(gen: Generator, dual: bool) -> tuple[sp.Expr, sp.Expr]:
    r"""``(A, K)`` of the log-ratio class of one side, ``K`` in :data:`ratio_t` (``t = e^lambda``):
    :math:`f(t) = A + t K` with ``A = f(0^+)``, or :math:`f(t) = K` with ``A = oo`` when
    :math:`f(0^+) = \infty`; ``dual`` for :math:`g(t) = t f(1/t)` (``A = g(0^+) = f'(\infty)``).

    Only the smooth piece at the end (``u -> 0`` or ``u -> oo``) is used: the class has
    ``t <= 2^-126``.
    """
    limits = gen.limits
    constant = limits.slope_at_infinity if dual else limits.value_at_zero
    piece = gen.pieces[-1 if dual else 0].expr
    value = ratio_t * piece.subs(u, 1 / ratio_t) if dual else piece.subs(u, ratio_t)
    if constant.is_finite:
        return constant, (value - constant) / ratio_t
    return sp.oo, value


def _in_lambda(expr: sp.Expr) -> sp.Expr:
    """``expr(t)`` with ``t = e^lambda`` (``log t = lambda``)."""
    return sp.powsimp(sp.expand_log(expr, force=True).subs(sp.log(ratio_t), lam)).subs(
        ratio_t, sp.exp(lam)
    )


def _asymptotic(expr: sp.Expr) -> sp.Expr | None:
    r"""``expr(t)`` expanded at ``t -> 0+`` (terms :math:`t^a \log^k t` with ``a < 2``, more if
    they all vanish), written in ``lambda``, or ``None`` when SymPy cannot expand it. On the
    log-ratio class (:math:`t \le 2^{-126}`) the omitted terms are below ``1e-38`` of the kept
    ones: the expansion is the function to float precision, without the cancellations of the
    exact expression (``t log1p(1/t)`` and the like)."""
    for order in (2, 4, 8):
        try:
            series = sp.series(expr, ratio_t, 0, order).removeO()
        except (NotImplementedError, ValueError, TypeError, sp.PoleError):
            return None
        if series.has(sp.Order) or not series.free_symbols <= {ratio_t}:
            return None
        if series != 0:
            return sp.expand(_in_lambda(series))
    return None


# --------------------------------------------------------------------------------------------
# Form search
# --------------------------------------------------------------------------------------------


def _log_normalised(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every logarithm's argument put over one denominator and the logarithms
    expanded: ``w log(1 + 1/w)`` (the dual of ``u log u``-type generators) becomes
    ``w (log(w + 1) - log(w))``, a source the rewrites can stabilise."""
    together = expr.replace(
        lambda e: isinstance(e, sp.log), lambda e: sp.log(sp.factor(sp.together(e.args[0])))
    )
    return sp.expand_log(together, force=True)


def _candidates(expr: sp.Expr, var: sp.Symbol, region: sp.Set) -> list[sp.Expr]:
    return list(dict.fromkeys(candidate_forms(expr, var, region)))


def _choose(
    expr: sp.Expr, var: sp.Symbol, region: sp.Set, candidates: Sequence[sp.Expr]
) -> tuple[list[Piece], list[float]]:
    if not expr.free_symbols:
        return [(expr, region)], [math.nan]
    choice = choose(candidates, expr, var, region, alternates=(_simplify(expr),))
    return list(choice.pieces), list(choice.scores)


def _search_all(
    branches: Sequence[tuple[sp.Expr, sp.Set]], var: sp.Symbol, normalise: bool = False
) -> Branches:
    """The forms of every branch; with ``normalise``, where the best is worse than
    :data:`GOOD_ENOUGH_ULPS`, the search is run again with the candidates of
    :func:`_log_normalised` added (the dual :math:`w f(1/w)`, whose logarithms are of
    ``1/w + c``: ``gan``'s was 6e15 ulps without them)."""
    pieces: list[Piece] = []
    scores: list[float] = []
    for expr, region in branches:
        check_budget()
        candidates = _candidates(expr, var, region) if expr.free_symbols else []
        p, s = _choose(expr, var, region, candidates)
        if normalise and max(s, default=0.0) > GOOD_ENOUGH_ULPS and expr.has(sp.log):
            normalised = _log_normalised(expr)
            if normalised != expr:
                more = [*candidates, *_candidates(normalised, var, region)]
                p, s = _choose(expr, var, region, list(dict.fromkeys(more)))
        pieces += p
        scores += s
    return Branches(tuple(pieces), tuple(scores))


def _taylor(expr: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
    r"""``(polynomial, radius)``: the Taylor polynomial of ``expr`` at ``x = 0`` whose truncation
    error is below :data:`TAYLOR_TOLERANCE` relative on ``|x| <= radius``, for the largest radius
    of :data:`TAYLOR_RADII` that needs at most :data:`TAYLOR_MAX_DEGREE` terms; ``None`` if
    ``expr`` has no such expansion (not analytic at 0, SymPy cannot expand it).

    The error is measured with mpmath (60 digits) at ``x = +-radius`` and ``+-radius/2``, where
    the relative error of a truncated series :math:`\sum_{k > N} c_k x^k / h(x)` of an ``h``
    that vanishes at ``0`` to order ``m`` grows like :math:`|x|^{N + 1 - m}`.
    """
    try:
        series = sp.series(expr, x, 0, TAYLOR_MAX_DEGREE + 1).removeO()
        poly = sp.Poly(series, x)
    except (sp.PolynomialError, NotImplementedError, ValueError, TypeError):
        return None
    coefficients = [poly.coeff_monomial(x**k) for k in range(TAYLOR_MAX_DEGREE + 1)]
    if not all(c.is_number and c.is_real for c in coefficients):
        return None
    exact = sp.lambdify(x, expr, modules=[MPMATH, "mpmath"])
    with mpmath.workdps(60):
        numeric = [mpmath.mpf(sp.N(c, 60)) for c in coefficients]
        for radius in TAYLOR_RADII:
            points = [mpmath.mpf(sp.N(s * radius / k, 60)) for s in (-1, 1) for k in (1, 2)]
            try:
                values = [exact(p) for p in points]
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                return None
            if any(v == 0 or not mpmath.isfinite(v) for v in values):
                continue
            for degree in range(1, TAYLOR_MAX_DEGREE + 1):
                check_budget()
                errors = [
                    abs(mpmath.polyval(numeric[degree::-1], p) - v) / abs(v)
                    for p, v in zip(points, values, strict=True)
                ]
                if max(errors) <= TAYLOR_TOLERANCE:
                    terms = sp.Poly(list(reversed(coefficients[: degree + 1])), x)
                    return sp.horner(terms.as_expr(), wrt=x), radius
    return None


def _near(gen: Generator, slope: sp.Expr) -> Branches:
    """The forms of ``h``: the plain search, and where it loses more than
    :data:`GOOD_ENOUGH_ULPS`, a Taylor piece on ``|x| <= radius`` and, on either side of it, the
    same candidates and those of ``f`` (:func:`_shifted_forms`)."""
    pieces: list[Piece] = []
    scores: list[float] = []
    for expr, region in near_branches(gen, slope):
        check_budget()
        if not expr.free_symbols:
            pieces.append((expr, region))
            scores.append(math.nan)
            continue
        candidates = _candidates(expr, x, region)
        plain, plain_scores = _choose(expr, x, region, candidates)
        taylor = _taylor(expr) if max(plain_scores, default=0.0) > GOOD_ENOUGH_ULPS else None
        if taylor is None or region.intersect(sp.FiniteSet(0)) is sp.S.EmptySet:
            pieces += plain
            scores += plain_scores
            continue
        poly, radius = taylor
        inner = region.intersect(sp.Interval(-radius, radius))
        outer = [
            region.intersect(sp.Interval.Ropen(-sp.oo, -radius)),
            region.intersect(sp.Interval.Lopen(radius, sp.oo)),
        ]
        outer = [part for part in outer if part is not sp.S.EmptySet]
        # the parts choose among the plain search's winners, the polynomial inside the radius and
        # the forms of f outside it (rescoring every candidate on every part costs seconds)
        winners = [form for form, _ in plain]
        shifted = _shifted_forms(gen, slope, region) if outer else []
        for part in (outer[0], inner, *outer[1:]) if outer else (inner,):
            if isinstance(part, sp.FiniteSet):
                continue
            extra = [poly] if part is inner else shifted
            p, s = _choose(expr, x, part, list(dict.fromkeys([*extra, *winners])))
            pieces += p
            scores += s
    return Branches(tuple(_merged(pieces)), tuple(scores))


def _merged(pieces: Sequence[Piece]) -> list[Piece]:
    """Adjacent pieces with the same form joined into one."""
    out: list[Piece] = []
    for expr, region in pieces:
        if out and out[-1][0] == expr:
            out[-1] = (expr, sp.Union(out[-1][1], region))
        else:
            out.append((expr, region))
    return out


def _deep_reference(expr: sp.Expr) -> sp.Expr:
    r"""``expr`` with ``log(a)`` written ``log1p(a - 1)`` and ``a^b`` as ``exp(b log1p(a - 1))``
    for ``a`` not a power of ``t``: the same function, which mpmath evaluates without losing
    :math:`e^{\lambda}` next to ``1`` (at :math:`\lambda = -1455`, :math:`1 + e^{\lambda}` is
    ``1`` to 630 digits, beyond the 400 digits at which :func:`.select.reference_values` accepts
    a value that agrees with the 40-digit one)."""

    def is_log(e: sp.Basic) -> bool:
        return isinstance(e, sp.log) and e.args[0].has(ratio_t) and e.args[0] != ratio_t

    def is_power(e: sp.Basic) -> bool:
        return (
            isinstance(e, sp.Pow)
            and e.base.has(ratio_t)
            and not e.base.is_Symbol
            and not e.exp.is_Integer
        )

    out = expr.replace(is_log, lambda e: log1p(sp.expand(e.args[0] - 1)))
    return out.replace(is_power, lambda e: sp.exp(e.exp * log1p(sp.expand(e.base - 1))))


def _tail_forms(expr: sp.Expr) -> Branches:
    """Forms of ``expr(t)`` as a function of ``lambda`` on :data:`TAIL`: the first-order
    expansion (:func:`_asymptotic`) and its stabilised variants, scored against the exact
    expression (:func:`_deep_reference`); without an expansion, the exact expression's forms."""
    exact = _in_lambda(expr)
    reference = _in_lambda(_deep_reference(expr))
    asymptotic = _asymptotic(expr)
    if asymptotic is not None and not asymptotic.free_symbols:
        # a constant (total_variation): kept if it is the function
        (value,) = reference_values(reference, lam, [-100.0])
        if value is not None and abs(value - mpmath.mpf(sp.N(asymptotic, 50))) < 1e-40:
            return Branches(((asymptotic, TAIL),), (math.nan,))
        asymptotic = None
    if asymptotic is None:
        choice = choose(candidate_forms(exact, lam, TAIL), reference, lam, TAIL)
        return Branches(tuple(choice.pieces), tuple(choice.scores))
    # the expansion only: the exact expression has factors such as exp(-lambda) that overflow
    # below -709.8, where the probe grid of a part of TAIL may have no point
    candidates = list(
        dict.fromkeys(
            [asymptotic, stabilise(asymptotic), stabilise(asymptotic, var=lam, region=TAIL)]
        )
    )
    if len(candidates) > 1:
        choice = choose(candidates, reference, lam, TAIL, alternates=(exact,))
        return Branches(tuple(choice.pieces), tuple(choice.scores))
    points = probe_points(TAIL)
    _, function = compile_pieces([(asymptotic, sp.Reals)], lam, "tail")
    score, _ = max_ulps(function, points, reference_values(reference, lam, points))
    return Branches(((asymptotic, TAIL),), (score,))


def _tail(gen: Generator, dual: bool) -> Tail:
    constant, expr = tail_branches(gen, dual)
    forms = _tail_forms(expr)
    # |K| is monotone towards lambda -> -oo (a chord slope of a convex function, or a convex
    # function decreasing to +oo): its size at the deepest point decides whether it overflows
    reference = _in_lambda(_deep_reference(expr))
    (deepest,) = reference_values(reference, lam, [float(_DEEPEST)])
    if deepest is None or not abs(deepest) > LOG_FORM_THRESHOLD:
        return Tail(constant, forms, None, 1)
    sign = 1 if deepest > 0 else -1
    logs = _tail_forms(sp.log(sign * expr))
    thresholds = [_overflow_point(reference, dtype) for dtype in (torch.float64, torch.float32)]
    return Tail(constant, forms, logs, sign, *thresholds)


def _overflow_point(reference: sp.Expr, dtype: torch.dtype) -> float:
    r"""The smallest float ``lambda`` in :data:`TAIL` with :math:`|K(\lambda)|` at most half of
    ``dtype``'s largest number, below which it is above (bisection on the float64 line; ``|K|``
    grows towards ``lambda -> -oo``); ``-inf`` if it never is above, ``inf`` if it always is."""
    limit = mpmath.mpf(torch.finfo(dtype).max) / 2
    lo, hi = float(_DEEPEST), float(TAIL.end)

    def above(x: float) -> bool:
        (value,) = reference_values(reference, lam, [x])
        return value is not None and abs(value) > limit

    if not above(lo):
        return -math.inf
    if above(hi):
        return math.inf
    for _ in range(64):
        check_budget()
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if above(mid) else (lo, mid)
    return hi


def search(d: Derivation) -> PerspectiveForms:
    """The forms of every class of the perspective of ``d`` (see the module docstring)."""
    gen = d.generator
    slope = slope_at_one(gen)
    # centred forms of their own only where they differ from f's and are summed: f(1) = 0 (an
    # offset generator's divergence sums the perspective itself, see Perspective.divergence)
    centred = gen.offset == 0 and slope != 0
    low = _search_all(ratio_branches(gen, False, None), w)
    high = _search_all(ratio_branches(gen, True, None), w, normalise=True)
    return PerspectiveForms(
        offset=gen.offset,
        slope=slope,
        at_zero=gen.limits.value_at_zero,
        at_infinity=gen.limits.slope_at_infinity,
        near=_near(gen, slope),
        low=low,
        high=high,
        low_centred=(
            _search_all(ratio_branches(gen, False, (gen.offset, slope)), w) if centred else None
        ),
        high_centred=(
            _search_all(ratio_branches(gen, True, (gen.offset, slope)), w, normalise=True)
            if centred
            else None
        ),
        low_tail=_tail(gen, dual=False),
        high_tail=_tail(gen, dual=True),
    )


# --------------------------------------------------------------------------------------------
# The torch functions
# --------------------------------------------------------------------------------------------

_Fn = Callable[[Tensor], Tensor]
_Pair = Callable[[Tensor, Tensor], Tensor]


def _constant(value: sp.Expr) -> float:
    return (
        math.inf
        if value is sp.oo
        else -math.inf
        if value is sp.S.NegativeInfinity
        else float(value)
    )


def _compiled(branches: Branches, var: sp.Symbol, name: str) -> _Fn:
    return compile_pieces(branches.pieces, var, name)[1]


class _TailFunction:
    """``c_a A + c_b K(lambda)`` of one side, with the log form where ``K`` overflows."""

    def __init__(self, tail: Tail, name: str) -> None:
        self.constant = _constant(tail.constant)  # inf: K is the whole value
        self.k = _compiled(tail.forms, lam, f"{name}_tail")
        self.log_k = None
        if tail.log_forms is not None:
            self.log_k = _compiled(tail.log_forms, lam, f"{name}_log")
        self.sign = float(tail.sign)
        self.overflow = {torch.float64: tail.overflow_float64, torch.float32: tail.overflow_float32}

    def __call__(self, small: Tensor, large: Tensor, lam_: Tensor) -> Tensor:
        """The value at ``lam_ = log(small) - log(large)``, ``small`` and ``large`` the two
        probabilities (masked by the caller)."""
        if math.isfinite(self.constant):
            # A finite: large * A + small * K(lambda)
            coefficient, value = small, (large * self.constant if self.constant else None)
        else:
            coefficient, value = large, None
        threshold = self.overflow.get(lam_.dtype, -math.inf)
        if self.log_k is None or threshold == -math.inf:
            return self._with(value, coefficient * self.k(lam_))
        # below the threshold: sign exp(log c + log|K|), inf (gradient 0) where that overflows;
        # above it the direct product, K evaluated only where it is below half the largest number
        cap = _log_max(lam_.dtype)
        if threshold == math.inf:
            exponent = torch.log(coefficient) + self.log_k(lam_)
            big = torch.where(exponent > cap, math.inf, torch.exp(exponent.clamp_max(cap)))
            return self._with(value, self.sign * big)
        deep = lam_ < threshold
        direct = coefficient * self.k(torch.where(deep, threshold, lam_))
        c = torch.where(deep, coefficient, 1.0)
        exponent = torch.log(c) + self.log_k(torch.where(deep, lam_, threshold))
        big = torch.where(exponent > cap, math.inf, torch.exp(exponent.clamp_max(cap)))
        return self._with(value, torch.where(deep, self.sign * big, direct))

    @staticmethod
    def _with(value: Tensor | None, term: Tensor) -> Tensor:
        return term if value is None else value + term


def _log_max(dtype: torch.dtype) -> float:
    return math.log(torch.finfo(dtype).max)


@dataclass(frozen=True)
class Perspective:
    """The compiled perspective of one generator.

    Attributes:
        elementwise: ``(p, q) -> q f(p/q)``.
        centred: ``(p, q) -> q (f(p/q) - f(1) - f'(1)(p/q - 1)) >= 0``.
        slope: :math:`f'(1)`; offset: :math:`f(1)`.
    """

    elementwise: _Pair
    centred: _Pair
    slope: float
    offset: float

    def divergence(self, p: Tensor, q: Tensor) -> Tensor:
        r""":math:`\sum q \hat h(p/q) + f'(1) \sum (p - q)` over the last dimension.

        With an offset :math:`f(1) \ne 0` the centred form would trade its accuracy next to
        ``D = 0`` for the one next to ``P = Q``, where the perspective's terms
        :math:`\approx f(1) q` do not cancel anyway: the sum of the perspective is kept, and a
        row with ``p = q`` everywhere gives exactly :math:`f(1) \sum q`
        (:func:`~divergences.numeric.kernels.base.offset_sum`: ``f(1)`` for a distribution), as
        :meth:`divergences.numeric.kernels.Kernel.divergence` does for ``gan``.
        """
        if self.offset != 0.0:
            equal = (p == q).all(-1)
            return torch.where(equal, offset_sum(self.offset, q), self.elementwise(p, q).sum(-1))
        out = self.centred(p, q).sum(-1)
        return out + self.slope * (p - q).sum(-1) if self.slope != 0.0 else out


def build(forms: PerspectiveForms, name: str) -> Perspective:
    """Compile the functions of ``forms`` and assemble the two perspectives."""
    offset, slope = float(forms.offset), float(forms.slope)
    h = _compiled(forms.near, x, f"{name}_near")
    f_low, f_high = _compiled(forms.low, w, f"{name}_low"), _compiled(forms.high, w, f"{name}_high")
    c_low = f_low if forms.low_centred is None else _compiled(forms.low_centred, w, f"{name}_cl")
    c_high = (
        f_high if forms.high_centred is None else _compiled(forms.high_centred, w, f"{name}_ch")
    )
    t_low, t_high = (
        _TailFunction(forms.low_tail, f"{name}_lo"),
        _TailFunction(forms.high_tail, f"{name}_hi"),
    )
    f0, g0 = _constant(forms.at_zero), _constant(forms.at_infinity)
    affine = (offset, slope) != (0.0, 0.0)

    def assemble(p: Tensor, q: Tensor, centred: bool) -> Tensor:
        p, q = torch.broadcast_tensors(p, q)
        both = (p > 0) & (q > 0)
        low = p <= q
        near = both & (2 * p >= q) & (2 * q >= p)
        ps, qs = torch.where(both, p, 1.0), torch.where(both, q, 1.0)
        # the ratios are formed from a copy scaled by a power of two where both are tiny (their
        # backward divides by the square of a probability, 0 below 2^-537): the same ratios
        pr, qr, _ = _rescaled_inputs(ps, qs)
        ratio = torch.minimum(pr, qr) / torch.maximum(pr, qr)
        tiny = torch.finfo(ratio.dtype).tiny
        middle = both & ~near & (ratio >= tiny)
        deep = both & (ratio < tiny)
        # each class and side sees its own masked arguments (the "double where"), so no class
        # sends an inf or NaN of another into the value or the gradient
        # near p = q: x = (p - q)/q, p - q exact
        qn = torch.where(near, q, 1.0)
        xn = torch.where(near, pr, 1.0) - torch.where(near, qr, 1.0)
        value = qn * h(xn / torch.where(near, qr, 1.0))
        if not centred and affine:
            value = value + (offset * qn + slope * (torch.where(near, p, 1.0) - qn))
        # the ratio w in [tiny, 1/2): q f(w) below the diagonal, p g(w) above
        mid_low, mid_high = middle & low, middle & ~low
        w_low, w_high = torch.where(mid_low, ratio, 0.25), torch.where(mid_high, ratio, 0.25)
        q_low, p_high = torch.where(mid_low, q, 1.0), torch.where(mid_high, p, 1.0)
        if centred:
            mid = torch.where(low, q_low * c_low(w_low), p_high * c_high(w_high))
        else:
            mid = torch.where(low, q_low * f_low(w_low), p_high * f_high(w_high))
        # w subnormal or 0: in lambda = log(small) - log(large)
        deep_low, deep_high = deep & low, deep & ~low
        small = torch.where(deep, torch.minimum(ps, qs), 1.0)
        large = torch.where(deep, torch.maximum(ps, qs), 1.0)
        lam_deep = small.log() - large.log()
        tail = torch.where(
            low,
            t_low(
                torch.where(deep_low, p, 1.0),
                torch.where(deep_low, q, 1.0),
                torch.where(deep_low, lam_deep, -1000.0),
            ),
            t_high(
                torch.where(deep_high, q, 1.0),
                torch.where(deep_high, p, 1.0),
                torch.where(deep_high, lam_deep, -1000.0),
            ),
        )
        if centred and affine:
            pd, qd = torch.where(deep, p, 1.0), torch.where(deep, q, 1.0)
            tail = tail - (offset * qd + slope * (pd - qd))
        positive = torch.where(near, value, torch.where(middle, mid, tail))
        # zeros: q f(0+), p f'(oo), 0 f(0/0) = 0
        if centred:
            at_zero, at_inf = f0 - offset + slope, g0 - slope
        else:
            at_zero, at_inf = f0, g0
        zero_p = _times(q, at_zero)
        zero_q = _times(p, at_inf)
        limits = torch.where(p == 0, torch.where(q == 0, 0.0, zero_p), zero_q)
        return torch.where(both, positive, limits)

    def elementwise(p: Tensor, q: Tensor) -> Tensor:
        return assemble(p, q, centred=False)

    def centred_terms(p: Tensor, q: Tensor) -> Tensor:
        return assemble(p, q, centred=True)

    elementwise.__doc__ = "q f(p/q) element-wise (see divergences.numeric.emit.perspective)"
    centred_terms.__doc__ = "q (f(p/q) - f(1) - f'(1)(p/q - 1)) element-wise, >= 0"
    return Perspective(upcast(elementwise), upcast(centred_terms), slope, offset)


def _times(x: Tensor, constant: float) -> Tensor:
    """``x * constant`` with ``inf`` for an infinite constant (``0 * inf`` is not formed: the
    caller selects this value only where ``x > 0``)."""
    return torch.full_like(x, constant) if math.isinf(constant) else x * constant
