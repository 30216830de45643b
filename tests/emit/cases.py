r"""Tests of the emitted torch functions (:mod:`divergences.numeric.emit`) and stable primitives.

Where expected values come from (nothing here is read from the symbolic layer's results, except
the derived activation of the entries that have no literature activation, see ``Forms``):

- closed forms typed in this file from the literature, with the library's conventions
  (DESIGN.md): Nowozin, Cseke and Tomioka, *f-GAN*, NeurIPS 2016, Table 6 (conjugates) and
  Table 2 (output activations, optimal critics ``f'(u)``); ``js`` is the standard Jensen-Shannon
  divergence, the paper's row halved (``f*_JS(t) = f*_paper(2t)/2``, ``g_JS = g_paper/2``);
  ``total_variation`` is ``|u - 1|/2``; the alpha family
  ``f = (u^a - 1 - a(u - 1))/(a(a - 1))`` (Cichocki and Amari, Entropy 2010) with
  ``f*(t) = ((1 + (a - 1)t)^(a/(a - 1)) - 1)/a`` at the stationary point; the weighted
  Jensen-Shannon row of Table 6. The conjugate is the supremum over ``u > 0``, which differs from
  the paper's table where the stationary point leaves ``u > 0`` (pearson below ``t = -2``,
  total variation below ``-1/2``, alpha > 1 below ``-1/(a - 1)``: there ``f*(t) = -f(0+)``), and
  is finite at a domain end where the supremum is (neyman at ``t = 1``: ``sup 2 - 1/u = 2``);
- those expressions evaluated by mpmath with a precision escalation (50, 700, 5000, 12000
  digits; a value is accepted when two consecutive precisions agree to 30 digits, a zero or an
  infinity only at the highest ones), so cancellations up to ``exp(-1e4)`` are resolved;
- for ``f*`` also a numeric supremum of ``t u - f(u)`` over ``u > 0`` (scipy's bounded Brent on
  ``log u``), independent of every closed form;
- two user-defined generators with conjugates derived by hand below: Le Cam's triangular
  discrimination ``(u - 1)^2/(u + 1)`` and the f-GAN paper's own Jensen-Shannon row
  ``u log u - (u + 1) log((u + 1)/2)`` (= 2 JS; its activation is derived by the library).

Tolerance. A float64 result must satisfy ``|y - f(x)| <= 4 eps (|f(x)| + |x f'(x)|)``: the error
of an evaluation that is exact for an input perturbed by a few ulps (backward stable). Where
``f`` is well conditioned this is a few ulps; next to a zero of ``f`` (``f(1) = 0``) it allows the
error that the rounding of the argument causes anyway (``u = p/q`` is itself rounded). The worst
measured value over the grids is 2.4 (``js_weighted`` conjugate); before the fixes recorded in the
regression tests below, ``neyman``'s ``u + 1/u - 2`` was at 8e6 next to ``u = 1``. In float32,
float16 and bfloat16 the same bound with that dtype's eps applies, and a value whose exact result
overflows the dtype must be ``inf`` of the right sign.
"""

from __future__ import annotations

import doctest
import functools
import importlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import pytest
import scipy.optimize
import scipy.special
import sympy as sp
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sympy.codegen import cfunctions

import divergences as dv
from divergences.numeric import stable
from divergences.numeric.emit import QUANTITIES, Emitted, emit
from divergences.numeric.emit.printer import _comparison
from divergences.numeric.emit.select import _contains, _cuts, reference_values
from tests._kernels import KERNELS

F64 = torch.float64
EPS64 = 2.0**-52
LOW_DTYPES = [torch.float32, torch.float16, torch.bfloat16]

# --------------------------------------------------------------------------------------------
# Closed forms from the literature (SymPy expressions in their own symbols, evaluated by mpmath)
# --------------------------------------------------------------------------------------------

U = sp.Symbol("U", positive=True)
R = sp.Symbol("R", positive=True)
T, V = sp.symbols("T V", real=True)
LOG2 = sp.log(2)
HALF = sp.Rational(1, 2)


@dataclass(frozen=True)
class Forms:
    """One divergence's quantities: ``generator`` f(U) for U > 0 and ``f0`` = f(0+);
    ``conjugate`` f*(T) (``oo`` outside the domain); ``activation`` g_f(V), or ``None`` for the
    entries whose activation the library derives from the domain (alpha, js_weighted, users'
    generators: the test then composes the closed-form f* with that derived g_f); ``critic``
    T*(R) = f'(R) and ``critic0`` = f'(0+)."""

    generator: sp.Expr
    f0: sp.Expr
    conjugate: sp.Expr
    activation: sp.Expr | None
    critic: sp.Expr
    critic0: sp.Expr


def _pw(*pairs: tuple[sp.Expr, sp.Basic]) -> sp.Piecewise:
    return sp.Piecewise(*pairs)


def alpha_forms(a: sp.Rational) -> Forms:
    f = (U**a - 1 - a * (U - 1)) / (a * (a - 1))
    stationary = ((1 + (a - 1) * T) ** (a / (a - 1)) - 1) / a
    if a > 1:  # f'(0+) = -1/(a - 1): below it the supremum is at u -> 0, f*(t) = -f(0) = -1/a
        conjugate = _pw((-1 / a, -1 / (a - 1) >= T), (stationary, True))
        critic0 = -1 / (a - 1)
    else:  # f'(oo) = 1/(1 - a): finite at that end for a < 0 (sup of a bounded increasing term)
        end = 1 / (1 - a)
        at_end = stationary.subs(T, end) if a < 0 else sp.oo
        conjugate = _pw((stationary, end > T), (at_end, sp.Eq(T, end)), (sp.oo, True))
        critic0 = -sp.oo
    critic = (R ** (a - 1) - 1) / (a - 1)
    return Forms(f, 1 / a if a > 0 else sp.oo, conjugate, None, critic, critic0)


def js_weighted_forms(pi: sp.Rational) -> Forms:
    # Nowozin et al. 2016, Table 6, "Jensen-Shannon-weighted"
    f = pi * U * sp.log(U) - (1 - pi + pi * U) * sp.log(1 - pi + pi * U)
    end = -pi * sp.log(pi)
    conjugate = _pw(
        ((1 - pi) * sp.log((1 - pi) / (1 - pi * sp.exp(T / pi))), end > T), (sp.oo, True)
    )
    critic = pi * sp.log(R) - pi * sp.log(1 - pi + pi * R)
    return Forms(f, -(1 - pi) * sp.log(1 - pi), conjugate, None, critic, -sp.oo)


