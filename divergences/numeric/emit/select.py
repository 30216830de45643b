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
scores are these normalised errors; ``benchmarks/accuracy_mpmath.py`` measures the plain ones.

A form whose gradient is ``NaN`` at a probe point where its value is not (``log(r/(r + 1))`` at
``r = 5e-324``: ``inf * 0``) is chosen only if every form has that defect there.

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
from fractions import Fraction

import mpmath
import sympy as sp
import torch

from divergences.errors import DerivationError

from .primitives import MPMATH
from .printer import compile_pieces
from .rewrite import check_budget

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
    # around 1, where every generator has its zero f(1) = 0 (and most critics f'(1) = 0): forms
    # such as u + 1/u - 2 are exact at 1 and lose all digits next to it
    | {1.0 + s * 10.0**-k for s in (-1, 1) for k in range(1, 9)}
    # the ends of the float64 range, where 2 * u or u**2 overflows although f(u) does not
    | {s * sys.float_info.max for s in (-1, 1)}
)
_END_OFFSETS = (1e-12, 1e-6, 1e-3, 1e-1)
#: probe points where the function itself amplifies input perturbations more than this are
#: left out of the choice (next to a pole every form loses about log10(cond) digits)
_MAX_CONDITION = 1e8
_DIGITS = (40, 400, 800)
_FLOAT_MAX = mpmath.mpf(sys.float_info.max)
_1E20 = 10**20
_1E40 = 10**40


def _compare(x: float, end: sp.Expr) -> int:
    """The sign of ``x - end``, exact for a float ``x`` and a real number ``end``."""
    if end is sp.oo:
        return -1
    if end is sp.S.NegativeInfinity:
        return 1
    if end.is_Rational:
        exact = Fraction(x) - Fraction(int(end.p), int(end.q))
    else:
        # an irrational end differs from every float by far more than 10**-60 (relative)
        with mpmath.workdps(60):
            exact = mpmath.mpf(x) - mpmath.mpf(sp.N(end, 60))
    return (exact > 0) - (exact < 0)


def _contains(region: sp.Set, x: float) -> bool:
    """Exact membership of the float ``x`` in ``region`` (what ``region.contains`` decides, at
    a small fraction of its cost: it runs for every probe point of every candidate split)."""
    if isinstance(region, sp.Union):
        return any(_contains(part, x) for part in region.args)
    if isinstance(region, sp.Interval):
        if math.isnan(x):
            return False
        low, high = _compare(x, region.start), _compare(x, region.end)
        return (low > 0 or (low == 0 and not region.left_open)) and (
            high < 0 or (high == 0 and not region.right_open)
        )
    if isinstance(region, sp.FiniteSet):
        return any(_compare(x, p) == 0 for p in region if p.is_real)
    if region == sp.Reals:
        return math.isfinite(x)
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
        if value.imag != 0 and abs(value.imag) * _1E40 > abs(value.real):
            return None
        value = value.real
    if not mpmath.isfinite(value):
        return None
    return value


def reference_values(
    expr: sp.Expr, var: sp.Symbol, points: Sequence[float]
) -> list[mpmath.mpf | None]:
    """``expr`` at each point by mpmath, with the precision escalation of the module docstring."""
    function = sp.lambdify(var, expr, modules=[MPMATH, "mpmath"])
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
                elif abs(value - previous) * _1E20 <= scale:
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
    f = sp.lambdify(var, expr, modules=[MPMATH, "mpmath"])
    df = sp.lambdify(var, sp.diff(expr, var), modules=[MPMATH, "mpmath"])
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


#: a reference split for fast error measurement: ``(hi, lo)`` with ``ref = hi + lo`` to about
#: 2**-106 relative, ``+-inf`` as ``hi`` beyond the float64 range, ``None`` without a reference
_Split = tuple[float, float] | None


def _split(refs: Sequence[mpmath.mpf | None]) -> list[_Split]:
    out: list[_Split] = []
    for ref in refs:
        if ref is None:
            out.append(None)
        elif abs(ref) > _FLOAT_MAX:
            out.append((math.inf if ref > 0 else -math.inf, 0.0))
        else:
            hi = float(ref)
            with mpmath.workdps(40):
                out.append((hi, float(ref - hi)))
    return out


def _fast_ulps(got: float, hi: float, lo: float) -> float:
    """:func:`ulps` for ``ref = hi + lo`` in float arithmetic (used for every candidate and
    probe point; ``got - hi`` is exact where the error is small, by Sterbenz's lemma)."""
    if math.isnan(got):
        return math.inf
    if math.isinf(hi):
        return 0.0 if got == hi else math.inf
    if math.isinf(got):
        return math.inf
    return abs((got - hi) - lo) / math.ulp(hi)


