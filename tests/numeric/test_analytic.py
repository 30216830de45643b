"""Tests of the analytic references in divergences.numeric.analytic.

Where expected values come from (each an independent derivation or implementation):
- torch.distributions.kl_divergence for (Normal, Normal), (MultivariateNormal,
  MultivariateNormal), (Bernoulli, Bernoulli), (Categorical, Categorical);
- scipy: special.rel_entr, stats.entropy, spatial.distance.jensenshannon (on fine bins),
  stats.wasserstein_distance and stats frozen distributions' ppf;
- POT: ot.gaussian.bures_wasserstein_distance (W2 between Gaussians);
- Monte Carlo with a fixed seed, compared within 5 standard errors (a false alarm has
  probability below 1e-6 per comparison);
- the quadrature against the closed forms and the closed forms against each other
  (alpha = 1/2 is twice the squared Hellinger, gan = 2 JS - log 4, ...).

Tolerances: closed forms in float64 against other float64 implementations of the same formula:
rtol 1e-12 plus an absolute term for the cancellation in the other implementation (stated per
test). Quadrature against closed forms: rtol 1e-8 (the issue's target) and, separately, the
difference must lie within QUADPACK's own error estimate plus 1e-12 relative (the estimate must be
honest).
"""

from __future__ import annotations

import doctest
import math

import mpmath
import numpy as np
import ot
import pytest
import scipy.spatial.distance
import scipy.special
import scipy.stats
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import distributions as td

import divergences as dv
from divergences.numeric import analytic
from divergences.numeric.analytic import (
    _dispatch,
    _kl,
    _normal,
    _quadrature,
    _transport,
)
from divergences.testing import distribution_pairs, normal_parameters

F64 = torch.float64
CLOSED = [
    "kl",
    "reverse_kl",
    "pearson",
    "neyman",
    "squared_hellinger",
    "jeffrey",
    "total_variation",
]

# moderate normals: scales within a factor 30 of each other, so that most pairs have finite chi^2
moderate = normal_parameters(loc_range=5.0, scale_range=(0.2, 6.0))


