"""Monte Carlo estimates: coverage of the stated standard error, proposals, seeds, errors.

Where true values come from: ``torch.distributions.kl_divergence`` (KL),
``divergences.numeric.analytic`` (NumPy closed forms: squared Hellinger, Pearson; the mpmath
quadrature for JS), hand-computed values for uniform pairs.

Coverage: 200 independent trials run as one batch of 200 identical pairs (independent samples
per batch element), 100 samples each; the true value must lie within 4 standard errors in at
least 198 of them. For a normal sampling distribution 4 sigma misses with probability 6e-5
per trial; the bar (1%) leaves room for the skew of a 100-sample mean and the noise of its
estimated standard deviation, yet an estimator whose error bar is too small by a factor 2
(coverage of 2 sigma: 95%) fails it. The seeds are fixed, so the test is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import distributions as td

import divergences as dv
from divergences.distributions import divergence
from divergences.numeric import analytic

F64 = torch.float64
TRIALS = 200


def _t(values: object) -> torch.Tensor:
    return torch.as_tensor(values, dtype=F64)


def _batch(dist_class, *params: float) -> td.Distribution:
    return dist_class(*(torch.full((TRIALS,), p, dtype=F64) for p in params))


COVERAGE = [
    ("kl", td.kl_divergence(td.Normal(_t(0.0), _t(1.0)), td.Normal(_t(0.6), _t(1.3))).item()),
    ("squared_hellinger", float(analytic.squared_hellinger_normal(0.0, 1.0, 0.6, 1.3))),
    ("js", analytic.f_divergence_normal_quad("js", 0.0, 1.0, 0.6, 1.3).value),
    ("pearson", float(analytic.pearson_chi2_normal(0.0, 1.0, 0.6, 1.3))),
]


@pytest.mark.parametrize(("name", "true"), COVERAGE, ids=[c[0] for c in COVERAGE])
def test_true_value_within_4_standard_errors_in_99_percent_of_200_trials(name, true) -> None:
    p, q = _batch(td.Normal, 0.0, 1.0), _batch(td.Normal, 0.6, 1.3)
    result = divergence(name, p, q, method="mc", num_samples=100, generator=12345)
    assert result.method == "mc" and result.num_samples == 100
    inside = (result.value - true).abs() <= 4 * result.standard_error
    assert int(inside.sum()) >= 198, int(inside.sum())
    # and the error bar is not vacuous: the spread of the 200 estimates matches it
    spread = result.value.std().item()
    assert 0.7 < spread / result.standard_error.mean().item() < 1.4


def test_importance_proposal_and_mixture_coverage() -> None:
    # 400 samples: under the mixture most points give ~0 and a few give ~2 (a rare-event
    # integrand), whose 100-sample error bar is itself too noisy (195-198 of 200 over seeds)
    p, q = _batch(td.Normal, 0.0, 1.0), _batch(td.Normal, 0.6, 1.3)
    true = COVERAGE[1][1]
    wide = _batch(td.StudentT, 4.0, 0.3, 1.5)
    for proposal in (wide, "mixture"):
        result = divergence(
            "squared_hellinger", p, q, method="mc", num_samples=400, proposal=proposal, generator=7
        )
        inside = (result.value - true).abs() <= 4 * result.standard_error
        assert int(inside.sum()) >= 198


def test_seeded_draws_are_reproducible_and_leave_the_global_rng_alone() -> None:
    p, q = td.Normal(_t(0.0), _t(1.0)), td.Normal(_t(1.0), _t(1.0))
    state = torch.random.get_rng_state()
    first = divergence(
        "js", p, q, method="mc", num_samples=500, generator=torch.Generator().manual_seed(3)
    )
    second = divergence(
        "js", p, q, method="mc", num_samples=500, generator=torch.Generator().manual_seed(3)
    )
    assert torch.equal(torch.random.get_rng_state(), state)
    assert first.value.item() == second.value.item()
    other = divergence("js", p, q, method="mc", num_samples=500, generator=4)
    assert other.value.item() != first.value.item()


def test_rtol_draws_until_the_relative_standard_error_is_met() -> None:
    p, q = td.Normal(_t([0.0, 0.0]), _t([1.0, 1.0])), td.Normal(_t([1.0, 0.3]), _t([1.0, 1.0]))
    result = divergence("kl", p, q, method="mc", num_samples=1000, rtol=0.02, generator=0)
    assert (result.standard_error <= 0.02 * result.value).all()
    assert result.num_samples > 1000 and result.num_samples % 1000 == 0
    expected = td.kl_divergence(p, q)  # oracle: torch
    assert ((result.value - expected).abs() <= 5 * result.standard_error).all()


def test_uniform_pairs_by_monte_carlo() -> None:
    # different supports: the default proposal is the mixture (P + Q)/2, which sees P's mass
    # outside Q: kl(U(0,2) || U(0,1)) = inf, tv(U(0,1), U(0.5,1.5)) = 1/2, js(disjoint) = log 2
    kl = divergence(
        "kl", td.Uniform(_t(0.0), _t(2.0)), td.Uniform(_t(0.0), _t(1.0)), method="mc", generator=0
    )
    assert kl.value.item() == math.inf and kl.standard_error.item() == 0.0
    tv = divergence(
        "total_variation",
        td.Uniform(_t(0.0), _t(1.0)),
        td.Uniform(_t(0.5), _t(1.5)),
        method="mc",
        num_samples=2000,
        generator=0,
    )
    assert abs(tv.value.item() - 0.5) <= 5 * tv.standard_error.item() + 1e-12
    js = divergence(
        "js",
        td.Uniform(_t(0.0), _t(1.0)),
        td.Uniform(_t(2.0), _t(3.0)),
        method="mc",
        num_samples=64,
        generator=0,
    )
    assert js.value.item() == pytest.approx(math.log(2.0), rel=1e-14)


def test_gradients_reparameterised_and_score_function() -> None:
    # reparameterised: d/dm KL(N(m,1) || N(0,1)) = m; estimated with common random numbers
    m = _t(0.8).requires_grad_()
    value = divergence(
        "kl",
        td.Normal(m, _t(1.0)),
        td.Normal(_t(0.0), _t(1.0)),
        method="mc",
        num_samples=20000,
        generator=1,
    ).value
    (grad,) = torch.autograd.grad(value, m)
    assert grad.item() == pytest.approx(0.8, abs=0.05)
    # no rsample (Poisson): the score-function term gives d/d rate_q of KL(Pois(a) || Pois(b))
    # = 1 - a/b (torch's closed form differentiated by hand)
    rate = _t(3.0).requires_grad_()
    value = divergence(
        "kl", td.Poisson(_t(2.0)), td.Poisson(rate), method="mc", num_samples=50000, generator=2
    ).value
    (grad,) = torch.autograd.grad(value, rate)
    assert grad.item() == pytest.approx(1 - 2.0 / 3.0, abs=0.05)


def test_float32_and_validate_false_agree() -> None:
    p, q = (
        td.Normal(torch.tensor(0.0), torch.tensor(1.0)),
        td.Normal(torch.tensor(0.5), torch.tensor(2.0)),
    )
    checked = divergence("js", p, q, method="mc", num_samples=4000, generator=9)
    unchecked = divergence("js", p, q, method="mc", num_samples=4000, generator=9, validate=False)
    assert checked.value.dtype == torch.float32
    assert checked.value.item() == pytest.approx(unchecked.value.item(), rel=1e-5)


class _BrokenNormal(td.Normal):
    """A log-density that is NaN to the right of 2."""

    def log_prob(self, value):
        out = super().log_prob(value)
        return torch.where(value > 2.0, torch.nan, out)


def test_nan_samples_and_bad_arguments_raise_input_errors() -> None:
    p, q = _BrokenNormal(_t(0.0), _t(1.0)), td.Normal(_t(0.0), _t(3.0))
    with pytest.raises(dv.InputError, match=r"Monte Carlo samples .* gave NaN: P\.log_prob"):
        divergence("kl", p, q, method="mc", generator=0)
    good = td.Normal(_t(0.0), _t(1.0))
    with pytest.raises(dv.InputError, match="num_samples"):
        divergence("kl", good, good, method="mc", num_samples=1)
    with pytest.raises(dv.InputError, match="proposal"):
        divergence("kl", good, good, method="mc", proposal="uniform")
    with pytest.raises(dv.InputError, match="generator"):
        divergence("kl", good, good, method="mc", generator="seed")  # type: ignore[arg-type]


def test_multivariate_monte_carlo_matches_the_closed_form() -> None:
    cov = _t([[1.0, 0.3], [0.3, 0.5]])
    p = td.MultivariateNormal(_t([0.0, 0.0]), cov)
    q = td.MultivariateNormal(_t([0.5, -0.2]), 1.5 * cov)
    closed = divergence("squared_hellinger", p, q)  # Kailath's formula (closed form)
    mc = divergence("squared_hellinger", p, q, method="mc", num_samples=20000, generator=5)
    assert abs(mc.value.item() - closed.value.item()) <= 5 * mc.standard_error.item()
    assert np.isfinite(mc.standard_error.item()) and mc.standard_error.item() > 0
