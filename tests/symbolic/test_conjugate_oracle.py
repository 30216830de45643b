"""Registry-wide numeric oracle for the derived Fenchel conjugates, domains, activations, critics.

Everything expected here is computed from the generator alone, with mpmath, and never from the
library's derivation:

* the generators and the expected domains are the oracle table's
  (:mod:`divergences.testing.oracles.closed_forms`, typed from the literature in the conventions
  of DESIGN.md; the generators are checked to be what the registry holds, the domains are
  re-derived below from the generator);
* the oracle for ``f*(t) = sup_{u > 0} (u t - f(u))`` bisects the stationarity condition
  ``f'(u) = t`` in ``x = log u`` (``f'`` is non-decreasing since ``f`` is convex, so the sign of
  ``f'(e^x) - t`` brackets the maximiser, kinks included) and evaluates ``u t - f(u)`` at the
  maximiser directly. When ``f'(0+) >= t`` the supremum is the limit ``u -> 0+``, i.e.
  ``-f(0+)``; when ``f'(u) < t`` for every ``u`` it is the limit ``u -> oo``, decided by the
  growth of ``u t - f(u)`` along ``u = 10^10, 10^20, ..., 10^320``: increments that die out mean
  a finite limit (a closed domain end), increments that do not mean ``+oo``;
* the expected domains are written from first principles: ``b = lim_{u -> oo} f'(u)``, closed iff
  ``lim_{u -> oo} (b u - f(u))`` is finite (the comment on each case says why), and both facts
  are re-checked numerically from the generator.

Tolerance: the oracle works with at least 50 significant digits (the precision is raised with
``log10 u`` so that the cancellation in ``u t - f(u)`` at large ``u`` costs nothing), bisects
``log u`` to an interval of 1e-30 (value error ~1e-60 at a smooth maximum, ~1e-30 at the total
variation kink) and the derived conjugate is evaluated exactly and rounded by SymPy to 50 digits.
A relative tolerance of 1e-25 (absolute 1e-28 near 0) leaves a wide margin for that and would
still catch any wrong constant, branch or sign, even one wrong in the last digit of a double.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import mpmath
import pytest
import sympy as sp

import divergences as dv
from divergences.testing.oracles import (
    FAMILY_PARAMETERS,
    REGISTERED_FORMS,
    ClosedForms,
    closed_forms,
)
from divergences.testing.oracles import u as U
from divergences.testing.oracles import v as V

# the oracle's symbols are the canonical ones; nothing below depends on the library's derivation

DPS = 50  # base working precision (decimal digits) of the oracle
REL_TOL = mpmath.mpf("1e-25")  # see the module docstring
ABS_TOL = mpmath.mpf("1e-28")
X_LOW, X_HIGH = -6000, 1200  # bisection bracket in x = log u (maximisers of the grids below lie
# well inside: the extreme ones are u* ~ e^{-3334} for js_weighted(0.3) at t = -1000 and
# u* ~ e^{999} for kl and jeffrey at t = 1000)
GROWTH_EXPONENTS = (10, 20, 40, 80, 160, 320)  # u = 10^k for the limit u -> oo


@dataclass(frozen=True)
class Case:
    """One registered divergence with the oracle's generator and domain (-oo, end).

    Why each domain is what it is (checked numerically from the generator by the tests below):
    b = lim_{u -> oo} f'(u) is the end; it is in the domain iff lim (b u - f(u)) is finite.
    kl, pearson, jeffrey: f' -> oo, R. reverse_kl: f' = -1/u -> 0, 0 u + log u -> oo, open.
    neyman: f' = 1 - 1/u^2 -> 1, u - (1-u)^2/u = 2 - 1/u -> 2, closed. squared_hellinger:
    f' -> 1, 2 sqrt(u) - 1 -> oo, open. js: f' -> log(2)/2, log(u+1)/2 + u log(1 + 1/u)/2 -> oo,
    open. gan: f' -> 0, log(u+1) + u log(1 + 1/u) -> oo, open. total_variation: f' -> 1/2,
    u/2 - (u-1)/2 = 1/2, closed. alpha: f' = (u^(a-1) - 1)/(a-1); a > 1: R; a < 1: b = 1/(1-a),
    b u - f(u) = u^a/(a(1-a)) - 1/a, finite (closed) for a < 0, oo (open) for 0 < a < 1.
    js_weighted: f' = p log(u/(1 - p + p u)) -> -p log p, (1 - p) log u + O(1) -> oo, open.
    """

    id: str
    name: str
    forms: ClosedForms = field(compare=False)
    params: tuple[tuple[str, float], ...] = ()  # the parameters as a user writes them

    @property
    def generator(self) -> sp.Expr:  # in U
        return self.forms.generator

    @property
    def end(self) -> sp.Expr:  # b = lim_{u -> oo} f'(u); sp.oo for the whole real line
        return self.forms.domain.right

    @property
    def closed(self) -> bool:  # is b in the domain?
        return self.end is not sp.oo and not self.forms.domain.right_open

    def get(self) -> dv.FDivergence:
        return dv.get(self.name, **dict(self.params))


def _literal(value: sp.Rational) -> float | int:
    return int(value) if value.is_integer else float(value)


def _family_cases(name: str) -> list[Case]:
    keyword, values = FAMILY_PARAMETERS[name]
    fmt = "{name}={value}" if name == "alpha" else "{name}({keyword}={value})"
    return [
        Case(
            fmt.format(name=name, keyword=keyword, value=_literal(value)),
            name,
            closed_forms(name, **{keyword: value}),
            ((keyword, _literal(value)),),
        )
        for value in values
    ]


half = sp.Rational(1, 2)
CASES = [Case(name, name, forms) for name, forms in REGISTERED_FORMS.items()]
CASES += _family_cases("alpha") + _family_cases("js_weighted")
IDS = [case.id for case in CASES]
FINITE_END = [case for case in CASES if case.end is not sp.oo]
FINITE_END_IDS = [case.id for case in FINITE_END]
OPEN_END = [case for case in FINITE_END if not case.closed]
CLOSED_END = [case for case in FINITE_END if case.closed]

EXPONENTS = range(-6, 4)  # 10^-6 ... 10^3


def interior_points(case: Case) -> list[sp.Expr]:
    """Exact points of the expected domain, over all orders of magnitude and near its end."""
    if case.end is sp.oo:
        return [sp.Integer(0)] + [s * sp.Integer(10) ** k for k in EXPONENTS for s in (1, -1)]
    return [case.end - sp.Integer(10) ** k for k in EXPONENTS]


def outside_points(case: Case) -> list[sp.Expr]:
    return [case.end + sp.Integer(10) ** k for k in EXPONENTS]


# -- mpmath helpers ---------------------------------------------------------------------------


def to_mp(value: sp.Expr, dps: int) -> mpmath.mpf:
    """An exact SymPy number as an mpf good to ``dps`` digits (+oo stays +oo)."""
    if value == sp.oo:
        return mpmath.inf
    evaluated = sp.N(value, dps + 10)
    assert evaluated.is_real, f"{value} is not real ({evaluated})"
    with mpmath.workdps(dps + 10):
        return +mpmath.mpf(evaluated)


@functools.cache
def numeric_generator(case: Case):
    """(f, f') as mpmath callables, from the typed generator alone."""
    f = sp.lambdify(U, case.generator, "mpmath")
    fp = sp.lambdify(U, sp.diff(case.generator, U), "mpmath")
    return f, fp


def objective(case: Case, t: sp.Expr, x: mpmath.mpf) -> mpmath.mpf:
    """u t - f(u) at u = e^x, with enough digits to absorb the cancellation at large u."""
    f, _ = numeric_generator(case)
    dps = DPS + 20 + int(max(x, 0) / 2.3)
    with mpmath.workdps(dps):
        u = mpmath.exp(x)
        return +(u * to_mp(t, dps) - f(u))


def growth_at_infinity(case: Case, t: sp.Expr) -> list[mpmath.mpf]:
    """u t - f(u) along u = 10^10, 10^20, ..., 10^320."""
    f, _ = numeric_generator(case)
    values = []
    for k in GROWTH_EXPONENTS:
        dps = DPS + 20 + k
        with mpmath.workdps(dps):
            u = mpmath.mpf(10) ** k
            values.append(+(u * to_mp(t, dps) - f(u)))
    return values


def limit_at_infinity(case: Case, t: sp.Expr) -> mpmath.mpf:
    """lim_{u -> oo} (u t - f(u)) for a t where u t - f(u) is increasing: finite or +oo."""
    values = growth_at_infinity(case, t)
    steps = [b - a for a, b in itertools.pairwise(values)]
    if abs(steps[-1]) < mpmath.mpf("1e-20") and abs(steps[-1]) <= abs(steps[-2]):
        return values[-1]  # the increments die out: a finite limit
    if all(step > 0 for step in steps) and steps[-1] >= min(steps[-2], 1):
        return mpmath.inf  # increments that do not shrink: no finite limit
    raise AssertionError(f"cannot classify the growth of u t - f(u) at t = {t}: {values}")


def numeric_sup(case: Case, t: sp.Expr) -> tuple[mpmath.mpf, str]:
    """sup_{u > 0} (u t - f(u)) and where it is reached: "interior", "u -> 0+" or "u -> oo"."""
    _, fp = numeric_generator(case)
    with mpmath.workdps(DPS + 20):
        tm = to_mp(t, DPS + 20)

        def slope_sign_gap(x: mpmath.mpf) -> mpmath.mpf:  # f'(u) - t; u t - f(u) rises while < 0
            return fp(mpmath.exp(x)) - tm

        lo, hi = mpmath.mpf(X_LOW), mpmath.mpf(X_HIGH)
        # |f'(u) - t| below 1e-40 is rounding (t = b exactly, where f'(u) -> b): treat it as 0
        eps = mpmath.mpf("1e-40") * max(1, abs(tm))
        if slope_sign_gap(lo) >= -eps:  # decreasing on the whole bracket: sup at u -> 0+
            return objective(case, t, lo), "u -> 0+"
        if slope_sign_gap(hi) <= eps:  # non-decreasing on the whole bracket: sup at u -> oo
            return limit_at_infinity(case, t), "u -> oo"
        while hi - lo > mpmath.mpf("1e-30"):
            mid = (lo + hi) / 2
            if slope_sign_gap(mid) < 0:
                lo = mid
            else:
                hi = mid
    return max(objective(case, t, lo), objective(case, t, hi)), "interior"


def derived_value(d: dv.FDivergence, t: sp.Expr) -> mpmath.mpf:
    return to_mp(d.conjugate(t), DPS)


def close(a: mpmath.mpf, b: mpmath.mpf) -> bool:
    with mpmath.workdps(DPS):
        return abs(a - b) <= max(ABS_TOL, REL_TOL * max(abs(a), abs(b)))


# -- the generator and the domain -------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_registered_generator_is_the_documented_one(case):
    # the oracle below starts from the typed generator, so first pin the registry to it
    d = case.get()
    with mpmath.workdps(40):
        f_lib = sp.lambdify(U, d.generator(U), "mpmath")
        f_doc, _ = numeric_generator(case)
        for point in ("1e-6", "0.3", "1", "2.5", "1e6"):
            x = mpmath.mpf(point)
            assert mpmath.almosteq(f_lib(x), f_doc(x), rel_eps=1e-35, abs_eps=1e-35), point


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_domain_is_the_one_from_first_principles(case):
    domain = case.get().conjugate_domain
    assert isinstance(domain, sp.Interval)
    if case.end is sp.oo:
        assert domain == sp.Interval(-sp.oo, sp.oo)
        return
    assert domain.left == -sp.oo
    assert sp.simplify(sp.expand_log(domain.right - case.end, force=True)) == 0, domain
    assert bool(domain.right_open) is (not case.closed), domain


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_expected_domain_end_is_the_limit_of_the_derivative(case):
    # checks the hand-written b = lim f'(u) from the generator itself, at u = 10^300
    _, fp = numeric_generator(case)
    with mpmath.workdps(1000):  # b - f'(10^300) can be as small as 1e-450 (alpha = -1/2)
        slopes = [fp(mpmath.mpf(10) ** k) for k in (100, 200, 300)]
        if case.end is sp.oo:
            assert slopes[0] < slopes[1] < slopes[2]
            assert slopes[2] > 100
        else:
            gaps = [to_mp(case.end, 1000) - s for s in slopes]
            assert all(gap >= 0 for gap in gaps), gaps  # f' increases towards b
            assert gaps[2] < mpmath.mpf("1e-80"), gaps


# -- the conjugate against the numeric supremum -----------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_conjugate_equals_numeric_supremum_inside_the_domain(case):
    d = case.get()
    mismatches = []
    for t in interior_points(case):
        expected, where = numeric_sup(case, t)
        assert where != "u -> oo", f"t = {t} should be inside the domain, sup at {where}"
        got = derived_value(d, t)
        if not close(got, expected):
            mismatches.append(f"t = {t}: derived {got}, numeric sup {expected} ({where})")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize("case", FINITE_END, ids=FINITE_END_IDS)
def test_conjugate_is_infinite_outside_the_domain(case):
    d = case.get()
    for t in outside_points(case):
        assert d.conjugate(t) == sp.oo, t
        values = growth_at_infinity(case, t)
        assert all(a < b for a, b in itertools.pairwise(values)), (t, values)
        assert values[-1] > mpmath.mpf(10) ** 300 * mpmath.mpf("1e-7"), (t, values)
        assert numeric_sup(case, t) == (mpmath.inf, "u -> oo"), t


@pytest.mark.parametrize("case", FINITE_END, ids=FINITE_END_IDS)
def test_domain_end_is_closed_iff_the_supremum_there_is_finite(case):
    d = case.get()
    b = case.end
    # evaluate the derived f* at the library's own spelling of b (checked equal to ours in
    # test_domain_is_the_one_from_first_principles): SymPy cannot decide a Piecewise condition
    # such as log(10/3) < -log(3) + log(10), so another spelling leaves it unevaluated
    b_lib = d.conjugate_domain.right
    limit, where = numeric_sup(case, b)
    assert where == "u -> oo"  # at t = b, f'(u) < b for every u: the sup is the limit u -> oo
    if case.closed:
        assert limit != mpmath.inf
        got = d.conjugate(b_lib)
        assert got.is_finite, got
        assert close(to_mp(got, DPS), limit), (got, limit)
        # ... and f* is continuous there from the left (it is lower semicontinuous and convex)
        near = derived_value(d, b_lib - sp.Integer(10) ** -64)
        assert abs(near - to_mp(got, DPS)) < mpmath.mpf("1e-15"), (near, got)
    else:
        assert limit == mpmath.inf
        assert d.conjugate(b_lib) == sp.oo


@pytest.mark.parametrize("case", OPEN_END, ids=[case.id for case in OPEN_END])
def test_conjugate_blows_up_at_an_open_end(case):
    d = case.get()
    values = [derived_value(d, case.end - sp.Integer(10) ** -k) for k in (4, 8, 16, 32, 64)]
    assert all(a < b for a, b in itertools.pairwise(values)), values
    assert values[-1] > 50, values  # at least ~ (1/2)(1 - pi) log(10^64) for these generators


@pytest.mark.parametrize("case", CLOSED_END, ids=[case.id for case in CLOSED_END])
def test_closed_end_value_is_the_limit_from_the_generator(case):
    # f*(b) = lim_{u -> oo} (b u - f(u)) worked out by hand:
    # neyman 2 - 1/u -> 2; total variation 1/2; alpha = -1: 1 - 1/(2u) -> 1;
    # alpha = -1/2: 2 - (4/3) u^(-1/2) -> 2
    expected = {"neyman": 2, "total_variation": half, "alpha=-1": 1, "alpha=-0.5": 2}[case.id]
    assert sp.simplify(case.get().conjugate(case.end) - expected) == 0


# -- activation and optimal critic ------------------------------------------------------------

ACTIVATION_GRID = sorted([0.0] + [s * 10.0**k for k in EXPONENTS for s in (1, -1)])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_activation_maps_into_the_domain_and_increases(case):
    d = case.get()
    # 1100 digits: at v = 1000 an activation is e^-2000 ~ 1e-869 below the end (tanh(v)/2)
    with mpmath.workdps(1100):
        g = sp.lambdify(V, d.activation(V), "mpmath")
        values = [+g(mpmath.mpf(v)) for v in ACTIVATION_GRID]
        assert all(mpmath.isfinite(value) for value in values), values
        assert all(a < b for a, b in itertools.pairwise(values)), "not increasing"
        if case.end is not sp.oo:
            b = to_mp(case.end, 1100)
            above = [v for v, value in zip(ACTIVATION_GRID, values, strict=True) if not value < b]
            if case.closed:
                above = [
                    v for v, value in zip(ACTIVATION_GRID, values, strict=True) if not value <= b
                ]
            assert not above, f"g_f(v) outside the domain for v in {above}"


CRITIC_GRID = [10.0**k for k in range(-6, 7)] + [0.37, 2.9]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_optimal_critic_is_the_derivative_of_the_generator(case):
    d = case.get()
    f, _ = numeric_generator(case)
    with mpmath.workdps(DPS):
        critic = sp.lambdify(V, d.optimal_critic(V), "mpmath")
        end = to_mp(case.end, DPS)
        for r in CRITIC_GRID:
            if case.name == "total_variation" and r == 1:
                continue  # the kink: see test_total_variation_critic_at_the_kink
            x = mpmath.mpf(r)
            numeric = mpmath.diff(f, x, relative=True)  # finite differences, extra precision
            got = critic(x)
            assert close(got, numeric), (r, got, numeric)
            # T*(r) = f'(r) lies in dom f* (the Fenchel-Young equality holds there)
            assert got < end or (case.closed and got <= end), (r, got)


def test_total_variation_critic_at_the_kink():
    # at r = 1 any value of the subdifferential [f'(1-), f'(1+)] = [-1/2, 1/2] is optimal
    d = dv.get("total_variation")
    f = sp.lambdify(U, sp.Abs(U - 1) / 2, "mpmath")
    left = mpmath.diff(f, 1, direction=-1)
    right = mpmath.diff(f, 1, direction=1)
    assert (left, right) == (-0.5, 0.5)
    assert left <= float(d.optimal_critic(1)) <= right