@pytest.mark.parametrize(
    "module", [analytic, _kl, _normal, _quadrature, _transport, _dispatch], ids=lambda m: m.__name__
)
def test_doctests(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# --------------------------------------------------------------------------------------------
# KL closed forms against torch.distributions
# --------------------------------------------------------------------------------------------


@given(normal_parameters(), normal_parameters())
@example((0.0, 1.0), (0.0, 1.0))
@example((0.0, 1.0), (1.0, 1.0 + 1e-9))
def test_kl_normal_matches_torch(a, b) -> None:
    (m1, s1), (m2, s2) = a, b
    ours = float(analytic.kl_normal(m1, s1, m2, s2))
    theirs = float(
        td.kl_divergence(
            td.Normal(torch.tensor(m1, dtype=F64), torch.tensor(s1, dtype=F64)),
            td.Normal(torch.tensor(m2, dtype=F64), torch.tensor(s2, dtype=F64)),
        )
    )
    # torch sums var_ratio + t1 - 1 - log(var_ratio): absolute rounding ~ 4 eps per term
    ratio = (s1 / s2) ** 2
    cancellation = 4 * 2.2e-16 * (ratio + ((m1 - m2) / s2) ** 2 + 1 + abs(math.log(ratio)))
    assert ours == pytest.approx(theirs, rel=1e-12, abs=cancellation)
    assert ours >= 0


def test_kl_normal_keeps_relative_accuracy_for_nearby_scales() -> None:
    # KL(N(0, 1) || N(0, s^2)) = (rho - 1 - log rho)/2 with rho = 1/s^2; series by mpmath
    import mpmath

    with mpmath.workdps(50):
        s = mpmath.mpf(1) + mpmath.mpf(1e-9)
        rho = 1 / s**2
        exact = float((rho - 1 - mpmath.log(rho)) / 2)
    assert float(analytic.kl_normal(0.0, 1.0, 0.0, 1.0 + 1e-9)) == pytest.approx(exact, rel=1e-6)


@settings(max_examples=40)
@given(
    st.integers(1, 4).flatmap(
        lambda k: st.tuples(
            normal_parameters(dim=k, scale_range=(0.1, 10.0)),
            normal_parameters(dim=k, scale_range=(0.1, 10.0)),
        )
    )
)
def test_kl_multivariate_normal_matches_torch(pair) -> None:
    (m1, c1), (m2, c2) = pair
    ours = float(analytic.kl_multivariate_normal(m1, c1, m2, c2))
    theirs = float(
        td.kl_divergence(
            td.MultivariateNormal(torch.tensor(m1), covariance_matrix=torch.tensor(c1)),
            td.MultivariateNormal(torch.tensor(m2), covariance_matrix=torch.tensor(c2)),
        )
    )
    # both via Cholesky; condition numbers <= 1e4, so solves agree to ~1e4 * k * eps relative
    scale = 1.0 + abs(ours) + np.trace(np.linalg.solve(c2, c1))
    assert ours == pytest.approx(theirs, rel=1e-10, abs=1e-11 * scale)


@given(normal_parameters(), normal_parameters())
def test_kl_multivariate_normal_in_one_dimension_is_kl_normal(a, b) -> None:
    (m1, s1), (m2, s2) = a, b
    mv = analytic.kl_multivariate_normal([m1], [[s1**2]], [m2], [[s2**2]])
    assert float(mv) == pytest.approx(
        float(analytic.kl_normal(m1, s1, m2, s2)), rel=1e-10, abs=1e-13
    )


def test_kl_multivariate_normal_broadcasts() -> None:
    m = np.zeros((3, 2))
    c = np.stack([np.eye(2) * s for s in (1.0, 2.0, 3.0)])
    out = analytic.kl_multivariate_normal(m, c, np.zeros(2), np.eye(2))
    expected = [analytic.kl_normal(0, math.sqrt(s), 0, 1) * 2 for s in (1.0, 2.0, 3.0)]
    assert out.shape == (3,)
    np.testing.assert_allclose(out, np.array(expected, dtype=float), rtol=1e-12, atol=1e-15)


unit = st.floats(0.0, 1.0)
interior = st.floats(1e-12, 1 - 1e-12)


@given(interior, interior)
def test_kl_bernoulli_matches_torch(p: float, q: float) -> None:
    ours = float(analytic.kl_bernoulli(p, q))
    theirs = float(
        td.kl_divergence(
            td.Bernoulli(torch.tensor(p, dtype=F64)), td.Bernoulli(torch.tensor(q, dtype=F64))
        )
    )
    # torch goes through logits; terms are at most |log 1e-12| ~ 28 in size
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-13)


@pytest.mark.parametrize(
    ("p", "q", "expected"),
    [
        (0.0, 0.5, math.log(2)),
        (1.0, 0.5, math.log(2)),
        (0.0, 0.0, 0.0),
        (1.0, 1.0, 0.0),
        (0.5, 0.0, math.inf),
        (0.5, 1.0, math.inf),
        (0.0, 1.0, math.inf),
    ],
)
def test_kl_bernoulli_edges(p: float, q: float, expected: float) -> None:
    # Cover & Thomas Sec. 2.3 conventions: 0 log(0/q) = 0, p log(p/0) = +inf
    assert float(analytic.kl_bernoulli(p, q)) == pytest.approx(expected, rel=1e-15)


@given(distribution_pairs(dtype=np.float64))
def test_kl_categorical_matches_scipy_and_torch(pair) -> None:
    p, q = pair
    ours = float(analytic.kl_categorical(p, q))
    assert ours == pytest.approx(float(np.sum(scipy.special.rel_entr(p, q))), rel=1e-12, abs=1e-300)
    theirs = float(
        td.kl_divergence(
            td.Categorical(probs=torch.tensor(p)), td.Categorical(probs=torch.tensor(q))
        )
    )
    # torch: p (log p - log q) after renormalising: same terms up to rounding of the logs
    assert ours == pytest.approx(
        theirs, rel=1e-10, abs=1e-14 * (1 + np.sum(p * np.abs(np.log(np.where(q > 0, q, 1.0)))))
    )


