"""The sample-based f-GAN lower bound of divergences.distributions.variational_estimate.

True values: ``divergences.distributions.divergence`` by closed form (KL: torch's formula;
Pearson and squared Hellinger: Gil, Alajaji & Linder 2013) or by quadrature (JS, checked against
mpmath elsewhere), for P = N(0, 1) and Q = N(1, 1): KL 1/2, chi^2 e - 1, H^2 2 - 2 e^(-1/8),
JS 0.11142.

Tolerance: the held-out value is a lower bound in expectation (Fenchel-Young) measured with
sampling noise, so ``true - slack - 4 se <= value <= true + 4 se``, with ``slack`` 15% of the
true value for the gap of a small critic trained for a few hundred steps (measured: 1-7% with
these seeds and sizes, ``pearson``'s unbounded optimal critic the worst).
"""

from __future__ import annotations

import pytest
import torch
from torch import distributions as td

import divergences as dv
from divergences.distributions import VariationalEstimate, divergence, variational_estimate


def _samples(n: int) -> tuple[torch.Tensor, torch.Tensor, td.Normal, td.Normal]:
    g = torch.Generator().manual_seed(0)
    p, q = td.Normal(0.0, 1.0), td.Normal(1.0, 1.0)
    return torch.randn(n, generator=g), torch.randn(n, generator=g) + 1.0, p, q


def _check(name: str, n: int, steps: int, hidden: int) -> VariationalEstimate:
    x_p, x_q, p, q = _samples(n)
    true = divergence(name, p, q).value.item()
    result = variational_estimate(name, x_p, x_q, steps=steps, hidden=hidden, generator=0)
    se = result.standard_error.item()
    assert true - 0.15 * true - 4 * se <= result.value.item() <= true + 4 * se, (
        name,
        result.value.item(),
        se,
        true,
    )
    assert 0 < se < 0.3 * true
    return result


def test_kl_converges_to_the_closed_form() -> None:
    result = _check("kl", n=1500, steps=150, hidden=32)
    assert result.method == "variational" and result.num_samples == 2 * 375
    assert isinstance(result.critic, torch.nn.Module)
    assert result.train_value is not None


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kl", "js", "pearson", "squared_hellinger"])
def test_variational_bound_converges_on_two_normals(name: str) -> None:
    _check(name, n=4000, steps=300, hidden=64)


def test_a_given_critic_is_trained_and_the_samples_are_checked() -> None:
    x_p, x_q, _, _ = _samples(400)
    critic = torch.nn.Linear(1, 1)  # kl's optimal critic 1 + log(p/q) = 1.5 - x is linear
    before = critic.weight.detach().clone()
    result = variational_estimate(
        "kl", x_p[:, None], x_q[:, None], critic, steps=300, lr=0.05, generator=1
    )
    assert result.critic is critic and not torch.equal(before, critic.weight.detach())
    assert critic.weight.item() == pytest.approx(-1.0, abs=0.2)
    with pytest.raises(dv.InputError, match="event shapes"):
        variational_estimate("kl", x_p[:, None], x_q[:, None].repeat(1, 2), steps=1)
    with pytest.raises(dv.InputError, match="held_out"):
        variational_estimate("kl", x_p, x_q, held_out=1.0, steps=1)
    with pytest.raises(dv.InputError, match="NaN"):
        variational_estimate("kl", torch.full((10,), float("nan")), x_q, steps=1)
