"""Property tests of the discrete divergences ``d.divergence(p, q)`` and their shortcuts.

For every registered divergence (``alpha`` and ``js_weighted`` at several parameters), with
hypothesis strategies from ``divergences.testing``:

- the divergence properties (``check_divergence_properties``): no NaN, finite on a shared
  support, zero iff equal (``f(1) = -log 4`` for ``gan``), non-negativity, symmetry where
  ``d.symmetric`` claims it, the registered upper bound ``d.value_range``, data processing under
  merging outcomes, batching;
- data processing under any Markov kernel (a random row-stochastic matrix), not only merging;
- the value itself against an mpmath evaluation of ``sum_x q f(p/q)`` at 50 digits, with the
  limits ``f(0+)`` and ``lim f(u)/u`` derived by SymPy for zero probabilities;
- the variational (f-GAN) bound ``E_P[T] - E_Q[f*(T)] <= D_f`` for any critic ``T = g_f(v)``,
  attained by ``T* = f'(p/q)`` on full-support P, Q (mpmath, from the SymPy expressions; and
  through ``divergences.losses.fgan_critic_loss`` on empirical distributions);
- named inequalities: JS <= log 2, TV <= 1, squared Hellinger <= 2, Pinsker TV <= sqrt(KL/2);
- agreement with independent implementations: ``scipy.special.rel_entr``, ``scipy.stats.entropy``,
  ``scipy.stats.power_divergence`` (Cressie-Read: KL, reverse KL, Pearson, Neyman, Hellinger,
  alpha), ``scipy.spatial.distance.jensenshannon`` (squared, base e), ``scipy.stats.chisquare``,
  ``torch.distributions.kl_divergence`` (Categorical), ``scipy.stats.wasserstein_distance``,
  ``ot.wasserstein_1d`` and ``ot.emd2``.

Tolerances. A float64 sum of n terms, each computed with a few roundings, is exact to about
``(c + n) eps sum|term|``; the library's forms may also cancel inside f near u = 1, an absolute
error of order ``eps (p + q)`` per outcome. The value checks therefore allow
``32 n eps (sum|term| + 2)`` (n <= 8 outcomes: about 6e-14 times the scale). Inequalities allow
``1e-12`` absolute (values are O(1) here). Counterexamples found by hypothesis are kept as
``@example`` lines.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import mpmath
import numpy as np
import ot
import pytest
import scipy.spatial.distance
import scipy.special
import scipy.stats
import sympy as sp
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import distributions as td

import divergences as dv
from divergences.numeric import wasserstein_nd
from divergences.symbolic.symbols import u as u_sym
from divergences.testing import (
    check_divergence_at,
    check_divergence_properties,
    distribution_pairs,
    probability_vectors,
)

F64 = torch.float64
EPS = float(np.finfo(np.float64).eps)
LOG2 = math.log(2)

DIVERGENCES = [(name, {}) for name in dv.names() if name not in ("alpha", "js_weighted")]
DIVERGENCES += [("alpha", {"alpha": Fraction(a)}) for a in ("-1", "1/2", "2", "3", "3/10")]
DIVERGENCES += [("js_weighted", {"pi": Fraction(p)}) for p in ("1/2", "1/4")]
IDS = [name + "".join(f"-{k}={x}" for k, x in params.items()) for name, params in DIVERGENCES]


def t64(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


@pytest.fixture(params=DIVERGENCES, ids=IDS)
def d(request) -> dv.FDivergence:
    name, params = request.param
    return dv.get(name, **params)


def upper_bound(d: dv.FDivergence) -> float | None:
    top = d.value_range.end
    return None if top == sp.oo else float(top)


# --------------------------------------------------------------------------------------------
# An independent reference: sum_x q f(p/q) in mpmath, limits by SymPy
# --------------------------------------------------------------------------------------------


@functools.cache
def _reference_parts(d: dv.FDivergence):
    f = d.generator.expr
    f0 = sp.limit(f, u_sym, 0, "+")  # q f(0/q) = q f(0+)
    slope = sp.limit(f / u_sym, u_sym, sp.oo)  # 0 f(p/0) = p lim f(u)/u
    f_mp = sp.lambdify(u_sym, f, "mpmath")
    return f_mp, f0, slope


def _mp_value(x: sp.Expr) -> mpmath.mpf:
    return mpmath.inf if x == sp.oo else mpmath.mpf(sp.N(x, 60))


def reference_divergence(d: dv.FDivergence, p, q) -> tuple[float, float]:
    """(value, sum of |terms|) of sum_x q f(p/q) with the zero conventions, at 50 digits."""
    f_mp, f0, slope = _reference_parts(d)
    with mpmath.workdps(50):
        terms = []
        for pi, qi in zip(np.asarray(p, dtype=float), np.asarray(q, dtype=float), strict=True):
            pm, qm = mpmath.mpf(float(pi)), mpmath.mpf(float(qi))
            if pm == 0 and qm == 0:
                continue
            if qm == 0:
                terms.append(pm * _mp_value(slope))
            elif pm == 0:
                terms.append(qm * _mp_value(f0))
            else:
                terms.append(qm * f_mp(pm / qm))
        total = mpmath.fsum(terms)
        return float(total), float(mpmath.fsum(abs(x) for x in terms))


def value_tolerance(n: int, scale: float) -> float:
    return 32 * n * EPS * (scale + 2)


# --------------------------------------------------------------------------------------------
# The divergence properties, for every registered divergence
# --------------------------------------------------------------------------------------------


def test_divergence_properties(d: dv.FDivergence) -> None:
    check_divergence_properties(
        d.divergence,
        symmetric=d.symmetric,
        value_at_equal=float(d.offset),
        upper_bound=upper_bound(d),
        max_examples=50,
    )


def test_divergence_properties_float32(d: dv.FDivergence) -> None:
    check_divergence_properties(
        d.divergence,
        symmetric=d.symmetric,
        value_at_equal=float(d.offset),
        upper_bound=upper_bound(d),
        dtype=torch.float32,
        max_examples=25,
    )


def test_value_matches_mpmath_reference(d: dv.FDivergence) -> None:
    @given(distribution_pairs())
    @example((t64([1.0, 0.0]), t64([0.0, 1.0])))  # disjoint supports
    @example((t64([0.5, 0.5]), t64([0.5, 0.5])))
    @example((t64([1 - 1e-30, 1e-30]), t64([1e-30, 1 - 1e-30])))
    def inner(pair) -> None:
        p, q = pair
        got = float(d.divergence(p, q))
        expected, scale = reference_divergence(d, p, q)
        if math.isinf(expected):
            assert got == expected
        else:
            assert abs(got - expected) <= value_tolerance(p.numel(), scale), (got, expected)

    inner()


def test_value_range_lower_end(d: dv.FDivergence) -> None:
    # the registered range's lower end is attained at P = Q (0, or -log 4 for gan)
    p = t64([0.2, 0.3, 0.5])
    assert float(d.divergence(p, p)) == pytest.approx(float(d.value_range.start), abs=1e-15)


def test_data_processing_under_markov_kernels(d: dv.FDivergence) -> None:
    @settings(max_examples=40)
    @given(distribution_pairs(st.integers(2, 6)), st.data())
    def inner(pair, data) -> None:
        p, q = pair
        n = p.numel()
        m = data.draw(st.integers(1, n), label="outputs")
        rows = data.draw(
            st.lists(
                st.lists(st.floats(0.0, 1.0), min_size=m, max_size=m).filter(lambda r: sum(r) > 0),
                min_size=n,
                max_size=n,
            ),
            label="kernel",
        )
        kernel = t64(rows)
        kernel = kernel / kernel.sum(-1, keepdim=True)
        before = float(d.divergence(p, q))
        after = float(d.divergence(p @ kernel, q @ kernel, validate=False))
        assert after <= before + 1e-12 * (1 + abs(before)), (before, after)

    inner()


# --------------------------------------------------------------------------------------------
# The variational bound
# --------------------------------------------------------------------------------------------


@functools.cache
def _fgan_parts(d: dv.FDivergence):
    # lambdas are used with their own variables: SymPy writes the identity as Lambda(_x, _x)
    g, fstar, critic = (
        sp.lambdify(lam.variables, lam.expr, "mpmath")
        for lam in (d.activation, d.conjugate, d.optimal_critic)
    )
    return g, fstar, critic


def _bound(d: dv.FDivergence, p, q, critic_values) -> mpmath.mpf:
    _, fstar, _ = _fgan_parts(d)
    with mpmath.workdps(50):
        return mpmath.fsum(
            mpmath.mpf(float(pi)) * tv - mpmath.mpf(float(qi)) * fstar(tv)
            for pi, qi, tv in zip(p.tolist(), q.tolist(), critic_values, strict=True)
        )


def test_variational_bound_for_any_critic(d: dv.FDivergence) -> None:
    g, _, _ = _fgan_parts(d)

    @settings(max_examples=40)
    @given(distribution_pairs(st.integers(1, 6), allow_zeros=False), st.data())
    def inner(pair, data) -> None:
        p, q = pair
        scores = data.draw(
            st.lists(st.floats(-30, 30), min_size=p.numel(), max_size=p.numel()),
            label="v",
        )
        with mpmath.workdps(50):
            critic = [g(mpmath.mpf(s)) for s in scores]
            value = float(_bound(d, p, q, critic))
        assert value <= float(d.divergence(p, q)) + 1e-12

    inner()


def test_optimal_critic_attains_the_divergence(d: dv.FDivergence) -> None:
    _, _, critic = _fgan_parts(d)

    @settings(max_examples=40)
    @given(distribution_pairs(st.integers(1, 6), allow_zeros=False, min_positive=1e-6))
    @example((t64([0.5, 0.5]), t64([0.5, 0.5])))
    @example((t64([0.9, 0.1]), t64([0.1, 0.9])))
    def inner(pair) -> None:
        p, q = pair
        with mpmath.workdps(50):
            best = [
                critic(mpmath.mpf(float(a)) / mpmath.mpf(float(b)))
                for a, b in zip(p.tolist(), q.tolist(), strict=True)
            ]
            attained = float(_bound(d, p, q, best))
        expected, scale = reference_divergence(d, p, q)
        assert attained == pytest.approx(expected, abs=1e-30 + 1e-40 * scale)
        got = float(d.divergence(p, q))
        assert abs(got - attained) <= value_tolerance(p.numel(), scale)

    inner()


def _inverse_activation(d: dv.FDivergence, target: mpmath.mpf) -> float:
    """The raw score v with g_f(v) = target, by bisection on the increasing g_f (mpmath)."""
    g, _, _ = _fgan_parts(d)
    with mpmath.workdps(50):
        lo, hi = mpmath.mpf(-800), mpmath.mpf(800)
        for _ in range(120):  # 1600 / 2^120 ~ 1e-33
            mid = (lo + hi) / 2
            if g(mid) < target:
                lo = mid
            else:
                hi = mid
        return float((lo + hi) / 2)


def test_fgan_critic_loss_is_a_variational_bound(d: dv.FDivergence) -> None:
    from divergences.losses import fgan_critic_loss

    _, _, critic = _fgan_parts(d)

    @settings(max_examples=25)
    @given(
        st.lists(st.integers(1, 6), min_size=2, max_size=5),
        st.lists(st.integers(1, 6), min_size=2, max_size=5),
        st.data(),
    )
    def inner(counts_p, counts_q, data) -> None:
        n = min(len(counts_p), len(counts_q))
        counts_p, counts_q = counts_p[:n], counts_q[:n]
        p = t64(counts_p) / sum(counts_p)
        q = t64(counts_q) / sum(counts_q)
        divergence = float(d.divergence(p, q))
        scores = data.draw(st.lists(st.floats(-20, 20), min_size=n, max_size=n), label="v")
        # the empirical distributions: outcome i repeated counts[i] times
        idx_p = torch.repeat_interleave(torch.arange(n), torch.tensor(counts_p))
        idx_q = torch.repeat_interleave(torch.arange(n), torch.tensor(counts_q))
        v = t64(scores)
        bound = -float(fgan_critic_loss(d, v[idx_p], v[idx_q]))
        assert bound <= divergence + 1e-12
        # the optimal critic T* = f'(p/q), reached through v* = g_f^{-1}(T*)
        with mpmath.workdps(50):
            ratio = mpmath.mpf(sum(counts_q)) / sum(counts_p)
            best = [
                critic(mpmath.mpf(a) / b * ratio) for a, b in zip(counts_p, counts_q, strict=True)
            ]
        v_star = t64([_inverse_activation(d, b) for b in best])
        attained = -float(fgan_critic_loss(d, v_star[idx_p], v_star[idx_q]))
        assert attained == pytest.approx(divergence, rel=1e-9, abs=1e-12)

    inner()


# --------------------------------------------------------------------------------------------
# Named inequalities (shortcuts)
# --------------------------------------------------------------------------------------------


@given(distribution_pairs(batch_shape=st.sampled_from([(), (3,)])))
@example((t64([1.0, 0.0]), t64([0.0, 1.0])))
def test_bounded_divergences(pair) -> None:
    p, q = pair
    assert bool((dv.js(p, q) <= LOG2 + 1e-12).all())
    assert bool((dv.total_variation(p, q) <= 1 + 1e-12).all())
    assert bool((dv.squared_hellinger(p, q) <= 2 + 1e-12).all())


def test_bounds_are_attained_on_disjoint_supports() -> None:
    p, q = t64([0.3, 0.7, 0.0, 0.0]), t64([0.0, 0.0, 0.4, 0.6])
    assert float(dv.js(p, q)) == pytest.approx(LOG2, rel=1e-15)
    assert float(dv.total_variation(p, q)) == pytest.approx(1.0, rel=1e-15)
    assert float(dv.squared_hellinger(p, q)) == pytest.approx(2.0, rel=1e-15)


_P_ULP = (
    "0x1.946b569756074p-2",
    "0x1.2f399b2d59a0cp-1",
    "0x1.78fcf8d5b528ap-7",
    "0x1.598b47490df4dp-10",
)
_Q_ULP = ("0x1.946b569756075p-2", *_P_ULP[1:])


@given(distribution_pairs(batch_shape=st.sampled_from([(), (2,)])))
@example((t64([1.0, 0.0]), t64([0.5, 0.5])))
# regression (hypothesis found one like it): q is p with one entry one ulp up; the raw sum of
# p log(p/q) rounds to -4.4e-17, and sqrt(kl / 2) was NaN
@example(
    (
        t64([float.fromhex(h) for h in _P_ULP]),
        t64([float.fromhex(h) for h in _Q_ULP]),
    )
)
def test_pinsker(pair) -> None:
    p, q = pair
    tv = dv.total_variation(p, q)
    kl = dv.kl(p, q)
    assert bool((kl >= 0).all()), kl  # Gibbs: never below 0, not even by rounding
    assert bool((tv <= torch.sqrt(kl / 2) + 1e-12).all()), (tv, kl)


@given(distribution_pairs())
def test_hellinger_and_total_variation(pair) -> None:
    # H^2/2 <= TV <= sqrt(H^2 (1 - H^2/4)) with H^2 in [0, 2] (Le Cam 1986; Tsybakov 2009, 2.4)
    p, q = pair
    h2 = float(dv.squared_hellinger(p, q))
    tv = float(dv.total_variation(p, q))
    assert h2 / 2 <= tv + 1e-12
    assert tv <= math.sqrt(max(h2 * (1 - h2 / 4), 0.0)) + 1e-12


# --------------------------------------------------------------------------------------------
# Agreement with scipy, torch.distributions and POT
# --------------------------------------------------------------------------------------------


@given(distribution_pairs(batch_shape=st.sampled_from([(), (4,)])))
@example((t64([1.0, 0.0]), t64([0.0, 1.0])))
@example((t64([1 / 3, 1 / 3, 1 / 3]), t64([0.5, 0.5, 1.1598e-16])))
# found by hypothesis: the sum of p's floats is 2 ulps below q's, so the exact sum of the terms
# is 2 (1/3) log(a/b) = -1.1e-16 (SciPy's value); for distributions (within the normalisation
# tolerance) the library returns the minimum f(1) = 0 instead (Jensen; the floor documented in
# divergences.numeric.discrete), so SciPy's values are compared floored at 0
@example(
    (
        t64([0.3333333333333333, 0.3333333333333333, 0.3333333333333333]),
        t64([0.3333333333333333, 0.33333333333333337, 0.33333333333333337]),
    )
)
def test_kl_matches_scipy(pair) -> None:
    p, q = pair
    ours = dv.kl(p, q).numpy()
    rel = np.maximum(np.sum(scipy.special.rel_entr(p.numpy(), q.numpy()), axis=-1), 0.0)
    np.testing.assert_allclose(ours, rel, rtol=1e-13, atol=1e-300)
    entropy = np.maximum(scipy.stats.entropy(p.numpy(), q.numpy(), axis=-1), 0.0)
    np.testing.assert_allclose(ours, entropy, rtol=1e-12, atol=1e-300)


# torch.distributions.Categorical clamps probabilities to [eps, 1 - eps] (clamp_probs) before
# taking logs, so it is an exact oracle only for probabilities above eps: hence min_positive.
# Found by hypothesis: p = (1/3, 1/3, 1/3), q = (1/2, 1/2, 1.16e-16) gives 11.378 in torch
# against the exact 11.5945.
@given(distribution_pairs(batch_shape=st.sampled_from([(), (4,)]), min_positive=1e-12))
@example((t64([1.0, 0.0]), t64([0.0, 1.0])))
def test_kl_matches_torch_distributions(pair) -> None:
    p, q = pair
    ours = dv.kl(p, q).numpy()
    theirs = td.kl_divergence(td.Categorical(probs=p), td.Categorical(probs=q)).numpy()
    # torch: sum p (log p - log q) after renormalising; absolute rounding ~ eps sum |p log q|
    log_q = np.abs(np.log(np.where(q.numpy() > 0, q.numpy(), 1.0)))
    scale = np.sum(p.numpy() * log_q, axis=-1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=float(np.max(32 * EPS * (scale + 1))))


@given(distribution_pairs(batch_shape=st.sampled_from([(), (4,)])))
@example((t64([1.0, 0.0]), t64([0.0, 1.0])))
def test_js_matches_scipy(pair) -> None:
    p, q = pair
    theirs = scipy.spatial.distance.jensenshannon(p.numpy(), q.numpy(), axis=-1) ** 2
    np.testing.assert_allclose(dv.js(p, q).numpy(), theirs, rtol=1e-10, atol=1e-15)
    gan = dv.get("gan").divergence(p, q).numpy()
    np.testing.assert_allclose(gan, 2 * theirs - math.log(4), rtol=1e-12, atol=1e-14)


# Cressie-Read power divergence: statistic = 2/(l (l+1)) sum p ((p/q)^l - 1) = 2 D_alpha with
# alpha = l + 1; l = 0 is 2 KL, l = -1 is 2 reverse KL, l = 1 is Pearson, l = -2 is Neyman and
# l = -1/2 is 4 (2 - 2 BC) / 2 ... i.e. 4 times the squared Hellinger distance without the 1/2.
POWER = [
    ("kl", {}, 0.0, 0.5),
    ("reverse_kl", {}, -1.0, 0.5),
    ("pearson", {}, 1.0, 1.0),
    ("neyman", {}, -2.0, 1.0),
    ("squared_hellinger", {}, -0.5, 0.25),
    ("alpha", {"alpha": Fraction(3)}, 2.0, 0.5),
    ("alpha", {"alpha": Fraction(3, 10)}, -0.7, 0.5),
]


@pytest.mark.parametrize(
    ("name", "params", "lambda_", "factor"), POWER, ids=[f"{n}{p}" for n, p, *_ in POWER]
)
def test_power_divergence_family_matches_scipy(name, params, lambda_, factor) -> None:
    d = dv.get(name, **params)

    @given(distribution_pairs(allow_zeros=False, min_positive=1e-8))
    def inner(pair) -> None:
        p, q = pair
        stat = scipy.stats.power_divergence(p.numpy(), q.numpy(), lambda_=lambda_).statistic
        assert float(d.divergence(p, q)) == pytest.approx(factor * stat, rel=1e-9, abs=1e-15)

    inner()


@given(distribution_pairs(allow_zeros=False))
def test_pearson_matches_scipy_chisquare(pair) -> None:
    p, q = pair
    stat = scipy.stats.chisquare(p.numpy(), q.numpy(), sum_check=False).statistic
    assert float(dv.pearson(p, q)) == pytest.approx(stat, rel=1e-10, abs=1e-15)


@given(distribution_pairs())
def test_total_variation_matches_scipy_cityblock(pair) -> None:
    p, q = pair
    theirs = scipy.spatial.distance.cityblock(p.numpy(), q.numpy()) / 2
    assert float(dv.total_variation(p, q)) == pytest.approx(theirs, rel=1e-13, abs=1e-16)


@given(distribution_pairs(shared_support=True))
def test_jeffrey_is_the_symmetrised_kl(pair) -> None:
    p, q = pair
    jeffrey = float(dv.get("jeffrey").divergence(p, q))
    both = float(dv.kl(p, q) + dv.kl(q, p))
    assert jeffrey == pytest.approx(both, rel=1e-10, abs=1e-14)


sample_sets = st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40).map(
    lambda xs: np.array(xs, dtype=np.float64)
)


@given(sample_sets, sample_sets)
def test_wasserstein_1d_matches_scipy_and_pot(x, y) -> None:
    ours = float(dv.wasserstein_1d(t64(x), t64(y)))
    scale = 1 + np.abs(x).max() + np.abs(y).max()
    assert ours == pytest.approx(
        scipy.stats.wasserstein_distance(x, y), rel=1e-10, abs=1e-12 * scale
    )
    assert ours == pytest.approx(float(ot.wasserstein_1d(x, y, p=1)), rel=1e-10, abs=1e-12 * scale)


@settings(max_examples=20)
@given(
    st.integers(1, 12).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-10, 10), min_size=2 * n, max_size=2 * n),
            st.lists(st.floats(-10, 10), min_size=2 * n, max_size=2 * n),
        )
    )
)
def test_wasserstein_nd_matches_pot_emd2(points) -> None:
    x = np.array(points[0]).reshape(-1, 2)
    y = np.array(points[1]).reshape(-1, 2)
    a = np.full(len(x), 1 / len(x))
    b = np.full(len(y), 1 / len(y))
    # exact Euclidean costs (ot.dist expands |x - y|^2 and cancels for nearby points)
    expected = ot.emd2(a, b, scipy.spatial.distance.cdist(x, y))
    assert float(wasserstein_nd(t64(x), t64(y))) == pytest.approx(expected, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------------------------
# Regression tests: counterexamples found by hypothesis, kept as plain tests
# --------------------------------------------------------------------------------------------


def test_single_outcome_distributions() -> None:
    one = t64([1.0])
    for name, params in DIVERGENCES:
        d = dv.get(name, **params)
        check_divergence_at(d.divergence, one, one, value_at_equal=float(d.offset))


@given(probability_vectors(batch_shape=(2, 3)))
def test_batched_self_divergence_is_the_offset(p) -> None:
    for name, params in DIVERGENCES:
        d = dv.get(name, **params)
        out = d.divergence(p, p)
        assert out.shape == (2, 3)
        torch.testing.assert_close(
            out, torch.full((2, 3), float(d.offset), dtype=F64), rtol=0, atol=1e-15
        )