def test_kl_categorical_batches_and_validates() -> None:
    p = np.array([[0.5, 0.5], [1.0, 0.0]])
    q = np.array([0.25, 0.75])
    out = analytic.kl_categorical(p, q)
    assert out.shape == (2,)
    assert out[1] == pytest.approx(math.log(4), rel=1e-15)
    with pytest.raises(ValueError, match="q must lie"):
        analytic.kl_categorical([0.5, 0.5], [-0.5, 1.5])


def test_invalid_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="scale1"):
        analytic.kl_normal(0.0, 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="scale2"):
        analytic.squared_hellinger_normal(0.0, 1.0, 0.0, -1.0)
    with pytest.raises(ValueError, match="alpha"):
        analytic.alpha_divergence_normal(1.0, 0.0, 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="positive scales"):
        analytic.f_divergence_normal_quad("kl", 0.0, 1.0, 0.0, math.nan)
    with pytest.raises(TypeError, match="parameters"):
        analytic.f_divergence_normal_quad(dv.get("kl"), 0.0, 1.0, 0.0, 1.0, alpha=2)
    with pytest.raises(ValueError, match="p must be"):
        analytic.wasserstein_quantile_quad(scipy.stats.norm(), scipy.stats.norm(), p=0.5)
    with pytest.raises(TypeError, match="frozen"):
        analytic.wasserstein1_quad(scipy.stats.norm(), 3.0)


# --------------------------------------------------------------------------------------------
# Monte Carlo
# --------------------------------------------------------------------------------------------


def _mc(values: np.ndarray) -> tuple[float, float]:
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


def _mixture_mc(g_p: np.ndarray, g_q: np.ndarray) -> tuple[float, float]:
    """E_M[g] for M = (P + Q)/2 from equal-sized samples of P and Q (stratified)."""
    mean = 0.5 * (g_p.mean() + g_q.mean())
    se = 0.5 * math.sqrt(g_p.var(ddof=1) / g_p.size + g_q.var(ddof=1) / g_q.size)
    return float(mean), float(se)


# Bounded integrands against the mixture M = (P + Q)/2, in l = log p - log q:
# TV = E_M |tanh(l/2)|, squared Hellinger = E_M 2 (1 - sech(l/2)),
# JS = E_M [s log(2 s) + (1 - s) log(2 (1 - s))] with s = p/(p + q) = sigmoid(l).
_MIXTURE_INTEGRANDS = {
    "total_variation": lambda lr: np.abs(np.tanh(lr / 2)),
    "squared_hellinger": lambda lr: 2 * (1 - 1 / np.cosh(lr / 2)),
    "js": lambda lr: (
        scipy.special.expit(lr) * (np.log(2.0) + scipy.special.log_expit(lr))
        + scipy.special.expit(-lr) * (np.log(2.0) + scipy.special.log_expit(-lr))
    ),
}


@pytest.mark.parametrize(
    ("a", "b"), [((0.0, 1.0), (1.0, 2.0)), ((2.0, 0.5), (-1.0, 1.5)), ((0.0, 1.0), (0.0, 0.5))]
)
def test_normal_divergences_against_monte_carlo(a, b) -> None:
    rng = np.random.default_rng(12345)
    (m1, s1), (m2, s2) = a, b
    p, q = scipy.stats.norm(m1, s1), scipy.stats.norm(m2, s2)
    xp, xq = p.rvs(200_000, random_state=rng), q.rvs(200_000, random_state=rng)
    lr_p = p.logpdf(xp) - q.logpdf(xp)
    lr_q = p.logpdf(xq) - q.logpdf(xq)
    mean, se = _mc(lr_p)  # KL = E_P log(p/q), finite variance for normals
    assert abs(mean - float(analytic.kl_normal(m1, s1, m2, s2))) <= 5 * se
    for name, g in _MIXTURE_INTEGRANDS.items():
        mean, se = _mixture_mc(g(lr_p), g(lr_q))
        exact = analytic.f_divergence_normal_quad(name, m1, s1, m2, s2).value
        assert abs(mean - exact) <= 5 * se, name
        if analytic.has_normal_closed_form(name):
            assert abs(mean - float(analytic.normal_closed_form(name, m1, s1, m2, s2))) <= 5 * se