REGISTERED_FORMS = {
    "kl": Forms(U * sp.log(U), 0, sp.exp(T - 1), V, 1 + sp.log(R), -sp.oo),
    "reverse_kl": Forms(
        -sp.log(U), sp.oo, _pw((-1 - sp.log(-T), T < 0), (sp.oo, True)), -sp.exp(-V), -1 / R, -sp.oo
    ),
    "pearson": Forms((U - 1) ** 2, 1, _pw((-1, T < -2), (T**2 / 4 + T, True)), V, 2 * (R - 1), -2),
    "neyman": Forms(
        (1 - U) ** 2 / U,
        sp.oo,
        _pw((2 - 2 * sp.sqrt(1 - T), T <= 1), (sp.oo, True)),
        1 - sp.exp(-V),
        1 - 1 / R**2,
        -sp.oo,
    ),
    "squared_hellinger": Forms(
        (sp.sqrt(U) - 1) ** 2,
        1,
        _pw((T / (1 - T), T < 1), (sp.oo, True)),
        1 - sp.exp(-V),
        1 - 1 / sp.sqrt(R),
        -sp.oo,
    ),
    "jeffrey": Forms(
        (U - 1) * sp.log(U),
        sp.oo,
        sp.LambertW(sp.exp(1 - T)) + 1 / sp.LambertW(sp.exp(1 - T)) + T - 2,
        V,
        1 + sp.log(R) - 1 / R,
        -sp.oo,
    ),
    "js": Forms(
        (U * sp.log(U) - (U + 1) * sp.log((U + 1) / 2)) / 2,
        LOG2 / 2,
        _pw((-sp.log(2 - sp.exp(2 * T)) / 2, T < LOG2 / 2), (sp.oo, True)),
        (LOG2 - sp.log(1 + sp.exp(-V))) / 2,
        sp.log(2 * R / (1 + R)) / 2,
        -sp.oo,
    ),
    "gan": Forms(
        U * sp.log(U) - (U + 1) * sp.log(U + 1),
        0,
        _pw((-sp.log(1 - sp.exp(T)), T < 0), (sp.oo, True)),
        -sp.log(1 + sp.exp(-V)),
        sp.log(R / (R + 1)),
        -sp.oo,
    ),
    "total_variation": Forms(
        sp.Abs(U - 1) / 2,
        HALF,
        _pw((-HALF, T < -HALF), (T, T <= HALF), (sp.oo, True)),
        sp.tanh(V) / 2,
        sp.sign(R - 1) / 2,  # any value in [-1/2, 1/2] at R = 1 (a subgradient)
        -HALF,
    ),
}

# Le Cam's triangular discrimination f = (u - 1)^2/(u + 1): f'(u) = 1 - 4/(u + 1)^2 in (-3, 1),
# u* = 2/s - 1 with s = sqrt(1 - t), f*(t) = (1 - s)(3 - s) = 4 - t - 4 s; below t = -3 the
# supremum is at u -> 0 (f*(t) = -f(0) = -1); at t = 1 it is lim (3u - 1)/(u + 1) = 3.
LE_CAM = Forms(
    (U - 1) ** 2 / (U + 1),
    1,
    _pw((-1, T <= -3), (4 - T - 4 * sp.sqrt(1 - T), T <= 1), (sp.oo, True)),
    None,
    1 - 4 / (R + 1) ** 2,
    -3,
)
# The f-GAN paper's own "Jensen-Shannon" row (2 JS): Table 6, f*(t) = -log(2 - e^t), t < log 2.
PAPER_JS = Forms(
    U * sp.log(U) - (U + 1) * sp.log((U + 1) / 2),
    LOG2,
    _pw((-sp.log(2 - sp.exp(T)), T < LOG2), (sp.oo, True)),
    None,
    sp.log(2 * R / (R + 1)),
    -sp.oo,
)

_X = sp.Symbol("x", positive=True)


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[], dv.FDivergence]
    forms: Forms


def _registered(name: str, **params: object) -> Callable[[], dv.FDivergence]:
    return functools.cache(lambda: dv.get(name, **params))


def _user(expr: sp.Expr, name: str) -> Callable[[], dv.FDivergence]:
    return functools.cache(lambda: dv.FDivergence.from_generator(expr, _X, name=name))


CASES = [Case(n, _registered(n), REGISTERED_FORMS[n]) for n in REGISTERED_FORMS]
CASES += [
    Case(f"alpha={a}", _registered("alpha", alpha=Fraction(a)), alpha_forms(sp.Rational(a)))
    for a in ("1/2", "-1", "3")
]
CASES += [
    Case(
        "js_weighted=1/4",
        _registered("js_weighted", pi=Fraction(1, 4)),
        js_weighted_forms(sp.Rational(1, 4)),
    ),
    Case("user:le_cam", _user((_X - 1) ** 2 / (_X + 1), "le_cam"), LE_CAM),
    Case(
        "user:paper_js",
        _user(_X * sp.log(_X) - (_X + 1) * sp.log((_X + 1) / 2), "paper_js"),
        PAPER_JS,
    ),
]
CASE_BY_ID = {case.id: case for case in CASES}


def test_every_registered_name_is_covered() -> None:
    covered = {case.id.split("=")[0] for case in CASES}
    assert set(dv.names()) <= covered


# --------------------------------------------------------------------------------------------
# mpmath evaluation with a precision escalation
# --------------------------------------------------------------------------------------------

_PRECISIONS = (50, 700, 5000, 12000)
_TINY = mpmath.mpf(10) ** -400  # far below float64's smallest subnormal: 0.0 once rounded


def _as_real(value: object) -> mpmath.mpf | None:
    value = mpmath.mpmathify(value)
    if isinstance(value, mpmath.mpc):
        if abs(value.imag) > mpmath.mpf(10) ** (-mpmath.mp.dps + 5) * max(1, abs(value.real)):
            return None
        value = value.real
    return None if mpmath.isnan(value) else value


def exact_value(fn: Callable, x: float, rtol: float = 1e-30) -> mpmath.mpf:
    """``fn(x)`` at the first of two consecutive precisions that agree (see the module doc)."""
    previous = None
    for dps in _PRECISIONS:
        with mpmath.workdps(dps):
            try:
                value = _as_real(fn(mpmath.mpf(x)))
            except (ZeroDivisionError, ValueError, OverflowError, TypeError):
                value = None
        if value is not None and previous is not None:
            tiny = abs(value) < _TINY or abs(previous) < _TINY
            if tiny or mpmath.isinf(value) or mpmath.isinf(previous):
                # 0 and log(0) may be total cancellations (or a Piecewise condition decided on
                # a rounded value): only the highest precisions decide
                # (5000 digits resolve every cancellation on the grids here: exp(-x) beside
                # 1 for |x| <= 1e4)
                if dps >= 5000:
                    if abs(value) < _TINY and abs(previous) < _TINY:
                        return mpmath.mpf(0)  # zero, or a rounding residue of zero
                    if value == previous:
                        return value
            elif abs(value - previous) <= rtol * max(abs(value), abs(previous)):
                return value
        previous = value
    raise AssertionError(f"the oracle did not converge at x = {x!r}")


def _exp(x: mpmath.mpf) -> mpmath.mpf:
    """mpmath's ``exp``, as ``2**n exp(r)`` for huge arguments: mpmath takes seconds for
    ``exp(-exp(9984))`` at 5000 digits (it raises ``e`` to a huge power)."""
    x = mpmath.mpmathify(x)
    if not mpmath.isfinite(x) or x == 0 or mpmath.mag(x) <= 64:
        return mpmath.exp(x)
    if mpmath.mag(x) > 1100:  # beyond every float (an argument such as -exp(1e300))
        if x < 0:
            return mpmath.mpf(0)  # below 10**(-10**300): 0 at every precision used here
        raise OverflowError("exp of a number beyond the float64 range")
    with mpmath.extraprec(mpmath.mag(x) + 20):
        n = mpmath.floor(x / mpmath.ln2)
        rest = x - n * mpmath.ln2
    return mpmath.ldexp(mpmath.exp(rest), int(n))


