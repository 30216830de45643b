r"""Honest refusals (issue 17, item 5): valid generators derive, the others get a clean error.

* ``exp(u - 1) - u`` was refused because the certificate's own numeric biconjugate check could
  not reach the maximiser ``t = e^{999}`` at ``u = 1000``; ``log(cosh(u - 1))`` crashed with
  ``KeyError: 'ComplexInfinity'`` (``solve`` listed the constant ``zoo`` among the inverses of
  ``tanh``, and lambdify cannot print it). Both now derive, and their conjugates are compared
  with a closed form derived by hand (in the comments) and with an independent numeric
  supremum.
* Odd generators (``Max``, ``sign``, ``Piecewise``, ``Heaviside``) derive correctly or are
  refused with ``DerivationError`` / ``InvalidGeneratorError``; an
  internal SymPy or Python error escaping the engine becomes a ``DerivationError`` that names
  where it happened.

The oracle :func:`numeric_sup` knows nothing of the library: it maximises the concave
``u -> t u - f(u)`` over ``u > 0`` from ``f`` and ``f'`` typed by hand in mpmath, by bisection of
``f'(e^x) = t`` in ``x = log u`` (kinks included: ``f'`` is non-decreasing), at 50 digits.
Tolerance: relative ``1e-10`` of ``max(1, |f*(t)|)`` as the issue asks; the agreement is in fact
about ``1e-40`` (the bisection stops at ``1e-45`` in ``x``).
"""

from __future__ import annotations

from collections.abc import Callable

import mpmath
import pytest
import sympy as sp

import divergences as dv
import divergences.symbolic.certificates as certificates
import divergences.symbolic.conjugate as conjugate_module
from divergences import DerivationError, InvalidGeneratorError
from divergences.symbolic.certificates import biconjugate_step
from divergences.symbolic.conjugate import conjugate
from divergences.symbolic.generator import prepare_generator

U = sp.Symbol("u", positive=True)
T = sp.Symbol("t", real=True)
DPS = 50
REL_TOL = 1e-10
X_LOW, X_HIGH = -60, 40  # bracket in x = log u: every maximiser below lies well inside

MpFn = Callable[[mpmath.mpf], mpmath.mpf]


def make(text: str, name: str) -> dv.FDivergence:
    return dv.FDivergence.from_generator(text, U, name=name)


def numeric_sup(f: MpFn, fprime: MpFn, f0: mpmath.mpf, t: mpmath.mpf) -> mpmath.mpf:
    r"""``sup_{u > 0} (t u - f(u))`` for a convex ``f`` (``f0 = f(0+)``), by mpmath.

    ``t u - f(u)`` is concave, so the supremum is at the sign change of ``f'(u) - t`` when there
    is one (bisection in ``x = log u``), else at an end: ``u -> 0+`` (value ``-f(0+)``) when
    ``f' >= t`` everywhere, ``u -> oo`` when ``f' <= t`` everywhere (value ``t u - f(u)`` at
    ``u = e^{40}``, the limit to far below the tolerance for the generators used here). The
    interior value is also compared with the boundary value ``-f(0+)`` (boundary check).
    """
    with mpmath.workdps(DPS):
        t = mpmath.mpf(t)

        def g(x: mpmath.mpf) -> mpmath.mpf:
            return fprime(mpmath.exp(x)) - t

        lo, hi = mpmath.mpf(X_LOW), mpmath.mpf(X_HIGH)
        if g(lo) >= 0:
            return -f0
        if g(hi) <= 0:
            return t * mpmath.exp(hi) - f(mpmath.exp(hi))
        while hi - lo > mpmath.mpf(10) ** -45:
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if g(mid) < 0 else (lo, mid)
        u_star = mpmath.exp(lo)
        return max(t * u_star - f(u_star), -f0)


def derived_at(d: dv.FDivergence, t: sp.Expr) -> mpmath.mpf:
    """The library's conjugate at the exact number ``t``, to DPS digits."""
    return mpmath.mpf(sp.N(d.conjugate(t), DPS)) if d.conjugate(t).is_finite else mpmath.inf


def assert_close(got: mpmath.mpf, want: mpmath.mpf, where: str) -> None:
    assert abs(got - want) <= REL_TOL * max(1, abs(want)), f"{where}: {got} != {want}"


