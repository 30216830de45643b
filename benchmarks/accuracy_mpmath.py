r"""Accuracy of the emitted torch functions and of the losses against mpmath, in float64 ulps.

Run (writes ``docs/accuracy.md``; about 15 minutes on two busy cores, ``--coarse`` 3)::

    .venv/bin/python -m benchmarks.accuracy_mpmath             # the full grid
    .venv/bin/python benchmarks/accuracy_mpmath.py --coarse     # a quick look, coarse grid

What is measured
----------------
The perspective ``q f(p/q)`` (emitted and hand kernel) over every decade of ``[5e-324, 1]``
against the closed forms, and ``D(P, Q)`` of nearby distributions (summing to 1 exactly) and of
``P`` with itself (:func:`measure_perspectives`, :func:`measure_nears`; users' generators too).

For every registered divergence (``alpha`` at 1/2, 2 and -1, ``js_weighted`` at 1/2 and 3/10)
the float64 torch functions of :func:`divergences.numeric.emit.emit` -- ``generator`` f,
``conjugate`` f*, ``activation`` g_f, ``conjugate_of_activation`` f* o g_f, ``optimal_critic``
T* -- and the losses of :mod:`divergences.losses`, on grids covering all orders of magnitude
(+-10^k for k = -323..308, dense steps around 0 and 1), the ends of each domain (approached by
relative steps 2^-k and by single ulps) and the zeros of each function (located by bisection on
the float64 line).

The error of a float64 result ``y`` against the exact value ``y*`` is

.. math:: \mathrm{ulps}(y, y^*) = |y - y^*| / \operatorname{ulp}(\mathrm{fl}(y^*))

with ``math.ulp`` (so an exact value below the normal range is measured in units of the smallest
subnormal). An exact value beyond the float64 range must come out as ``inf`` of its sign, a
limit at ``0`` (``f(0+)``, ``T*(0+)``) must match exactly, ``NaN`` counts as an infinite error;
these points are counted apart from the ulps statistics.

References
----------
Two mpmath references, each evaluated at 50 significant digits and escalated (400, then 800
digits) until two consecutive precisions agree to 30 digits, so a cancellation inside a
reference formula cannot pass for the exact value (400 digits hold ``1 + x`` exactly for any
float64 ``x``; a zero must be zero at every precision; a value beyond 1e+-400 is accepted at
once, only its over/underflow matters):

* **derived**: the library's SymPy expressions (``d.generator``, ``d.conjugate``,
  ``d.activation``, ``d.optimal_critic``; ``f* o g_f`` as the numeric composition
  ``d.conjugate(d.activation(v))``, not simplified) through ``sympy.lambdify(modules="mpmath")``,
  independent of the torch printer and of the emitter's form search;
* **closed forms** typed by hand from the literature, once, in
  :mod:`divergences.testing.oracles.closed_forms` (the ``mp`` forms of :data:`CLOSED_FORMS`):
  Nowozin, Cseke and Tomioka, *f-GAN*, NeurIPS 2016, Table 2 (conjugates, output activations),
  converted to this library's conventions (``js`` is the standard JS, half of the paper's ``2 JS``
  row; the conjugate is the supremum over ``u > 0``, which adds the constant branch ``-f(0)`` to
  ``pearson`` and ``alpha > 1``), and written with mpmath's ``log1p``/``expm1`` where the
  textbook form cancels.

The escalation, the guarded ``exp``, ulps and the mixed error are those of
:mod:`divergences.testing.oracles.mpmath_reference` (preset ``FLOAT64_ESCALATION``), independent
of the emitter's own helpers. Importing the oracles runs ``divergences/testing/__init__.py``, so
this benchmark needs ``hypothesis`` (the ``test`` extra) installed.

Where both exist they must agree to 25 digits (any disagreement is listed in the report); the
derived value is the reference, the closed form fills in where the derived expression cannot be
evaluated (e.g. ``f*(g(v))`` of ``js`` at ``v = 1e300``, a total cancellation at any precision).

Conditioning
------------
Every point above 4 ulps gets the relative condition number
:math:`\kappa(x) = |x F'(x) / F(x)|` and the *mixed* error

.. math:: \frac{|y - y^*|}{|F'(x)|\,\operatorname{ulp}(x) + \operatorname{ulp}(y^*)}

(``F'`` by a central difference in mpmath). A mixed error of a few means the result is the exact
value at an input a few ulps away, up to a few ulps of the result (mixed forward-backward
stability): the error is the function's conditioning, all that an input that was itself rounded
can ask for. Unlike ``ulps / kappa`` it stays meaningful at an exact zero of F (f(1) = 0). A
mixed error far above a few is an algorithmic loss (a cancellation or a saturation that another
formula avoids). For the losses the allowance also includes ``ulp(scale)``, scale =
``mean|fake terms| + mean|real terms|``: a float64 difference of two means cannot promise more
when they cancel; for batches the mixed error is the error in ulps of the scale.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import itertools
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mpmath
import sympy as sp
import torch

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import divergences as dv
import divergences.testing.oracles as oracles
from divergences import losses
from divergences.symbolic.symbols import r, t, u, v
from divergences.testing.oracles import (
    CLOSED_FORMS,
    FLOAT64_ESCALATION,
    ClosedForms,
    Escalation,
    MpForms,
    condition_number,
    escalate,
    mixed_error,
    mp_lambdify,
    representable,
    softplus,
    ulps,
)

__all__ = [
    "CLOSED_FORMS",
    "ENTRIES",
    "QUANTITIES",
    "Entry",
    "QuantityResult",
    "measure_losses",
    "measure_quantity",
    "reference_levels",
    "robust",
    "ulps",
]

mp = mpmath
F64 = torch.float64
DBL_MAX = sys.float_info.max
DBL_MIN = sys.float_info.min  # smallest normal
DBL_TRUE_MIN = 5e-324
#: precisions of the escalation (FLOAT64_ESCALATION's): 50 digits is the base; 400 absorbs any
#: cancellation between float64-sized quantities (1 + 5e-324 needs 324 digits), so that two
#: far-apart precisions must agree (two nearby ones can agree on the same dropped term, e.g.
#: (u + 1) log(u + 1) at u = 1e-119); 800 settles cancellations of several hundred digits
#: (jeffrey's W(e^{1-t}) + t)
LEVELS = FLOAT64_ESCALATION.levels
CROSS_CHECK = mp.mpf(10) ** -25
UNDER = mp.mpf(10) ** -330
FAR_OUT = mp.mpf(10) ** 400
QUANTITIES = oracles.QUANTITIES
SYMBOLS = {
    "generator": u,
    "conjugate": t,
    "activation": v,
    "conjugate_of_activation": v,
    "optimal_critic": r,
}
TITLES = {
    "generator": "generator f(u), u >= 0",
    "conjugate": "conjugate f*(t), t in dom f*",
    "activation": "activation g_f(v), v real",
    "conjugate_of_activation": "f*(g_f(v)), v real",
    "optimal_critic": "optimal critic T*(r) = f'(r), r >= 0",
}

Fn = Callable[[mpmath.mpf], mpmath.mpf]


# ---------------------------------------------------------------------------------------------
# The divergences measured; their closed forms are the oracle's
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A registered divergence with parameter values, as measured."""

    label: str
    name: str
    params: tuple[tuple[str, sp.Rational], ...] = ()

    def get(self) -> dv.FDivergence:
        return dv.get(self.name, **dict(self.params))

    def forms(self) -> ClosedForms:
        """The literature closed forms (:mod:`divergences.testing.oracles.closed_forms`)."""
        return oracles.closed_forms(self.name, **dict(self.params))


def _entry(name: str, **params: sp.Rational) -> Entry:
    label = name + "".join(f"({value})" for value in params.values())
    return Entry(label, name, tuple(params.items()))


R = sp.Rational
ENTRIES: tuple[Entry, ...] = (
    _entry("kl"),
    _entry("reverse_kl"),
    _entry("pearson"),
    _entry("neyman"),
    _entry("squared_hellinger"),
    _entry("jeffrey"),
    _entry("js"),
    _entry("gan"),
    _entry("total_variation"),
    _entry("alpha", alpha=R(1, 2)),
    _entry("alpha", alpha=R(2)),
    _entry("alpha", alpha=R(-1)),
    _entry("js_weighted", pi=R(1, 2)),
    _entry("js_weighted", pi=R(3, 10)),
)


