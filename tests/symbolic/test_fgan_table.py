"""The f-GAN paper's Table 2 as an outside oracle for the derived conjugates, domains, activations.

The table (Nowozin, Cseke, Tomioka, NeurIPS 2016, arXiv:1606.00709, Table 2 as printed, with the
generators of Table 1) and its errata under the library's conventions (f* = sup over u > 0; JS
is the table's generator halved; TV = |u-1|/2) are typed once in
:mod:`divergences.testing.oracles.fgan_table` (its docstring lists the errata (a)-(e)); nothing
there is taken from the library. The tests below assert every difference as a known erratum:

(a) Jensen-Shannon: the row is 2 JS; f*_JS(t) = f*_table(2t)/2 on t < log(2)/2, activation halved.
(b) Pearson chi^2: over u > 0, f*(t) = -1 for t < -2; the two agree for t >= -2.
(c) Total variation: over u > 0 the domain is (-oo, 1/2] with f*(t) = -1/2 for t < -1/2.
(d) GAN, KL, reverse KL, squared Hellinger, Jeffrey: the table is right under our conventions.
(e) Neyman chi^2: the domain is (-oo, 1], closed, with f*(1) = 2.

Tolerance: both sides are evaluated with mpmath at 50 digits; near a domain end the formulas
lose up to ~10 digits to cancellation (e.g. 1 - e^t at t = b - 1e-10), so a relative tolerance of
1e-30 is safe and still catches any wrong constant, factor or branch.
"""

from __future__ import annotations

import itertools

import mpmath
import pytest
import sympy as sp

import divergences as dv
from divergences.testing.oracles import (
    AGREEING_CONJUGATES,
    AGREEING_DOMAINS,
    ERRATA,
    TABLE_2,
    library_row,
)
from divergences.testing.oracles import s as S  # distance to a domain end, selects a branch
from divergences.testing.oracles import t as T
from divergences.testing.oracles import u as U
from divergences.testing.oracles import v as V

DPS = 50
REL_TOL = mpmath.mpf("1e-30")  # see the module docstring
half = sp.Rational(1, 2)
log2 = sp.log(2)

# rows whose conjugate formula is right under f*(t) = sup_{u > 0} (u t - f(u)) on its domain
AGREEING = ["kl", "reverse_kl", "neyman", "squared_hellinger", "jeffrey", "gan"]
# ... and whose domain too (Neyman's is erratum (e))
SAME_DOMAIN = ["kl", "reverse_kl", "squared_hellinger", "jeffrey", "gan"]


def derived(name: str) -> dv.FDivergence:
    return dv.get(name)


def mp_function(expr: sp.Expr, var: sp.Symbol):
    return sp.lambdify(var, expr, "mpmath")


def close(a, b) -> bool:
    with mpmath.workdps(DPS):
        a, b = mpmath.mpmathify(a), mpmath.mpmathify(b)
        return abs(a - b) <= REL_TOL * max(abs(a), abs(b), 1)


def dense_grid(domain: sp.Interval) -> list[mpmath.mpf]:
    """Points of ``domain`` (a left-unbounded interval) at DPS digits, dense and near its end."""
    with mpmath.workdps(DPS):
        if domain.right == sp.oo:
            linear = [mpmath.mpf(k) / 4 for k in range(-120, 121)]  # [-30, 30], step 1/4
            far = [s * mpmath.mpf(10) ** k for k in range(2, 4) for s in (1, -1)]
            return linear + far
        end = mpmath.mpf(sp.N(domain.right, DPS + 10))
        gaps = [mpmath.mpf(10) ** (mpmath.mpf(k) / 10) for k in range(-100, 31)]  # 1e-10..1e3
        return [end - gap for gap in gaps]


def branch(expr: sp.Expr, at: sp.Expr) -> sp.Expr:
    """``expr`` at ``t = at`` (in terms of S > 0), which must select a single Piecewise branch."""
    value = expr.subs(T, at)
    assert not value.has(sp.Piecewise), value
    return value


