"""The batched Gauss-Kronrod quadrature of divergences.distributions.

Where expected values come from:
- the rule's nodes and weights: exact integrals of monomials on [-1, 1] (K15 is exact to degree
  22, G7 to degree 13), so a mistyped digit fails;
- ``torch.distributions.kl_divergence`` (KL between Gamma, Beta, Laplace ... pairs);
- ``divergences.numeric.analytic.f_divergence_normal_quad`` (mpmath integrand, QUADPACK) and
  the NumPy closed forms, for normals;
- ``scipy.integrate.quad`` with SciPy's own densities (``scipy.stats``), for pairs without a
  closed form (Laplace/Normal, Cauchy/StudentT, Gamma/LogNormal);
- hand-computed values for uniform pairs (piecewise constant integrands).

Every comparison asks the difference to lie within the stated error (the quadrature's own
estimate) plus 1e-12 relative for the oracle: the estimate must be honest, not only small.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch
from torch import distributions as td

import divergences as dv
from divergences.distributions import divergence
from divergences.distributions._quadrature import (
    _GAUSS_WEIGHTS,
    _KRONROD_WEIGHTS,
    KRONROD_NODES,
)
from divergences.numeric import analytic

F64 = torch.float64


def _t(values: object) -> torch.Tensor:
    return torch.as_tensor(values, dtype=F64)


def _within(estimate, expected: np.ndarray | float, rel: float = 1e-12, atol: float = 0.0) -> None:
    got = estimate.value.detach().numpy()
    error = estimate.standard_error.numpy()
    expected = np.asarray(expected, dtype=float)
    assert np.array_equal(np.isinf(got), np.isinf(expected))
    finite = np.isfinite(expected)
    gap = np.abs(got[finite] - expected[finite])
    assert (gap <= error[finite] + rel * np.abs(expected[finite]) + atol + 1e-300).all(), (
        got,
        expected,
        error,
    )


def test_kronrod_and_gauss_rules_integrate_monomials_exactly() -> None:
    x = np.array(KRONROD_NODES)
    for k in range(23):  # exact integral of x^k on [-1, 1]: 2/(k+1) for even k, 0 for odd
        exact = 2.0 / (k + 1) if k % 2 == 0 else 0.0
        assert np.dot(_KRONROD_WEIGHTS, x**k) == pytest.approx(exact, abs=1e-15)
        if k <= 13:
            assert np.dot(_GAUSS_WEIGHTS, x**k) == pytest.approx(exact, abs=1e-15)
    assert np.dot(_KRONROD_WEIGHTS, x**24) != pytest.approx(2.0 / 25, abs=1e-10)  # degree 23+


def test_normals_against_mpmath_quadrature_and_closed_forms() -> None:
    m1, s1 = np.array([0.0, 3.0, -1.0, 0.2]), np.array([1.0, 0.05, 2.0, 1.0])
    m2, s2 = np.array([1.0, 2.9, 5.0, 0.2]), np.array([1.0, 0.4, 0.7, 1.0 + 1e-6])
    p, q = td.Normal(_t(m1), _t(s1)), td.Normal(_t(m2), _t(s2))
    js = divergence("js", p, q)
    assert js.method == "quadrature"
    # oracle: mpmath integrand + QUADPACK (divergences.numeric.analytic; ~1 s a pair, so two)
    expected = [
        analytic.f_divergence_normal_quad("js", *args).value
        for args in list(zip(m1, s1, m2, s2, strict=True))[1:3]
    ]
    _within(type(js)(js.value[1:3], js.standard_error[1:3], js.method), expected, rel=1e-11)
    for name in ("kl", "total_variation", "neyman"):
        result = divergence(name, p, q, method="quadrature")
        # atol: the NumPy TV subtracts two masses of ~0.7 (1e-16) to get 4.8e-7 for the last pair
        _within(result, analytic.normal_closed_form(name, m1, s1, m2, s2), rel=1e-11, atol=1e-15)


def test_total_variation_kinks_are_located() -> None:
    # |p - q| has kinks where p = q; unequal scales put two of them anywhere
    rng = np.random.default_rng(0)
    m1, m2 = rng.normal(size=64), rng.normal(size=64)
    s1, s2 = np.exp(rng.normal(size=64)), np.exp(rng.normal(size=64))
    result = divergence(
        "total_variation", td.Normal(_t(m1), _t(s1)), td.Normal(_t(m2), _t(s2)), method="quadrature"
    )
    _within(result, analytic.total_variation_normal(m1, s1, m2, s2), rel=1e-12)


def _scipy_quad(d: dv.FDivergence, p_frozen, q_frozen, lo: float, hi: float, split: float) -> float:
    """oracle: scipy.integrate.quad of q f(p/q) with scipy.stats densities (log space)."""
    f = analytic.generator_mpmath(d)

    def integrand(x: float) -> float:
        lp, lq = p_frozen.logpdf(x), q_frozen.logpdf(x)
        if lq == -np.inf:
            return 0.0 if lp == -np.inf else math.inf
        ratio = mpmath.exp(mpmath.mpf(lp) - mpmath.mpf(lq)) if lp > -np.inf else mpmath.mpf(0)
        return float(mpmath.exp(lq) * f(ratio))

    # pieces split at a kink of a density (Laplace's mode) and 40 beyond it on either side
    ends = sorted({lo, hi, *(x for x in (split - 40, split, split + 40) if lo < x < hi)})
    return sum(
        scipy.integrate.quad(integrand, a, b, epsabs=1e-14, epsrel=1e-12, limit=500)[0]
        for a, b in itertools.pairwise(ends)
    )


@pytest.mark.parametrize(
    ("name", "pair", "frozen", "bounds"),
    [
        (
            "js",
            (td.Laplace(_t(0.3), _t(0.8)), td.Normal(_t(0.0), _t(1.0))),
            (scipy.stats.laplace(0.3, 0.8), scipy.stats.norm(0.0, 1.0)),
            (-np.inf, np.inf, 0.3),
        ),
        (
            "squared_hellinger",
            (td.Cauchy(_t(0.0), _t(1.0)), td.StudentT(_t(3.0), _t(0.5), _t(2.0))),
            (scipy.stats.cauchy(0.0, 1.0), scipy.stats.t(3.0, 0.5, 2.0)),
            (-np.inf, np.inf, 0.0),
        ),
        (
            "kl",
            (td.Gamma(_t(2.0), _t(1.5)), td.LogNormal(_t(0.1), _t(0.6))),
            (scipy.stats.gamma(2.0, scale=1 / 1.5), scipy.stats.lognorm(0.6, scale=math.exp(0.1))),
            (0.0, np.inf, 1.0),
        ),
    ],
    ids=["laplace-normal", "cauchy-studentt", "gamma-lognormal"],
)
def test_pairs_without_closed_forms_match_scipy(name, pair, frozen, bounds) -> None:
    d = dv.get(name)
    result = divergence(d, *pair)
    assert result.method == "quadrature"
    _within(result, _scipy_quad(d, *frozen, *bounds), rel=1e-9)


@pytest.mark.parametrize(
    ("name", "p", "q", "expected"),
    [
        # chi^2(U(0,1) || U(0,2)) = int_0^1 (2 - 1)^2/2 + int_1^2 (0 - 1/2)^2/(1/2) = 1/2 + 1/2
        ("pearson", (0.0, 1.0), (0.0, 2.0), 1.0),
        ("pearson", (0.0, 2.0), (0.0, 1.0), math.inf),  # p > 0 = q and f'(oo) = oo
        ("js", (0.0, 1.0), (2.0, 3.0), math.log(2.0)),  # disjoint: JS = log 2
        ("total_variation", (0.0, 1.0), (0.5, 1.5), 0.5),
        ("squared_hellinger", (0.0, 1.0), (0.0, 4.0), 1.0),  # 2 - 2 int sqrt(1 * 1/4) = 1
        ("neyman", (0.0, 1.0), (0.0, 2.0), math.inf),  # q > 0 = p and f(0+) = oo
    ],
)
def test_uniform_pairs_infinite_and_finite(name, p, q, expected) -> None:
    result = divergence(name, td.Uniform(*_t(p)), td.Uniform(*_t(q)), method="quadrature")
    if math.isinf(expected):
        assert result.value.item() == math.inf and result.standard_error.item() == 0.0
    else:
        assert abs(result.value.item() - expected) <= result.standard_error.item() + 1e-14


def test_kl_against_torch_for_bounded_and_half_line_families() -> None:
    pairs = [
        (td.Gamma(_t([2.0, 0.7]), _t([1.0, 2.0])), td.Gamma(_t([1.5, 3.0]), _t([2.0, 1.0]))),
        (td.Beta(_t([2.0, 0.6]), _t([3.0, 0.8])), td.Beta(_t([1.2, 2.0]), _t([2.5, 1.0]))),
        (td.Exponential(_t([1.0, 3.0])), td.Exponential(_t([2.0, 0.5]))),
    ]
    for p, q in pairs:
        result = divergence("kl", p, q, method="quadrature")
        _within(result, td.kl_divergence(p, q).numpy(), rel=1e-10)  # oracle: torch


def test_far_apart_scales_and_log_ratios_beyond_the_float_range() -> None:
    # KL(N(0,1) || N(0,1e-3)): log p/q reaches ~1e6 in the tails, where p log(p/q) is finite
    p, q = td.Normal(_t(0.0), _t(1.0)), td.Normal(_t(0.0), _t(1e-3))
    result = divergence("kl", p, q, method="quadrature")
    _within(result, td.kl_divergence(p, q).item(), rel=1e-11)
    reverse = divergence("reverse_kl", q, p, method="quadrature")  # the same number
    _within(reverse, td.kl_divergence(p, q).item(), rel=1e-11)


def test_gradient_matches_the_closed_form_gradient() -> None:
    loc = _t(0.4).requires_grad_()
    scale = _t(1.3).requires_grad_()
    q = td.Normal(_t(-0.2), _t(0.9))
    quad = divergence("squared_hellinger", td.Normal(loc, scale), q, method="quadrature").value
    grads = torch.autograd.grad(quad, (loc, scale))
    closed = divergence("squared_hellinger", td.Normal(loc, scale), q, method="closed").value
    expected = torch.autograd.grad(closed, (loc, scale))
    for g, e in zip(grads, expected, strict=True):
        assert g.item() == pytest.approx(e.item(), rel=1e-9)


def test_gradient_through_moving_support_ends() -> None:
    # chi^2(U(0,1) || U(0,b)) = b - 1 for b >= 1: d/db = 1 (the support end moves the nodes)
    b = _t(1.5).requires_grad_()
    value = divergence(
        "pearson", td.Uniform(_t(0.0), _t(1.0)), td.Uniform(_t(0.0), b), method="quadrature"
    ).value
    assert value.item() == pytest.approx(0.5, abs=1e-12)
    (grad,) = torch.autograd.grad(value, b)
    assert grad.item() == pytest.approx(1.0, rel=1e-9)


def test_float32_batches_and_tolerance() -> None:
    p = td.Normal(torch.zeros(3, 2), torch.ones(3, 2))
    q = td.Normal(torch.tensor([0.5, 1.0]), torch.tensor([1.0, 2.0]))
    result = divergence("js", p, q, rtol=1e-4)
    assert result.value.shape == (3, 2) and result.value.dtype == torch.float32
    expected = analytic.f_divergence_normal_quad("js", 0.0, 1.0, 1.0, 2.0).value  # oracle
    assert abs(result.value[1, 1].item() - expected) <= 1e-4 * expected + 1e-6
    assert (result.standard_error <= 1e-4 * result.value + 1e-7).all()


def test_quadrature_refuses_what_it_cannot_integrate() -> None:
    mvn = td.MultivariateNormal(torch.zeros(2), torch.eye(2))
    with pytest.raises(dv.InputError, match="quadrature does not apply"):
        divergence("js", mvn, mvn, method="quadrature")
    with pytest.raises(dv.InputError, match="quadrature does not apply"):
        divergence("js", td.VonMises(0.0, 1.0), td.VonMises(1.0, 1.0), method="quadrature")