def _expm1(x: mpmath.mpf) -> mpmath.mpf:
    x = mpmath.mpmathify(x)
    if mpmath.isfinite(x) and x != 0 and mpmath.mag(x) > 64:
        return _exp(x) - 1  # no cancellation this far from 0 (and mpmath's expm1 would hang)
    return mpmath.expm1(x)


@functools.cache
def _mp(expr: sp.Expr, var: sp.Symbol) -> Callable:
    return sp.lambdify(var, expr, modules=[{"exp": _exp, "expm1": _expm1}, "mpmath"])


@functools.cache
def oracle(case_id: str, quantity: str) -> tuple[sp.Expr, sp.Symbol]:
    """The closed form of ``quantity`` for the case, in its variable."""
    case = CASE_BY_ID[case_id]
    forms = case.forms
    activation = forms.activation
    if activation is None:
        activation = case.build().activation(V)  # derived by the library (see Forms)
    return {
        "generator": (forms.generator, U),
        "conjugate": (forms.conjugate, T),
        "activation": (activation, V),
        "conjugate_of_activation": (forms.conjugate.subs(T, activation), V),
        "optimal_critic": (forms.critic, R),
    }[quantity]


@functools.cache
def exact_of(expr: sp.Expr, var: sp.Symbol, x: float) -> tuple[mpmath.mpf, mpmath.mpf]:
    """``(h(x), |x h'(x)|)`` for the expression ``h`` (``x h'`` to 3 digits)."""
    value = exact_value(_mp(expr, var), x)
    if mpmath.isinf(value):
        return value, mpmath.mpf(0)
    derivative = sp.diff(expr, var).replace(sp.DiracDelta, lambda *_: sp.S.Zero)
    try:
        slope = exact_value(_mp(derivative, var), x, rtol=1e-3)
    except AssertionError:
        # a pole of h' at a domain end (neyman's f*' at t = 1): no allowance, the value at the
        # point itself must be right
        slope = mpmath.mpf(0)
    with mpmath.workdps(30):
        return value, abs(mpmath.mpf(x) * slope) if x != 0 else mpmath.mpf(0)


def exact(case_id: str, quantity: str, x: float) -> tuple[mpmath.mpf, mpmath.mpf]:
    """:func:`exact_of` for the closed form of ``quantity``."""
    return exact_of(*oracle(case_id, quantity), x)


def to_dtype(value: mpmath.mpf, dtype: torch.dtype) -> float:
    """``value`` rounded to ``dtype`` (via float64; +-inf where it overflows the dtype)."""
    as_float = float(value) if mpmath.isfinite(value) else (math.inf if value > 0 else -math.inf)
    return torch.tensor(as_float, dtype=F64).to(dtype).double().item()


def check_function(
    fn: Callable[[torch.Tensor], torch.Tensor],
    expr: sp.Expr,
    var: sp.Symbol,
    points: list[float],
    dtype: torch.dtype,
    factor: float = 4.0,
    skip: Callable[[float, float], bool] = lambda x, y: False,
) -> None:
    """``fn`` on ``points`` rounded to ``dtype`` within ``factor eps (|h| + |x h'|)`` of the
    expression ``h`` (module docstring), ``+-inf`` where ``h`` overflows the dtype."""
    x = torch.tensor(points, dtype=F64).to(dtype)
    got = fn(x)
    assert got.dtype == dtype and got.shape == x.shape
    info = torch.finfo(dtype)
    failures = []
    for xi, yi in zip(x.double().tolist(), got.double().tolist(), strict=True):
        if not math.isfinite(xi) or skip(xi, yi):
            continue  # infinities are outside the contract
        value, conditioning = exact_of(expr, var, xi)
        expected = to_dtype(value, dtype)
        if math.isinf(expected):
            if yi != expected:
                failures.append((xi, yi, expected))
            continue
        with mpmath.workdps(30):
            bound = factor * info.eps * (abs(value) + conditioning) + info.tiny
            if not abs(mpmath.mpf(yi) - value) <= bound:
                failures.append((xi, yi, float(value)))
    assert not failures, f"[{dtype}] (x, got, exact): {failures[:8]}"


def check_values(case_id: str, quantity: str, points: list[float], dtype: torch.dtype) -> None:
    """The emitted ``quantity`` on ``points`` (rounded to ``dtype``) within the module's bound."""

    def skip(x: float, y: float) -> bool:
        if quantity in ("generator", "optimal_critic") and x == 0:
            return True  # test_limits_at_zero
        if quantity == "optimal_critic" and case_id == "total_variation" and x == 1.0:
            assert -0.5 <= y <= 0.5  # f'(1) is any subgradient
            return True
        return False

    emitted = getattr(CASE_BY_ID[case_id].build().torch, quantity)
    try:
        check_function(emitted, *oracle(case_id, quantity), points, dtype, skip=skip)
    except AssertionError as error:
        raise AssertionError(f"{case_id} {quantity}: {error}") from None


# --------------------------------------------------------------------------------------------
# Grids
# --------------------------------------------------------------------------------------------


def positive_grid() -> list[float]:
    """u > 0 over every order of magnitude, and next to u = 1 (the zero of every generator)."""
    points = {5e-324, 1e-310, 0.5, 0.7, 2.0, 3.0, 1.0, 1.7e308}
    points |= {10.0**k for k in range(-300, 301, 25)}
    points |= {m * 10.0**k for k in range(-16, 17, 2) for m in (1.0, 3.0)}
    points |= {1.0 + s * 2.0**-k for k in (1, 3, 7, 13, 20, 26, 33, 40, 46, 52) for s in (1, -1)}
    return sorted(points)


def real_grid(limit: float) -> list[float]:
    """A signed logarithmic grid up to ``limit`` with the exp overflow thresholds of every dtype."""
    magnitudes = {0.0, 1e-300, 0.5, 0.7, 1.0, 2.0, 3.0, 1e300}
    magnitudes |= {m * 10.0**k for k in range(-16, 5) for m in (1.0, 3.0)}
    magnitudes |= {11.0, 11.1, 11.2, 88.7, 89.0, 709.7, 709.8, 710.0, 745.2, 746.0}
    return sorted({s * m for m in magnitudes for s in (1, -1) if m <= limit})


def near(x: float) -> list[float]:
    """``x`` and points on both sides of it, down to the neighbouring floats."""
    out = [x, math.nextafter(x, math.inf), math.nextafter(x, -math.inf)]
    scale = max(1.0, abs(x))
    out += [x + s * scale * 2.0**-k for k in (2, 8, 20, 35, 50) for s in (1, -1)]
    return out


def conjugate_grid(d: dv.FDivergence) -> list[float]:
    points = set(real_grid(1e300))
    for end in (d.conjugate_domain.start, d.conjugate_domain.end):
        if end.is_finite:
            points |= set(near(float(end)))
    for kink in (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0):
        points |= set(near(kink))
    return sorted(points)


def grid(case_id: str, quantity: str) -> list[float]:
    d = CASE_BY_ID[case_id].build()
    if quantity in ("generator", "optimal_critic"):
        return positive_grid()
    if quantity == "conjugate":
        return conjugate_grid(d)
    if quantity == "activation":
        return real_grid(1e300)
    # f* o g_f: beyond |v| = 1e4 the closed forms cancel beyond 12000 digits (checked apart)
    return real_grid(1e4)


# --------------------------------------------------------------------------------------------
# Accuracy against the closed forms
# --------------------------------------------------------------------------------------------

CASE_IDS = [case.id for case in CASES]