# -- rows that agree ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", AGREEING)
def test_table_conjugate_equals_derived_on_a_dense_grid(name):
    row = TABLE_2[name]
    d = derived(name)
    table = mp_function(row.conjugate, T)
    ours = mp_function(d.conjugate(T), T)
    with mpmath.workdps(DPS):
        mismatches = [
            (t, ours(t), table(t)) for t in dense_grid(row.domain) if not close(ours(t), table(t))
        ]
    assert not mismatches, mismatches[:5]


@pytest.mark.parametrize(
    ("name", "at"),
    [
        ("kl", T),
        ("reverse_kl", -S),
        ("neyman", 1 - S),
        ("squared_hellinger", 1 - S),
        ("jeffrey", T),
        ("gan", -S),
    ],
    ids=AGREEING,
)
def test_table_conjugate_equals_derived_symbolically(name, at):
    row = TABLE_2[name]
    d = derived(name)
    ours = branch(d.conjugate(T), at)
    assert sp.simplify(ours - row.conjugate.subs(T, at)) == 0, ours


@pytest.mark.parametrize("name", SAME_DOMAIN)
def test_table_domain_equals_derived(name):
    assert derived(name).conjugate_domain == TABLE_2[name].domain


@pytest.mark.parametrize("name", [n for n in TABLE_2 if n != "js"])
def test_table_activation_maps_into_the_derived_domain(name):
    row = TABLE_2[name]
    domain = derived(name).conjugate_domain
    # 1000 digits: tanh(1000)/2 = 1/2 - e^-2000 + ... ~ 1/2 - 1e-869 must stay below 1/2
    with mpmath.workdps(1000):
        g = mp_function(row.activation, V)
        end = mpmath.mpf(sp.N(domain.right, 1010)) if domain.right != sp.oo else mpmath.inf
        for k, sign in itertools.product(range(-6, 4), (1, -1)):
            value = g(sign * mpmath.mpf(10) ** k)
            assert mpmath.isfinite(value), (k, sign)
            assert value < end or (not domain.right_open and value <= end), (k, sign, value)


@pytest.mark.parametrize("name", [n for n in TABLE_2 if n != "js"])
def test_registry_uses_the_table_activation(name):
    # the registry cites Table 2 for these activations: they must be the table's, not retyped
    ours = derived(name).activation(V)
    assert sp.simplify(ours - TABLE_2[name].activation) == 0, ours


@pytest.mark.parametrize("name", list(TABLE_2))
def test_optimal_critic_at_1_is_the_table_column(name):
    # f'(1): the critic's value where P = Q. Our JS is the table's generator halved, and f'(1) = 0
    # is unchanged by the factor. Total variation has a kink at 1: the table's 0 (and ours) lies
    # in the subdifferential [-1/2, 1/2].
    row = TABLE_2[name]
    ours = derived(name).optimal_critic(1)
    if name == "total_variation":
        assert -half <= row.fprime_at_1 <= half
        assert -half <= ours <= half
    else:
        assert sp.simplify(ours - row.fprime_at_1) == 0, ours


def test_gan_row_agrees_entirely():
    # (d): conjugate, domain and activation of the GAN row are right under our conventions
    d = derived("gan")
    row = TABLE_2["gan"]
    assert d.conjugate_domain == row.domain == sp.Interval.open(-sp.oo, 0)
    assert sp.simplify(branch(d.conjugate(T), -S) - row.conjugate.subs(T, -S)) == 0
    assert sp.simplify(d.activation(V) - row.activation) == 0
    # f*(g_f(v)) = -log(1 - sigmoid(v)) = softplus(v): the GAN discriminator's fake-sample loss
    softplus = sp.log(1 + sp.exp(V))
    assert sp.simplify(sp.expand_log(row.conjugate.subs(T, row.activation) - softplus)) == 0


# -- erratum (a): Jensen-Shannon ----------------------------------------------------------------