# --------------------------------------------------------------------------------------------
# exp(u - 1) - u
# --------------------------------------------------------------------------------------------
# f'(u) = e^{u-1} - 1 increases from a = f'(0+) = 1/e - 1 to oo (b = oo: dom f* = R).
# t > a: u* = 1 + log(1 + t) > 0 and f*(t) = t u* - f(u*) = t (1 + log(1+t)) - (t - log(1+t))
#        = (1 + t) log(1 + t);
# t <= a: t u - f(u) is non-increasing, the sup is the limit u -> 0+: f*(t) = -f(0+) = -1/e
# (continuous at the kink: (1 + a) log(1 + a) = (1/e)(-1)).

A_EXP = sp.exp(-1) - 1
EXP_POINTS = [
    -50, -1, A_EXP - sp.Rational(1, 10**6), A_EXP, A_EXP + sp.Rational(1, 10**9),
    A_EXP + sp.Rational(1, 10**6), -sp.Rational(1, 2), 0, sp.Rational(1, 10**8),
    sp.Rational(1, 2), 1, 10, 1000, 10**6, 10**10,
]  # fmt: skip


def _exp_closed_form(t: mpmath.mpf) -> mpmath.mpf:
    return -mpmath.exp(-1) if t <= mpmath.exp(-1) - 1 else (1 + t) * mpmath.log1p(t)


def test_exp_generator_derives_with_its_closed_form():
    d = make("exp(u - 1) - u", "honest_exp")
    assert d.derived.verified
    assert d.conjugate_domain == sp.Interval(-sp.oo, sp.oo)
    # the biconjugate step reaches the maximiser t = e^999 at u = 1000: no point skipped
    (bicon,) = [s for s in d.derived.steps if s.description.startswith("biconjugate")]
    assert bicon.passed and "skipped" not in bicon.method, bicon
    f = lambda x: mpmath.exp(x - 1) - x  # noqa: E731
    fprime = lambda x: mpmath.expm1(x - 1)  # noqa: E731
    with mpmath.workdps(DPS):
        for t in EXP_POINTS:
            tv = mpmath.mpf(sp.N(t, DPS + 10))
            want = numeric_sup(f, fprime, mpmath.exp(-1), tv)
            assert_close(_exp_closed_form(tv), want, f"closed form at t = {t}")
            assert_close(derived_at(d, t), want, f"derived f* at t = {t}")


# --------------------------------------------------------------------------------------------
# log(cosh(u - 1))
# --------------------------------------------------------------------------------------------
# f'(u) = tanh(u - 1) increases from a = f'(0+) = -tanh 1 to b = 1.
# a < t < 1: u* = 1 + atanh t, cosh(atanh t) = 1/sqrt(1 - t^2), so
#        f*(t) = t (1 + atanh t) + log(1 - t^2)/2 = t + ((1 + t) log(1 + t) + (1 - t) log(1 - t))/2;
# t = 1: f*(1) = lim_{u->oo} (u - log cosh(u - 1)) = 1 + log 2, finite: dom f* = (-oo, 1], closed;
# t <= a: f*(t) = -f(0+) = -log cosh 1;  t > 1: +oo.

A_COSH = -sp.tanh(1)
COSH_POINTS = [
    -10, -1, A_COSH - sp.Rational(1, 10**6), A_COSH, A_COSH + sp.Rational(1, 10**6),
    -sp.Rational(1, 2), 0, sp.Rational(3, 10), sp.Rational(9, 10), 1 - sp.Rational(1, 10**6),
    1 - sp.Rational(1, 10**12), 1,
]  # fmt: skip


def _cosh_closed_form(t: mpmath.mpf) -> mpmath.mpf:
    if t <= -mpmath.tanh(1):
        return -mpmath.log(mpmath.cosh(1))
    if t == 1:
        return 1 + mpmath.log(2)
    return t + ((1 + t) * mpmath.log1p(t) + (1 - t) * mpmath.log1p(-t)) / 2


def test_log_cosh_generator_derives_with_its_closed_form():
    d = make("log(cosh(u - 1))", "honest_log_cosh")
    assert d.derived.verified
    assert d.conjugate_domain == sp.Interval(-sp.oo, 1)  # closed at t = 1
    assert d.conjugate(2) is sp.oo
    f = lambda x: mpmath.log(mpmath.cosh(x - 1))  # noqa: E731
    fprime = lambda x: mpmath.tanh(x - 1)  # noqa: E731
    with mpmath.workdps(DPS):
        f0 = mpmath.log(mpmath.cosh(1))
        for t in COSH_POINTS:
            tv = mpmath.mpf(sp.N(t, DPS + 10))
            want = numeric_sup(f, fprime, f0, tv)
            assert_close(_cosh_closed_form(tv), want, f"closed form at t = {t}")
            assert_close(derived_at(d, t), want, f"derived f* at t = {t}")