@pytest.mark.parametrize("quantity", list(QUANTITIES))
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_float64_matches_the_closed_form(case_id: str, quantity: str) -> None:
    check_values(case_id, quantity, grid(case_id, quantity), F64)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_limits_at_zero(case_id: str) -> None:
    # u = 0 and r = 0 are the limits f(0+) and f'(0+), with a zero (not NaN) gradient
    case = CASE_BY_ID[case_id]
    emitted = case.build().torch
    for fn, expected in (
        (emitted.generator, case.forms.f0),
        (emitted.optimal_critic, case.forms.critic0),
    ):
        x = torch.zeros(3, dtype=F64, requires_grad=True)
        value = fn(x)
        assert value.tolist() == [float(expected)] * 3
        if value.requires_grad:
            (gradient,) = torch.autograd.grad(value.sum(), x)
            assert not torch.isnan(gradient).any()
    assert emitted.limit_at_zero == float(case.forms.f0)


# g_f and f* o g_f make the f-GAN losses: always; the other quantities with the slow tests
LOSS_QUANTITIES = ("activation", "conjugate_of_activation")


@pytest.mark.parametrize("dtype", LOW_DTYPES, ids=str)
@pytest.mark.parametrize(
    "quantity",
    [q if q in LOSS_QUANTITIES else pytest.param(q, marks=pytest.mark.slow) for q in QUANTITIES],
)
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_low_precision_matches_the_closed_form(
    case_id: str, quantity: str, dtype: torch.dtype
) -> None:
    # computed in float32 (float16/bfloat16 upcast, rounded once); every 3rd grid point
    points = grid(case_id, quantity)[::3]
    check_values(case_id, quantity, points, dtype)


# --------------------------------------------------------------------------------------------
# The conjugate against a numeric supremum (no closed form involved)
# --------------------------------------------------------------------------------------------

SUPREMUM_POINTS = (-30.0, -5.0, -2.5, -1.2, -0.6, -0.2, 0.0, 0.1, 0.3, 0.45, 0.9, 1.0, 2.0, 5.0)


def numeric_supremum(f: Callable[[float], float], t: float) -> float:
    """``sup_{u > 0} t u - f(u)`` by bounded Brent on ``s = log u`` in ``[-40, 40]`` (the
    supremum at ``u -> 0`` or ``u -> oo`` is approached within ``e^-40`` there)."""
    objective = lambda s: -(t * math.exp(s) - f(math.exp(s)))  # noqa: E731
    best = min(
        (
            scipy.optimize.minimize_scalar(
                objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
            )
            for lo, hi in ((-40.0, 0.0), (0.0, 40.0), (-3.0, 3.0))
        ),
        key=lambda result: result.fun,
    )
    return -float(best.fun)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_conjugate_is_the_supremum(case_id: str) -> None:
    case = CASE_BY_ID[case_id]
    f_mp = _mp(case.forms.generator, U)

    def f(x: float) -> float:
        with mpmath.workdps(30):
            return float(f_mp(mpmath.mpf(x)))

    emitted = case.build().torch.conjugate(torch.tensor(SUPREMUM_POINTS, dtype=F64)).tolist()
    checked = 0
    for t, got in zip(SUPREMUM_POINTS, emitted, strict=True):
        value, _ = exact(case_id, "conjugate", t)
        if mpmath.isinf(value):
            assert got == math.inf, (t, got)
            # and the objective really is unbounded: it exceeds any level at large or tiny u
            assert max(t * u - f(u) for u in (1e-30, 1e30)) > 1e3 or math.isinf(got)
            continue
        assert got == pytest.approx(numeric_supremum(f, t), rel=1e-9, abs=1e-9), t
        checked += 1
    assert checked >= 4


# --------------------------------------------------------------------------------------------
# The stability rewrites are in the printed source, and they matter
# --------------------------------------------------------------------------------------------


def _naive_paper_js_composed(v: torch.Tensor) -> torch.Tensor:
    # f*(g(v)) = -log(2 - exp(g)), g = log 2 - exp(-v): the plain composition
    return -torch.log(2 - torch.exp(math.log(2) - torch.exp(-v)))


REWRITES = [
    # (case, quantity, stable primitive in the source, the naive torch formula, where it fails)
    ("gan", "activation", "_s.softplus", lambda v: -torch.log(1 + torch.exp(-v)), -1e4),
    (
        "gan",
        "conjugate_of_activation",
        "_s.softplus",
        lambda v: -torch.log(1 - torch.exp(-torch.log(1 + torch.exp(-v)))),
        50.0,
    ),
    ("gan", "conjugate", "_s.log1mexp", lambda t: -torch.log(1 - torch.exp(t)), -50.0),
    (
        "gan",
        "generator",
        "torch.log1p",
        lambda u: u * torch.log(u) - (u + 1) * torch.log(u + 1),
        1e-300,
    ),
    ("neyman", "activation", "torch.expm1", lambda v: 1 - torch.exp(-v), 1e-12),
    (
        "squared_hellinger",
        "conjugate_of_activation",
        "torch.expm1",
        lambda v: (1 - torch.exp(-v)) / torch.exp(-v),
        1e-12,
    ),
    (
        "js",
        "conjugate_of_activation",
        "_s.softplus",
        lambda v: -0.5 * torch.log(2 - torch.exp(math.log(2) - torch.log(1 + torch.exp(-v)))),
        40.0,
    ),
    ("js", "conjugate", "torch.log1p", lambda t: -0.5 * torch.log(2 - torch.exp(2 * t)), 1e-10),
    (
        "jeffrey",
        "conjugate",
        "_s.omega_log",
        lambda t: (lambda w: w + 1 / w + t - 2)(
            torch.tensor(scipy.special.lambertw(torch.exp(1 - t).numpy()).real)
        ),
        -800.0,
    ),
    (
        "user:paper_js",
        "conjugate_of_activation",
        "_s.log1mexp_negexp",
        _naive_paper_js_composed,
        40.0,
    ),
    (
        "js_weighted=1/4",
        "conjugate_of_activation",
        "_s.log1mexp_negexp",
        lambda v: 0.75 * torch.log(0.75 / (1 - torch.exp(-4 * torch.exp(-v)))),
        88.0,
    ),
]


@pytest.mark.parametrize(
    ("case_id", "quantity", "primitive", "naive", "x"),
    REWRITES,
    ids=[f"{c}-{q}" for c, q, *_ in REWRITES],
)
def test_stability_rewrite(case_id: str, quantity: str, primitive: str, naive, x: float) -> None:
    emitted = CASE_BY_ID[case_id].build().torch
    assert primitive in emitted.source(quantity)
    value, conditioning = exact(case_id, quantity, x)
    point = torch.tensor([x], dtype=F64)
    got = getattr(emitted, quantity)(point).item()
    bound = 4 * EPS64 * float(abs(value) + conditioning)
    assert abs(got - float(value)) <= bound
    # the textbook formula is off by far more, or not finite, at the same point
    with torch.no_grad():
        plain = naive(point).item()
    assert not math.isfinite(plain) or abs(plain - float(value)) > 1e6 * bound, plain


def test_naive_softplus_overflows_where_the_emitted_one_does_not() -> None:
    v = torch.tensor([1e4, -1e4, 30.0], dtype=torch.float32)
    emitted = CASE_BY_ID["gan"].build().torch.conjugate_of_activation(v)  # softplus(v)
    assert torch.isinf(torch.log(1 + torch.exp(v[:1]))).all()
    assert emitted.tolist() == [1e4, 0.0, pytest.approx(30.0, rel=1e-7)]


