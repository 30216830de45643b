r"""Choose, among equivalent forms of a branch, the one that is most accurate in float64.

Each candidate is compiled to torch and evaluated in float64 on a probe grid inside the branch's
region; the reference is the original SymPy expression evaluated by mpmath. The score of a
candidate is its largest error in units in the last place (ulps) over the grid,

.. math:: \text{ulps}(y, y^*) = \frac{|y - y^*|}{\operatorname{ulp}(y^*)},

with a value that should overflow counted as exact when it is ``inf`` of the right sign. The
most accurate candidate wins; forms within 1.5 ulps of the best are ranked by their number of
operations (cheaper code).

The reference is computed at 40 and 400 significant digits and, when the two disagree, at 800:
the 400-digit evaluation absorbs any cancellation between float64-sized numbers (at most about
330 digits), and agreement to 20 digits between two precisions far apart is the acceptance test
(two nearby precisions can agree on the same wrong value after a total cancellation). A point
where no two consecutive precisions agree, or where the reference is not a finite real number,
is left out; a zero is accepted only at 800 digits.

Points where the relative condition number :math:`|x f'(x)/f(x)|` exceeds ``1e8`` (next to a pole
at a domain's end, where every float64 form loses about :math:`\log_{10}` of it in digits) are left
out of the choice, and elsewhere an error is divided by ``max(1, cond/1024)`` before forms are
compared: a form is asked to be within a few ulps where the function is well conditioned and
within ``cond/1024`` ulps where it is very badly conditioned (next to a pole). The reported
scores are these normalised errors; ``benchmarks/accuracy_ulps.py`` measures the plain ones.

When no single form is accurate on the whole region (typically one form is exact near a zero
crossing and overflows far from it), the region is cut at ``+-1`` (``1/2`` and ``2`` on the
positive half-line) and each part gets its own form, provided this improves the worst error at
least fourfold; the emitter prints the parts as a piecewise function.

For the f-GAN losses the emitter also wants one form ``a + b G(v)`` whose constant ``a`` can be
added once to the mean; :func:`choose` reports the best single form under the error measured in
ulps of :math:`|a| + |b G(v)|` (the size of the parts of the sum), see :class:`Choice`.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mpmath
import sympy as sp
import torch

from divergences.errors import DerivationError

from ._printer import compile_pieces

__all__ = [
    "Choice",
    "choose",
    "condition_numbers",
    "max_ulps",
    "probe_points",
    "reference_values",
    "split_constant",
    "ulps",
]

_BASE_GRID = sorted(
    {0.0}
    | {s * m * 10.0**k for s in (-1, 1) for m in (1, 2, 5) for k in range(-12, 13)}
    | {s * 10.0**k for s in (-1, 1) for k in (-300, -100, -30, -20, 20, 30, 100, 300)}
    | {s * 0.7 for s in (-1, 1)}
)
_END_OFFSETS = (1e-12, 1e-6, 1e-3, 1e-1)
#: probe points where the function itself amplifies input perturbations more than this are
#: left out of the choice (next to a pole every form loses about log10(cond) digits)
_MAX_CONDITION = 1e8
_DIGITS = (40, 400, 800)
_FLOAT_MAX = mpmath.mpf(sys.float_info.max)


def _contains(region: sp.Set, x: float) -> bool:
    """Exact membership of the float ``x`` in ``region`` (compared at 50 digits)."""
    return bool(region.contains(sp.Float(x, 50)))


def probe_points(region: sp.Set) -> list[float]:
    """Float64 points inside ``region``: a signed logarithmic grid and points near its ends."""
    points = {x for x in _BASE_GRID if _contains(region, x)}
    parts = region.args if isinstance(region, sp.Union) else (region,)
    for part in parts:
        if isinstance(part, sp.FiniteSet):
            points |= {float(p) for p in part if abs(float(p)) < math.inf}
            continue
        if not isinstance(part, sp.Interval):
            continue
        for end, sign in ((part.start, 1), (part.end, -1)):
            if not end.is_finite:
                continue
            centre = float(sp.N(end, 30))
            scale = max(1.0, abs(centre))
            for offset in _END_OFFSETS:
                x = centre + sign * offset * scale
                if _contains(region, x):
                    points.add(x)
            for x in (centre, math.nextafter(centre, sign * math.inf)):
                if _contains(region, x):
                    points.add(x)
    return sorted(points)


def _mp_real(value: object) -> mpmath.mpf | None:
    value = mpmath.mpmathify(value)
    if isinstance(value, mpmath.mpc):
        if value.imag != 0 and abs(value.imag) > abs(value.real) * mpmath.mpf(10) ** -40:
            return None
        value = value.real
    if not mpmath.isfinite(value):
        return None
    return value


def _guarded_exp(x: mpmath.mpf) -> mpmath.mpf:
    """``exp`` that refuses arguments beyond ``2**1100`` (``exp(exp(1000))`` would hang)."""
    if mpmath.isfinite(x) and x != 0 and mpmath.mag(x) > 1100:
        raise OverflowError("exp argument beyond 2**1100")
    return mpmath.exp(x)


def _mp_log1mexp(x: mpmath.mpf) -> mpmath.mpf:
    return mpmath.log(-mpmath.expm1(x))


def _mp_xlogy(x: mpmath.mpf, y: mpmath.mpf) -> mpmath.mpf:
    return mpmath.mpf(0) if x == 0 else x * mpmath.log(y)


def _mp_omega_log(y: mpmath.mpf) -> mpmath.mpf:
    return mpmath.log(mpmath.lambertw(_guarded_exp(y + 1)).real)


#: mpmath versions of the stable primitives (mpmath's log1p and expm1 are accurate near 0)
MPMATH_PRIMITIVES = {
    "exp": _guarded_exp,
    "exp_capped": _guarded_exp,
    "expm1": mpmath.expm1,
    "expm1_capped": mpmath.expm1,
    "log1p": mpmath.log1p,
    "softplus": lambda x: mpmath.log1p(_guarded_exp(x)),
    "log1mexp": _mp_log1mexp,
    "xlogy": _mp_xlogy,
    "omega_log": _mp_omega_log,
}


def reference_values(
    expr: sp.Expr, var: sp.Symbol, points: Sequence[float]
) -> list[mpmath.mpf | None]:
    """``expr`` at each point by mpmath, with the precision escalation of the module docstring."""
    function = sp.lambdify(var, expr, modules=[MPMATH_PRIMITIVES, "mpmath"])
    out: list[mpmath.mpf | None] = []
    for x in points:
        previous = None
        result = None
        for digits in _DIGITS:
            with mpmath.workdps(digits):
                try:
                    value = _mp_real(function(mpmath.mpf(x)))
                except (ZeroDivisionError, ValueError, OverflowError, TypeError, RecursionError):
                    value = None
            if value is not None and previous is not None:
                scale = max(abs(value), abs(previous))
                if scale == 0:
                    # a zero may be a total cancellation: only the highest precision decides
                    result = value if digits == _DIGITS[-1] else None
                elif abs(value - previous) <= scale * mpmath.mpf(10) ** -20:
                    result = value
                    break
            previous = value
        out.append(result)
    return out


def condition_numbers(expr: sp.Expr, var: sp.Symbol, points: Sequence[float]) -> list[float]:
    r"""The relative condition number :math:`|x f'(x) / f(x)|` at each point (``inf`` at a zero).

    It is how much a relative perturbation of the input is amplified; any float64 algorithm
    whose intermediate steps round the input's neighbourhood loses about
    :math:`\log_{10}` of it in digits (next to a pole at a domain's end it is unbounded).
    """
    f = sp.lambdify(var, expr, modules=[MPMATH_PRIMITIVES, "mpmath"])
    df = sp.lambdify(var, sp.diff(expr, var), modules=[MPMATH_PRIMITIVES, "mpmath"])
    out = []
    with mpmath.workdps(40):
        for x in points:
            try:
                value = _mp_real(f(mpmath.mpf(x)))
                slope = _mp_real(df(mpmath.mpf(x)))
            except (ZeroDivisionError, ValueError, OverflowError, TypeError, RecursionError):
                value = slope = None
            if value is None or slope is None:
                out.append(0.0)  # unknown: keep the point
            elif value == 0:
                out.append(math.inf)
            else:
                out.append(float(abs(mpmath.mpf(x) * slope / value)))
    return out


def ulps(got: float, ref: mpmath.mpf) -> float:
    """Error of the float64 ``got`` in ulps of the exact value ``ref`` (see the module doc)."""
    if math.isnan(got):
        return math.inf
    if abs(ref) > _FLOAT_MAX:
        return 0.0 if math.isinf(got) and (got > 0) == (ref > 0) else math.inf
    if math.isinf(got):
        return math.inf
    exact = float(ref)
    with mpmath.workdps(40):
        return float(abs(mpmath.mpf(got) - ref) / mpmath.mpf(math.ulp(exact)))


def _errors(
    function: Callable[[torch.Tensor], torch.Tensor],
    points: Sequence[float],
    refs: Sequence[mpmath.mpf | None],
    scales: Sequence[mpmath.mpf | None] | None = None,
) -> list[float]:
    """Per-point errors in ulps (of the reference, or of ``scales`` when given); 0 if no ref."""
    with torch.no_grad():
        values = function(torch.tensor(list(points), dtype=torch.float64)).tolist()
    out = []
    for k, (got, ref) in enumerate(zip(values, refs, strict=True)):
        if ref is None:
            out.append(0.0)
        elif scales is None:
            out.append(ulps(got, ref))
        else:
            scale = scales[k]
            err = ulps(got, ref)
            if math.isfinite(err) and scale is not None and abs(scale) <= _FLOAT_MAX:
                err = err * math.ulp(float(ref)) / math.ulp(float(scale))
            out.append(err)
    return out


def max_ulps(
    function: Callable[[torch.Tensor], torch.Tensor],
    points: Sequence[float],
    refs: Sequence[mpmath.mpf | None],
) -> tuple[float, float | None]:
    """``(largest error in ulps, where)`` of ``function`` in float64 over the points."""
    errors = _errors(function, points, refs)
    if not errors:
        return 0.0, None
    worst = max(range(len(errors)), key=errors.__getitem__)
    return errors[worst], points[worst]


def split_constant(expr: sp.Expr, var: sp.Symbol) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``expr = a + b G(var)`` with numbers ``a``, ``b`` (``b`` the numeric factor of the rest)."""
    a, rest = expr.as_independent(var, as_Add=True)
    b, core = rest.as_independent(var, as_Add=False)
    return a, b, core


@dataclass(frozen=True)
class Choice:
    """The forms chosen for one branch.

    Attributes:
        pieces: ``(form, region)`` parts covering the branch's region (one part unless a split
            was worth it), each with its worst probe error in ``scores`` (ulps).
        single: the best single form over the whole region under the scaled error (ulps of
            :math:`|a| + |b G|` for ``single = a + b G``), for sums whose constant is hoisted.
        single_score: its worst scaled error.
    """

    pieces: tuple[tuple[sp.Expr, sp.Set], ...]
    scores: tuple[float, ...]
    single: sp.Expr
    single_score: float


def _cuts(region: sp.Set) -> list[sp.Set]:
    """The parts of ``region`` between the cut points (see the module docstring)."""
    positive = bool(region.is_subset(sp.Interval(0, sp.oo)))
    points = {sp.Rational(1, 2), sp.Integer(2)} if positive else {sp.Integer(-1), sp.Integer(1)}
    if isinstance(region, sp.Interval):
        # also halfway to a finite end, where a form exact at the end takes over
        points |= {end / 2 for end in (region.start, region.end) if end.is_finite and end != 0}
    edges = [sp.S.NegativeInfinity, *sorted(points, key=float), sp.oo]
    parts = []
    for lo, hi in itertools.pairwise(edges):
        window = sp.Interval(lo, hi, left_open=lo.is_infinite, right_open=True)
        part = region.intersect(window)
        if part is not sp.S.EmptySet and not isinstance(part, sp.FiniteSet):
            parts.append(part)
    return parts


def choose(
    candidates: Sequence[sp.Expr],
    reference: sp.Expr,
    var: sp.Symbol,
    region: sp.Set,
    alternates: Sequence[sp.Expr] = (),
) -> Choice:
    """The forms of the branch ``reference`` on ``region``; see :class:`Choice`.

    ``alternates`` are equal expressions (e.g. the simplified reference) evaluated where the
    reference itself cannot be (a total cancellation even at 800 digits, e.g.
    ``log(2 - 2 exp(-2 exp(-v)))`` at ``v = 1000``); after them the candidates themselves are
    tried, evaluated by mpmath with its own ``log1p``/``expm1``. Every value still has to pass the
    agreement test between two precisions.
    """
    if len(candidates) == 1:
        only = candidates[0]
        return Choice(((only, region),), (math.nan,), only, math.nan)
    points = probe_points(region)
    refs = reference_values(reference, var, points)
    for other in (*alternates, *candidates):
        missing = [i for i, ref in enumerate(refs) if ref is None]
        if not missing:
            break
        found = reference_values(other, var, [points[i] for i in missing])
        for i, ref in zip(missing, found, strict=True):
            refs[i] = ref
    conds = condition_numbers(reference, var, points)
    refs = [None if c > _MAX_CONDITION else ref for ref, c in zip(refs, conds, strict=True)]
    allowance = [max(1.0, c / 1024) for c in conds]
    rows = []
    for candidate in candidates:
        try:
            _, function = compile_pieces([(candidate, sp.Reals)], var, "candidate")
            errors = _errors(function, points, refs)
            a, _, _ = split_constant(candidate, var)
            a_mp = mpmath.mpf(sp.N(a, 40)) if a != 0 else mpmath.mpf(0)
            scales = [None if ref is None else abs(a_mp) + abs(ref - a_mp) for ref in refs]
            scaled = _errors(function, points, refs, scales)
        except (DerivationError, RuntimeError, TypeError, ValueError, OverflowError):
            continue
        ops = sp.count_ops(candidate)
        errors = [min(e / w, 1e300) for e, w in zip(errors, allowance, strict=True)]
        scaled = [min(e / w, 1e300) for e, w in zip(scaled, allowance, strict=True)]
        rows.append((candidate, ops, errors, scaled))
    if not rows:
        raise DerivationError(f"no candidate form of {reference} could be emitted")

    def pick(indices: Sequence[int], column: int) -> tuple[int, float]:
        worst = {
            k: max((row[column][i] for i in indices), default=0.0) for k, row in enumerate(rows)
        }
        best = min(worst.values())
        close = [k for k in worst if worst[k] <= 1.5 * best + 1.5]
        k = min(close, key=lambda j: (rows[j][1], worst[j]))
        return k, worst[k]

    everywhere = range(len(points))
    k_single, single_score = pick(everywhere, 3)
    k_best, best_score = pick(everywhere, 2)
    pieces = [(rows[k_best][0], region)]
    scores = [best_score]
    if best_score > 4:
        parts = []
        for part in _cuts(region):
            inside = [i for i, x in enumerate(points) if part.contains(sp.Float(x, 50))]
            k, score = pick(inside, 2)
            if parts and parts[-1][0] == k:
                parts[-1] = (k, parts[-1][1].union(part), max(parts[-1][2], score))
            else:
                parts.append((k, part, score))
        if len(parts) > 1 and max(p[2] for p in parts) * 4 <= best_score:
            pieces = [(rows[k][0], part) for k, part, _ in parts]
            scores = [score for _, _, score in parts]
    return Choice(tuple(pieces), tuple(scores), rows[k_single][0], single_score)