def _errors(
    function: Callable[[torch.Tensor], torch.Tensor],
    points: Sequence[float],
    refs: Sequence[_Split],
    scales: Sequence[float | None] | None = None,
) -> list[float]:
    """Per-point errors in ulps (of the reference, or of ``scales`` when given); 0 if no ref."""
    with torch.no_grad():
        values = function(torch.tensor(list(points), dtype=torch.float64)).tolist()
    out = []
    for k, (got, ref) in enumerate(zip(values, refs, strict=True)):
        if ref is None:
            out.append(0.0)
            continue
        err = _fast_ulps(got, *ref)
        scale = None if scales is None else scales[k]
        if scale is not None and math.isfinite(err) and math.isfinite(scale):
            err = err * math.ulp(ref[0]) / math.ulp(scale)
        out.append(err)
    return out


def _nan_gradients(
    function: Callable[[torch.Tensor], torch.Tensor], points: Sequence[float]
) -> list[bool]:
    """Per point: is the float64 gradient ``NaN`` although the value is not?

    Runs with gradients on: the first use of a divergence may happen under ``torch.no_grad()``
    or ``torch.inference_mode()`` (an evaluation loop).
    """
    with torch.inference_mode(False), torch.enable_grad():
        x = torch.tensor(list(points), dtype=torch.float64, requires_grad=True)
        value = function(x)
        (gradient,) = torch.autograd.grad(value.sum(), x, allow_unused=True)
    if gradient is None:  # a constant
        return [False] * len(points)
    flags = torch.isnan(gradient) & ~torch.isnan(value.detach())
    return flags.tolist()


def max_ulps(
    function: Callable[[torch.Tensor], torch.Tensor],
    points: Sequence[float],
    refs: Sequence[mpmath.mpf | None],
) -> tuple[float, float | None]:
    """``(largest error in ulps, where)`` of ``function`` in float64 over the points."""
    errors = _errors(function, points, _split(refs))
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
        if part is sp.S.EmptySet:
            continue
        if isinstance(part, sp.FiniteSet) and parts:
            # a closed end of the region on a cut point (t <= 1 cut at 1): it belongs to the
            # part before it, never dropped (it would print as outside every piece)
            parts[-1] = parts[-1].union(part)
        else:
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
    split_refs = _split(refs)
    rows = []
    for candidate in candidates:
        check_budget()
        try:
            _, function = compile_pieces([(candidate, sp.Reals)], var, "candidate")
            errors = _errors(function, points, split_refs)
            a, _, _ = split_constant(candidate, var)
            a_float = float(sp.N(a, 40)) if a != 0 else 0.0
            scales = [
                None if ref is None else abs(a_float) + abs(ref[0] - a_float) for ref in split_refs
            ]
            scaled = _errors(function, points, split_refs, scales)
            nan_gradient = _nan_gradients(function, points)
        except (DerivationError, RuntimeError, TypeError, ValueError, OverflowError):
            continue
        ops = sp.count_ops(candidate)
        errors = [min(e / w, 1e300) for e, w in zip(errors, allowance, strict=True)]
        scaled = [min(e / w, 1e300) for e, w in zip(scaled, allowance, strict=True)]
        rows.append((candidate, ops, errors, scaled, nan_gradient))
    if not rows:
        raise DerivationError(f"no candidate form of {reference} could be emitted")

    def pick(indices: Sequence[int], column: int) -> tuple[int, float]:
        # forms whose gradient is NaN at a probe point lose against any form without
        eligible = [k for k, row in enumerate(rows) if not any(row[4][i] for i in indices)]
        worst = {
            k: max((rows[k][column][i] for i in indices), default=0.0)
            for k in (eligible or range(len(rows)))
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
            inside = [i for i, x in enumerate(points) if _contains(part, x)]
            k, score = pick(inside, 2)
            if parts and parts[-1][0] == k:
                parts[-1] = (k, parts[-1][1].union(part), max(parts[-1][2], score))
            else:
                parts.append((k, part, score))
        if len(parts) > 1 and max(p[2] for p in parts) * 4 <= best_score:
            pieces = [(rows[k][0], part) for k, part, _ in parts]
            scores = [score for _, _, score in parts]
    return Choice(tuple(pieces), tuple(scores), rows[k_single][0], single_score)