def test_js_conjugate_is_half_the_table_conjugate_at_twice_the_argument():
    # f_JS = f_table / 2 implies f*_JS(t) = sup_u (u t - f_table(u)/2) = f*_table(2 t) / 2
    d = derived("js")
    table = TABLE_2["js"].conjugate
    ours = branch(d.conjugate(T), log2 / 2 - S)
    assert sp.simplify(ours - table.subs(T, 2 * (log2 / 2 - S)) / 2) == 0
    ours_mp = mp_function(d.conjugate(T), T)
    table_mp = mp_function(table, T)
    with mpmath.workdps(DPS):
        for t in dense_grid(d.conjugate_domain):
            assert close(ours_mp(t), table_mp(2 * t) / 2), t
        # the table's formula as printed is not ours: at t = -1 it gives -log(2 - e^-1) = -0.49,
        # ours is -log(2 - e^-2)/2 = -0.31
        assert not close(ours_mp(-1), table_mp(-1))


def test_js_domain_end_is_half_the_tables():
    d = derived("js")
    assert d.conjugate_domain == sp.Interval.open(-sp.oo, log2 / 2)
    assert TABLE_2["js"].domain == sp.Interval.open(-sp.oo, log2)
    assert d.conjugate(log2 / 2) == sp.oo
    assert d.conjugate(sp.Rational(1, 2)) == sp.oo  # inside the table's domain, outside ours


def test_js_activation_is_half_the_tables_and_the_tables_leaves_our_domain():
    d = derived("js")
    table = TABLE_2["js"].activation
    assert sp.simplify(d.activation(V) - table / 2) == 0
    # the table's activation tends to log 2 > log(2)/2: e.g. v = 1 and v = 10 are outside
    for v in (1, 10):
        value = table.subs(V, v)
        assert value.is_real
        assert sp.N(value - log2 / 2, 30) > 0, v
        assert not d.conjugate_domain.contains(value)
        assert d.conjugate(value) == sp.oo


def test_table_js_row_is_right_for_the_tables_own_generator():
    # the paper's row is correct for its generator (2 JS): derive it from that generator
    row = TABLE_2["js"]
    d2 = dv.FDivergence.from_generator(row.generator, U, name="js_fgan_table")
    assert d2.conjugate_domain == row.domain
    assert sp.simplify(branch(d2.conjugate(T), log2 - S) - row.conjugate.subs(T, log2 - S)) == 0


# -- erratum (b): Pearson -----------------------------------------------------------------------


def test_pearson_agrees_with_the_table_for_t_at_least_minus_2():
    d = derived("pearson")
    table = TABLE_2["pearson"].conjugate
    assert sp.simplify(branch(d.conjugate(T), -2 + S) - table.subs(T, -2 + S)) == 0
    assert d.conjugate(-2) == table.subs(T, -2) == -1  # the two branches meet at t = -2
    ours_mp = mp_function(d.conjugate(T), T)
    table_mp = mp_function(table, T)
    with mpmath.workdps(DPS):
        for k in range(0, 321):
            t = -2 + mpmath.mpf(k) / 8  # [-2, 38]
            assert close(ours_mp(t), table_mp(t)), t


def test_pearson_differs_from_the_table_below_minus_2():
    d = derived("pearson")
    table = TABLE_2["pearson"].conjugate
    assert table.subs(T, -3) == sp.Rational(-3, 4)
    assert d.conjugate(-3) == -1
    for t in (sp.Rational(-201, 100), -3, -10, -1000):
        assert d.conjugate(t) == -1
        assert table.subs(T, t) > -1  # the table overstates f* below -2
    # why: the table's value at t = -3 is reached at u = 1 + t/2 = -1/2 < 0 ...
    objective = U * T - (U - 1) ** 2
    u_star = sp.Rational(-1, 2)
    assert objective.subs({T: -3}).subs(U, u_star) == sp.Rational(-3, 4)
    # ... while over u > 0, u t - (u-1)^2 = -(u^2 + u + 1) < -1, tending to -1 as u -> 0+
    assert sp.expand(objective.subs(T, -3) + (U**2 + U + 1)) == 0
    assert sp.limit(objective.subs(T, -3), U, 0, "+") == -1