@settings(max_examples=5)
@given(
    st.integers(1, 3).flatmap(
        lambda k: st.tuples(
            normal_parameters(dim=k, loc_range=1.0, scale_range=(0.5, 2.0)),
            normal_parameters(dim=k, loc_range=1.0, scale_range=(0.5, 2.0)),
        )
    )
)
def test_multivariate_against_monte_carlo(pair) -> None:
    (m1, c1), (m2, c2) = pair
    rng = np.random.default_rng(7)
    p = scipy.stats.multivariate_normal(m1, c1)
    q = scipy.stats.multivariate_normal(m2, c2)
    xp = p.rvs(100_000, random_state=rng).reshape(100_000, -1)
    xq = q.rvs(100_000, random_state=rng).reshape(100_000, -1)
    lr_p = p.logpdf(xp) - q.logpdf(xp)
    lr_q = p.logpdf(xq) - q.logpdf(xq)
    mean, se = _mc(lr_p)
    assert abs(mean - float(analytic.kl_multivariate_normal(m1, c1, m2, c2))) <= 5 * se
    hellinger = _MIXTURE_INTEGRANDS["squared_hellinger"]
    mean, se = _mixture_mc(hellinger(lr_p), hellinger(lr_q))
    exact = float(analytic.squared_hellinger_multivariate_normal(m1, c1, m2, c2))
    assert abs(mean - exact) <= 5 * se


# --------------------------------------------------------------------------------------------
# Closed forms against each other
# --------------------------------------------------------------------------------------------


@given(moderate, moderate)
def test_closed_forms_are_consistent(a, b) -> None:
    (m1, s1), (m2, s2) = a, b
    hel = float(analytic.squared_hellinger_normal(m1, s1, m2, s2))
    bc = float(analytic.bhattacharyya_coefficient_normal(m1, s1, m2, s2))
    assert hel == pytest.approx(2 - 2 * bc, rel=1e-9, abs=1e-15)
    assert float(analytic.alpha_divergence_normal(0.5, m1, s1, m2, s2)) == pytest.approx(
        2 * hel, rel=1e-12
    )
    jeff = float(analytic.jeffrey_normal(m1, s1, m2, s2))
    kl_sum = float(analytic.kl_normal(m1, s1, m2, s2) + analytic.kl_normal(m2, s2, m1, s1))
    assert jeff == pytest.approx(kl_sum, rel=1e-10, abs=1e-14)
    assert float(analytic.neyman_chi2_normal(m1, s1, m2, s2)) == pytest.approx(
        float(analytic.pearson_chi2_normal(m2, s2, m1, s1)), rel=1e-12
    )
    # Pearson by its own formula (Nielsen & Nock 2014), in mpmath (it may exceed 1e308)
    pearson = float(analytic.pearson_chi2_normal(m1, s1, m2, s2))
    if 2 * s2**2 > s1**2:
        with mpmath.workdps(40):
            a2 = 2 * mpmath.mpf(s2) ** 2 - mpmath.mpf(s1) ** 2
            direct = s2**2 / (s1 * mpmath.sqrt(a2)) * mpmath.exp((m1 - m2) ** 2 / a2) - 1
        assert pearson == pytest.approx(float(direct), rel=1e-9, abs=1e-14)
    else:
        assert pearson == math.inf
    # Pinsker and the Hellinger-TV inequalities between the closed forms
    assert 0 <= hel <= 2
    tv = float(analytic.total_variation_normal(m1, s1, m2, s2))
    assert tv <= math.sqrt(float(analytic.kl_normal(m1, s1, m2, s2)) / 2) + 1e-12
    assert hel / 2 <= tv + 1e-12 and tv <= math.sqrt(hel * (1 - hel / 4)) + 1e-12