# --------------------------------------------------------------------------------------------
# Gradients through the pieces
# --------------------------------------------------------------------------------------------


def finite_inputs(case_id: str, quantity: str) -> list[float]:
    """Finite inputs in the quantity's domain (u >= 0) including the branch boundaries."""
    points = set(grid(case_id, quantity))
    if quantity in ("conjugate_of_activation", "activation"):
        points |= set(real_grid(1e300))
    points |= {p for x in (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0) for p in near(x)}
    points |= {-1.7e308, 1.7e308}
    if quantity in ("generator", "optimal_critic"):
        points = {p for p in points if p >= 0}
    return sorted(points)


@pytest.mark.parametrize("dtype", [F64, *LOW_DTYPES], ids=str)
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_no_nan_in_values_or_gradients(case_id: str, dtype: torch.dtype) -> None:
    emitted = CASE_BY_ID[case_id].build().torch
    for quantity in QUANTITIES:
        x = torch.tensor(finite_inputs(case_id, quantity), dtype=F64).to(dtype)
        x = x[torch.isfinite(x)].requires_grad_(True)
        value = getattr(emitted, quantity)(x)
        assert value.dtype == dtype
        assert not torch.isnan(value).any(), (quantity, x[torch.isnan(value)].tolist())
        if value.requires_grad:
            (gradient,) = torch.autograd.grad(value.sum(), x)
            bad = x[torch.isnan(gradient)].tolist()
            assert not bad, f"{quantity}: NaN gradient at {bad}"


SMOOTH_POINTS = [s * m for m in (0.013, 0.11, 0.37, 0.73, 1.6, 3.3, 7.1, 19.0) for s in (1, -1)]


@pytest.mark.parametrize("quantity", list(QUANTITIES))
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_gradient_matches_the_derivative(case_id: str, quantity: str) -> None:
    # at points away from kinks and domain ends, in float64: autograd through the emitted
    # forms (including the implicit-function gradients of omega_log and lambertw) against
    # the derivative of the closed form
    expr, var = oracle(case_id, quantity)
    derivative = sp.diff(expr, var).replace(sp.DiracDelta, lambda *_: sp.S.Zero)
    second = sp.diff(derivative, var).replace(sp.DiracDelta, lambda *_: sp.S.Zero)
    points = [
        p for p in SMOOTH_POINTS if not (quantity in ("generator", "optimal_critic") and p < 0)
    ]
    x = torch.tensor(points, dtype=F64, requires_grad=True)
    value = getattr(CASE_BY_ID[case_id].build().torch, quantity)(x)
    if not value.requires_grad:  # piecewise constant (total variation's critic)
        assert all(float(sp.diff(expr, var).subs(var, p)) == 0 for p in points if p != 1)
        return
    (gradient,) = torch.autograd.grad(value.sum(), x)
    checked = 0
    for p, got in zip(points, gradient.tolist(), strict=True):
        value_p, _ = exact(case_id, quantity, p)
        if mpmath.isinf(value_p):
            assert got == 0.0  # the constant inf piece outside the domain
            continue
        slope = exact_value(_mp(derivative, var), p, rtol=1e-20)
        curvature = exact_value(_mp(second, var), p, rtol=1e-3)
        # torch's own backward formulas round on the scale of their parts: expm1' is computed
        # as expm1(x) + 1 and tanh' as 1 - tanh(x)^2, an absolute error of a few eps
        bound = 1e-8 * float(abs(slope)) + 64 * EPS64 * float(1 + abs(p * curvature))
        assert abs(got - float(slope)) <= bound, (p, got, float(slope))
        checked += 1
    assert checked >= 4


def test_sources_use_the_stable_primitives() -> None:
    # x log x is printed as xlogy (0 log 0 = 0), Lambert W through the Wright omega function
    assert "torch.xlogy" in CASE_BY_ID["kl"].build().torch.source("generator")
    jeffrey = CASE_BY_ID["jeffrey"].build().torch
    assert "_s.omega_log" in jeffrey.source("conjugate")
    assert "_s.omega_log" in jeffrey.source("conjugate_of_activation")
    for case in CASES:  # no log(1 + ...) or exp(...) - 1 survives in any printed source
        emitted = case.build().torch
        for quantity in QUANTITIES:
            source = emitted.source(quantity)
            assert "torch.log(1.0 +" not in source and "torch.log(1 +" not in source
            assert "(-1.0) + torch.exp(" not in source


@pytest.mark.parametrize(
    ("case_id", "quantity", "x", "expected_grad"),
    [
        # total variation: f*(t) = max(t, -1/2) on t <= 1/2: slope 0, then 1, 0 outside
        ("total_variation", "conjugate", [-3.0, -0.5, -0.25, 0.5, 0.75], [0, 0, 1, 1, 0]),
        # pearson: f*(t) = -1 for t < -2, t^2/4 + t after: both slopes are 0 at t = -2
        ("pearson", "conjugate", [-1e300, -3.0, -2.0, -1.0, 2.0], [0, 0, 0, 0.5, 2]),
        ("pearson", "conjugate_of_activation", [-1e300, -2.0, 0.0], [0, 0, 1]),
        # neyman: f*'(t) = 1/sqrt(1 - t), infinite at t = 1, and 0 where f* is the inf piece
        ("neyman", "conjugate", [0.0, 0.75, 1.0, 1.5], [1, 2, math.inf, 0]),
        # gan: f*(t) = -log(1 - e^t), f*'(t) = e^t/(1 - e^t) -> 1/|t| next to 0
        ("gan", "conjugate", [-1e-300, 0.0, 3.0], [1e300, 0, 0]),
        # gan: g_f(v) = -softplus(-v), g' = sigmoid(-v): 1 and 0 at the far ends, never NaN
        ("gan", "activation", [-1e300, -1e4, 1e4, 1e300], [1, 1, 0, 0]),
        # generators at u = 0: the limit piece, gradient 0 (not the NaN of 0 * log 0)
        ("kl", "generator", [0.0], [0]),
        ("neyman", "optimal_critic", [0.0, 1.7e308], [0, 0]),
    ],
)
def test_gradients_at_piece_boundaries(
    case_id: str, quantity: str, x: list[float], expected_grad: list[float]
) -> None:
    points = torch.tensor(x, dtype=F64, requires_grad=True)
    value = getattr(CASE_BY_ID[case_id].build().torch, quantity)(points)
    (gradient,) = torch.autograd.grad(value.sum(), points)
    assert gradient.tolist() == pytest.approx(expected_grad, rel=1e-12, abs=1e-300)


# --------------------------------------------------------------------------------------------
# The hand-fused kernels against the emitted perspective
# --------------------------------------------------------------------------------------------

PROBABILITIES = [1e-300, 1e-30, 1e-5, 0.1, 0.3, 0.5, 0.9, 1.0]


