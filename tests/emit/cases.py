r"""The shared case table and value checks of the emitter tests (``tests/emit/``).

Not a test module: the stage tests (``test_primitives.py``, ``test_rewrite.py``,
``test_printer.py``, ``test_select.py``, ``test_emitted.py``), the kernel tests
(``tests/kernels/``) and the f-GAN loss tests (``tests/losses/test_fgan_losses.py``) import the
cases (``CASES``, ``CASE_BY_ID``), the mpmath oracle of a case (``oracle``, ``exact``), the
value checks (``check_function``, ``check_values``) and the grids from here.

Where expected values come from (nothing here is read from the symbolic layer's results, except
the derived activation of the two user generators, which have no literature activation):

- the closed forms of the independent oracle package :mod:`divergences.testing.oracles`
  (:mod:`~divergences.testing.oracles.closed_forms`: one ``ClosedForms`` per divergence, typed
  from the literature in the library's conventions, with Le Cam's triangular discrimination
  ``LE_CAM`` and the f-GAN paper's own Jensen-Shannon row ``PAPER_JS`` as user generators);
- those expressions evaluated by mpmath with a precision escalation
  (``oracles.exact_value`` with ``DEEP_ESCALATION``: 50, 700, 5000, 12000 digits; a value is
  accepted when two consecutive precisions agree to 30 digits, a zero or an infinity only at the
  highest ones), so cancellations up to ``exp(-1e4)`` are resolved; ``_mp`` is
  ``oracles.mp_lambdify`` (guarded ``exp``/``expm1``, fast for huge arguments);
- for ``f*`` also a numeric supremum of ``t u - f(u)`` over ``u > 0`` (scipy's bounded Brent on
  ``log u``, in ``test_emitted.py``), independent of every closed form.

Tolerance. A float64 result must satisfy ``|y - f(x)| <= 4 eps (|f(x)| + |x f'(x)|)``: the error
of an evaluation that is exact for an input perturbed by a few ulps (backward stable). Where
``f`` is well conditioned this is a few ulps; next to a zero of ``f`` (``f(1) = 0``) it allows the
error that the rounding of the argument causes anyway (``u = p/q`` is itself rounded). The worst
measured value over the grids is 2.4 (``js_weighted`` conjugate); before the fixes recorded in the
regression tests (``test_emitted.py`` and the other stage tests), ``neyman``'s ``u + 1/u - 2``
was at 8e6 next to ``u = 1``. In float32, float16 and bfloat16 the same bound with that dtype's
eps applies, and a value whose exact result overflows the dtype must be ``inf`` of the right
sign.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import sympy as sp
import torch

import divergences as dv
from divergences.testing import oracles
from divergences.testing.oracles import (
    LE_CAM,
    PAPER_JS,
    REGISTERED_FORMS,
    ClosedForms,
    alpha_forms,
    exact_value,
    js_weighted_forms,
)
from divergences.testing.oracles import v as V

F64 = torch.float64
EPS64 = 2.0**-52
LOW_DTYPES = [torch.float32, torch.float16, torch.bfloat16]

# ``expr`` as an mpmath callable of ``var`` with the guarded exp/expm1 (cached)
_mp = oracles.mp_lambdify

_X = sp.Symbol("x", positive=True)


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[], dv.FDivergence]
    forms: ClosedForms


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

CASE_IDS = [case.id for case in CASES]


@functools.cache
def oracle(case_id: str, quantity: str) -> tuple[sp.Expr, sp.Symbol]:
    """The closed form of ``quantity`` for the case, in its variable (the user generators have
    no closed-form activation: the library's derived one is composed with their ``f*``)."""
    case = CASE_BY_ID[case_id]
    forms = case.forms
    derived = None if forms.activation is not None else case.build().activation(V)
    return forms.expression(quantity, derived)


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