def test_total_variation_equal_scales() -> None:
    # TV(N(0, 1), N(d, 1)) = 2 Phi(d/2) - 1
    for d in (1e-8, 0.1, 1.0, 5.0, 40.0):
        expected = 2 * scipy.stats.norm.cdf(d / 2) - 1
        assert float(analytic.total_variation_normal(0.0, 1.0, d, 1.0)) == pytest.approx(
            expected, rel=1e-12
        )
    assert float(analytic.total_variation_normal(0.0, 1.0, 0.0, 1.0)) == 0.0


@given(
    st.integers(1, 3).flatmap(
        lambda k: st.tuples(
            st.lists(st.tuples(st.floats(-3, 3), st.floats(0.3, 3)), min_size=k, max_size=k),
            st.lists(st.tuples(st.floats(-3, 3), st.floats(0.3, 3)), min_size=k, max_size=k),
        )
    )
)
def test_multivariate_hellinger_factorises_for_diagonal_covariances(params) -> None:
    first, second = params
    m1, s1 = (np.array(x) for x in zip(*first, strict=True))
    m2, s2 = (np.array(x) for x in zip(*second, strict=True))
    bc = np.prod(analytic.bhattacharyya_coefficient_normal(m1, s1, m2, s2))
    mv = analytic.squared_hellinger_multivariate_normal(m1, np.diag(s1**2), m2, np.diag(s2**2))
    assert float(mv) == pytest.approx(2 - 2 * bc, rel=1e-10, abs=1e-15)


def test_normal_closed_form_dispatch() -> None:
    assert analytic.has_normal_closed_form("kl")
    assert analytic.has_normal_closed_form("alpha", alpha=3)
    for name in ("js", "gan", "js_weighted"):
        assert not analytic.has_normal_closed_form(name)
        with pytest.raises(NotImplementedError, match="f_divergence_normal_quad"):
            analytic.normal_closed_form(name, 0.0, 1.0, 0.0, 1.0)
    import sympy as sp

    u = sp.Symbol("u", positive=True)
    mine = dv.FDivergence.from_generator(3 * (u - 1) ** 2, u, name="kl")  # reuses a name, not f
    assert not analytic.has_normal_closed_form(mine)
    assert float(
        analytic.normal_closed_form("alpha", 0.0, 1.0, 1.0, 1.0, alpha=2)
    ) == pytest.approx(float(analytic.pearson_chi2_normal(0.0, 1.0, 1.0, 1.0)) / 2, rel=1e-14)


# --------------------------------------------------------------------------------------------
# Quadrature against closed forms
# --------------------------------------------------------------------------------------------


def _check_quad(name: str, params: dict, a, b) -> None:
    (m1, s1), (m2, s2) = a, b
    closed = float(analytic.normal_closed_form(name, m1, s1, m2, s2, **params))
    quad = analytic.f_divergence_normal_quad(name, m1, s1, m2, s2, **params)
    if math.isinf(closed):
        assert quad.value == math.inf
        return
    assert quad.value == pytest.approx(closed, rel=1e-8, abs=1e-14)
    assert abs(quad.value - closed) <= quad.error + 1e-12 * abs(closed) + 1e-15


@pytest.mark.parametrize(
    ("name", "params"),
    [(n, {}) for n in CLOSED] + [("alpha", {"alpha": a}) for a in (-1, 0.3, 2, 3)],
)
def test_quadrature_matches_closed_forms(name: str, params: dict) -> None:
    @settings(max_examples=15)
    @given(moderate, moderate)
    @example((0.0, 1.0), (0.0, 1.0))
    @example((0.0, 1.0), (1.0, 1.0))
    @example((0.0, 1.0), (0.0, 2.0))
    @example((3.0, 0.2), (-2.0, 5.0))
    @example((1000.0, 0.001), (1000.001, 0.002))  # means far from 0 relative to the scales
    @example((0.0, 1.41), (0.0, 1.0))  # chi^2 close to its boundary 2 s2^2 = s1^2
    # found by a random stress run: a narrow P inside a wide Q (alpha = 0.3 missed 1.5e-9 of the
    # bump p^a q^(1-a) next to a long piece while estimating 1e-11; fixed by geometric breaks)
    @example((-4.026077343621548, 0.06281477028287784), (3.4398975591271874, 58.67491133867303))
    @example((-9.757971686556147, 0.0538082701812963), (-0.3398317313240149, 77.00608017357033))
    def inner(a, b) -> None:
        _check_quad(name, params, a, b)

    inner()