def exact_perspective(forms: Forms, p: float, q: float) -> tuple[float, float]:
    """``(q f(p/q), allowance)`` with ``allowance = |p f'(u)| + |q f(u) - p f'(u)|``: how much
    a relative perturbation of ``p`` and ``q`` moves the value (mpmath, escalated)."""
    f = _mp(forms.generator, U)
    df = _mp(sp.diff(forms.generator, U).replace(sp.DiracDelta, lambda *_: sp.S.Zero), U)
    value = exact_value(lambda _: mpmath.mpf(q) * f(mpmath.mpf(p) / mpmath.mpf(q)), 0.0)
    slope = exact_value(lambda _: df(mpmath.mpf(p) / mpmath.mpf(q)), 0.0, rtol=1e-3)
    with mpmath.workdps(30):
        allowance = abs(p * slope) + abs(value - p * slope)
    return float(value), float(allowance)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_equals_the_emitted_perspective(name: str) -> None:
    # on the safe range, where u = p/q and f(u) are far from overflow and underflow: both within
    # the backward-stable bound of q f(p/q), hence of each other
    d = dv.get(name)
    forms = REGISTERED_FORMS[name]
    pairs = [(p, q) for p in PROBABILITIES for q in PROBABILITIES if 1e-100 <= p / q <= 1e100]
    p = torch.tensor([a for a, _ in pairs], dtype=F64)
    q = torch.tensor([b for _, b in pairs], dtype=F64)
    kernel = KERNELS[name](p, q).tolist()
    emitted = d.torch.perspective(p, q).tolist()
    for (a, b), k, e in zip(pairs, kernel, emitted, strict=True):
        value, allowance = exact_perspective(forms, a, b)
        bound = 8 * EPS64 * (abs(value) + allowance) + 1e-300
        assert abs(k - value) <= bound, ("kernel", a, b, k, value)
        assert abs(e - value) <= bound, ("emitted", a, b, e, value)


OVERFLOWING = [
    # (name, p, q): u = p/q or f(u) overflows (or u underflows to 0), q f(p/q) is finite
    ("kl", 1.0, 5e-324),  # u = inf: the emitted form takes the limit p lim f(u)/u = inf
    ("kl", 0.5, 1e-310),
    ("jeffrey", 1.0, 5e-324),
    ("reverse_kl", 5e-324, 2.0),  # u = 0: the limit q f(0+) = inf
    ("pearson", 1e-30, 1e-300),  # f(1e270) = 1e540 overflows, q f(u) = 1e240 does not
    ("neyman", 5e-324, 1e-10),  # 1/u overflows, q^2/p = 2e303 does not
]


@pytest.mark.parametrize(("name", "p", "q"), OVERFLOWING)
def test_kernel_is_finite_where_the_naive_form_overflows(name: str, p: float, q: float) -> None:
    forms = REGISTERED_FORMS[name]
    value, allowance = exact_perspective(forms, p, q)
    assert math.isfinite(value)
    pt, qt = torch.tensor([p], dtype=F64), torch.tensor([q], dtype=F64)
    # the emitted perspective evaluates q f(p/q) through the ratio: inf here
    assert dv.get(name).torch.perspective(pt, qt).item() == math.inf
    got = KERNELS[name](pt, qt).item()
    assert abs(got - value) <= 8 * EPS64 * (abs(value) + allowance)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_gradients_at_zero_probabilities(name: str) -> None:
    p = torch.tensor([0.0, 0.5, 0.0, 0.5, 1e-300], dtype=F64, requires_grad=True)
    q = torch.tensor([0.5, 0.0, 0.0, 0.5, 1e-300], dtype=F64, requires_grad=True)
    value = KERNELS[name](p, q)
    grad_p, grad_q = torch.autograd.grad(value.sum(), (p, q))
    assert not torch.isnan(value).any()
    assert not torch.isnan(grad_p).any() and not torch.isnan(grad_q).any()


# --------------------------------------------------------------------------------------------
# The stable primitives (divergences.numeric.stable)
# --------------------------------------------------------------------------------------------

X = sp.Symbol("X", real=True)
PRIMITIVES = {
    # name: (function, definition, where it is defined); expm1 and log1p are mpmath's (exact
    # to the working precision), since 1 - exp(-exp(-3e4)) cancels beyond any precision
    "softplus": (stable.softplus, sp.log(1 + sp.exp(X)), "real"),
    "log1mexp": (stable.log1mexp, sp.log(-cfunctions.expm1(X)), "negative"),
    "log1mexp_negexp": (
        stable.log1mexp_negexp,
        sp.log(-cfunctions.expm1(-sp.exp(X))),
        "real",
    ),
    "omega_log": (stable.omega_log, sp.log(sp.LambertW(sp.exp(X + 1))), "real"),
    "lambertw": (stable.lambertw, sp.LambertW(X), "branch"),
    "exp_capped": (stable.exp_capped, sp.exp(X), "real"),
    "expm1_capped": (stable.expm1_capped, sp.exp(X) - 1, "real"),
}


def primitive_points(where: str) -> list[float]:
    points = set(real_grid(1e300)) | set(near(-math.log(2))) | set(near(-1.0))
    if where == "negative":
        return sorted(p for p in points if p < 0)
    if where == "branch":  # W is real from -1/e on (float(-1/e) is just below it)
        with mpmath.workdps(50):
            return sorted(
                p for p in points | set(near(-math.exp(-1.0))) if mpmath.mpf(p) >= -mpmath.exp(-1)
            )
    return sorted(points)


@pytest.mark.parametrize(
    "dtype",
    [F64, *(pytest.param(dtype, marks=pytest.mark.slow) for dtype in LOW_DTYPES)],
    ids=str,
)
@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_stable_primitive_matches_mpmath(name: str, dtype: torch.dtype) -> None:
    fn, expr, where = PRIMITIVES[name]
    points = primitive_points(where)
    if name.endswith("capped"):  # capped at the dtype's largest finite result by design
        points = [p for p in points if p < math.log(torch.finfo(dtype).max)]

    def outside(x: float, _: float) -> bool:  # rounded to the dtype below the branch point
        with mpmath.workdps(50):
            return where == "branch" and mpmath.mpf(x) < -mpmath.exp(-1)

    check_function(fn, expr, X, points if dtype == F64 else points[::3], dtype, skip=outside)


@pytest.mark.parametrize("dtype", [F64, *LOW_DTYPES], ids=str)
@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_stable_primitive_gradients(name: str, dtype: torch.dtype) -> None:
    fn, expr, where = PRIMITIVES[name]
    x = torch.tensor(primitive_points(where), dtype=F64).to(dtype)
    x = x[torch.isfinite(x) & (x.double() >= -math.exp(-1.0))].requires_grad_(True)
    value = fn(x)
    (gradient,) = torch.autograd.grad(value.sum(), x)
    assert value.dtype == gradient.dtype == dtype
    assert not torch.isnan(gradient).any(), x[torch.isnan(gradient)].tolist()
    if dtype == F64:  # against the derivative, away from the ends of the float range
        derivative = sp.diff(expr, X)
        for xi, gi in zip(x.tolist(), gradient.tolist(), strict=True):
            if abs(xi) > 700 or abs(xi + math.exp(-1.0)) < 1e-6 or xi == 0.0:
                continue  # W' is infinite at the branch point -1/e
            slope = float(exact_value(_mp(derivative, X), xi, rtol=1e-20))
            if not math.isfinite(slope):
                continue
            assert gi == pytest.approx(slope, rel=1e-8, abs=64 * EPS64), (name, xi)