# --------------------------------------------------------------------------------------------
# The certificate skips, and reports, points where f is not representable
# --------------------------------------------------------------------------------------------


@pytest.mark.slow  # about 13 s on two busy cores
def test_biconjugate_skips_unrepresentable_points_and_says_so():
    # f(1000) = exp(e^999) - e 1000: its exponent has 434 digits, no 60-digit value of it is
    # right (nor at u = 100); the step tests the 7 other points (at least 2/3 of 9) and names
    # the skipped ones. The Fenchel-Young step skips 12 of its 41 points the same way.
    d = make("exp(exp(u - 1)) - E*u", "honest_exp_exp")
    (bicon,) = [s for s in d.derived.steps if s.description.startswith("biconjugate")]
    assert bicon.passed
    assert "skipped 2 points" in bicon.method and "u = 100.0, 1.0e+3" in bicon.method, bicon


def test_biconjugate_fails_when_too_few_points_are_representable(monkeypatch):
    # e^{u - 1} at u = 1e70 needs all 70 integer digits of its exponent: 60 digits give no
    # correct digit of f(u). Three of five points skipped: fewer than 2/3 tested, the step fails
    gen = prepare_generator(sp.exp(U - 1) - U, U, "few")
    conj = conjugate(gen)
    monkeypatch.setattr(certificates, "_U_GRID", ("1", "2", "1e70", "1e80", "1e90"))
    step = biconjugate_step(gen, conj)
    assert not step.passed
    assert "skipped 3 points" in step.method
    assert "only 2 of 5 points representable" in step.detail


# --------------------------------------------------------------------------------------------
# Odd generators: derive correctly or a clean refusal
# --------------------------------------------------------------------------------------------


def _max_inv(x):  # max(u, 1/u) - 1
    return (x if x >= 1 else 1 / x) - 1


def _max_inv_slope(x):
    return mpmath.mpf(1) if x > 1 else -1 / x**2


ODD_DERIVED = [
    # (generator, f, f', f(0+), points t): conjugates checked against numeric_sup
    ("Max(u, 1/u) - 1", _max_inv, _max_inv_slope, mpmath.inf, [-9, -1, 0, "1/2", 1]),
    ("u**sign(u - 1) - 1", _max_inv, _max_inv_slope, mpmath.inf, [-9, -1, "1/3", 1]),
    ("exp(Abs(log(u))) - 1", _max_inv, _max_inv_slope, mpmath.inf, [-9, -1, "1/3", 1]),
    (
        "Piecewise((1 - u, u < 1), (u - 1, True))",
        lambda x: abs(x - 1),
        lambda x: mpmath.mpf(1) if x > 1 else mpmath.mpf(-1),
        1,
        [-5, -1, "-1/2", "1/2", 1],
    ),
    (
        "Abs(u - 1)**3",
        lambda x: abs(x - 1) ** 3,
        lambda x: 3 * (x - 1) * abs(x - 1),
        1,
        [-7, -3, -1, 0, 2, 50],
    ),
    (
        "Heaviside(u - 1)*(u - 1)",
        lambda x: max(x - 1, 0),
        lambda x: mpmath.mpf(1) if x > 1 else mpmath.mpf(0),
        0,
        [-3, 0, "1/2", 1],
    ),
]


@pytest.mark.parametrize(
    ("text", "f", "fprime", "f0", "points"), ODD_DERIVED, ids=[c[0] for c in ODD_DERIVED]
)
def test_odd_generators_derive_correctly(text, f, fprime, f0, points):
    d = make(text, "odd")
    assert d.derived.verified
    with mpmath.workdps(DPS):
        for t in points:
            t = sp.Rational(t)
            want = numeric_sup(f, fprime, mpmath.mpf(f0), mpmath.mpf(sp.N(t, DPS + 10)))
            assert_close(derived_at(d, t), want, f"{text}: f* at t = {t}")
    # beyond b = f'(oo) the conjugate is +oo
    b = d.conjugate_domain.end
    if b.is_finite:
        assert d.conjugate(b + 1) is sp.oo