def test_quadrature_without_closed_forms_is_consistent() -> None:
    for (m1, s1), (m2, s2) in [
        ((0.0, 1.0), (1.0, 1.0)),
        ((3.0, 0.1), (-2.0, 5.0)),
        ((0.0, 2.0), (0.5, 1.5)),
    ]:
        js = analytic.f_divergence_normal_quad("js", m1, s1, m2, s2)
        gan = analytic.f_divergence_normal_quad("gan", m1, s1, m2, s2)
        jsw = analytic.f_divergence_normal_quad("js_weighted", m1, s1, m2, s2, pi=0.5)
        assert 0 < js.value < math.log(2)
        assert gan.value == pytest.approx(2 * js.value - math.log(4), rel=1e-10)
        assert jsw.value == pytest.approx(js.value, rel=1e-10)
        assert analytic.f_divergence_normal_quad("js", m2, s2, m1, s1).value == pytest.approx(
            js.value, rel=1e-10
        )
    assert analytic.f_divergence_normal_quad("gan", 0.0, 1.0, 0.0, 1.0).value == pytest.approx(
        -math.log(4), rel=1e-14
    )


def test_quadrature_js_against_fine_bins() -> None:
    # data processing: JS of the binned distributions is a lower bound that converges (scipy)
    p, q = scipy.stats.norm(0.0, 1.0), scipy.stats.norm(1.5, 0.7)
    edges = np.concatenate([[-np.inf], np.linspace(-12, 12, 200_001), [np.inf]])
    pb, qb = np.diff(p.cdf(edges)), np.diff(q.cdf(edges))
    binned = scipy.spatial.distance.jensenshannon(pb, qb) ** 2  # base e: JS itself
    quad = analytic.f_divergence_normal_quad("js", 0.0, 1.0, 1.5, 0.7).value
    assert binned <= quad + 1e-12
    assert quad - binned < 1e-7


def test_quadrature_of_a_user_generator() -> None:
    import sympy as sp

    u = sp.Symbol("u", positive=True)
    # 2 * pearson written by hand: 2 (u - 1)^2
    mine = dv.FDivergence.from_generator(2 * (u - 1) ** 2, u, name="double_pearson")
    quad = analytic.f_divergence_normal_quad(mine, 0.0, 1.0, 0.5, 1.2).value
    assert quad == pytest.approx(
        2 * float(analytic.pearson_chi2_normal(0.0, 1.0, 0.5, 1.2)), rel=1e-9
    )


def test_quadrature_reports_infinite_divergences() -> None:
    assert analytic.f_divergence_normal_quad("pearson", 0.0, 2.0, 0.0, 1.0).value == math.inf
    assert analytic.f_divergence_normal_quad("neyman", 0.0, 1.0, 0.0, 2.0).value == math.inf
    assert (
        analytic.f_divergence_normal_quad(
            "alpha", 0.0, 1.0, 0.0, 1.0 / math.sqrt(3) * 0.999, alpha=3
        ).value
        == math.inf
    )


# --------------------------------------------------------------------------------------------
# Wasserstein references
# --------------------------------------------------------------------------------------------