def mp_forms(entry: Entry) -> MpForms:
    """The oracle's stable mpmath closed forms of ``entry``."""
    forms = entry.forms().mp
    assert forms is not None, entry
    return forms


def closed_quantity(entry: Entry, quantity: str) -> Fn:
    return mp_forms(entry).of(quantity)


# ---------------------------------------------------------------------------------------------
# Derived references (the library's SymPy expressions, evaluated by mpmath)
# ---------------------------------------------------------------------------------------------


def _expression(d: dv.FDivergence, quantity: str) -> sp.Expr:
    if quantity == "generator":
        return d.generator(u)
    if quantity == "conjugate":
        return d.conjugate(t)
    if quantity == "activation":
        return d.activation(v)
    if quantity == "optimal_critic":
        return d.optimal_critic(r)
    return d.conjugate(d.activation(v))  # composed numerically, not simplified


def derived_quantity(d: dv.FDivergence, quantity: str) -> tuple[Fn, mpmath.mpf | None]:
    """``(mpmath callable, value at 0 by a SymPy limit or None)`` of ``quantity``."""
    var = SYMBOLS[quantity]
    expr = _expression(d, quantity)
    # exp of an argument beyond 2**1100 raises: such a point has no derived reference
    fn = mp_lambdify(expr, var, underflow="raise")
    at_zero = None
    if quantity in ("generator", "optimal_critic"):
        limit = sp.limit(expr.rewrite(sp.Piecewise), var, 0, "+")
        if limit.is_real or limit.is_infinite:
            with mp.workdps(LEVELS[-1]):
                at_zero = (
                    mp.mpf(sp.N(limit, LEVELS[-1]))
                    if limit.is_finite
                    else (mp.inf if limit is sp.oo else -mp.inf)
                )
    return fn, at_zero


_ACTIVE_LEVELS: list[Sequence[int]] = [LEVELS]


@contextlib.contextmanager
def reference_levels(levels: Sequence[int]) -> Iterator[None]:
    """Use other escalation precisions inside the block (the fast test uses (50, 200, 400))."""
    _ACTIVE_LEVELS.append(tuple(levels))
    try:
        yield
    finally:
        _ACTIVE_LEVELS.pop()


def _escalation(levels: Sequence[int] | None = None) -> Escalation:
    return FLOAT64_ESCALATION.with_levels(levels or _ACTIVE_LEVELS[-1])


def robust(
    fn: Fn,
    x: float | mpmath.mpf,
    *,
    allow_inf: bool = False,
    levels: Sequence[int] | None = None,
) -> mpmath.mpf | None:
    """``fn(x)`` to at least 30 correct digits, or ``None``: :func:`~divergences.testing.oracles.
    escalate` with :data:`~divergences.testing.oracles.FLOAT64_ESCALATION` at ``levels`` (default
    :data:`LEVELS`, or those set by :func:`reference_levels`)."""
    return escalate(fn, x, _escalation(levels), allow_inf=allow_inf)


def slope(fn: Fn, x: float) -> mpmath.mpf | None:
    """``F'(x)`` by a central difference (:func:`divergences.testing.oracles.slope`)."""
    return oracles.slope(fn, x, _escalation())


condition = condition_number


# ---------------------------------------------------------------------------------------------
# Grids
# ---------------------------------------------------------------------------------------------


def _powers(ks: Iterable[int]) -> set[float]:
    return {float(f"1e{k}") for k in ks}


def base_grid(coarse: bool = False) -> list[float]:
    """Signed logarithmic grid over all of float64, plus dense points near 0 and 1."""
    if coarse:
        magnitudes = _powers(range(-323, 309, 17)) | _powers((-1, 0, 1, 2, 3))
        magnitudes |= {m * 10.0**k for m in (2.0, 5.0) for k in range(-6, 7, 2)}
        linear = {k / 4 for k in range(-16, 17)}
        near_one = {1 + s * 2.0**-k for s in (-1, 1) for k in (1, 3, 10, 26, 40, 52)}
    else:
        magnitudes = _powers(range(-323, 309))
        magnitudes |= {m * 10.0**k for m in (1.5, 2.0, 3.0, 5.0, 7.0) for k in range(-20, 21)}
        linear = {k / 16 for k in range(-128, 129)}
        near_one = {1 + s * 2.0**-k for s in (-1, 1) for k in range(1, 54)}
        near_one |= {1 + s * 10.0**-k for s in (-1, 1) for k in range(1, 17)}
    specials = {
        DBL_TRUE_MIN,
        1e-320,
        DBL_MIN,
        DBL_MAX,  # subnormal, normal range ends
        20.0,
        20.5,
        30.0,
        33.3,
        36.8,
        37.0,
        40.0,  # softplus thresholds
        709.78,
        709.7827128933840,
        710.0,
        744.0,
        745.2,  # exp overflow / underflow
        1e4,  # the design's score range
    }
    points = {0.0} | linear | near_one
    for x in magnitudes | specials:
        points |= {x, -x}
    return sorted(points)


def inside(x: float, domain: sp.Set) -> bool:
    """Exact membership of the float ``x`` in an interval (or the reals)."""
    if domain == sp.Reals:
        return True
    if not isinstance(domain, sp.Interval):
        return bool(domain.contains(sp.Float(x, 60)))
    lo, hi = _bounds(domain)
    with mp.workdps(60):
        xm = mp.mpf(x)
        above = xm > lo or (xm == lo and not domain.left_open)
        below = xm < hi or (xm == hi and not domain.right_open)
    return bool(above and below)


_BOUNDS: dict[sp.Interval, tuple[mpmath.mpf, mpmath.mpf]] = {}


def _bounds(domain: sp.Interval) -> tuple[mpmath.mpf, mpmath.mpf]:
    if domain not in _BOUNDS:
        with mp.workdps(60):
            _BOUNDS[domain] = tuple(
                mp.inf
                if end is sp.oo
                else -mp.inf
                if end is sp.S.NegativeInfinity
                else mp.mpf(sp.N(end, 60))
                for end in (domain.start, domain.end)
            )
    return _BOUNDS[domain]


def _end_points(domain: sp.Set, coarse: bool) -> set[float]:
    """Points approaching each finite end of an interval from inside (and the end if in)."""
    if not isinstance(domain, sp.Interval):
        return set()
    points: set[float] = set()
    ks = (1, 4, 12, 26, 40, 50, 52) if coarse else range(1, 61)
    for end, sign in ((domain.start, 1), (domain.end, -1)):
        if not end.is_finite:
            continue
        c = float(sp.N(end, 40))
        scale = abs(c) if c != 0 else 1.0
        points |= {c + sign * scale * 2.0**-k for k in ks}
        x = c
        for _ in range(6 if coarse else 12):  # c, then 1, 2, 4, ... ulps inside
            points.add(x)
            x = math.nextafter(x, sign * math.inf)
        x = c
        for _ in range(6 if coarse else 12):
            points.add(x)
            x = math.nextafter(x, sign * math.inf)
            x = math.nextafter(x, sign * math.inf)
    return {x for x in points if math.isfinite(x) and inside(x, domain)}


def _float_bisect(fn: Fn, lo: float, hi: float, sign_lo: int) -> tuple[float, float]:
    """Adjacent floats around a sign change of ``fn`` in ``[lo, hi]`` (at most ~70 steps)."""
    for _ in range(80):
        mid = lo / 2 + hi / 2
        if mid in (lo, hi):
            break
        value = robust(fn, mid)
        if value is None:
            break
        if (value > 0) - (value < 0) == sign_lo:
            lo = mid
        elif value == 0:
            return mid, mid
        else:
            hi = mid
        if math.nextafter(lo, hi) == hi:
            break
    return lo, hi


def _zero_points(
    fn: Fn, points: Sequence[float], refs: Sequence[mpmath.mpf | None], coarse: bool
) -> set[float]:
    """Points around each sign change of the reference on the grid (not at a jump)."""
    out: set[float] = set()
    known = [(x, ref) for x, ref in zip(points, refs, strict=True) if ref is not None]
    for (x0, y0), (x1, y1) in itertools.pairwise(known):
        if not (mp.isfinite(y0) and mp.isfinite(y1)) or y0 == 0 or y1 == 0:
            continue
        if (y0 > 0) == (y1 > 0):
            continue
        lo, hi = _float_bisect(fn, x0, x1, 1 if y0 > 0 else -1)
        for z in (lo, hi):
            out.add(z)
            step = z
            for _ in range(3 if coarse else 8):
                step = math.nextafter(step, math.inf)
                out.add(step)
            step = z
            for _ in range(3 if coarse else 8):
                step = math.nextafter(step, -math.inf)
                out.add(step)
            ks = (4, 20, 40) if coarse else range(2, 53, 3)
            if z != 0:
                out |= {z * (1 + s * 2.0**-k) for s in (-1, 1) for k in ks}
    return out


