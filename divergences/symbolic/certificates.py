"""Certificates: checked claims about a derived conjugate.

For a generator ``f`` and its derived conjugate ``f^*`` the certificate records

1. the Fenchel-Young equality ``f(u) + f^*(f'(u)) = u f'(u)`` for ``u > 0`` (piece by piece);
2. convexity of ``f^*`` on its domain (``f^{*''} >= 0`` per region and non-decreasing slopes at
   the junctions, or numeric midpoint convexity);
3. the biconjugate ``f^{**}(u) = sup_t (u t - f^*(t)) = f(u)`` on a grid of ``u``, the supremum
   found numerically from ``f^*`` alone (bisection on ``u - f^{*'}(t)``, which is non-increasing,
   in ``asinh(t)`` so that maximisers such as ``t = e^{999}`` are reached);
4. ``f^*(f'(1)) = f'(1) - f(1)`` (both one-sided slopes where ``f`` has a kink at 1);
5. the domain's upper end is open exactly when ``f^*(t) -> oo`` as ``t`` approaches it;

and, for registered entries, the stated range and symmetry. Each claim is first tried as a SymPy
simplification reaching zero (``method = "symbolic"``); when SymPy cannot decide, it is checked at
50 significant digits with mpmath on a stated grid and marked ``numeric``. The numeric checks 1 and
3 run at 120 digits, at the grid points where ``f`` (and ``f'``) is representable, i.e. the same
at 60 and 120 digits: a point where it is not (``f(u) = exp(exp(u))`` at ``u = 100``) is skipped
and named in the step's method, and the step fails unless two thirds of its grid were tested.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable

import mpmath
import sympy as sp

from .conjugate import Conjugate, internal_errors, region_limit
from .generator import Generator, Piece
from .legendre import is_numeric
from .simplify import (
    clearly_nonzero,
    interval_parametrisation,
    is_zero,
    nice,
    simplified,
    simplifies_to_zero,
)
from .steps import Step
from .symbols import t, u

__all__ = [
    "biconjugate_step",
    "certify",
    "conjugate_convexity_step",
    "domain_step",
    "fenchel_young_steps",
    "range_step",
    "symmetry_step",
    "value_at_one_step",
]

DIGITS = 50
#: a numeric identity passes when its residual is below this, relative to max(1, |value|)
TOLERANCE = mpmath.mpf(10) ** -40
#: the Fenchel-Young and biconjugate checks run at the higher precision, at points where f is
#: representable: the same at both (:func:`_representable`)
PRECISIONS = (DIGITS + 10, 2 * DIGITS + 20)
#: ... and fail unless at least this fraction of their grid is representable
MIN_TESTED = 2 / 3
_U_GRID_TEXT = "u in {1e-3, 1e-2, 0.1, 0.5, 1, 2, 10, 100, 1e3}"
_U_GRID = ("1e-3", "1e-2", "0.1", "0.5", "1", "2", "10", "100", "1e3")

_f = sp.Function("f")
_fstar = sp.Function("f^*")


def _numeric(expr: sp.Expr, var: sp.Symbol) -> Callable[[mpmath.mpf], mpmath.mpf]:
    fn = sp.lambdify(var, expr, modules="mpmath")
    return lambda x: mpmath.mpmathify(fn(x))


def _representable(inputs: tuple[Callable[[mpmath.mpf], mpmath.mpf], ...], x: mpmath.mpf) -> bool:
    """Whether every ``fn(x)`` of ``inputs`` is a finite number on which both
    :data:`PRECISIONS` agree to ``TOLERANCE`` (relative to ``max(1, |value|)``). Not so for
    ``exp(exp(u))`` at ``u = 100``, which needs its 43-digit exponent to every digit."""
    for fn in inputs:
        values = []
        for dps in PRECISIONS:
            with mpmath.workdps(dps):
                try:
                    values.append(mpmath.mpmathify(fn(x)))
                except (ArithmeticError, ValueError):  # OverflowError "too many digits", ...
                    return False
        low, high = values
        if not (mpmath.isfinite(low) and mpmath.isfinite(high)):
            return False
        if abs(high - low) > TOLERANCE * max(1, abs(high)):
            return False
    return True


def _numeric_step(
    description: str,
    relation: sp.Basic,
    grid: str,
    points: list[mpmath.mpf],
    inputs: tuple[Callable[[mpmath.mpf], mpmath.mpf], ...],
    relative: Callable[[mpmath.mpf], mpmath.mpf],
) -> Step:
    """The numeric check ``|relative(x)| <= TOLERANCE`` at ``PRECISIONS[1]`` digits on the grid.

    A point where an input (``f``, ``f'``) is not representable (:func:`_representable`) cannot
    be checked: it is skipped and listed in the method, and the step fails unless at least
    ``MIN_TESTED`` of the grid was tested.
    """
    worst, at, skipped = mpmath.mpf(0), None, []
    for x in points:
        if not _representable(inputs, x):
            skipped.append(x)
            continue
        with mpmath.workdps(PRECISIONS[1]):
            try:
                rel = abs(mpmath.mpmathify(relative(x)))
            except (ArithmeticError, ValueError):
                rel = mpmath.inf
        if not mpmath.isfinite(rel) or rel > worst:
            worst, at = (rel if mpmath.isfinite(rel) else mpmath.inf), x
    tested = len(points) - len(skipped)
    method = f"numeric: {PRECISIONS[1]} digits, {grid}"
    if skipped:
        where = ", ".join(mpmath.nstr(x, 3) for x in skipped)
        method += (
            f"; skipped {len(skipped)} points where f is not representable at "
            f"{PRECISIONS[0]} digits (its value differs at {PRECISIONS[1]}): u = {where}"
        )
    detail = f"largest relative residual {mpmath.nstr(worst, 3)}" + (
        f" at u = {mpmath.nstr(at, 6)}" if at is not None else ""
    )
    enough = tested >= MIN_TESTED * len(points)
    if not enough:
        detail += f"; only {tested} of {len(points)} points representable"
    return Step(description, relation, method, bool(worst <= TOLERANCE and enough), detail)


def _piece_grid(piece: Piece, count: int = 41) -> list[mpmath.mpf]:
    lo = mpmath.mpf(sp.N(piece.left, DIGITS + 10))
    exps = [mpmath.mpf(10) ** (mpmath.mpf(k) / 5) for k in range(-(count // 2), count // 2 + 1)]
    if piece.right is sp.oo:
        return [lo + g for g in exps]
    hi = mpmath.mpf(sp.N(piece.right, DIGITS + 10))
    return [lo + (hi - lo) / (1 + g) for g in exps]


def _region_for(conj: Conjugate, piece_index: int) -> sp.Expr | None:
    stationary = [reg for reg in conj.regions if reg.kind == "stationary"]
    return stationary[piece_index].value if piece_index < len(stationary) else None


def fenchel_young_steps(gen: Generator, conj: Conjugate) -> list[Step]:
    """``f(u) + f^*(f'(u)) = u f'(u)`` on every smooth piece of ``f``."""
    steps = []
    stationary_index = 0
    for piece in gen.pieces:
        derivative = sp.diff(piece.expr, u)
        relation = sp.Eq(
            _f(u) + _fstar(sp.Derivative(_f(u), u)), u * sp.Derivative(_f(u), u), evaluate=False
        )
        where = f"u in ({piece.left}, {piece.right})"
        affine = simplifies_to_zero(sp.diff(derivative, u))
        candidates: list[sp.Expr] = []
        if affine:
            candidates.append(conj.expr.subs(t, derivative))
        else:
            region_value = _region_for(conj, stationary_index)
            stationary_index += 1
            if region_value is not None:
                candidates.append(region_value.subs(t, derivative))
        for fstar_at in candidates:
            residual = piece.expr + fstar_at - u * derivative
            if is_zero(residual.subs(u, piece.parametrisation())):
                steps.append(Step(f"Fenchel-Young equality, {where}", relation, "symbolic", True))
                break
        else:
            fstar = _numeric(conj.expr, t)
            f_fn, d_fn = _numeric(piece.expr, u), _numeric(derivative, u)

            def relative(x, f_fn=f_fn, d_fn=d_fn, fstar=fstar):
                slope = d_fn(x)
                return (f_fn(x) + fstar(slope) - x * slope) / max(1, abs(x * slope))

            with mpmath.workdps(DIGITS + 10):
                grid = _piece_grid(piece)
            steps.append(
                _numeric_step(
                    f"Fenchel-Young equality, {where}",
                    relation,
                    "41 points 10**(k/5), k = -20..20, mapped into the piece",
                    grid,
                    (f_fn, d_fn),
                    relative,
                )
            )
    return steps


def _t_grid(conj: Conjugate) -> list[mpmath.mpf]:
    b = conj.domain.end
    offsets = [mpmath.mpf(10) ** (mpmath.mpf(k) / 4) for k in range(-12, 13)]
    if b is sp.oo:
        points = [mpmath.mpf(0)] + offsets + [-x for x in offsets]
    else:
        bb = mpmath.mpf(sp.N(b, DIGITS + 10))
        points = [bb - x for x in offsets]
        if not conj.domain.right_open:
            points.append(bb)
    for reg in conj.regions:
        for end in (reg.lo, reg.hi):
            if end.is_finite:
                points.append(mpmath.mpf(sp.N(end, DIGITS + 10)))
    return sorted(set(points))


def conjugate_convexity_step(conj: Conjugate) -> Step:
    """``f^*`` is convex on its domain."""
    relation = sp.Ge(sp.Derivative(_fstar(t), (t, 2)), 0)
    symbolic = True
    for reg in conj.regions:
        if is_numeric(reg.value):  # f*'' = 1 / f''(u*): checked numerically below
            symbolic = False
            break
        second = sp.diff(reg.value, t, 2)
        if second == 0:
            continue
        param = interval_parametrisation(reg.lo, reg.hi)
        inside = second.subs(t, param) if param is not None else second
        # SymPy's assumptions on the plain form first: simplify can run for minutes on forms
        # they already decide (1/sqrt(1 + (s - sinh(1))**2) for cosh(u - 1) - 1)
        if not (inside.is_nonnegative or nice(inside).is_nonnegative):
            symbolic = False
            break
    if symbolic:
        for left, right in itertools.pairwise(conj.regions):
            x = left.hi
            slope_l = sp.limit(sp.diff(left.value, t), t, x, "-") if left.lo != x else None
            slope_r = sp.limit(sp.diff(right.value, t), t, x, "+") if right.hi != x else None
            if slope_l is None or slope_r is None:
                continue
            if not bool(simplified(slope_r - slope_l) >= 0):
                symbolic = False
                break
    if symbolic:
        return Step(
            "f* is convex on its domain: f*'' >= 0 on every region, slopes non-decreasing at "
            "the junctions",
            relation,
            "symbolic",
            True,
        )
    fstar = functools.lru_cache(maxsize=None)(_numeric(conj.expr, t))  # each grid point once
    grid = _t_grid(conj)
    worst = mpmath.mpf(0)
    with mpmath.workdps(DIGITS):
        for i, x in enumerate(grid):
            for y in grid[i + 1 :: 3]:
                mid = (x + y) / 2
                gap = fstar(mid) - (fstar(x) + fstar(y)) / 2
                scale = max(1, abs(fstar(x)), abs(fstar(y)))
                worst = max(worst, gap / scale)
    return Step(
        "f* is convex on its domain (midpoint convexity)",
        relation,
        f"numeric: {DIGITS} digits, f*((x+y)/2) <= (f*(x)+f*(y))/2 for pairs of a "
        f"{len(grid)}-point grid over the domain (b - 10**(k/4) or +-10**(k/4), "
        "k = -12..12, and the region ends)",
        bool(worst <= TOLERANCE),
        f"largest violation {mpmath.nstr(worst, 3)}",
    )


#: the supremum is searched for over |t| <= sinh(2**MAX_DOUBLINGS) (about exp(10**12))
MAX_DOUBLINGS = 40


def _argsup(
    slope: Callable[[mpmath.mpf], mpmath.mpf], x: mpmath.mpf, end: sp.Expr
) -> mpmath.mpf | None:
    """The maximiser of the concave ``t -> x t - f^*(t)``: where ``x - f^{*'}(t)`` changes sign.

    The sign change is bracketed in ``phi = asinh(t)``, a log scale for large
    ``|t|``: a maximiser such as ``t = e^{999}`` (``f = e^{u-1} - u`` at ``u = 1000``) is
    bracketed in ten doublings of ``phi``, halved to a bracket of width 1 and located to
    10**-(DIGITS-5) by the Illinois variant of regula falsi (superlinear where ``f^{*'}`` is
    smooth), with a bisection every other step unless the bracket halved, so a kink of
    ``f^{*'}`` at the maximiser costs no more than bisection. Returns ``None`` when no sign
    change is found within ``|phi| <= 2**MAX_DOUBLINGS`` (which a convex ``f^*`` whose slopes
    reach ``x`` never gives).
    """

    def h(phi: mpmath.mpf) -> mpmath.mpf:
        return x - slope(mpmath.sinh(phi))

    def bracket(phi: mpmath.mpf, inside: Callable[[mpmath.mpf], bool]) -> mpmath.mpf | None:
        for _ in range(MAX_DOUBLINGS):
            if not inside(phi):
                return phi
            phi *= 2
        return None

    if end is sp.oo:
        hi = bracket(mpmath.mpf(1), lambda p: h(p) > 0)
    else:
        hi = mpmath.asinh(mpmath.mpf(sp.N(end, mpmath.mp.dps + 10)))
    lo = bracket(mpmath.mpf(-1), lambda p: h(p) < 0)
    if hi is None or lo is None:
        return None
    lo = min(lo, hi - 1)
    tolerance = mpmath.mpf(10) ** -(DIGITS - 5)
    # bisect to a bracket of width 1 whose two ends were both evaluated inside (the domain's
    # end itself, where f*' may be infinite, is never evaluated)
    h_lo = h_hi = None
    while hi - lo > tolerance and (hi - lo > 1 or h_lo is None or h_hi is None):
        mid = (lo + hi) / 2
        h_mid = h(mid)
        if h_mid > 0:
            lo, h_lo = mid, h_mid
        else:
            hi, h_hi = mid, h_mid
    side, width = 0, hi - lo
    for step in range(1000):
        if hi - lo <= tolerance or h_lo is None or h_hi is None or h_lo == 0:
            break
        if h_hi == 0:
            lo = hi
            break
        secant = hi - h_hi * (hi - lo) / (h_hi - h_lo)
        # a bisection every other step unless the bracket halved (a kink of f*' at the root)
        if step % 2 == 1 and hi - lo > width / 2:
            secant = (lo + hi) / 2
        if step % 2 == 1:
            width = hi - lo
        mid = secant if lo < secant < hi else (lo + hi) / 2
        h_mid = h(mid)
        if h_mid > 0:
            lo, h_lo = mid, h_mid
            if side == -1:  # the same end moved twice: halve the other one's value
                h_hi /= 2
            side = -1
        else:
            hi, h_hi = mid, h_mid
            if side == 1:
                h_lo /= 2
            side = 1
    return mpmath.sinh(lo)


def biconjugate_step(gen: Generator, conj: Conjugate) -> Step:
    """``f^{**} = f`` on a grid, the supremum over ``t`` found numerically from ``f^*`` alone
    (:func:`_argsup`); grid points where ``f`` is not representable are skipped
    (:func:`_numeric_step`)."""
    fstar = _numeric(conj.expr, t)
    slope = _numeric(sp.diff(conj.expr, t), t)
    f_fn = _numeric(gen.expr, u)

    def relative(x: mpmath.mpf) -> mpmath.mpf:
        t0 = _argsup(slope, x, conj.domain.end)
        if t0 is None:
            return mpmath.inf
        fx = f_fn(x)
        return (x * t0 - fstar(t0) - fx) / max(1, abs(fx))

    relation = sp.Eq(
        sp.Function("f^**")(u), sp.Function("sup_t")(u * t - _fstar(t)), evaluate=False
    )
    with mpmath.workdps(DIGITS + 10):
        grid = [mpmath.mpf(x) for x in _U_GRID]
    return _numeric_step(
        "biconjugate f** = f (sup over t at the root of u - f*'(t), bracketed in asinh(t))",
        sp.Eq(relation.lhs, _f(u), evaluate=False),
        _U_GRID_TEXT,
        grid,
        (f_fn,),
        relative,
    )


def value_at_one_step(gen: Generator, conj: Conjugate) -> list[Step]:
    """``f^*(f'(1)) = f'(1) - f(1)`` for each one-sided slope at ``u = 1``."""
    slopes = []
    for piece in gen.pieces:
        derivative = sp.diff(piece.expr, u)
        if piece.left < 1 < piece.right or (piece.right is sp.oo and piece.left < 1):
            slopes = [simplified(derivative.subs(u, 1))]
            break
        if piece.right == 1:
            slopes.append(simplified(sp.limit(derivative, u, 1, "-")))
        if piece.left == 1:
            slopes.append(simplified(sp.limit(derivative, u, 1, "+")))
    steps = []
    f1 = gen.offset
    for slope in dict.fromkeys(slopes):
        lhs = conj.expr.subs(t, slope)
        residual = nice(lhs - (slope - f1))
        relation = sp.Eq(_fstar(slope), slope - f1, evaluate=False)
        if residual == 0:
            steps.append(Step("f*(f'(1)) = f'(1) - f(1)", relation, "symbolic", True))
        else:
            with mpmath.workdps(DIGITS):
                value = abs(mpmath.mpf(sp.N(residual, DIGITS)))
            steps.append(
                Step(
                    "f*(f'(1)) = f'(1) - f(1)",
                    relation,
                    f"numeric: {DIGITS} digits at the single point t = f'(1)",
                    bool(value <= TOLERANCE),
                    f"residual {mpmath.nstr(value, 3)}",
                )
            )
    return steps


def range_step(gen: Generator, claimed: sp.Interval) -> Step:
    """The stated range of ``D_f`` against ``[f(1), f(0+) + lim_{u->oo} f(u)/u]``.

    ``D_f`` is minimal (``= f(1)``) at ``P = Q`` by Jensen's inequality and maximal for disjoint
    supports, where it equals ``f(0+) + lim f(u)/u`` (Liese and Vajda, *Convex Statistical
    Distances*, 1987, Thm. 1.1; Csiszar 1967).
    """
    lower = gen.offset
    # f(0+) and lim f(u)/u = f'(oo) (f convex) are derived once, with the generator
    upper = simplified(gen.limits.value_at_zero + gen.limits.slope_at_infinity)
    derived = sp.Interval(lower, upper)
    ok = simplified(derived.start - claimed.start) == 0 and (
        derived.end == claimed.end or simplified(derived.end - claimed.end) == 0
    )
    relation = sp.Eq(
        sp.Add(sp.Limit(_f(u), u, 0, "+"), sp.Limit(_f(u) / u, u, sp.oo), evaluate=False),
        claimed.end,
        evaluate=False,
    )
    return Step(
        "range of D_f: [f(1), f(0+) + lim f(u)/u] equals the stated range",
        relation,
        "symbolic",
        bool(ok),
        f"derived {derived}, stated {claimed}",
    )


def _nonzero_at(residual: sp.Expr, x: sp.Expr) -> bool:
    """Whether the number ``residual(x)`` is shown nonzero: exactly evaluated away from zero
    (:func:`.simplify.clearly_nonzero`, no rewrite can reach 0 then), else when :func:`nice`
    does not reduce it to ``0``."""
    value = residual.subs(u, x)
    return clearly_nonzero(value) or nice(value) != 0


def symmetry_step(gen: Generator, claimed: bool) -> Step:
    """``D_f`` is symmetric iff ``g(u) = f(u) - u f(1/u)`` is affine (Liese and Vajda 1987,
    Thm. 1.13). Since ``g(1) = 0``, affine means ``g(u) = g(2) (u - 1)``.
    """
    g = gen.expr - u * gen.expr.subs(u, 1 / u)
    residual = g - g.subs(u, 2) * (u - 1)
    relation = sp.Eq(_f(u) - u * _f(1 / u), sp.Symbol("c") * (u - 1), evaluate=False)
    if is_zero(residual):
        symmetric, method, detail = True, "symbolic", "f(u) - u f(1/u) - c (u - 1) simplifies to 0"
    else:
        witness = next((x for x in (3, sp.Rational(1, 3), 10) if _nonzero_at(residual, x)), None)
        if witness is not None:
            symmetric, method = False, "symbolic"
            detail = f"f(u) - u f(1/u) - c (u - 1) is nonzero at u = {witness}"
        else:
            fn = _numeric(residual, u)
            with mpmath.workdps(DIGITS):
                worst = max(abs(fn(mpmath.mpf(x))) for x in _U_GRID)
            symmetric = bool(worst <= TOLERANCE)
            method = f"numeric: {DIGITS} digits, {_U_GRID_TEXT}"
            detail = f"largest |f(u) - u f(1/u) - c (u - 1)| = {mpmath.nstr(worst, 3)}"
    return Step(
        f"D_f is {'symmetric' if claimed else 'not symmetric'} (f(u) - u f(1/u) is "
        f"{'' if claimed else 'not '}affine)",
        relation if claimed else sp.Ne(relation.lhs, relation.rhs),
        method,
        symmetric == claimed,
        detail,
    )


def domain_step(gen: Generator, conj: Conjugate) -> Step:
    """The domain's upper end: open exactly when ``f^*(t) -> oo`` as ``t -> b-``.

    A closed proper convex function equals its limit along a segment from inside its domain
    (Rockafellar 1970, Cor. 7.5.1), so ``f^*(b) = lim_{t -> b-} f^*(t)``; beyond ``b``,
    ``u t - f(u) >= u (t - b) + (u b - f(u))`` grows without bound.
    """
    b = conj.domain.end
    if b is sp.oo:
        value = conj.expr
        finite = all(
            region_limit(reg, end).is_finite
            for reg in conj.regions
            for end, x in (("lo", reg.lo), ("hi", reg.hi))
            if x.is_finite and reg.lo != reg.hi
        )
        return Step(
            "dom f* = R: f* is finite at every region end",
            sp.Eq(sp.Symbol("dom f^*"), conj.domain, evaluate=False),
            "symbolic",
            bool(finite),
            f"f* = {value}",
        )
    last = [reg for reg in conj.regions if reg.kind != "endpoint"][-1]
    limit = region_limit(last, "hi")
    closed = not conj.domain.right_open
    ok = bool(limit.is_finite) == closed
    return Step(
        f"dom f* is {'closed' if closed else 'open'} at b = {b}: lim_(t->b-) f*(t) = {limit}",
        sp.Eq(sp.Limit(_fstar(t), t, b, "-"), limit, evaluate=False),
        "symbolic",
        ok,
        f"the upper end is {'in' if closed else 'not in'} the domain",
    )


def certify(gen: Generator, conj: Conjugate) -> list[Step]:
    """The conjugate certificates 1-5 of the module docstring (an internal SymPy or Python error
    is reported as a ``DerivationError``, :func:`.conjugate.internal_errors`)."""
    with internal_errors(f"generator {gen.name!r}"):
        return [
            gen.convexity,
            *fenchel_young_steps(gen, conj),
            domain_step(gen, conj),
            conjugate_convexity_step(conj),
            biconjugate_step(gen, conj),
            *value_at_one_step(gen, conj),
        ]