@given(moderate, moderate)
# found by hypothesis: the quantile functions cross at s = 6.5e-7, 1.3e-6 and 1.7e-9 (upper
# half), next to the endpoint singularity; the quantile quadrature was 7e-8 low, or did not
# converge
@example((3.0, 1.2840254166877414), (1.625, 1.0))
@example((3.0, 1.2840254166877414), (1.75, 1.0))
@example((4.5, 1.0), (-2.5, 2.184200810815618))
# found by a sweep: the CDFs cross between the quadrature's break points (x = -1.99), and the
# CDF quadrature was 1e-7 low
@example((1.0, 1.2840254166877414), (5.0, 3.0))
@example((-1.754951812201544, 0.7963605415711459), (4.876947376557082, 3.6416455923517157))
def test_w1_quadratures_agree(a, b) -> None:
    (m1, s1), (m2, s2) = a, b
    first, second = scipy.stats.norm(m1, s1), scipy.stats.norm(m2, s2)
    by_cdf = analytic.wasserstein1_quad(first, second)
    by_quantile = analytic.wasserstein_quantile_quad(first, second, p=1)
    assert by_cdf.value == pytest.approx(by_quantile.value, rel=1e-8, abs=1e-12)
    # W1 <= W2 (Jensen) and W1 >= |m1 - m2| (the mean is 1-Lipschitz)
    w2 = float(analytic.wasserstein2_normal(m1, s1**2, m2, s2**2))
    assert abs(m1 - m2) - 1e-9 <= by_cdf.value <= w2 + 1e-9


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((3.0, math.exp(0.25)), (1.625, 1.0)),
        ((3.0, math.exp(0.25)), (1.75, 1.0)),
        ((4.5, 1.0), (-2.5, 2.184200810815618)),
        ((1.0, math.exp(0.25)), (5.0, 3.0)),
        ((-1.754951812201544, 0.7963605415711459), (4.876947376557082, 3.6416455923517157)),
        ((0, 1), (0, 2)),
    ],
)
def test_w1_between_normals_against_the_closed_form(a, b) -> None:
    # W1(N(m1, s1), N(m2, s2)) = E|d + c Z| with d = m1 - m2, c = s1 - s2 (the quantile
    # coupling is monotone), = |d| (1 - 2 Phi(-|d|/|c|)) + 2 |c| phi(d/c): the mean of a folded
    # normal (Leone, Nelson & Nottingham, Technometrics 3(4), 1961), evaluated in mpmath
    (m1, s1), (m2, s2) = a, b
    with mpmath.workdps(40):
        d, c = abs(mpmath.mpf(m1) - m2), abs(mpmath.mpf(s1) - s2)
        exact = float(d * (1 - 2 * mpmath.ncdf(-d / c)) + 2 * c * mpmath.npdf(d / c))
    first, second = scipy.stats.norm(m1, s1), scipy.stats.norm(m2, s2)
    assert analytic.wasserstein_quantile_quad(first, second, p=1).value == pytest.approx(
        exact, rel=1e-12
    )
    assert analytic.wasserstein1_quad(first, second).value == pytest.approx(exact, rel=1e-10)


@pytest.mark.slow
def test_w1_quadratures_agree_on_a_sweep() -> None:
    # both references on 1280 grid pairs and 1000 random ones (about 5 minutes): the sweep that
    # found the crossings missed by the CDF quadrature
    means = [-5, -4.5, -2.5, 0, 1, 1.625, 1.75, 3, 4.5, 5]
    scales = [0.2, 0.5, 1, math.exp(0.25), 2, 2.1842, 3, 6]
    cases = [
        ((m1, s1), (m2, s2))
        for m1 in means
        for s1 in scales
        for m2 in means[::3]
        for s2 in scales[::2]
    ]
    rng = np.random.default_rng(1)
    cases += [
        ((rng.uniform(-5, 5), rng.uniform(0.2, 6)), (rng.uniform(-5, 5), rng.uniform(0.2, 6)))
        for _ in range(1000)
    ]
    for a, b in cases:
        first, second = scipy.stats.norm(*a), scipy.stats.norm(*b)
        by_cdf = analytic.wasserstein1_quad(first, second).value
        by_quantile = analytic.wasserstein_quantile_quad(first, second, p=1).value
        assert by_cdf == pytest.approx(by_quantile, rel=1e-8, abs=1e-12), (a, b)