# ---------------------------------------------------------------------------------------------
# Measurement of one quantity
# ---------------------------------------------------------------------------------------------

#: points above this many ulps get a derivative, a condition number and a mixed error
DIAGNOSE_ABOVE = 4.0
MAX_DIAGNOSED = 5000


@dataclass
class Point:
    """One measured point; ``mixed`` is only computed above :data:`DIAGNOSE_ABOVE` ulps (below,
    it is at most ``err``)."""

    x: float
    got: float
    exact: mpmath.mpf
    err: float  # ulps of the exact value (inf for NaN or a spurious inf)
    reference: Fn
    kappa: float = math.nan
    mixed: float | None = None

    @property
    def stable_err(self) -> float:
        return self.err if self.mixed is None else self.mixed


@dataclass
class QuantityResult:
    """All the measured points of one quantity of one divergence."""

    label: str
    quantity: str
    points: list[Point] = field(default_factory=list)
    special: list[tuple[float, float, str, bool]] = field(default_factory=list)  # x, got, kind, ok
    missing: list[float] = field(default_factory=list)  # no reference at all
    mismatches: list[tuple[float, str, str]] = field(default_factory=list)  # derived vs closed
    cross_checked: int = 0
    outside_bad: list[tuple[float, float]] = field(default_factory=list)  # f* outside its domain
    seconds: float = 0.0

    @property
    def worst(self) -> Point | None:
        return max(self.points, key=lambda p: p.err, default=None)

    @property
    def worst_mixed(self) -> Point | None:
        return max(self.points, key=lambda p: p.stable_err, default=None)

    def max_ulps(self) -> float:
        return max((p.err for p in self.points), default=0.0)

    def max_mixed(self) -> float:
        return max((p.stable_err for p in self.points), default=0.0)

    def median_ulps(self) -> float:
        return statistics.median(p.err for p in self.points) if self.points else 0.0


def domain_of(d: dv.FDivergence, quantity: str) -> sp.Set:
    if quantity == "conjugate":
        return d.conjugate_domain
    if quantity in ("generator", "optimal_critic"):
        return sp.Interval(0, sp.oo)
    return sp.Reals


def agree(a: mpmath.mpf, b: mpmath.mpf) -> bool:
    if mp.isinf(a) or mp.isinf(b):
        return a == b
    scale = max(abs(a), abs(b))
    if scale < UNDER:  # both far below float64's smallest subnormal: the same float64 0
        return True
    if min(abs(a), abs(b)) > FAR_OUT and (a > 0) == (b > 0):  # the same float64 overflow
        return True
    return abs(a - b) <= CROSS_CHECK * scale


def _references(
    derived: Fn | None,
    closed: Fn,
    at_zero: mpmath.mpf | None,
    points: Sequence[float],
    result: QuantityResult,
) -> list[tuple[mpmath.mpf | None, Fn]]:
    """``(exact value, the callable that gave it)`` at each point; see the module docstring."""
    out: list[tuple[mpmath.mpf | None, Fn]] = []
    for x in points:
        limit_point = x == 0 and result.quantity in ("generator", "optimal_critic")
        a = None
        if derived is not None:
            a = at_zero if limit_point else robust(derived, x)
        b = robust(closed, x, allow_inf=limit_point)
        if a is not None and b is not None:
            result.cross_checked += 1
            if not agree(a, b):
                result.mismatches.append((x, mp.nstr(a, 20), mp.nstr(b, 20)))
        if a is not None and derived is not None:
            out.append((a, derived))
        else:
            out.append((b, closed))
    return out


def diagnose(points: Sequence[Point], above: float = DIAGNOSE_ABOVE) -> None:
    """Derivative, condition number and mixed error of the worst points above ``above``."""
    candidates = sorted((p for p in points if p.err > above), key=lambda p: -p.err)
    for p in candidates[:MAX_DIAGNOSED]:
        derivative = slope(p.reference, p.x)
        p.kappa = condition(p.x, p.exact, derivative)
        p.mixed = mixed_error(p.got, p.exact, [(p.x, derivative)])
        if math.isnan(p.mixed):
            p.mixed = p.err  # no derivative: count the forward error


def measure_quantity(
    entry: Entry,
    quantity: str,
    *,
    coarse: bool = False,
    grid: Sequence[float] | None = None,
    derived: bool = True,
    zeros: bool = True,
) -> QuantityResult:
    """Measure one emitted function of ``entry`` (see the module docstring).

    ``grid`` replaces the default grid (restricted to the domain, ends added); ``derived=False``
    uses the closed forms alone and ``zeros=False`` skips the search for zeros (both for the
    fast test).
    """
    start = time.perf_counter()
    d = entry.get()
    result = QuantityResult(entry.label, quantity)
    derived_fn, at_zero = derived_quantity(d, quantity) if derived else (None, None)
    closed = closed_quantity(entry, quantity)
    domain = domain_of(d, quantity)
    base = base_grid(coarse) if grid is None else grid
    points = sorted({x for x in base if inside(x, domain)} | _end_points(domain, coarse))
    refs = _references(derived_fn, closed, at_zero, points, result)
    if zeros:
        extra = sorted(_zero_points(closed, points, [ref for ref, _ in refs], coarse) - set(points))
        extra = [z for z in extra if inside(z, domain)]
        points += extra
        refs += _references(derived_fn, closed, at_zero, extra, result)

    function = getattr(d.torch, quantity)
    with torch.no_grad():
        got = function(torch.tensor(points, dtype=F64)).tolist()
    for x, y, (exact, source) in zip(points, got, refs, strict=True):
        if exact is None:
            result.missing.append(x)
        elif mp.isinf(exact):
            result.special.append((x, y, "limit", y == float(exact)))
        elif not representable(exact):
            result.special.append((x, y, "overflow", y == float(exact)))
        else:
            if abs(exact) < DBL_MIN and exact != 0:
                result.special.append((x, y, "underflow", ulps(y, exact) <= 2))
            result.points.append(Point(x, y, exact, ulps(y, exact), source))
    diagnose(result.points)
    if quantity == "conjugate":
        result.outside_bad = _outside_domain(function, domain)
    result.seconds = time.perf_counter() - start
    return result


def _outside_domain(
    function: Callable[[torch.Tensor], torch.Tensor], domain: sp.Set
) -> list[tuple[float, float]]:
    """Points beyond the conjugate's domain where the result is not ``+inf``."""
    if domain == sp.Reals or not isinstance(domain, sp.Interval):
        return []
    end = float(sp.N(domain.end, 40))
    xs = [math.nextafter(end, math.inf), end * (1 + 2.0**-30) + 2.0**-30, end + 1, 1e10, 1e300]
    xs = [x for x in xs if not inside(x, domain)]
    with torch.no_grad():
        got = function(torch.tensor(xs, dtype=F64)).tolist()
    return [(x, y) for x, y in zip(xs, got, strict=True) if y != math.inf]


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------

PAIR_VALUES: tuple[float, ...] = tuple(
    sorted(
        {0.0}
        | {
            s * x
            for s in (-1, 1)
            for x in (
                1e-300,
                1e-100,
                1e-30,
                1e-10,
                1e-5,
                1e-3,
                0.01,
                0.1,
                0.5,
                0.75,
                1.0,
                1.5,
                2.0,
                5.0,
                10.0,
                20.5,
                30.0,
                50.0,
                100.0,
                700.0,
                1e3,
                1e4,
                1e10,
                1e100,
                1e300,
            )
        }
    )
)
PAIR_VALUES_COARSE: tuple[float, ...] = tuple(
    sorted({0.0} | {s * x for s in (-1, 1) for x in (1e-300, 1e-8, 0.5, 2.0, 20.5, 30.0, 1e4)})
)