def test_capped_exponentials_stay_finite() -> None:
    for dtype in (F64, torch.float32):
        big = torch.tensor([1e4, 1e300 if dtype == F64 else 1e38], dtype=dtype)
        largest = torch.finfo(dtype).max  # the cap is 4 numbers below log(max)
        assert stable.exp_capped(big).tolist() == pytest.approx([largest] * 2, rel=1e-4)
        assert torch.isfinite(stable.expm1_capped(big)).all()
    # float32: log(max) rounds up to 88.7228394, whose exp is inf
    assert torch.exp(torch.tensor(math.log(torch.finfo(torch.float32).max))).isinf()


def test_primitives_outside_their_domain_are_nan() -> None:
    assert math.isnan(stable.log1mexp(torch.tensor([0.5], dtype=F64)).item())
    assert math.isnan(stable.lambertw(torch.tensor([-0.5], dtype=F64)).item())
    assert stable.log1mexp(torch.tensor([0.0], dtype=F64)).item() == -math.inf


# --------------------------------------------------------------------------------------------
# torch.func, torch.compile, dtype and device
# --------------------------------------------------------------------------------------------

TRANSFORM_CASES = ["gan", "js", "jeffrey", "neyman", "total_variation", "user:paper_js"]


@pytest.mark.parametrize("case_id", TRANSFORM_CASES)
def test_vmap_and_grad_of_the_emitted_functions(case_id: str) -> None:
    emitted = CASE_BY_ID[case_id].build().torch
    v = torch.linspace(-4.0, 4.0, 12, dtype=F64).reshape(3, 4)
    for quantity in ("conjugate_of_activation", "activation", "conjugate"):
        fn = getattr(emitted, quantity)
        torch.testing.assert_close(torch.func.vmap(fn)(v), fn(v), rtol=0, atol=0)
        per_element = torch.func.vmap(torch.func.grad(lambda x, fn=fn: fn(x)))(v.reshape(-1))
        x = v.reshape(-1).clone().requires_grad_(True)
        (expected,) = torch.autograd.grad(fn(x).sum(), x)
        torch.testing.assert_close(per_element, expected, rtol=1e-15, atol=0)


@pytest.mark.parametrize(
    "case_id",
    # jeffrey: omega_log's fixed Halley loop and detached gradient; total variation: constant
    # pieces; the others (about 2 s each) run with the slow tests
    [
        c if c in ("jeffrey", "total_variation") else pytest.param(c, marks=pytest.mark.slow)
        for c in TRANSFORM_CASES
    ],
)
def test_emitted_functions_trace_into_one_graph(case_id: str) -> None:
    # fullgraph=True fails on any graph break (host sync, data-dependent Python control flow)
    emitted = CASE_BY_ID[case_id].build().torch

    def everything(v: torch.Tensor) -> torch.Tensor:
        u = v.abs()
        return (
            emitted.conjugate_of_activation(v).sum()
            + emitted.activation(v).sum()
            + emitted.conjugate(emitted.activation(v)).sum()
            + emitted.generator(u).sum()
            + emitted.optimal_critic(u + 1).sum()
        )

    torch._dynamo.reset()  # `everything` is one code object for all parameters
    compiled = torch.compile(everything, fullgraph=True, backend="aot_eager")
    for dtype in (F64, torch.float32):
        v = torch.linspace(-3.0, 3.0, 7, dtype=dtype, requires_grad=True)
        (expected,) = torch.autograd.grad(everything(v), v)
        (got,) = torch.autograd.grad(compiled(v), v)
        torch.testing.assert_close(got, expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.cuda
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_emitted_functions_on_cuda(case_id: str) -> None:
    emitted = CASE_BY_ID[case_id].build().torch
    for quantity in QUANTITIES:
        fn = getattr(emitted, quantity)
        x = torch.tensor(grid(case_id, quantity), dtype=F64)
        for dtype in (F64, torch.float32, torch.float16, torch.bfloat16):
            on_gpu = fn(x.to(dtype).cuda())
            assert on_gpu.device.type == "cuda" and on_gpu.dtype == dtype
            torch.testing.assert_close(on_gpu.cpu(), fn(x.to(dtype)), equal_nan=True)


def test_meta_device_and_dtype_are_kept() -> None:
    # no host sync and no device-specific code: the functions run on the meta device
    emitted = CASE_BY_ID["js"].build().torch
    for quantity in QUANTITIES:
        for dtype in (F64, torch.float32, torch.float16, torch.bfloat16):
            out = getattr(emitted, quantity)(torch.zeros(5, dtype=dtype, device="meta"))
            assert out.device.type == "meta" and out.dtype == dtype and out.shape == (5,)
    out = emitted.perspective(torch.zeros(4, device="meta"), torch.zeros(4, device="meta"))
    assert out.device.type == "meta"


def test_emitted_object_is_immutable_and_shared() -> None:
    d = CASE_BY_ID["kl"].build()
    emitted = emit(d.derived)
    assert emit(d.derived) is emitted is d.torch
    assert isinstance(emitted, Emitted) and repr(emitted) == "Emitted('kl')"
    with pytest.raises(AttributeError, match="immutable"):
        emitted.generator = None  # type: ignore[misc]


def test_affine_terms() -> None:
    # g_f and f* o g_f as a + b G(v): the same values as the element-wise functions
    v = torch.linspace(-30.0, 30.0, 41, dtype=F64)
    for case in CASES:
        emitted = case.build().torch
        for term, fn in (
            (emitted.activation_term, emitted.activation),
            (emitted.conjugate_of_activation_term, emitted.conjugate_of_activation),
        ):
            torch.testing.assert_close(term(v), fn(v), rtol=1e-12, atol=1e-14)
            torch.testing.assert_close(term.mean(v), fn(v).mean(), rtol=1e-12, atol=1e-14)
    kl = CASE_BY_ID["kl"].build().torch.conjugate_of_activation_term  # exp(v - 1)
    assert kl.log_core is not None
    big = torch.tensor([1000.0, 1001.0], dtype=F64)
    expected = math.log((math.exp(0.0) + math.exp(1.0)) / 2) + 999.0
    assert kl.log_magnitude(big).item() == pytest.approx(expected, rel=1e-14)
    with pytest.raises(ValueError, match="log_magnitude needs"):
        CASE_BY_ID["total_variation"].build().torch.activation_term.log_magnitude(big)


# --------------------------------------------------------------------------------------------
# Regression tests: the bugs these tests found, one case each
# --------------------------------------------------------------------------------------------


def test_regression_closed_domain_end_is_kept() -> None:
    # the region split at t = 1 dropped the closed end {1} of neyman's domain: f*(1) was inf
    neyman = CASE_BY_ID["neyman"].build().torch
    assert neyman.conjugate(torch.tensor([1.0], dtype=F64)).item() == 2.0
    parts = _cuts(sp.Interval(-sp.oo, 1))
    assert sp.Union(*parts) == sp.Interval(-sp.oo, 1)


def test_regression_irrational_domain_end_in_every_dtype() -> None:
    # t < log(2)/2 was printed as t < 0.34657359027997264, which rounded *down*: f* at that
    # float was inf instead of -log(2 - e^{2t})/2 = 18.8; in float32 the end rounds up, and
    # the float32 number above log(2)/2 must be outside the domain
    js = CASE_BY_ID["js"].build().torch
    end64 = float(sp.log(2) / 2)
    assert js.conjugate(torch.tensor([end64], dtype=F64)).item() == pytest.approx(
        18.804821577592918, rel=1e-6
    )
    end32 = torch.tensor(end64, dtype=torch.float32)
    assert end32.item() > end64  # rounded up: outside the domain
    assert js.conjugate(end32.reshape(1)).item() == math.inf
    below = torch.nextafter(end32, torch.tensor(0.0)).reshape(1)
    assert math.isfinite(js.conjugate(below).item())
    for end, lower, strict in ((sp.log(2) / 2, False, True), (sp.Rational(1, 3), True, False)):
        for dtype in (F64, torch.float32):
            op, literal = _comparison(end, lower=lower, strict=strict, dtype=dtype)
            x = torch.tensor(float(literal.strip("()")), dtype=dtype)
            inside = {"<": x < float(literal.strip("()")), "<=": True, ">": False, ">=": True}[op]
            exact_inside = sp.Rational(x.item()) > end if lower else sp.Rational(x.item()) < end
            assert bool(inside) == bool(exact_inside), (end, dtype, op, literal)


def test_regression_accuracy_next_to_u_equals_1() -> None:
    # u + 1/u - 2 (neyman) and 2u - 4 sqrt(u) + 2 (alpha = 1/2) lost every digit next to u = 1
    u = torch.tensor([1 - 2.0**-30, 1 + 2.0**-26], dtype=F64)
    for case_id in ("neyman", "alpha=1/2", "alpha=-1", "squared_hellinger"):
        got = CASE_BY_ID[case_id].build().torch.generator(u).tolist()
        for x, y in zip(u.tolist(), got, strict=True):
            value, conditioning = exact(case_id, "generator", x)
            assert abs(y - float(value)) <= 4 * EPS64 * float(abs(value) + conditioning)
            assert y == pytest.approx(float(value), rel=1e-6)


def test_regression_weighted_js_composition() -> None:
    # 3/4 log(-3/(4 exp(-4 exp(-v)) - 4)) was NaN from v = 37 on and inf from 745 on; the
    # value is about 3/4 (v - log 4 + log 3/4)
    emitted = CASE_BY_ID["js_weighted=1/4"].build().torch
    v = torch.tensor([37.0, 88.0, 1e3, 1e4], dtype=F64)
    got = emitted.conjugate_of_activation(v)
    expected = 0.75 * (v - math.log(4) + math.log(0.75))
    torch.testing.assert_close(got, expected, rtol=1e-15, atol=0)


def test_regression_overflow_inside_finite_values() -> None:
    # (u - 1)^2/(u + 1) overflowed in the square from u = 1e154; log(2r/(r + 1)) in 2r at r = max
    le_cam = CASE_BY_ID["user:le_cam"].build().torch
    assert le_cam.generator(torch.tensor([1e300], dtype=F64)).item() == pytest.approx(1e300)
    paper = CASE_BY_ID["user:paper_js"].build().torch
    assert paper.optimal_critic(torch.tensor([1.7e308], dtype=F64)).item() == pytest.approx(
        math.log(2), rel=1e-15
    )
    # and the cancellation of exp(-v) - 4 exp(-v/2) + 3 next to its zero at v = 0
    v = torch.tensor([1e-8], dtype=F64)
    # (e^{-v/2} - 1)(e^{-v/2} - 3) = v - v^3/12 + ...
    assert le_cam.conjugate_of_activation(v).item() == pytest.approx(1e-8, rel=1e-15)


def test_regression_reference_of_a_double_exponential_returns() -> None:
    # mpmath's expm1(-4 exp(-v)) at v = -1e20 never returned (exp of a 1.4e20-bit argument)
    v = sp.Symbol("v", real=True)
    start = time.perf_counter()
    refs = reference_values(sp.log(-cfunctions.expm1(-4 * sp.exp(-v))), v, [-1e20, -800.0, 1.0])
    assert time.perf_counter() - start < 20
    assert refs[-1] is not None


def test_regression_generator_outside_its_domain_is_nan() -> None:
    # u < 0 is outside every piece: NaN, not the value of the last piece at its safe point
    for case in CASES:
        emitted = case.build().torch
        assert math.isnan(emitted.generator(torch.tensor([-1.0], dtype=F64)).item())
        assert math.isnan(emitted.optimal_critic(torch.tensor([-1.0], dtype=F64)).item())


@settings(max_examples=3 * settings.default.max_examples)  # cheap: 180 in the ci profile
@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from(
        [
            sp.Interval(0, sp.oo),
            sp.Interval.open(0, sp.oo),
            sp.Interval(-sp.oo, sp.log(2) / 2, right_open=True),
            sp.Interval(sp.Rational(1, 3), 2, left_open=True),
            sp.Interval(-1, 1),
            sp.Union(sp.Interval(-3, -1), sp.Interval.Lopen(1, 2)),
            sp.FiniteSet(0, sp.Rational(1, 2)),
            sp.Reals,
        ]
    ),
)
@example(float(sp.log(2) / 2), sp.Interval(-sp.oo, sp.log(2) / 2, right_open=True))
@example(1 / 3, sp.Interval(sp.Rational(1, 3), 2, left_open=True))
@example(0.0, sp.Interval.open(0, sp.oo))
def test_fast_membership_agrees_with_sympy(x: float, region: sp.Set) -> None:
    assert _contains(region, x) == bool(region.contains(sp.Float(x, 50)))