# -- erratum (c): total variation ---------------------------------------------------------------


def test_total_variation_agrees_with_the_table_on_its_domain():
    d = derived("total_variation")
    for k in range(-50, 51):
        t = sp.Rational(k, 100)  # [-1/2, 1/2], exactly
        assert d.conjugate(t) == TABLE_2["total_variation"].conjugate.subs(T, t) == t


def test_total_variation_domain_extends_below_the_tables():
    d = derived("total_variation")
    assert TABLE_2["total_variation"].domain == sp.Interval(-half, half)
    assert d.conjugate_domain == sp.Interval(-sp.oo, half)
    for t in (sp.Rational(-51, 100), -1, -100):
        assert t not in TABLE_2["total_variation"].domain
        assert d.conjugate(t) == -half  # sup_{u > 0} (u t - |u-1|/2) at u -> 0+

    # why: over all real u the objective is u (t + 1/2) - 1/2 for u < 1, unbounded as u -> -oo
    def objective(uu, tt):
        return uu * tt - sp.Abs(uu - 1) / 2

    assert objective(-(10**6), -1) > 10**5
    assert objective(sp.Rational(1, 10**6), -1) < -half + sp.Rational(1, 10**5)
    assert d.conjugate(half) == half and d.conjugate(sp.Rational(51, 100)) == sp.oo


# -- erratum (e): Neyman domain end -----------------------------------------------------------


def test_neyman_domain_is_closed_at_1_unlike_the_tables():
    d = derived("neyman")
    assert TABLE_2["neyman"].domain == sp.Interval.open(-sp.oo, 1)
    assert d.conjugate_domain == sp.Interval(-sp.oo, 1)
    # sup_{u > 0} (u - (1-u)^2/u) = sup (2 - 1/u) = 2, and the table's formula at 1 is 2 too
    assert sp.limit(U - (1 - U) ** 2 / U, U, sp.oo) == 2
    assert d.conjugate(1) == TABLE_2["neyman"].conjugate.subs(T, 1) == 2


# -- the oracle's own bookkeeping ---------------------------------------------------------------


def test_the_table_has_the_nine_rows_and_their_errata():
    assert set(TABLE_2) == {
        "kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "jeffrey", "js", "gan",
        "total_variation",
    }  # fmt: skip
    assert {name: row.erratum for name, row in TABLE_2.items()} == {
        "kl": "d", "reverse_kl": "d", "pearson": "b", "neyman": "e", "squared_hellinger": "d",
        "jeffrey": "d", "js": "a", "gan": "d", "total_variation": "c",
    }  # fmt: skip
    assert set(ERRATA) == {"a", "b", "c", "d", "e"}
    # the oracle's classification is the one asserted above, row by row
    assert list(AGREEING_CONJUGATES) == AGREEING
    assert list(AGREEING_DOMAINS) == SAME_DOMAIN


@pytest.mark.parametrize("name", list(TABLE_2))
def test_library_row_is_the_derived_divergence(name):
    # the oracle's conversion of each row to the library's conventions (errata (a)-(e)) is the
    # derived generator, domain, activation and conjugate (on a dense grid and outside)
    d = derived(name)
    row = library_row(name)
    assert sp.simplify(d.generator(U) - row.generator) == 0
    assert d.conjugate_domain == row.domain
    assert sp.simplify(d.activation(V) - row.activation) == 0
    ours = mp_function(d.conjugate(T), T)
    table = mp_function(row.conjugate, T)
    with mpmath.workdps(DPS):
        grid = dense_grid(row.domain)
        if row.domain.right != sp.oo:  # below the paper's stationary branch too (b), (c)
            grid += [mpmath.mpf(k) / 4 for k in range(-40, 0)]
        mismatches = [(x, ours(x), table(x)) for x in grid if not close(ours(x), table(x))]
    assert not mismatches, mismatches[:5]
    if row.domain.right != sp.oo:
        beyond = row.domain.right + 1
        assert d.conjugate(beyond) == row.conjugate.subs(T, beyond) == sp.oo