@dataclass(frozen=True)
class LossSpec:
    """A loss, its exact value ``mean(fake_term(y)) - mean(real_term(x))`` and the library's
    hoisted constants.

    ``real_term``/``fake_term`` are mpmath callables from the loss's docstring (``None``: absent).
    ``constants`` are the ``a`` of each term ``a + b G`` as the f-GAN losses hoist it out of the
    mean (oriented like the terms here), for the documented accuracy claim "a few ulps of
    ``|a| + |b mean(G)|``"; ``None`` for the other losses.
    """

    name: str
    label: str
    torch_fn: Callable[..., torch.Tensor]
    real_term: Fn | None
    fake_term: Fn
    arity: int  # 1: fake only; 2: real and fake
    constants: tuple[float, float] | None = None  # (a_real, a_fake)


def _negated(form: Fn) -> Fn:
    return lambda x: -form(x)


def loss_specs(entries: Sequence[Entry] = ENTRIES) -> list[LossSpec]:
    """Every loss of :mod:`divergences.losses` that has a value to measure."""

    def half_softplus(sign: int) -> Fn:
        return lambda x: sign * softplus(sign * x) / 2

    specs = [
        LossSpec(
            "gan_discriminator_loss",
            "-",
            losses.gan_discriminator_loss,
            lambda x: -softplus(-x) / 2,
            half_softplus(1),
            2,
        ),
        LossSpec(
            "gan_generator_loss (non-saturating)",
            "-",
            losses.gan_generator_loss,
            None,
            lambda y: softplus(-y),
            1,
        ),
        LossSpec(
            "gan_generator_loss (saturating)",
            "-",
            lambda y: losses.gan_generator_loss(y, saturating=True),
            None,
            lambda y: -softplus(y),
            1,
        ),
        LossSpec("wgan_critic_loss", "-", losses.wgan_critic_loss, lambda x: x, lambda y: y, 2),
        LossSpec("wgan_generator_loss", "-", losses.wgan_generator_loss, None, lambda y: -y, 1),
    ]
    for entry in entries:
        d = entry.get()
        forms = mp_forms(entry)
        a_act = d.torch.activation_term.constant
        a_conj = d.torch.conjugate_of_activation_term.constant
        specs += [
            LossSpec(
                "fgan_critic_loss",
                entry.label,
                lambda x, y, d=d: losses.fgan_critic_loss(d, x, y),
                forms.activation,
                forms.conjugate_of_activation,
                2,
                (a_act, a_conj),
            ),
            LossSpec(
                "fgan_generator_loss",
                entry.label,
                lambda y, d=d: losses.fgan_generator_loss(d, y),
                None,
                _negated(forms.conjugate_of_activation),
                1,
                (0.0, -a_conj),
            ),
            LossSpec(
                "fgan_generator_loss (alternative)",
                entry.label,
                lambda y, d=d: losses.fgan_generator_loss(d, y, alternative=True),
                None,
                _negated(forms.activation),
                1,
                (0.0, -a_act),
            ),
        ]
    return specs


@dataclass
class LossPoint:
    where: str
    got: float
    exact: mpmath.mpf
    err: float  # ulps of the exact loss
    mixed: float  # see mixed_error; for batches, ulps of the scale
    documented: float | None  # ulps of |a| + |b mean(G)| summed over the terms (f-GAN)


@dataclass
class LossResult:
    """One loss (for one divergence, for the f-GAN losses) on its grid and on batches."""

    loss: str
    label: str
    points: list[LossPoint] = field(default_factory=list)
    special: list[tuple[str, float, bool]] = field(default_factory=list)
    missing: int = 0
    seconds: float = 0.0

    @property
    def worst(self) -> LossPoint | None:
        return max(self.points, key=lambda p: p.err, default=None)

    @property
    def worst_mixed(self) -> LossPoint | None:
        return max(self.points, key=lambda p: p.mixed, default=None)

    def max_documented(self) -> float | None:
        values = [p.documented for p in self.points if p.documented is not None]
        return max(values) if values else None

    def median_ulps(self) -> float:
        return statistics.median(p.err for p in self.points) if self.points else 0.0


def _loss_value(spec: LossSpec, xs: Sequence[float], ys: Sequence[float]) -> float:
    fake = torch.tensor(list(ys), dtype=F64)
    with torch.no_grad():
        if spec.arity == 1:
            return float(spec.torch_fn(fake))
        return float(spec.torch_fn(torch.tensor(list(xs), dtype=F64), fake))


