"""Validation of a generator f and its split into smooth pieces.

A generator is admissible when it is a real, finite, continuous function of one positive variable
``u`` on ``(0, oo)``, convex there, not affine, and ``f(1) = 0`` (an offset ``f(1) != 0`` only with
``allow_offset=True``). Convexity is proved piece by piece: ``f'' >= 0`` inside each smooth piece
(decided by SymPy's assumptions, by ``solveset`` of ``f'' < 0``, or, when both are undecided, by
``f''`` on a dense logarithmic grid, which is then recorded as numeric) and one-sided slopes that do
not decrease at each junction.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import mpmath
import sympy as sp
from sympy.calculus.util import continuous_domain

from ..errors import InvalidGeneratorError, NotConvexError
from .parse import check_expression, parse_expression
from .serialize import register_dataclass
from .simplify import one_sided_limit, simplified, simplifies_to_zero
from .steps import Step
from .symbols import s, u

__all__ = ["Generator", "Limits", "Piece", "from_text", "prepare_generator"]

_POSITIVE_REALS = sp.Interval.open(0, sp.oo)
_NONSMOOTH = (sp.Piecewise, sp.Abs, sp.Max, sp.Min, sp.Heaviside, sp.sign)
#: grid for numeric convexity checks: f'' at 10**k, k = -8 ... 8 in steps of 0.02
_LOG_GRID = tuple(mpmath.mpf(10) ** (mpmath.mpf(k) / 50) for k in range(-400, 401))
_GRID_TEXT = "801 points 10**k, k in [-8, 8] step 0.02 (mapped into each piece)"


@register_dataclass
@dataclass(frozen=True)
class Piece:
    """``f`` restricted to an open interval ``(left, right)`` where it is smooth."""

    expr: sp.Expr
    left: sp.Expr
    right: sp.Expr

    def parametrisation(self) -> sp.Expr:
        """``u`` written with a positive symbol ``s`` so that ``u`` ranges over the piece."""
        lo, hi = self.left, self.right
        if hi is sp.oo:
            return lo + s
        if lo == 0:
            return hi / (1 + s)
        return lo + (hi - lo) / (1 + s)

    def grid(self) -> list[mpmath.mpf]:
        """The numeric grid mapped into the piece."""
        lo, hi = (
            mpmath.mpf(sp.N(x, 40)) if x is not sp.oo else None for x in (self.left, self.right)
        )
        if hi is None:
            return [lo + g for g in _LOG_GRID]
        return [lo + (hi - lo) / (1 + g) for g in _LOG_GRID]


@register_dataclass
@dataclass(frozen=True)
class Limits:
    r"""The generator at the ends of :math:`(0, \infty)`, derived once and read by every layer.

    .. math::
        f(0^+) = \lim_{u \to 0^+} f(u), \qquad a = f'(0^+), \qquad
        b = f'(\infty) = \lim_{u \to \infty} f'(u) = \lim_{u \to \infty} \frac{f(u)}{u}

    (the last equality holds for every convex ``f``: Liese and Vajda, *Convex Statistical
    Distances*, 1987, Ch. 1). Each may be infinite: ``f(0+)`` and ``b`` only ``+oo``, ``a`` only
    ``-oo``. The conjugate's domain ends at ``b``; for ``t <= a`` the conjugate is
    ``-f(0+)``; the perspective uses ``f(0+)`` and ``b`` at ``p = 0`` and ``q = 0``.
    """

    value_at_zero: sp.Expr
    slope_at_zero: sp.Expr
    slope_at_infinity: sp.Expr


@register_dataclass
@dataclass(frozen=True)
class Generator:
    """A validated generator on the canonical positive symbol ``u``."""

    name: str
    expr: sp.Expr
    pieces: tuple[Piece, ...]
    offset: sp.Expr
    convexity: Step
    limits: Limits


def _fail(name: str, condition: str) -> InvalidGeneratorError:
    return InvalidGeneratorError(f"generator {name!r}: {condition}")


def from_text(expr: object, var: object, name: str) -> object:
    """``expr`` with a text generator parsed in the variable ``var`` (against a whitelist, never
    evaluated: :func:`.parse.parse_expression`); any other value is returned as it is."""
    if not isinstance(expr, str):
        return expr
    if not isinstance(var, sp.Symbol):
        raise _fail(name, f"the variable must be a SymPy Symbol, got {var!r}")
    return parse_expression(expr, {var.name: var}, what=f"generator {name!r}")


def _canonical(expr: object, var: object, name: str) -> sp.Expr:
    expr = from_text(expr, var, name)
    try:
        e = sp.sympify(expr, strict=True)  # numbers and SymPy objects only, never text
    except (sp.SympifyError, TypeError) as exc:
        raise _fail(name, f"is not a SymPy expression ({exc})") from exc
    if not isinstance(e, sp.Expr) or isinstance(e, sp.Lambda):
        raise _fail(name, f"is not a SymPy expression of one variable: got {type(e).__name__}")
    if not isinstance(var, sp.Symbol):
        raise _fail(name, f"the variable must be a SymPy Symbol, got {var!r}")
    others = e.free_symbols - {var}
    if others:
        names = ", ".join(sorted(str(x) for x in others))
        raise _fail(
            name,
            f"is not a function of one positive variable {var}: it also depends on {names} "
            "(substitute numeric values for parameters)",
        )
    if var not in e.free_symbols:
        raise _fail(name, f"does not depend on {var}: a constant is not a generator")
    if e.has(sp.I) or e.has(sp.zoo, sp.nan):
        raise _fail(name, "contains I, zoo or nan: it must be real on (0, oo)")
    # before anything lambdifies or prints it: no undefined function or foreign name in it
    check_expression(e, (var,), what=f"generator {name!r}")
    return e.subs(var, u)


def _check_finite_real(f: sp.Expr, name: str) -> None:
    try:
        where = continuous_domain(f, u, _POSITIVE_REALS)
    except (NotImplementedError, ValueError, TypeError):
        where = None
    if where is not None and where != _POSITIVE_REALS:
        bad = _POSITIVE_REALS - where
        raise _fail(
            name,
            f"has a singularity in (0, oo): f(u) = {f} is not finite, real and continuous for "
            f"u in {bad}",
        )
    if where is None:
        fn = sp.lambdify(u, f, modules="mpmath")
        for x in _LOG_GRID[::8]:
            try:
                y = mpmath.mpmathify(fn(x))
            except (ZeroDivisionError, ValueError) as exc:
                raise _fail(name, f"is not finite at u = {mpmath.nstr(x, 6)}: {exc}") from exc
            if not mpmath.isfinite(y) or mpmath.im(y) != 0:
                raise _fail(name, f"has a singularity in (0, oo): f({mpmath.nstr(x, 6)}) = {y}")


def _split(f: sp.Expr) -> tuple[Piece, ...]:
    if not f.has(*_NONSMOOTH):
        return (Piece(f, sp.S.Zero, sp.oo),)
    folded = sp.piecewise_fold(f.rewrite(sp.Piecewise))
    if not isinstance(folded, sp.Piecewise):
        return (Piece(folded, sp.S.Zero, sp.oo),)
    intervals: list[tuple[sp.Expr, sp.Expr, sp.Expr]] = []
    for expr, where in folded.as_expr_set_pairs(_POSITIVE_REALS):
        for part in where.args if isinstance(where, sp.Union) else (where,):
            if isinstance(part, sp.Interval) and part.measure != 0:
                intervals.append((simplified(expr), part.start, part.end))
    intervals.sort(key=lambda x: float(x[1]))
    merged: list[Piece] = []
    for expr, lo, hi in intervals:
        if merged and simplified(merged[-1].expr - expr) == 0 and merged[-1].right == lo:
            merged[-1] = Piece(expr, merged[-1].left, hi)
        else:
            merged.append(Piece(expr, lo, hi))
    return tuple(merged)


def _check_junctions(f: sp.Expr, pieces: tuple[Piece, ...], name: str) -> None:
    for left, right in itertools.pairwise(pieces):
        x = left.right
        a = one_sided_limit(left.expr, u, x, "-")
        b = one_sided_limit(right.expr, u, x, "+")
        if simplified(a - b) != 0:
            raise _fail(name, f"is not continuous at u = {x}: f({x}-) = {a}, f({x}+) = {b}")
        slope_l = one_sided_limit(sp.diff(left.expr, u), u, x, "-")
        slope_r = one_sided_limit(sp.diff(right.expr, u), u, x, "+")
        if bool(slope_l > slope_r):
            raise NotConvexError(
                f"generator {name!r} is not convex on (0, oo): the slope drops at the junction "
                f"u = {x} (f'({x}-) = {slope_l} > f'({x}+) = {slope_r})"
            )


def _piece_convexity(piece: Piece, name: str) -> str:
    """Prove f'' >= 0 on the piece; return 'symbolic' or the numeric description."""
    second = sp.diff(piece.expr, u, 2)
    if second == 0:
        return "symbolic"
    inside = simplified(second.subs(u, piece.parametrisation()))
    if inside.is_nonnegative:
        return "symbolic"
    where = sp.Interval.open(piece.left, piece.right)
    negative: sp.Set | None
    try:
        negative = sp.solveset(simplified(second) < 0, u, where)
    except (NotImplementedError, ValueError, TypeError):
        negative = None
    if negative is not None and not isinstance(negative, sp.ConditionSet):
        if negative is sp.S.EmptySet:
            return "symbolic"
        witness = _witness(negative)
        raise NotConvexError(
            f"generator {name!r} is not convex on (0, oo): f''(u) = {simplified(second)} < 0 "
            f"for u in {negative} (e.g. u = {witness})"
        )
    fn = sp.lambdify(u, second, modules="mpmath")
    with mpmath.workdps(30):
        for x in piece.grid():
            value = mpmath.re(fn(x))
            if value < -(mpmath.mpf(10) ** -20) * max(1, abs(value)):
                raise NotConvexError(
                    f"generator {name!r} is not convex on (0, oo): f''(u) = "
                    f"{simplified(second)} is {mpmath.nstr(value, 6)} < 0 at "
                    f"u = {mpmath.nstr(x, 8)} (numeric check)"
                )
    return f"numeric: f'' >= 0 at 30 digits on {_GRID_TEXT}"


def _witness(region: sp.Set) -> sp.Expr:
    for part in region.args if isinstance(region, sp.Union) else (region,):
        if isinstance(part, sp.Interval):
            lo, hi = part.start, part.end
            if hi is sp.oo:
                return lo + 1
            return (lo + hi) / 2
    return region


def _is_affine(pieces: tuple[Piece, ...]) -> bool:
    if any(not simplifies_to_zero(sp.diff(p.expr, u, 2)) for p in pieces):
        return False
    slopes = {simplified(sp.diff(p.expr, u)) for p in pieces}
    return len(slopes) == 1


def prepare_generator(
    expr: object, var: object, name: str, *, allow_offset: bool = False
) -> Generator:
    """Validate ``expr`` as a generator in ``var`` and return it on the canonical symbol ``u``.

    Raises:
        InvalidGeneratorError: not one positive variable, singular on (0, oo), affine, or
            ``f(1) != 0`` without ``allow_offset``.
        NotConvexError: ``f`` is not convex on ``(0, oo)``.
    """
    f = _canonical(expr, var, name)
    _check_finite_real(f, name)
    pieces = _split(f)
    _check_junctions(f, pieces, name)
    if _is_affine(pieces):
        raise _fail(name, f"f(u) = {f} is affine: the divergence would be identically zero")
    offset = sp.nsimplify(simplified(f.subs(u, 1)), [sp.log(2), sp.log(3)])
    offset = simplified(f.subs(u, 1)) if simplified(offset - f.subs(u, 1)) != 0 else offset
    if offset != 0 and not allow_offset:
        raise _fail(
            name,
            f"f(1) = {offset} != 0 (a generator must vanish at u = 1; pass allow_offset=True "
            "if the constant offset is intended)",
        )
    methods = [_piece_convexity(p, name) for p in pieces]
    numeric = [m for m in methods if m != "symbolic"]
    relation = sp.Ge(sp.Derivative(sp.Function("f")(u), (u, 2)), 0)
    convexity = Step(
        description="f is convex on (0, oo): f'' >= 0 on every smooth piece"
        + (", slopes non-decreasing at the junctions" if len(pieces) > 1 else ""),
        relation=relation,
        method=numeric[0] if numeric else "symbolic",
        passed=True,
        detail=f"{len(pieces)} smooth piece(s)",
    )
    return Generator(
        name=name,
        expr=f,
        pieces=pieces,
        offset=offset,
        convexity=convexity,
        limits=_limits(pieces),
    )


def _limits(pieces: tuple[Piece, ...]) -> Limits:
    """``f(0+)`` and ``f'(0+)`` from the first smooth piece, ``f'(oo)`` from the last."""
    first, last = pieces[0].expr, pieces[-1].expr
    return Limits(
        value_at_zero=one_sided_limit(first, u, 0, "+"),
        slope_at_zero=one_sided_limit(sp.diff(first, u), u, 0, "+"),
        slope_at_infinity=one_sided_limit(sp.diff(last, u), u, sp.oo, "-"),
    )
