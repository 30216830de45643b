"""The Legendre-Fenchel engine: the convex conjugate of a generator over ``u > 0``.

.. math::
    f^*(t) = \\sup_{u > 0} \\big( u t - f(u) \\big).

For convex ``f`` the derivative (or subdifferential) is non-decreasing, so the maximiser moves
monotonically with ``t``. Writing ``a = f'(0+)`` and ``b = f'(oo)``, the engine splits the real
line into regions (Rockafellar, *Convex Analysis*, 1970, Thm. 26.5 and Sec. 12; Boyd and
Vandenberghe, *Convex Optimization*, 2004, Sec. 3.3):

* ``t <= a`` (when ``a`` is finite): ``u t - f(u)`` is non-increasing in ``u``, the supremum is
  the limit ``u -> 0+`` and ``f^*(t) = -f(0+)``;
* inside a smooth piece, ``f'(u*) = t``: the branch of the inverse of ``f'`` lying in the piece
  gives ``f^*(t) = t u^* - f(u^*)`` (this is where Lambert W appears for ``jeffrey``);
* at a kink ``x`` of ``f`` with one-sided slopes ``f'(x-) < f'(x+)``: every ``t`` in between has
  the maximiser ``u^* = x`` and ``f^*(t) = x t - f(x)``;
* ``t > b``: ``u t - f(u) -> oo``, the conjugate is infinite; at ``t = b`` the supremum is the limit
  ``lim_{u -> oo} (b u - f(u))``, and the domain's end is closed exactly when it is finite.

The domain therefore always contains ``(-oo, b)``: it is ``R``, ``(-oo, b)`` or ``(-oo, b]``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mpmath
import sympy as sp

from ..errors import DerivationError, InputError, InvalidGeneratorError
from .generator import Generator, Piece
from .legendre import ConjugateValue, StationaryPoint
from .serialize import register_dataclass
from .simplify import (
    interval_parametrisation,
    nice,
    one_sided_limit,
    radicals_normalised,
    simplified,
    simplify_on_interval,
)
from .steps import DerivationStep
from .symbols import s, t, u

__all__ = ["Conjugate", "Region", "conjugate", "internal_errors", "region_limit"]

_FSTAR = sp.Function("f^*")


@register_dataclass
@dataclass(frozen=True)
class Region:
    """An interval of ``t`` with one formula for ``f^*`` and for the maximiser ``u^*``.

    ``hi_closed`` says whether the region contains its upper end; regions are listed from left to
    right and are contiguous, so a region's lower end is the previous region's upper end.
    """

    kind: str  # "boundary-zero" | "stationary" | "kink" | "endpoint"
    lo: sp.Expr
    hi: sp.Expr
    hi_closed: bool
    value: sp.Expr
    argmax: sp.Expr


@register_dataclass
@dataclass(frozen=True)
class Conjugate:
    """The derived conjugate: the piecewise expression, its domain, regions and derivation."""

    expr: sp.Expr
    domain: sp.Interval
    regions: tuple[Region, ...]
    derivation: tuple[DerivationStep, ...]

    @property
    def argmax(self) -> sp.Expr:
        """The maximiser ``u^*(t)`` as a Piecewise (``0`` means the limit ``u -> 0+``)."""
        return _assemble([(r.argmax, r) for r in self.regions], sp.nan)


def region_limit(region: Region, end: str) -> sp.Expr:
    """The limit of ``region.value`` as ``t`` tends to the region's ``"lo"`` or ``"hi"`` end
    from inside (for a numeric region, along the maximiser: :meth:`.ConjugateValue.end_value`)."""
    if isinstance(region.value, ConjugateValue):
        return region.value.end_value(end)
    at, direction = (region.lo, "+") if end == "lo" else (region.hi, "-")
    return simplified(sp.limit(region.value, t, at, direction))


def _samples(lo: sp.Expr, hi: sp.Expr) -> list[sp.Expr]:
    if lo.is_finite and hi.is_finite:
        return [lo + (hi - lo) * sp.Rational(k, 8) for k in (1, 4, 7)]
    if hi.is_finite:
        return [hi - sp.Rational(1, 2), hi - 2, hi - 10]
    if lo.is_finite:
        return [lo + sp.Rational(1, 2), lo + 2, lo + 10]
    return [sp.Integer(-3), sp.Rational(3, 10), sp.Integer(3)]


def _stationarity_equation(derivative: sp.Expr) -> sp.Eq:
    """``f'(u) = t`` in the form SymPy solves best.

    ``f'(u) = k + c h(u)`` is rewritten ``h(u) = (t - k)/c``; when ``h`` combines into one
    logarithm ``log g(u)`` (valid on the piece, where every logarithm's argument is positive),
    it becomes ``g(u) = exp((t - k)/c)``. This keeps e.g. the weighted JS with ``pi = 3/10``
    linear in ``u`` instead of the cubic SymPy reaches by clearing the fractional powers.
    """
    expanded = sp.expand(sp.expand_log(derivative, force=True))
    k, rest = expanded.as_independent(u, as_Add=True)
    c, h = sp.factor_terms(rest).as_independent(u, as_Add=False)
    h = sp.logcombine(sp.expand_log(h, force=True), force=True)
    target = (t - k) / c
    if isinstance(h, sp.log):
        return sp.Eq(h.args[0], sp.exp(target))
    return sp.Eq(h, target)


#: seconds ``sympy.solve`` may spend inverting ``f'`` before the engine falls back to the numeric
#: conjugate (every registered generator needs under 0.2 s; the arithmetic-geometric generator
#: ran 15-40 s into a RecursionError). Enforced with ``SIGALRM`` in the main thread only.
SOLVE_BUDGET_S = 5.0


class _OutOfTime(BaseException):
    """Raised inside ``sympy.solve`` by the alarm of :func:`_time_limit` (a ``BaseException``,
    so that SymPy's own ``except Exception`` clauses let it through)."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_OutOfTime` in the block after ``seconds`` (main thread, POSIX, and no
    other interval timer running; elsewhere the block runs unbounded)."""
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    )
    if not usable:
        yield
        return

    def alarm(signum: int, frame: object) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _inverse_branch(
    piece: Piece, derivative: sp.Expr, lo: sp.Expr, hi: sp.Expr, name: str
) -> tuple[sp.Expr | None, str]:
    """The branch of ``(f')^{-1}`` that maps ``(lo, hi)`` into the piece, or ``(None, why)``
    when SymPy finds none (the engine then falls back to the numeric conjugate)."""
    _refuse_huge_root_orders(derivative, name)
    try:
        with _time_limit(SOLVE_BUDGET_S):
            candidates = sp.solve(_stationarity_equation(derivative), u, check=False)
    except _OutOfTime:
        return None, f"SymPy did not invert f'(u) = t in closed form within {SOLVE_BUDGET_S:g} s"
    except Exception as exc:  # NotImplementedError, RecursionError, PolynomialError, ...
        return None, (
            f"SymPy cannot invert f'(u) = t in closed form ({type(exc).__name__} in sympy.solve)"
        )
    d_fn = sp.lambdify(u, derivative, modules="mpmath")
    left = float(piece.left)
    right = float("inf") if piece.right is sp.oo else float(piece.right)
    with mpmath.workdps(30):
        for candidate in candidates:
            if t not in candidate.free_symbols or candidate.has(sp.zoo, sp.nan, sp.oo):
                # SymPy's solve (check=False) may list a constant such as zoo for
                # tanh(u - 1) = t: never an inverse of a non-constant f' on an interval
                continue
            c_fn = sp.lambdify(t, candidate, modules="mpmath")
            ok = True
            for sample in _samples(lo, hi):
                tv = mpmath.mpf(sp.N(sample, 30))
                try:
                    uv = mpmath.mpmathify(c_fn(tv))
                except (ZeroDivisionError, ValueError, TypeError):
                    ok = False
                    break
                if abs(mpmath.im(uv)) > 1e-20 or not left < mpmath.re(uv) < right:
                    ok = False
                    break
                if abs(d_fn(mpmath.re(uv)) - tv) > 1e-15 * max(1, abs(tv)):
                    ok = False
                    break
            if ok:
                return candidate, ""
    return None, (
        f"no closed-form solution of f'(u) = t lies in ({piece.left}, {piece.right}) for t in "
        f"({lo}, {hi}) (SymPy's solutions: {candidates})"
    )


def _numeric_region(piece: Piece, lo: sp.Expr, hi: sp.Expr, why: str) -> tuple[Region, list]:
    """The stationary region of ``piece`` with the numeric conjugate of :mod:`.legendre`."""
    f = sp.Lambda(u, piece.expr)
    value = ConjugateValue(t, f, piece.left, piece.right)
    argmax = StationaryPoint(t, f, piece.left, piece.right)
    steps = [
        DerivationStep(
            f"{why}: for t in ({lo}, {hi}), u*(t) is the root of f'(u) = t in "
            f"({piece.left}, {piece.right}), computed numerically (safeguarded Newton "
            "iteration; f' is increasing there), and f*(t) = t u* - f(u*); the certificate "
            "checks it numerically",
            sp.Eq(sp.Symbol("u^*"), argmax),
        ),
        DerivationStep(
            "f*(t) = t u*(t) - f(u*(t)), numeric; f*'(t) = u*(t) (envelope theorem)",
            sp.Eq(_FSTAR(t), value),
        ),
    ]
    return Region("stationary", lo, hi, False, value, argmax), steps


#: largest denominator q of a rational power u**(p/q) that the exact inversion of f' accepts
MAX_ROOT_ORDER = 1000


def _refuse_huge_root_orders(derivative: sp.Expr, name: str) -> None:
    """Refuse ``f'`` with a power ``u**(p/q)``, ``q >`` :data:`MAX_ROOT_ORDER`, before solving.

    Solving ``f'(u) = t`` exactly turns such a power into a polynomial of degree ``q``: SymPy
    would exhaust memory on ``alpha = 0.7071067811865476`` (``q = 777767720``) instead of
    answering.
    """
    orders = [
        int(p.exp.q) for p in derivative.atoms(sp.Pow) if p.exp.is_Rational and not p.exp.is_Integer
    ]
    if orders and max(orders) > MAX_ROOT_ORDER:
        raise DerivationError(
            f"generator {name!r}: f'(u) = {derivative} has a power with denominator "
            f"{max(orders)} > {MAX_ROOT_ORDER}: inverting it exactly means solving a polynomial "
            "of that degree; use an exponent with a small denominator (e.g. 7/10)"
        )


def _radicals_normalised(expr: sp.Expr, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """:func:`.simplify.radicals_normalised` of ``expr`` on ``(lo, hi)`` when it is shorter and
    agrees with ``expr`` to 25 digits at the sample points; otherwise ``expr``."""
    if not expr.has(sp.Pow) or not any(
        x.exp.is_Rational and x.exp.q == 2 for x in expr.atoms(sp.Pow)
    ):
        return expr
    points = _samples(lo, hi)
    candidate = radicals_normalised(expr, t, points[1])
    if sp.count_ops(candidate) >= sp.count_ops(expr):
        return expr
    old_fn, new_fn = (sp.lambdify(t, x, modules="mpmath") for x in (expr, candidate))
    with mpmath.workdps(30):
        for point in points:
            x = mpmath.mpf(sp.N(point, 30))
            try:
                want, got = mpmath.mpmathify(old_fn(x)), mpmath.mpmathify(new_fn(x))
            except (ZeroDivisionError, ValueError, TypeError):
                return expr
            if not abs(want - got) <= mpmath.mpf(10) ** -25 * max(1, abs(want)):
                return expr
    return candidate


def _assemble(items: list[tuple[sp.Expr, Region]], outside: sp.Expr) -> sp.Expr:
    args = []
    for value, region in items:
        cond = sp.Le(t, region.hi) if region.hi_closed else sp.Lt(t, region.hi)
        if region.hi is sp.oo:
            cond = sp.true
        args.append((value, cond))
    if args[-1][1] is not sp.true:
        args.append((outside, sp.true))
    if len(args) == 1:
        return args[0][0]
    return sp.Piecewise(*args)


@contextlib.contextmanager
def internal_errors(what: str) -> Iterator[None]:
    """Report an internal error escaping the library as a :class:`DerivationError` about
    ``what`` (e.g. ``"generator 'mine'"``).

    The library's own errors pass through. Any other exception (a ``KeyError`` from a SymPy
    printer, a ``TypeError`` from an undecidable relational, ``RecursionError``,
    ``PolynomialError``, ...) becomes a ``DerivationError`` that names the library function it
    escaped from and the original error (chained as its cause), so a user never sees a SymPy
    traceback.
    """
    try:
        yield
    except (DerivationError, InvalidGeneratorError, InputError, MemoryError):
        raise
    except Exception as exc:
        package = Path(__file__).parents[1]
        frames = [
            f
            for f in traceback.extract_tb(exc.__traceback__)
            if Path(f.filename).is_relative_to(package)
        ]
        where = f"{Path(frames[-1].filename).stem}.{frames[-1].name}" if frames else "SymPy"
        detail = str(exc) if len(str(exc)) <= 200 else str(exc)[:200] + "..."
        raise DerivationError(
            f"{what}: internal error in {where}: {type(exc).__name__}: {detail} (not a "
            "refusal of the generator: the library failed on it)"
        ) from exc


def conjugate(gen: Generator) -> Conjugate:
    """Derive ``f^*`` and its domain from the validated generator ``gen``.

    Raises:
        DerivationError: no closed form, or an internal error (:func:`internal_errors`).
    """
    with internal_errors(f"generator {gen.name!r}"):
        return _conjugate(gen)


def _conjugate(gen: Generator) -> Conjugate:
    name = gen.name
    steps: list[DerivationStep] = []
    regions: list[Region] = []
    last = gen.pieces[-1]
    a = gen.limits.slope_at_zero
    steps.append(
        DerivationStep(
            "slope at the left end a = f'(0+) = lim_{u->0+} f'(u)",
            sp.Eq(sp.Symbol("a"), a),
        )
    )
    if a.is_finite:
        f0 = gen.limits.value_at_zero
        regions.append(Region("boundary-zero", -sp.oo, a, True, nice(-f0), sp.S.Zero))
        steps.append(
            DerivationStep(
                "for t <= a, u t - f(u) is non-increasing in u: the supremum is the limit "
                "u -> 0+, f*(t) = -f(0+)",
                sp.Eq(_FSTAR(t), -f0),
            )
        )
    for index, piece in enumerate(gen.pieces):
        derivative = simplified(sp.diff(piece.expr, u))
        lo = one_sided_limit(derivative, u, piece.left, "+")
        hi = one_sided_limit(derivative, u, piece.right, "-")
        affine = simplified(hi - lo) == 0
        spread = f"is constant, {lo} (affine piece)" if affine else f"ranges over ({lo}, {hi})"
        if len(gen.pieces) > 1:
            steps.append(
                DerivationStep(
                    f"piece {index + 1}: f(u) = {piece.expr} for u in ({piece.left}, "
                    f"{piece.right}); f' {spread}",
                    sp.Eq(sp.Function(f"f'_{index + 1}")(u), derivative),
                )
            )
        else:
            steps.append(
                DerivationStep(
                    f"f'(u) = {derivative} {spread} on (0, oo)",
                    sp.Eq(sp.Function("f'")(u), derivative),
                )
            )
        branch, why = (None, "") if affine else _inverse_branch(piece, derivative, lo, hi, name)
        if not affine and branch is None:
            region, numeric_steps = _numeric_region(piece, lo, hi, why)
            regions.append(region)
            steps += numeric_steps
        elif not affine:
            argmax = simplify_on_interval(branch, lo, hi)
            param = interval_parametrisation(lo, hi)
            value = simplify_on_interval(t * argmax - piece.expr.subs(u, argmax), lo, hi)
            if param is not None:
                # a second pass from the parametrised form often finds a shorter expression
                inner = nice((t * argmax - piece.expr.subs(u, argmax)).subs(t, param))
                back = nice(inner.subs(s, sp.solve(sp.Eq(param, t), s)[0]))
                value = min([value, back], key=sp.count_ops)
            argmax, value = (_radicals_normalised(x, lo, hi) for x in (argmax, value))
            regions.append(Region("stationary", lo, hi, False, value, argmax))
            steps.append(
                DerivationStep(
                    f"for t in ({lo}, {hi}) the stationarity condition f'(u) = t has the "
                    "solution in the piece",
                    sp.Eq(sp.Symbol("u^*"), argmax),
                )
            )
            steps.append(
                DerivationStep(
                    "substituting, f*(t) = t u* - f(u*)",
                    sp.Eq(_FSTAR(t), value),
                )
            )
        if index + 1 < len(gen.pieces):
            x = piece.right
            nxt = gen.pieces[index + 1]
            lo_next = one_sided_limit(sp.diff(nxt.expr, u), u, x, "+")
            if simplified(lo_next - hi) != 0:
                value = nice(x * t - piece.expr.subs(u, x))
                regions.append(Region("kink", hi, lo_next, True, value, x))
                steps.append(
                    DerivationStep(
                        f"kink at u = {x}: for t in [{hi}, {lo_next}] the maximiser is u* = {x}",
                        sp.Eq(_FSTAR(t), value),
                    )
                )
    b = gen.limits.slope_at_infinity
    steps.append(
        DerivationStep(
            "slope at the right end b = f'(oo) = lim_{u->oo} f'(u)", sp.Eq(sp.Symbol("b"), b)
        )
    )
    if b.is_finite:
        at_b = simplified(sp.limit(b * u - last.expr, u, sp.oo))
        closed = bool(at_b.is_finite)
        steps.append(
            DerivationStep(
                "for t > b, u t - f(u) -> oo; at t = b the supremum is lim_{u->oo} (b u - f(u))"
                + (": finite, so b belongs to the domain" if closed else ": infinite"),
                sp.Eq(_FSTAR(sp.Symbol("b")), at_b),
            )
        )
        if closed:
            previous = regions[-1]
            at_end = region_limit(previous, "hi")
            if simplified(at_end - at_b) != 0:
                raise DerivationError(
                    f"generator {name!r}: f* is not lower semicontinuous at t = b = {b} "
                    f"(left limit {at_end}, value {at_b})"
                )
            try:
                direct = simplified(previous.value.subs(t, b))
            except (ZeroDivisionError, TypeError):
                direct = sp.nan
            if direct.is_finite and simplified(direct - at_b) == 0:
                regions[-1] = Region(
                    previous.kind, previous.lo, b, True, previous.value, previous.argmax
                )
            else:
                regions.append(Region("endpoint", b, b, True, at_b, sp.oo))
        domain = sp.Interval(-sp.oo, b, True, not closed)
    else:
        domain = sp.Interval(-sp.oo, sp.oo)
    expr = _assemble([(r.value, r) for r in regions], sp.oo)
    steps.append(DerivationStep("domain of f* (where it is finite)", domain))
    steps.append(DerivationStep("assembled conjugate", sp.Eq(_FSTAR(t), expr)))
    return Conjugate(
        expr=expr,
        domain=domain,
        regions=tuple(regions),
        derivation=tuple(steps),
    )