# --------------------------------------------------------------------------------------------
# Fenchel-Young, with the emitted functions only
# --------------------------------------------------------------------------------------------


@given(
    st.sampled_from(CASE_IDS),
    st.floats(-12, 12, allow_nan=False).map(lambda e: math.exp(e)),
    st.floats(-20, 20, allow_nan=False),
)
@example("total_variation", 1.0, 0.25)
@example("pearson", 0.5, -3.0)
def test_fenchel_young(case_id: str, u: float, t: float) -> None:
    # f(u) + f*(t) >= u t, with equality at t = T*(u) = f'(u)
    emitted = CASE_BY_ID[case_id].build().torch
    ut = torch.tensor([u], dtype=F64)
    f_u = emitted.generator(ut).item()
    f_star = emitted.conjugate(torch.tensor([t], dtype=F64)).item()
    scale = abs(f_u) + abs(f_star) + abs(u * t)
    assert f_u + f_star >= u * t - 16 * EPS64 * scale
    critic = emitted.optimal_critic(ut)
    attained = emitted.conjugate(critic).item()
    t_star = critic.item()
    if math.isfinite(attained):
        scale = abs(f_u) + abs(attained) + abs(u * t_star)
        assert attained == pytest.approx(u * t_star - f_u, abs=64 * EPS64 * scale)


def test_docstring_examples() -> None:
    module = importlib.import_module("divergences.numeric.emit.emitted")
    results = doctest.testmod(module, raise_on_error=False)
    assert results.attempted > 0
    assert results.failed == 0


def test_regression_first_emission_under_inference_mode() -> None:
    # the emitter probes candidate forms for NaN gradients; inside torch.inference_mode() (an
    # evaluation loop) enable_grad alone does not help: every candidate was refused
    x = sp.Symbol("x", positive=True)
    d = dv.FDivergence.from_generator(2 * x * sp.log(x) - 2 * x + 2, x, name="inference_mode")
    v = torch.tensor([-1.0, 0.0, 2.0], dtype=F64)
    with torch.inference_mode():
        value = d.torch.conjugate_of_activation(v)  # f*(t) = 2 (e^{t/2} - 1), g_f(v) = v
    torch.testing.assert_close(value, 2 * torch.expm1(v / 2), rtol=1e-15, atol=0)
