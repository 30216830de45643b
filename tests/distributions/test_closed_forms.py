"""Closed forms of divergences.distributions against independent oracles, and their dispatch.

Where expected values come from:
- ``torch.distributions.kl_divergence`` (KL, reverse KL, Jeffreys: the forms delegate to it, so
  the check is that the delegation is the right one, arguments in the right order);
- ``divergences.numeric.analytic`` (NumPy/SciPy, an independent float64 implementation):
  ``alpha_divergence_normal``, ``squared_hellinger_normal``, ``pearson_chi2_normal``,
  ``neyman_chi2_normal``, ``total_variation_normal``, ``squared_hellinger_multivariate_normal``
  (Gil, Alajaji & Linder 2013; Kailath 1967; Nielsen & Nock 2014; Scheffé 1947);
- ``scipy.stats.norm.cdf`` for TV with equal variances, :math:`2\\Phi(|\\Delta|/2\\sigma) - 1`;
- products of univariate Chernoff integrals for diagonal multivariate normals (the integral
  factorises) and invariance under a common rotation (the divergence is coordinate-free);
- exact sums in mpmath (50 digits) of ``q f(p/q)`` with the SymPy generator for Bernoulli and
  Categorical pairs.

Tolerances: float64 closed forms against another float64 implementation of the same formula,
rtol 1e-12 (both are ``expm1`` of a log-integral computed to a few ulps); the multivariate form
computes in a whitened frame, rtol 1e-10.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import scipy.stats
import sympy as sp
import torch
from torch import distributions as td

import divergences as dv
from divergences.distributions import _registry, divergence, register_divergence
from divergences.numeric import analytic
from divergences.numeric.analytic import generator_mpmath
from divergences.registry import REGISTRY

F64 = torch.float64


def _t(values: object) -> torch.Tensor:
    return torch.as_tensor(values, dtype=F64)


# pairs for torch's KL table (each a family with a torch formula)
KL_PAIRS = [
    (td.Normal(_t([0.0, 1.0]), _t([1.0, 2.0])), td.Normal(_t([0.5, -1.0]), _t([0.7, 3.0]))),
    (td.Gamma(_t([2.0, 0.5]), _t([1.0, 3.0])), td.Gamma(_t([1.5, 2.0]), _t([2.0, 0.5]))),
    (td.Beta(_t([2.0, 0.5]), _t([3.0, 1.5])), td.Beta(_t([1.0, 2.0]), _t([2.5, 0.7]))),
    (td.Exponential(_t([1.0, 4.0])), td.Exponential(_t([2.0, 0.5]))),
    (td.Uniform(_t([0.0, 0.0]), _t([1.0, 2.0])), td.Uniform(_t([-1.0, 0.0]), _t([2.0, 1.0]))),
    (
        td.MultivariateNormal(_t([0.0, 1.0]), _t([[2.0, 0.3], [0.3, 1.0]])),
        td.MultivariateNormal(_t([1.0, -1.0]), _t([[1.0, -0.2], [-0.2, 0.5]])),
    ),
]


@pytest.mark.parametrize("pair", KL_PAIRS, ids=lambda pair: type(pair[0]).__name__)
def test_kl_reverse_kl_and_jeffrey_delegate_to_torch(pair) -> None:
    p, q = pair
    # oracle: torch.distributions.kl_divergence, both orders
    forward, backward = td.kl_divergence(p, q), td.kl_divergence(q, p)
    for name, expected in (
        ("kl", forward),
        ("reverse_kl", backward),
        ("jeffrey", forward + backward),
    ):
        result = divergence(name, p, q)
        assert result.method == "closed"
        torch.testing.assert_close(result.value, expected, rtol=1e-14, atol=0.0)
        assert torch.equal(result.standard_error, torch.zeros_like(expected))


def test_uniform_pairs_nested_or_disjoint_are_infinite_where_kl_is() -> None:
    # KL(U(0,2) || U(0,1)) = inf (P not << Q); KL(U(0,1) || U(0,2)) = log 2 (torch's formula)
    value = divergence("kl", td.Uniform(_t(0.0), _t(2.0)), td.Uniform(_t(0.0), _t(1.0))).value
    assert value.item() == math.inf
    value = divergence("kl", td.Uniform(_t(0.0), _t(1.0)), td.Uniform(_t(0.0), _t(2.0))).value
    assert value.item() == pytest.approx(math.log(2.0), rel=1e-15)


# normals on a grid that covers equal and unequal scales, far means and the chi^2 boundary
LOCS = [-3.0, 0.0, 0.1, 2.5]
SCALES = [0.3, 1.0, 1.4, 3.0]
GRID = np.array(
    [(m1, s1, m2, s2) for m1 in LOCS for s1 in SCALES for m2 in LOCS[:2] for s2 in SCALES]
).T


def _normals(grid: np.ndarray = GRID) -> tuple[td.Normal, td.Normal]:
    m1, s1, m2, s2 = (_t(x) for x in grid)
    return td.Normal(m1, s1), td.Normal(m2, s2)


ORACLES = {
    "squared_hellinger": analytic.squared_hellinger_normal,
    "pearson": analytic.pearson_chi2_normal,
    "neyman": analytic.neyman_chi2_normal,
    "total_variation": analytic.total_variation_normal,
}


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_normal_closed_forms_match_the_numpy_oracles(name: str) -> None:
    p, q = _normals()
    expected = ORACLES[name](*GRID)  # oracle: divergences.numeric.analytic (NumPy)
    result = divergence(name, p, q)
    assert result.method == "closed"
    got = result.value.numpy()
    assert np.array_equal(np.isinf(got), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-12, atol=1e-300)


def test_pearson_is_infinite_exactly_where_2_s2_squared_le_s1_squared() -> None:
    # the integral of p^2/q diverges iff 2 s2^2 <= s1^2 (Nielsen & Nock 2014)
    p, q = _normals()
    got = divergence("pearson", p, q).value.numpy()
    s1, s2 = GRID[1], GRID[3]
    diverges = 2 * s2**2 <= s1**2
    assert np.isinf(got[diverges]).all() and diverges.any()
    # elsewhere finite, except where the value itself exceeds the float64 range (the oracle's)
    overflows = np.isinf(analytic.pearson_chi2_normal(*GRID)) & ~diverges
    assert np.array_equal(np.isinf(got[~diverges]), overflows[~diverges])


@pytest.mark.parametrize("alpha", [-1.5, 0.25, 3.0])
def test_alpha_family_between_normals(alpha: float) -> None:
    p, q = _normals()
    expected = analytic.alpha_divergence_normal(alpha, *GRID)  # oracle: NumPy, Gil et al.
    got = divergence(dv.get("alpha", alpha=alpha), p, q).value.numpy()
    assert np.array_equal(np.isinf(got), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-12, atol=1e-300)


def test_total_variation_with_equal_variances_is_2_phi_minus_1() -> None:
    delta, sigma = np.array([0.0, 1e-8, 0.3, 2.0, 9.0]), 1.7
    p = td.Normal(_t(delta), _t(sigma))
    q = td.Normal(_t(0.0), _t(sigma))
    expected = 2 * scipy.stats.norm.cdf(np.abs(delta) / (2 * sigma)) - 1  # oracle: scipy
    np.testing.assert_allclose(
        divergence("total_variation", p, q).value.numpy(), expected, rtol=1e-12, atol=1e-15
    )  # scipy: 2 Phi - 1 cancels ~eps


def _mvn(loc: list[float], cov: np.ndarray) -> td.MultivariateNormal:
    return td.MultivariateNormal(_t(loc), _t(cov))


def test_multivariate_squared_hellinger_matches_numpy_oracle() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(4, 3, 3)), rng.normal(size=(4, 3, 3))
    c1 = a @ a.transpose(0, 2, 1) + 0.5 * np.eye(3)
    c2 = b @ b.transpose(0, 2, 1) + 0.5 * np.eye(3)
    m1, m2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    expected = analytic.squared_hellinger_multivariate_normal(m1, c1, m2, c2)  # oracle: NumPy
    got = divergence(
        "squared_hellinger",
        td.MultivariateNormal(_t(m1), _t(c1)),
        td.MultivariateNormal(_t(m2), _t(c2)),
    ).value.numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("name,alpha", [("pearson", 2.0), ("neyman", -1.0), ("alpha", 0.3)])
def test_multivariate_forms_factorise_for_diagonal_covariances(name: str, alpha: float) -> None:
    # oracle: a product of univariate Chernoff integrals (NumPy), D = (prod C_i - 1)/(a(a-1))
    m1, s1 = np.array([0.0, 1.0, -0.5]), np.array([1.0, 0.6, 2.0])
    m2, s2 = np.array([0.3, 0.2, -1.0]), np.array([1.2, 0.9, 1.8])
    chernoff = np.prod(analytic.chernoff_integral_normal(alpha, m1, s1, m2, s2))
    expected = (chernoff - 1) / (alpha * (alpha - 1))
    d = dv.get("alpha", alpha=alpha) if name == "alpha" else dv.get(name)
    factor = 1.0 if name == "alpha" else 2.0  # pearson = 2 D_2, neyman = 2 D_{-1}
    got = divergence(d, _mvn(list(m1), np.diag(s1**2)), _mvn(list(m2), np.diag(s2**2))).value
    assert got.item() == pytest.approx(factor * expected, rel=1e-12)


def test_multivariate_forms_are_rotation_invariant_and_infinite_past_the_boundary() -> None:
    theta = 0.7
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    c1, c2 = np.diag([1.0, 0.5]), np.diag([0.8, 2.0])
    m1, m2 = np.array([0.2, -0.4]), np.array([1.0, 0.5])
    plain = divergence("pearson", _mvn(list(m1), c1), _mvn(list(m2), c2)).value
    turned = divergence(
        "pearson",
        _mvn(list(rotation @ m1), rotation @ c1 @ rotation.T),
        _mvn(list(rotation @ m2), rotation @ c2 @ rotation.T),
    ).value
    assert turned.item() == pytest.approx(plain.item(), rel=1e-12)
    # 2 C2 - C1 not positive definite in one direction: the chi^2 integral diverges
    wide = divergence("pearson", _mvn([0.0, 0.0], np.diag([1.0, 3.0])), _mvn([0.0, 0.0], np.eye(2)))
    assert wide.value.item() == math.inf


def _exact_sum(d: dv.FDivergence, p: list[float], q: list[float]) -> float:
    """sum_x q f(p/q) in mpmath with the registered SymPy generator: 0 f(0/0) = 0, and the
    limits f(0+), f(u)/u at u -> oo taken at u = 1e-60 and 1e60 (error ~1e-58 here)."""
    f = generator_mpmath(d)
    with mpmath.workdps(80):
        total = mpmath.mpf(0)
        for pi, qi in zip(p, q, strict=True):
            pi, qi = mpmath.mpf(pi), mpmath.mpf(qi)
            if qi == 0:
                big = mpmath.mpf(10) ** 60
                total += 0 if pi == 0 else pi * f(big) / big
            elif pi == 0:
                total += qi * f(mpmath.mpf(10) ** -60)
            else:
                total += qi * f(pi / qi)
        return float(total)


@pytest.mark.parametrize("name", ["kl", "js", "squared_hellinger", "total_variation", "pearson"])
def test_bernoulli_and_categorical_are_exact_sums(name: str) -> None:
    d = dv.get(name)
    p = td.Bernoulli(probs=_t([0.2, 0.9, 0.5]))
    q = td.Bernoulli(logits=_t([0.0, -1.0, 3.0]))
    qp = torch.sigmoid(_t([0.0, -1.0, 3.0])).tolist()
    got = divergence(d, p, q)
    assert got.method == "closed"
    for i, (a, b) in enumerate(zip([0.2, 0.9, 0.5], qp, strict=True)):
        assert got.value[i].item() == pytest.approx(
            _exact_sum(d, [1 - a, a], [1 - b, b]), rel=1e-12
        )
    pc, qc = [0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25]
    got = divergence(d, td.Categorical(probs=_t(pc)), td.Categorical(probs=_t(qc))).value
    assert got.item() == pytest.approx(_exact_sum(d, pc, qc), rel=1e-12)
    one_hot = divergence(d, td.OneHotCategorical(probs=_t(pc)), td.OneHotCategorical(probs=_t(qc)))
    assert one_hot.value.item() == got.item()


def test_categorical_kl_equals_torch_and_zero_mass_under_q_is_infinite() -> None:
    p, q = td.Categorical(probs=_t([0.5, 0.5, 0.0])), td.Categorical(probs=_t([0.2, 0.3, 0.5]))
    # oracle: torch.distributions.kl_divergence (Categorical, Categorical)
    assert divergence("kl", p, q).value.item() == pytest.approx(
        td.kl_divergence(p, q).item(), rel=1e-14
    )
    assert divergence("kl", q, p).value.item() == math.inf


def test_mutually_singular_pairs_give_f0_plus_slope_at_infinity() -> None:
    p, q = td.Poisson(_t(2.0)), td.Normal(_t(0.0), _t(1.0))
    # P and Q singular: D = f(0+) + f'(oo): kl inf, js log 2, TV 1, squared Hellinger 2
    assert divergence("kl", p, q).value.item() == math.inf
    assert divergence("js", p, q).value.item() == pytest.approx(math.log(2.0), rel=1e-15)
    assert divergence("total_variation", q, p).value.item() == 1.0
    assert divergence("squared_hellinger", p, q).value.item() == 2.0
    with pytest.raises(dv.InputError, match="mutually singular"):
        divergence("js", p, q, method="mc")


def test_a_user_generator_named_kl_gets_no_closed_form() -> None:
    u = sp.Symbol("u", positive=True)
    mine = dv.FDivergence.from_generator(u * sp.log(u), u, name="kl")
    p, q = td.Normal(_t(0.0), _t(1.0)), td.Normal(_t(1.0), _t(2.0))
    with pytest.raises(dv.InputError, match="no closed form of kl"):
        divergence(mine, p, q, method="closed")
    result = divergence(mine, p, q)
    assert result.method == "quadrature"  # same generator, so the same value by quadrature
    expected = td.kl_divergence(p, q).item()  # oracle: torch
    assert abs(result.value.item() - expected) <= result.standard_error.item() + 1e-13


class _Narrow(td.Normal):
    """A subclass: the most specific registration must win for it."""


def test_registration_dispatches_to_the_most_specific_pair_and_may_decline() -> None:
    d = dv.get("js")
    calls: list[str] = []

    @register_divergence(d, td.Normal, td.Normal)
    def _normal(p, q):
        calls.append("normal")
        return torch.zeros(())

    @register_divergence("js", _Narrow, td.Normal)
    def _narrow(p, q):
        calls.append("narrow")
        raise NotImplementedError  # declines: the next method runs

    try:
        p, q = td.Normal(_t(0.0), _t(1.0)), td.Normal(_t(1.0), _t(1.0))
        assert divergence(d, p, q).value.item() == 0.0
        result = divergence(d, _Narrow(_t(0.0), _t(1.0)), q)
        assert calls == ["normal", "narrow"]
        assert result.method == "quadrature"  # declined, so integrated
    finally:
        REGISTRY["js"].unregister_closed_form(td.Normal, td.Normal)
        REGISTRY["js"].unregister_closed_form(_Narrow, td.Normal)
        _registry._MEMO.clear()
    assert divergence(d, p, q).method == "quadrature"


def test_register_divergence_refuses_non_classes_and_unknown_names() -> None:
    with pytest.raises(TypeError, match="classes"):
        register_divergence("kl", td.Normal, "Normal")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="unknown divergence"):
        register_divergence("no_such_divergence", td.Normal, td.Normal)


def test_closed_forms_are_differentiable_and_keep_the_dtype() -> None:
    loc = torch.tensor(0.3, dtype=F64, requires_grad=True)
    scale = torch.tensor(1.2, dtype=F64, requires_grad=True)

    def hellinger(m, s):
        return divergence("squared_hellinger", td.Normal(m, s), td.Normal(_t(-0.2), _t(0.8))).value

    assert torch.autograd.gradcheck(hellinger, (loc, scale))
    value = divergence("pearson", td.Normal(0.0, 1.0), td.Normal(0.5, 1.0)).value
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(math.exp(0.25) - 1, rel=1e-6)  # chi^2 = e^{d^2} - 1