#: TFP's log1p-abs generator max(u, 1/u) - 1 (csiszar_divergence.log1p_abs: exp(|log u|) - 1)
#: in the four spellings of issue 15
LOG1P_ABS_SPELLINGS = [
    "exp(Abs(log(u))) - 1",
    "u**sign(u - 1) - 1",
    "Max(u, 1/u) - 1",
    "Piecewise((1/u - 1, u < 1), (u - 1, True))",
]


def test_the_four_log1p_abs_spellings_derive_the_same_conjugate():
    # each is also checked against numeric_sup above; here: one conjugate, one domain, and the
    # same activation, whatever the spelling (normalised to one piecewise form before deriving)
    derived = [make(text, f"log1p_abs_{i}") for i, text in enumerate(LOG1P_ABS_SPELLINGS)]
    first = derived[0]
    for d in derived[1:]:
        assert sp.simplify(d.conjugate.expr - first.conjugate.expr) == 0
        assert d.conjugate_domain == first.conjugate_domain == sp.Interval(-sp.oo, 1)
        assert d.activation.expr == first.activation.expr
    assert first.conjugate(-4) == -3 and first.conjugate(1) == 1 and first.conjugate(2) is sp.oo


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        pytest.param("Min(u, 1) - 1", InvalidGeneratorError, "not convex", id="concave-kink"),
        pytest.param("log(u)**2 - Abs(u - 1)*4", InvalidGeneratorError, "not convex", id="mixed"),
    ],
)
def test_odd_generators_are_refused_cleanly(text, error, message):
    with pytest.raises(error, match=message) as info:
        make(text, "odd_refused")
    assert "'odd_refused'" in str(info.value)


@pytest.mark.slow
def test_cosh_generator_derives():
    # f = cosh(u - 1) - 1, f' = sinh(u - 1): f*(t) = t (1 + asinh t) - sqrt(1 + t^2) + 1 for
    # t > -sinh 1, -f(0+) = 1 - cosh 1 below. It used to hang in simplify (trigsimp of the
    # unsimplified cosh(log(t + sqrt(t^2 + 1)))); 35-50 s on two busy cores.
    d = make("cosh(u - 1) - 1", "honest_cosh")
    f = lambda x: mpmath.cosh(x - 1) - 1  # noqa: E731
    fprime = lambda x: mpmath.sinh(x - 1)  # noqa: E731
    with mpmath.workdps(DPS):
        for t in (-5, -1, 0, 2, 100):
            want = numeric_sup(f, fprime, mpmath.cosh(1) - 1, mpmath.mpf(t))
            assert_close(derived_at(d, sp.Integer(t)), want, f"f* at t = {t}")


# --------------------------------------------------------------------------------------------
# Internal errors never escape as such
# --------------------------------------------------------------------------------------------


def test_internal_error_in_the_conjugate_becomes_a_derivation_error(monkeypatch):
    def broken(lo, hi):
        raise KeyError("ComplexInfinity")

    monkeypatch.setattr(conjugate_module, "_samples", broken)
    with pytest.raises(DerivationError) as info:
        make("(u - 1)**2*7/3", "internal_conjugate")
    message = str(info.value)
    assert "'internal_conjugate'" in message
    assert "internal error in conjugate._inverse_branch: KeyError: 'ComplexInfinity'" in message
    assert isinstance(info.value.__cause__, KeyError)


def test_internal_error_in_the_certificate_becomes_a_derivation_error(monkeypatch):
    def broken(*args):
        raise TypeError("cannot determine truth value of Relational")

    monkeypatch.setattr(certificates, "_argsup", broken)
    with pytest.raises(DerivationError, match=r"internal error in certificates\.\w+: TypeError"):
        make("(u - 1)**2*5/3", "internal_certificate")


def test_a_root_of_huge_order_is_refused_before_solving():
    """alpha = 1/sqrt(2) as a float is 549964829/777767720: solving f'(u) = t exactly would
    need a polynomial of degree 777767720 (SymPy ran out of memory); refused at once."""
    import time

    start = time.perf_counter()
    with pytest.raises(DerivationError, match="denominator 777767720 > 1000"):
        dv.get("alpha", alpha=0.7071067811865476)
    assert time.perf_counter() - start < 30