def score_batches(count: int, size: int, seed: int) -> list[list[float]]:
    """Batches of typical raw scores: N(0, 3^2) and log-uniform magnitudes in [1e-6, 30]."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for k in range(count):
        if k % 2 == 0:
            batch = 3.0 * torch.randn(size, generator=gen, dtype=F64)
        else:
            mags = 10.0 ** (-6.0 + 7.5 * torch.rand(size, generator=gen, dtype=F64))
            signs = torch.where(torch.rand(size, generator=gen) < 0.5, -1.0, 1.0).to(F64)
            batch = (signs * mags).clamp(-30.0, 30.0)
        out.append(batch.tolist())
    return out


class LossTerms:
    """Exact terms and their derivatives, cached per argument."""

    def __init__(self, spec: LossSpec) -> None:
        self.spec = spec
        self.values: dict[tuple[str, float], mpmath.mpf | None] = {}
        self.slopes: dict[tuple[str, float], mpmath.mpf | None] = {}

    def fn(self, which: str) -> Fn:
        fn = self.spec.real_term if which == "real" else self.spec.fake_term
        assert fn is not None
        return fn

    def value(self, which: str, x: float) -> mpmath.mpf | None:
        key = (which, x)
        if key not in self.values:
            self.values[key] = robust(self.fn(which), x)
        return self.values[key]

    def slope(self, which: str, x: float) -> mpmath.mpf | None:
        key = (which, x)
        if key not in self.slopes:
            self.slopes[key] = slope(self.fn(which), x)
        return self.slopes[key]


def evaluate_loss(
    spec: LossSpec,
    terms: LossTerms,
    xs: Sequence[float],
    ys: Sequence[float],
    where: str,
    result: LossResult,
) -> None:
    real = [terms.value("real", x) for x in xs] if spec.real_term is not None else []
    fake = [terms.value("fake", y) for y in ys]
    if any(value is None for value in (*real, *fake)):
        result.missing += 1
        return
    got = _loss_value(spec, xs, ys)
    with mp.workdps(LEVELS[-1]):
        m_fake = mp.fsum(fake) / len(fake)
        m_real = mp.fsum(real) / len(real) if real else mp.mpf(0)
        exact = m_fake - m_real
        scale = mp.fsum(abs(y) for y in fake) / len(fake)
        if real:
            scale += mp.fsum(abs(x) for x in real) / len(real)
        documented = None
        if spec.constants is not None:
            a_real, a_fake = (mp.mpf(a) for a in spec.constants)
            documented = abs(a_fake) + abs(m_fake - a_fake)
            if real:
                documented += abs(a_real) + abs(m_real - a_real)
    if not (representable(exact) and representable(scale)):
        result.special.append((where, got, math.isinf(got) and got == float(exact)))
        return
    err = ulps(got, exact)
    if len(ys) == 1 and len(xs) <= 1 and err > DIAGNOSE_ABOVE:
        sens = [(y, terms.slope("fake", y)) for y in ys]
        sens += [(x, terms.slope("real", x)) for x in xs] if real else []
        mixed = mixed_error(got, exact, sens, scale)
        if math.isnan(mixed):
            mixed = mixed_error(got, exact, [], scale)
    else:
        mixed = mixed_error(got, exact, [], scale)
    doc = None
    if documented is not None and representable(documented) and documented != 0:
        doc = mixed_error(got, exact, [], documented)
    result.points.append(LossPoint(where, got, exact, err, mixed, doc))


def measure_losses(
    *,
    coarse: bool = False,
    entries: Sequence[Entry] = ENTRIES,
    singles: Sequence[float] | None = None,
    pair_values: Sequence[float] | None = None,
    batches: Sequence[Sequence[float]] | None = None,
) -> list[LossResult]:
    """Every loss on one-element inputs (grid, or pairs for two-argument losses) and batches."""
    singles = base_grid(coarse) if singles is None else singles
    if pair_values is None:
        pair_values = PAIR_VALUES_COARSE if coarse else PAIR_VALUES
    if batches is None:
        batches = score_batches(2, 64, 1234) if coarse else score_batches(12, 1000, 1234)
    out = []
    for spec in loss_specs(entries):
        start = time.perf_counter()
        result = LossResult(spec.name, spec.label)
        terms = LossTerms(spec)
        if spec.arity == 1:
            for y in singles:
                evaluate_loss(spec, terms, (), (y,), _fmt(y), result)
        else:
            for x in pair_values:
                for y in pair_values:
                    evaluate_loss(spec, terms, (x,), (y,), f"({_fmt(x)}, {_fmt(y)})", result)
        for k, batch in enumerate(batches):
            other = batches[(k + 1) % len(batches)] if spec.arity == 2 else ()
            evaluate_loss(spec, terms, other, batch, f"batch {k}", result)
        result.seconds = time.perf_counter() - start
        out.append(result)
    out.append(_measure_cycle(pair_values, batches))
    return out


def _measure_cycle(pair_values: Sequence[float], batches: Sequence[Sequence[float]]) -> LossResult:
    """cycle_consistency_loss = mean |x_rec - x| on pairs and on batches."""
    start = time.perf_counter()
    result = LossResult("cycle_consistency_loss", "-")
    cases = [([x], [y], f"({_fmt(x)}, {_fmt(y)})") for x in pair_values for y in pair_values]
    cases += [
        (list(b), list(batches[(k + 1) % len(batches)]), f"batch {k}")
        for k, b in enumerate(batches)
    ]
    for xs, ys, where in cases:
        with mp.workdps(LEVELS[0]):
            exact = mp.fsum(abs(mp.mpf(y) - mp.mpf(x)) for x, y in zip(xs, ys, strict=True))
            exact /= len(xs)
        with torch.no_grad():
            got = float(
                losses.cycle_consistency_loss(
                    torch.tensor(xs, dtype=F64), torch.tensor(ys, dtype=F64)
                )
            )
        if not representable(exact):
            result.special.append((where, got, got == math.inf))
            continue
        sens = [(xs[0], mp.mpf(1)), (ys[0], mp.mpf(1))] if len(xs) == 1 else []
        mixed = mixed_error(got, exact, sens, exact)
        result.points.append(LossPoint(where, got, exact, ulps(got, exact), mixed, None))
    result.seconds = time.perf_counter() - start
    return result


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.6g}"
    return text.replace("e+", "e").replace("e-0", "e-").replace("e0", "e")


def _fmt_ulps(e: float | None) -> str:
    if e is None:
        return "-"
    if math.isnan(e):
        return "?"
    if math.isinf(e):
        return "inf"
    if e < 10:
        return f"{e:.2f}"
    if e < 1e6:
        return f"{e:.0f}"
    return f"{e:.2e}"


def _fmt_cond(c: float) -> str:
    if math.isnan(c):
        return "-"
    if math.isinf(c):
        return "inf"
    return f"{c:.3g}"


def _buckets(points: Iterable[Point], key: Callable[[Point], float], k: int) -> list[Point]:
    """The ``k`` largest points by ``key``, at most one per sign and decade of ``x``."""
    seen: set[tuple[int, int]] = set()
    out = []
    for p in sorted(points, key=lambda p: -key(p)):
        if len(out) >= k:
            break
        bucket = (int(math.copysign(1, p.x)), math.floor(math.log10(abs(p.x))) if p.x else -999)
        if bucket not in seen:
            seen.add(bucket)
            out.append(p)
    return out


def _describe(res: QuantityResult, p: Point) -> str:
    kind = "algorithmic" if p.stable_err > DIAGNOSE_ABOVE else "within rounding of the input"
    return (
        f"- {res.label}, x = {p.x!r}: got {p.got!r}, exact {mp.nstr(p.exact, 17)}: "
        f"{_fmt_ulps(p.err)} ulps, κ = {_fmt_cond(p.kappa)}, mixed {_fmt_ulps(p.stable_err)} "
        f"({kind})"
    )


def _quantity_table(results: Sequence[QuantityResult]) -> tuple[list[str], list[str]]:
    rows = [
        "| divergence | max ulps | at | κ there | max mixed | at | median ulps | points "
        "| over/underflow, limits |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    notes = []
    for res in results:
        worst, worst_mixed = res.worst, res.worst_mixed
        kappa = _fmt_cond(worst.kappa) if worst and worst.err > DIAGNOSE_ABOVE else "-"
        rows.append(
            f"| {res.label} | {_fmt_ulps(res.max_ulps())} | {_fmt(worst.x) if worst else ''} | "
            f"{kappa} | {_fmt_ulps(res.max_mixed())} | "
            f"{_fmt(worst_mixed.x) if worst_mixed else ''} | {_fmt_ulps(res.median_ulps())} | "
            f"{len(res.points)} | {_special_summary(res.special)} |"
        )
        unstable = [p for p in res.points if p.stable_err > DIAGNOSE_ABOVE]
        for p in _buckets(unstable, lambda p: p.stable_err, 3):
            notes.append(_describe(res, p))
        if worst is not None and worst.err > DIAGNOSE_ABOVE and worst.stable_err <= DIAGNOSE_ABOVE:
            notes.append(_describe(res, worst))
        if res.missing:
            notes.append(
                f"- {res.label}: {len(res.missing)} points without a reference, "
                f"e.g. {res.missing[0]!r}"
            )
        for x, a, b in res.mismatches[:3]:
            notes.append(f"- {res.label}: REFERENCE MISMATCH at {x!r}: derived {a}, closed {b}")
        for x, y in res.outside_bad:
            notes.append(f"- {res.label}: outside the domain at {x!r} the result is {y!r}, not inf")
    return rows, notes


def _special_summary(special: Sequence[tuple[float, float, str, bool]]) -> str:
    parts = []
    for kind in ("overflow", "underflow", "limit"):
        items = [s for s in special if s[2] == kind]
        if not items:
            continue
        bad = [s for s in items if not s[3]]
        text = f"{kind} {len(items) - len(bad)}/{len(items)} ok"
        if bad:
            text += f" (not at {_fmt(bad[0][0])}: {_fmt(bad[0][1])})"
        parts.append(text)
    return "; ".join(parts)


def _loss_table(results: Sequence[LossResult]) -> list[str]:
    rows = [
        "| loss | divergence | max ulps | at | max mixed | at | ulps of \\|a\\|+\\|bḠ\\| "
        "| median ulps | points | overflow |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for res in results:
        worst, worst_mixed = res.worst, res.worst_mixed
        bad = [s for s in res.special if not s[2]]
        special = ""
        if res.special:
            special = f"{len(res.special) - len(bad)}/{len(res.special)} ok"
            if bad:
                special += f" (not at {bad[0][0]}: {_fmt(bad[0][1])})"
        rows.append(
            f"| {res.loss} | {res.label} | {_fmt_ulps(worst.err if worst else 0.0)} | "
            f"{worst.where if worst else ''} | "
            f"{_fmt_ulps(worst_mixed.mixed if worst_mixed else 0.0)} | "
            f"{worst_mixed.where if worst_mixed else ''} | {_fmt_ulps(res.max_documented())} | "
            f"{_fmt_ulps(res.median_ulps())} | {len(res.points)} | {special} |"
        )
    return rows


def _loss_notes(results: Sequence[LossResult]) -> list[str]:
    notes = []
    for res in results:
        bad = sorted((p for p in res.points if p.mixed > DIAGNOSE_ABOVE), key=lambda p: -p.mixed)
        for p in bad[:2]:
            notes.append(
                f"- {res.loss}, {res.label}, at {p.where}: got {p.got!r}, exact "
                f"{mp.nstr(p.exact, 17)}: {_fmt_ulps(p.err)} ulps, mixed {_fmt_ulps(p.mixed)}"
            )
    return notes


#: explanations printed under the tables while the entry still exceeds 4 ulps (mixed), keyed by
#: (quantity or loss, divergence label); the automatic diagnosis is printed in any case
_DOUBLE_ZERO = (
    "f has a double zero at u = 1 (f ~ (u - 1)^2/8), so κ ~ 2/|u - 1|: every form built from "
    "terms of size |u - 1| keeps an absolute error ~eps |u - 1|, a relative error of order 1 at "
    "u = 1 +- 2^-52. The mixed error stays within 4: the result is exact for an input within "
    "an ulp or two, which is what a rounded ratio u = p/q deserves (a relative accuracy there "
    "would need a series in u - 1)."
)
_ZERO_CROSSING = (
    "the function crosses zero at an irrational point, where κ is unbounded: the value is the "
    "difference of two rounded numbers of size ~1, so its absolute error is ~1e-16 however "
    "small the result; the mixed error is below 1 (backward stable)."
)
#: explanations printed under the tables while the entry still exceeds 4 ulps (4 mixed for the
#: losses), keyed by (quantity or loss, divergence label); written from the measurements of the
#: date in the report: the automatic diagnosis above them is the current state
NOTES: dict[tuple[str, str], str] = {
    ("generator", "js"): _DOUBLE_ZERO,
    ("generator", "js_weighted(1/2)"): _DOUBLE_ZERO,
    ("generator", "alpha(1/2)"): (
        "for u >= 2 the emitted form 2u - 4 sqrt(u) + 2 cancels (0.34 at u = 2 from terms of "
        "size 5.7): 9 ulps, mixed 1.6; 2 (u - 1)^2 / (sqrt(u) + 1)^2 has no cancellation."
    ),
    ("generator", "js_weighted(3/10)"): _DOUBLE_ZERO
    + (
        " (The emitted branch keeps the parameter factored, log1p(0.3 (u - 1)): with "
        "0.3 u - 0.3 - 1.1e-17 it was 7.8e-18 at u = 1, fixed.)"
    ),
    ("conjugate", "reverse_kl"): "f*(t) = -1 - log(-t) at t = -1/e: " + _ZERO_CROSSING,
    ("optimal_critic", "kl"): "T*(r) = 1 + log r at r = 1/e: " + _ZERO_CROSSING,
    ("conjugate_of_activation", "js_weighted(1/2)"): _ZERO_CROSSING,
    ("conjugate_of_activation", "js_weighted(3/10)"): _ZERO_CROSSING,
    ("conjugate", "jeffrey"): (
        "f*(t) ~ e^{t-1} for large t is computed as expm1(-L) - L with L = log W(e^{1-t}) "
        "(omega_log): L ~ 1 - t is rounded to ulp(t) and the exponential turns that absolute "
        "error into a relative one of |t| eps, 15 ulps at t = 33 (κ = 33, mixed 0.3). Exact "
        "rounding would need L in double-double; the error is the input's conditioning."
    ),
    ("conjugate_of_activation", "jeffrey"): (
        "as for jeffrey's conjugate: f*(g(v)) = f*(v) ~ e^{v-1}, 15 ulps at v = 33.3 "
        "(κ = 33, mixed 0.3)."
    ),
    ("fgan_critic_loss", "jeffrey"): (
        "batches of scores up to 30 have terms up to e^29 whose relative error is ~|v| eps "
        "(jeffrey's f* above, κ ~ |v|); the batch error (12 ulps of the scale) is that "
        "conditioning, which the batch measure does not allow for."
    ),
    ("fgan_generator_loss", "jeffrey"): (
        "batches of scores up to 30 have terms up to e^29 whose relative error is ~|v| eps "
        "(jeffrey's f* above, κ ~ |v|); the batch error (12 ulps of the scale) is that "
        "conditioning, which the batch measure does not allow for."
    ),
    ("fgan_generator_loss", "alpha(-1)"): (
        "minor: up to 6.4 ulps near v = 0, where the hoisted form -1 + sqrt(2) mean(e^{-v/2}) "
        "rounds b = -sqrt(2) before a cancellation by a factor 3.4 (the element-wise f* o g_f "
        "is within 2.3 ulps); a double-double b would remove it."
    ),
    ("conjugate", "js_weighted(3/10)"): (
        "next to the pole at the domain's end t = -0.3 log 0.3 the function blows up (κ = 2.5e14 "
        "at the last float inside): mixed 0.2, the input's rounding. Elsewhere the emitted form "
        "is centred at t = 0, 0.7 log1p(-0.3 expm1(10t/3) / expm1(10t/3 - log(10/3))), within 4 "
        "ulps (it was 0.7 log1p of a product of eight rounded exponentials, 8.2 ulps at t = -5)."
    ),
    ("conjugate", "alpha(1/2)"): (
        "**genuine** (extreme inputs only): 2t/(2 - t) overflows in 2t for t < -8.99e307 and "
        "returns -inf (exact -2). Fix: t/(1 - t/2)."
    ),
    ("conjugate", "alpha(-1)"): (
        "**genuine** (extreme inputs only): 1 - sqrt(1 - 2t) overflows in 2t for "
        "t < -8.99e307 and returns -inf (exact -1.9e154 at -DBL_MAX). Fix: "
        "1 - sqrt(2) sqrt(1/2 - t)."
    ),
}


# ---------------------------------------------------------------------------------------------
# The perspective q f(p/q) over the whole range, and divergences of nearby distributions
# ---------------------------------------------------------------------------------------------

#: users' generators measured with the registered ones (emitted path only)
USER_GENERATORS = {
    "user: u log u": "u*log(u)",
    "user: (u-1)^2/(u+1)": "(u - 1)**2/(u + 1)",
    "user: exp(abs(log u)) - 1": "exp(Abs(log(u))) - 1",
}


@dataclass
class PerspectiveResult:
    """One divergence, one path (``emitted`` or ``kernel``): the perspective over the grid."""

    label: str
    path: str
    pairs: int = 0
    max_ulps: float = 0.0
    at_ulps: tuple[float, float] = (0.0, 0.0)
    max_backward: float = 0.0
    at_backward: tuple[float, float] = (0.0, 0.0)
    overflow: tuple[int, int] = (0, 0)
    wrong: list[str] = field(default_factory=list)
    seconds: float = 0.0


def perspective_pairs(coarse: bool) -> list[tuple[float, float]]:
    """``(p, q)`` over ``[5e-324, 1]``: every ``step``-th decade, the subnormal and normal
    ends, and nearly equal pairs ``q = p (1 + 10^-j)``."""
    step = 20 if coarse else 4
    values = sorted(
        {5e-324, 1e-320, 2e-310, DBL_MIN, 0.3, 0.7, 1.0} | {10.0**-k for k in range(0, 324, step)}
    )
    near = [
        (p, p * (1 + s * 10.0**-j))
        for p in (1e-300, 1e-8, 0.3)
        for j in ((3, 9, 15) if coarse else (1, 3, 6, 9, 12, 15))
        for s in (1, -1)
    ]
    return [(a, b) for a in values for b in values] + near


def _exact_perspective(f: Fn, p: float, q: float) -> mpmath.mpf:
    """``q f(p/q)`` at ``60 + k`` digits, ``k`` the decimal orders between ``p`` and ``q`` and
    the digits they share (``p/q`` and ``1 + p/q`` held exactly), checked at twice that."""
    orders = abs(math.log10(p) - math.log10(q))
    close = -math.log10(abs(p - q) / max(p, q)) if p != q else 0.0
    values = []
    for digits in (60 + int(orders + close), 120 + 2 * int(orders + close)):
        with mp.workdps(digits):
            values.append(mp.mpf(q) * f(mp.mpf(p) / mp.mpf(q)))
    a, b = values
    scale = max(abs(a), abs(b))
    assert abs(a - b) <= mp.mpf(10) ** -30 * scale + mp.mpf(10) ** -50 * q, (p, q, a, b)
    if p == q and abs(b) <= mp.mpf(10) ** -50 * q:
        return mp.mpf(0)
    return b


def _generator_of(label: str) -> tuple[dv.FDivergence, sp.Expr]:
    if label in USER_GENERATORS:
        text = USER_GENERATORS[label]
        return dv.FDivergence.from_generator(text, u, name="user"), sp.sympify(
            text, locals={"u": u}
        )
    entry = next(e for e in ENTRIES if e.label == label)
    return entry.get(), entry.forms().generator.subs(oracles.u, u)


def measure_perspective(label: str, path: str, coarse: bool) -> PerspectiveResult:
    """The perspective of ``label`` (emitted, or the hand kernel) against mpmath: ulps of the
    exact value, and the backward error |y - y*| / (eps (|y*| + |p f'(u)| + |q f(u) - p f'(u)|)),
    the error in units of what a relative perturbation eps of the inputs moves the value by."""
    from divergences.numeric.discrete import perspective as discrete_perspective

    start = time.perf_counter()
    d, expr = _generator_of(label)
    function = d.torch.perspective if path == "emitted" else discrete_perspective(d)
    f = mp_lambdify(expr, u)
    df = mp_lambdify(sp.diff(expr, u).replace(sp.DiracDelta, lambda *_: sp.S.Zero), u)
    pairs = perspective_pairs(coarse)
    p = torch.tensor([a for a, _ in pairs], dtype=torch.float64)
    q = torch.tensor([b for _, b in pairs], dtype=torch.float64)
    got = function(p, q).tolist()
    res = PerspectiveResult(label, path, pairs=len(pairs))
    over = total_over = 0
    eps = 2.0**-52
    for (a, b), y in zip(pairs, got, strict=True):
        exact = _exact_perspective(f, a, b)
        if abs(exact) > DBL_MAX:
            total_over += 1
            if y == math.copysign(math.inf, exact):
                over += 1
            else:
                res.wrong.append(f"({a:.3g}, {b:.3g}): {y!r}, exact overflows")
            continue
        if not math.isfinite(y):
            res.wrong.append(f"({a:.3g}, {b:.3g}): {y!r}, exact {mp.nstr(exact, 8)}")
            continue
        err = ulps(y, exact)
        with mp.workdps(40):
            slope = mp.mpf(a) * df(mp.mpf(a) / mp.mpf(b))
            scale = abs(exact) + abs(slope) + abs(exact - slope)
            # plus the spacing of subnormal results: a value below 2^-1022 has fewer digits
            backward = float(abs(mp.mpf(y) - exact) / (eps * scale + mp.mpf(2) ** -1074))
        if err > res.max_ulps:
            res.max_ulps, res.at_ulps = err, (a, b)
        if backward > res.max_backward:
            res.max_backward, res.at_backward = backward, (a, b)
    res.overflow = (over, total_over)
    res.seconds = time.perf_counter() - start
    return res


def measure_perspectives(coarse: bool) -> list[PerspectiveResult]:
    from divergences.numeric.discrete import perspective as discrete_perspective  # noqa: F401

    out = []
    for label in [e.label for e in ENTRIES] + list(USER_GENERATORS):
        d, _ = _generator_of(label)
        paths = ["emitted"] + (["kernel"] if d.entry.kernel(d.parameters) is not None else [])
        for path in paths:
            out.append(measure_perspective(label, path, coarse))
    return out


@dataclass
class NearResult:
    """One divergence, one path: ``D(P, Q)`` of nearby distributions against mpmath."""

    label: str
    path: str
    cases: int = 0
    max_ulps: float = 0.0
    worst: str = ""
    self_exact: bool = True
    seconds: float = 0.0


def nearby_pairs(coarse: bool) -> list[tuple[list[float], list[float], str]]:
    """Pairs of distributions with ``sum p = sum q = 1`` exactly: ``p`` on the grid ``k/1024``
    (``k >= 8``) and ``q = p +- m 2^-j`` (``m < 64``, ``j >= 16``: ``q > 0``) in pairs of opposite
    signs (every entry exact), and the two-point
    ``[x, 1 - x]``, ``[y, 1 - y]`` with ``x - y = k 2^-47`` (``x, y >= 1/2``: ``1 - x`` exact)."""
    out: list[tuple[list[float], list[float], str]] = []
    generator = torch.Generator().manual_seed(0)
    for j in (16, 24, 32, 40, 48) if not coarse else (16, 40):
        k = torch.randint(8, 60, (16,), generator=generator).to(torch.float64)
        k[-1] += 1024 - k.sum()
        m = torch.randint(1, 64, (8,), generator=generator).to(torch.float64)
        delta = torch.stack([m, -m], dim=-1).reshape(16) * 2.0**-j
        p = (k / 1024).tolist()
        q = (k / 1024 + delta).tolist()
        out.append((p, q, f"16 outcomes, p - q = +-m 2^-{j}"))
    for x, steps in ((0.7, 1), (0.5, 7), (0.999, 100)):
        y = x - steps * 2.0**-47
        out.append(([x, 1 - x], [y, 1 - y], f"[{x}, 1-{x}] vs x - {steps} 2^-47"))
    return out


def measure_near(label: str, path: str, coarse: bool) -> NearResult:
    start = time.perf_counter()
    d, expr = _generator_of(label)
    f = mp_lambdify(expr, u)
    res = NearResult(label, path)
    divergence = d.divergence if path == "kernel" else d.torch.perspective_parts.divergence
    for p, q, what in nearby_pairs(coarse):
        pt = torch.tensor(p, dtype=torch.float64)
        qt = torch.tensor(q, dtype=torch.float64)
        got = float(divergence(pt, qt))
        with mp.workdps(80):
            exact = mp.fsum(mp.mpf(b) * f(mp.mpf(a) / mp.mpf(b)) for a, b in zip(p, q, strict=True))
        err = ulps(got, exact)
        res.cases += 1
        if err > res.max_ulps or not res.worst:
            res.max_ulps = max(err, res.max_ulps)
            res.worst = f"{what}: {got:.6g} (exact {mp.nstr(exact, 6)})"
        same = divergence(pt, pt)
        res.self_exact &= bool(float(same) == float(d.offset))
    res.seconds = time.perf_counter() - start
    return res


def measure_nears(coarse: bool) -> list[NearResult]:
    out = []
    for label in [e.label for e in ENTRIES] + list(USER_GENERATORS):
        d, _ = _generator_of(label)
        paths = ["emitted"] + (["kernel"] if d.entry.kernel(d.parameters) is not None else [])
        for path in paths:
            out.append(measure_near(label, path, coarse))
    return out


def _perspective_section(
    perspectives: Sequence[PerspectiveResult], nears: Sequence[NearResult]
) -> list[str]:
    lines = [
        "## Perspective q f(p/q) over [5e-324, 1] and divergences of nearby distributions",
        "",
        "The element-wise perspective of every divergence, through the emitted functions "
        "(`d.torch.perspective`, what every divergence without a hand kernel sums: "
        "`alpha`, `js_weighted`, users' generators) and through the hand kernel where there is "
        "one, on p, q over every decade of [5e-324, 1] (subnormals and the smallest normal "
        "included) and nearly equal pairs q = p (1 + 10^-j). Exact: the literature closed form "
        "(users' generators: their text) by mpmath at 60 + (decimal orders between p and q and "
        "shared by them) digits. **backward** = |y - y*| / (eps (|y*| + |p f'(u)| + "
        "|q f(u) - p f'(u)|) + 2^-1074): the error in units of what an eps relative perturbation "
        "of p and q moves the value by, or of the subnormal spacing (a few means backward "
        "stable). Where p/q is subnormal the "
        "emitted perspective works in the log-ratio, rounded to eps|log(p/q)| (up to 745 ulps "
        "of it; the backward error there can reach that factor). Exact values beyond float64's "
        "range must give inf.",
        "",
        "| divergence | path | pairs | max ulps | at (p, q) | max backward | at (p, q) | "
        "overflow | wrong |",
        "|---|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for res in perspectives:
        over = f"{res.overflow[0]}/{res.overflow[1]} ok" if res.overflow[1] else ""
        lines.append(
            f"| {res.label} | {res.path} | {res.pairs} | {_fmt_ulps(res.max_ulps)} | "
            f"({_fmt(res.at_ulps[0])}, {_fmt(res.at_ulps[1])}) | "
            f"{_fmt_ulps(res.max_backward)} | ({_fmt(res.at_backward[0])}, "
            f"{_fmt(res.at_backward[1])}) | {over} | {len(res.wrong)} |"
        )
    wrong = [f"- {res.label} ({res.path}): {w}" for res in perspectives for w in res.wrong[:3]]
    if wrong:
        lines += ["", "Non-finite where the exact value is finite (first three):", "", *wrong]
    lines += [
        "",
        "`D(P, Q)` of nearby distributions (sums of the non-negative centred terms "
        "q (f(p/q) - f(1) - f'(1)(p/q - 1)) plus f'(1) sum(p - q); `gan`, with f(1) = -log 4, "
        "sums its perspective and gives f(1) where P = Q), in ulps of the exact value (mpmath, "
        "80 digits, on the float inputs as given). The pairs sum to 1 exactly, so the value is "
        "the divergence of the nearby distributions and not the rounding of a normalisation: "
        "16 outcomes with p - q = +-m 2^-j, m < 64, j from 16 to 48, and the two-point "
        "distributions [x, 1 - x], [y, 1 - y] with x - y = k 2^-47 (true values 1e-28 .. 1e-25). "
        "**D(P,P) exact**: the divergence of each p from itself is exactly f(1).",
        "",
        "| divergence | path | cases | max ulps | worst case | D(P,P) exact |",
        "|---|---|---:|---:|---|---|",
    ]
    for res in nears:
        lines.append(
            f"| {res.label} | {res.path} | {res.cases} | {_fmt_ulps(res.max_ulps)} | "
            f"{res.worst} | {'yes' if res.self_exact else '**no**'} |"
        )
    lines.append("")
    return lines


def render(
    quantity_results: dict[str, list[QuantityResult]],
    loss_results: Sequence[LossResult],
    *,
    coarse: bool,
    seconds: float,
    perspectives: Sequence[PerspectiveResult] = (),
    nears: Sequence[NearResult] = (),
) -> str:
    today = datetime.date.today().isoformat()
    command = "`.venv/bin/python -m benchmarks.accuracy_mpmath" + (" --coarse`" if coarse else "`")
    lines = [
        "# Accuracy of the float64 functions and losses against mpmath",
        "",
        f"Generated by {command} on {today} (torch {torch.__version__}, mpmath "
        f"{mp.__version__}, sympy {sp.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}; {seconds:.0f} s). Do not edit by hand: rerun the command. "
        "`tests/numeric/test_accuracy.py` checks the same on a coarse grid.",
        "",
        "How to read it (details in the docstring of `benchmarks/accuracy_mpmath.py`):",
        "",
        "- **ulps** = |computed - exact| / ulp(exact rounded to float64). The exact values are "
        "mpmath at 50 digits, escalated to 400 and 800 digits until two precisions agree to 30 "
        "digits.",
        "- Two independent references: the library's SymPy expressions through "
        '`lambdify(modules="mpmath")` (f* o g_f as the numeric composition, not the '
        "simplified one) and closed forms typed by hand from f-GAN (Nowozin et al. 2016, "
        "Table 2) in the library's conventions (js = half the paper's 2 JS row, TV = |u-1|/2, "
        "conjugates as suprema over u > 0). They must agree to 25 digits wherever both evaluate; "
        "disagreements are listed.",
        "- Grid: +-10^k for k = -323..308, dense around 0 and 1, every finite end of the domain "
        "approached by relative steps 2^-k and by single ulps, and every zero of the function "
        "(bisection on the float64 line) with its neighbouring floats.",
        "- **κ** = |x F'(x) / F(x)|, the condition number at the worst point (`-`: within 4 "
        "ulps). **mixed** = |computed - exact| / (|F'(x)| ulp(x) + ulp(exact)): at most a few "
        "means the result is exact for an input a few ulps away, up to a few ulps of the "
        "result (the error is the function's conditioning, what rounding the input already "
        "costs); much more is an algorithmic loss. It is computed above 4 ulps; below, it is at "
        "most the ulps.",
        "- Exact values beyond float64's range must give inf of the right sign (`overflow`); "
        "exact values below the normal range (`underflow`) are measured in ulps of the "
        "subnormal spacing (ok within 2); limits at 0 (f(0+), T*(0+)) must match exactly.",
        "",
    ]
    explanations: dict[str, list[str]] = {}
    for quantity in QUANTITIES:
        results = quantity_results.get(quantity, [])
        if not results:
            continue
        rows, notes = _quantity_table(results)
        cross = sum(res.cross_checked for res in results)
        mismatch = sum(len(res.mismatches) for res in results)
        lines += [f"## {TITLES[quantity]}", "", *rows, ""]
        lines += [f"References cross-checked at {cross} points: {mismatch} disagreements.", ""]
        if notes:
            lines += ["Above 4 ulps:", "", *notes, ""]
        for res in results:
            text = NOTES.get((quantity, res.label))
            if text and res.max_ulps() > DIAGNOSE_ABOVE:
                explanations.setdefault(text, []).append(f"{quantity} ({res.label})")
    if perspectives or nears:
        lines += _perspective_section(perspectives, nears)
    if loss_results:
        n_pairs = len({p.where for p in loss_results[0].points if p.where.startswith("(")})
        lines += [
            "## Losses",
            "",
            "One-element inputs over the grid (one-argument losses) or over "
            f"{n_pairs} (real, fake) pairs, plus batches of typical scores (N(0, 9) and "
            "log-uniform magnitudes 1e-6..30). The exact value is the docstring's formula with "
            "the hand-typed terms (softplus; g_f and f* o g_f of the closed forms). For a loss, "
            "**mixed** also allows ulp(scale), scale = mean|fake terms| + mean|real terms|, "
            "what a float64 difference of the two means can promise; for batches it is the "
            "error in ulps of the scale. `ulps of |a|+|bḠ|` measures the f-GAN losses against "
            "their documented claim, with a the constant hoisted out of each mean (where a = 0 "
            "the claim reads 'a few ulps of |mean|', which a mean of terms of both signs cannot "
            "keep: e.g. 29 for kl's alternative loss on a batch, 0.2 ulps of mean|terms|). A large "
            "`max ulps` with a small `max mixed` on a critic loss is the cancellation of the "
            "two means (e.g. kl at (1e-8, 1e-8)): the loss is ill-conditioned there, not the "
            "code.",
            "",
            *_loss_table(loss_results),
            "",
        ]
        notes = _loss_notes(loss_results)
        if notes:
            lines += ["Mixed error above 4 (worst two per loss):", "", *notes, ""]
        for res in loss_results:
            text = NOTES.get((res.loss, res.label))
            worst = res.worst_mixed
            if text and worst and worst.mixed > DIAGNOSE_ABOVE:
                label = res.loss if res.label == "-" else f"{res.loss} ({res.label})"
                explanations.setdefault(text, []).append(label)
    if explanations:
        lines += ["## Explanations", ""]
        lines += [f"- **{', '.join(where)}**: {text}" for text, where in explanations.items()]
        lines.append("")
    return "\n".join(lines)


def run(coarse: bool, out: Path | None, skip_losses: bool = False) -> str:
    start = time.perf_counter()
    quantity_results: dict[str, list[QuantityResult]] = {}
    for quantity in QUANTITIES:
        for entry in ENTRIES:
            res = measure_quantity(entry, quantity, coarse=coarse)
            quantity_results.setdefault(quantity, []).append(res)
            worst = res.worst
            print(
                f"{quantity:24s} {entry.label:18s} max {_fmt_ulps(res.max_ulps()):>9s} "
                f"at {_fmt(worst.x) if worst else '-':>12s}  mixed "
                f"{_fmt_ulps(res.max_mixed()):>9s} ({len(res.points)} pts, {res.seconds:.1f} s)",
                flush=True,
            )
    perspectives = measure_perspectives(coarse)
    for res in perspectives:
        print(
            f"perspective {res.label:22s} {res.path:8s} max {_fmt_ulps(res.max_ulps):>9s} "
            f"backward {_fmt_ulps(res.max_backward):>9s} wrong {len(res.wrong)} "
            f"({res.seconds:.1f} s)",
            flush=True,
        )
    nears = measure_nears(coarse)
    for res in nears:
        print(
            f"nearby      {res.label:22s} {res.path:8s} max {_fmt_ulps(res.max_ulps):>9s} "
            f"D(P,P) exact {res.self_exact} ({res.seconds:.1f} s)",
            flush=True,
        )
    loss_results = [] if skip_losses else measure_losses(coarse=coarse)
    for res in loss_results:
        worst, worst_mixed = res.worst, res.worst_mixed
        print(
            f"{res.loss:36s} {res.label:18s} max {_fmt_ulps(worst.err if worst else 0):>9s} "
            f"at {worst.where if worst else '':>24s} mixed "
            f"{_fmt_ulps(worst_mixed.mixed if worst_mixed else 0)} ({res.seconds:.1f} s)",
            flush=True,
        )
    text = render(
        quantity_results,
        loss_results,
        coarse=coarse,
        seconds=time.perf_counter() - start,
        perspectives=perspectives,
        nears=nears,
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--coarse", action="store_true", help="a coarse grid (quick look)")
    parser.add_argument("--no-losses", action="store_true", help="skip the losses")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "docs" / "accuracy.md",
        help="where to write the Markdown report (default: docs/accuracy.md)",
    )
    args = parser.parse_args(argv)
    run(args.coarse, args.out, skip_losses=args.no_losses)


if __name__ == "__main__":
    main()