def test_w1_closed_cases() -> None:
    # a shift: W1 = |shift|; scaling a centred normal: W1 = |s1 - s2| E|Z| = |s1 - s2| sqrt(2/pi)
    assert analytic.wasserstein1_quad(
        scipy.stats.norm(0, 1), scipy.stats.norm(3, 1)
    ).value == pytest.approx(3.0, rel=1e-10)
    scaled = analytic.wasserstein1_quad(scipy.stats.norm(0, 1), scipy.stats.norm(0, 3))
    assert scaled.value == pytest.approx(2 * math.sqrt(2 / math.pi), rel=1e-10)
    # exponential distributions with scales 1 and 2: W1 = integral of e^{-x/2} - e^{-x} = 1
    expo = analytic.wasserstein1_quad(scipy.stats.expon(), scipy.stats.expon(scale=2))
    assert expo.value == pytest.approx(1.0, rel=1e-10)
    # plain CDF callables with break points
    plain = analytic.wasserstein1_quad(
        scipy.stats.norm(0, 1).cdf, scipy.stats.norm(0, 3).cdf, points=[-20, 0, 20]
    )
    assert plain.value == pytest.approx(scaled.value, rel=1e-9)


def test_w1_against_samples() -> None:
    # scipy.stats.wasserstein_distance on large samples converges at rate n^{-1/2}
    rng = np.random.default_rng(3)
    first, second = scipy.stats.norm(0.0, 1.0), scipy.stats.gamma(2.0)
    x = first.rvs(400_000, random_state=rng)
    y = second.rvs(400_000, random_state=rng)
    sampled = scipy.stats.wasserstein_distance(x, y)
    assert sampled == pytest.approx(analytic.wasserstein1_quad(first, second).value, abs=0.01)


@given(moderate, moderate)
# found by hypothesis: equal covariances, whose general Bures form gave W2 = 3.7e-9 instead of 0
@example((0.0, 0.2283555257334641), (0.0, 0.2283555257334641))
# found by hypothesis: the quantile functions cross at s = 1/2 - 1e-16, an interval of one ulp
@example((0.0, 1.0), (2.220446049250313e-16, 0.36787944117144233))
def test_w2_normal_univariate(a, b) -> None:
    (m1, s1), (m2, s2) = a, b
    closed = float(analytic.wasserstein2_normal(m1, s1**2, m2, s2**2))
    assert closed == pytest.approx(math.hypot(m1 - m2, s1 - s2), rel=1e-12)
    quantile = analytic.wasserstein_quantile_quad(
        scipy.stats.norm(m1, s1), scipy.stats.norm(m2, s2), p=2
    )
    assert quantile.value == pytest.approx(closed, rel=1e-8, abs=1e-10)
    matrix = float(analytic.wasserstein2_normal([m1], [[s1**2]], [m2], [[s2**2]]))
    assert matrix == pytest.approx(closed, rel=1e-10, abs=1e-12)


@given(
    st.integers(1, 4).flatmap(
        lambda k: st.tuples(
            normal_parameters(dim=k, scale_range=(0.1, 10.0)),
            normal_parameters(dim=k, scale_range=(0.1, 10.0)),
        )
    )
)
def test_w2_normal_matches_pot_and_is_symmetric(pair) -> None:
    (m1, c1), (m2, c2) = pair
    ours = float(analytic.wasserstein2_normal(m1, c1, m2, c2))
    pot = float(ot.gaussian.bures_wasserstein_distance(m1, m2, c1, c2))
    scale = math.sqrt(np.trace(c1) + np.trace(c2)) + np.linalg.norm(m1 - m2)
    # W2 is a square root of a difference: near 0 its error is sqrt(eps * scale^2)
    assert ours == pytest.approx(pot, rel=1e-7, abs=1e-6 * scale)
    assert ours == pytest.approx(
        float(analytic.wasserstein2_normal(m2, c2, m1, c1)), rel=1e-7, abs=1e-6 * scale
    )


def test_w2_commuting_covariances() -> None:
    # diagonal covariances commute: W2^2 = |dm|^2 + ||S1^(1/2) - S2^(1/2)||_F^2
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    dm = np.array([1.0, -2.0, 0.5])
    expected = math.sqrt(dm @ dm + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2))
    got = float(analytic.wasserstein2_normal(dm, np.diag(s1), np.zeros(3), np.diag(s2)))
    assert got == pytest.approx(expected, rel=1e-13)
