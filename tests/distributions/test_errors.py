"""Arguments that cannot be compared are refused with ``dv.InputError`` naming the problem;
batch shapes broadcast in every method."""

from __future__ import annotations

import pytest
import torch
from torch import distributions as td

import divergences as dv
from divergences.distributions import divergence

N01 = td.Normal(0.0, 1.0)


@pytest.mark.parametrize(
    ("p", "q", "match"),
    [
        (N01, torch.zeros(3), "Q must be a torch.distributions.Distribution"),
        (N01, td.MultivariateNormal(torch.zeros(2), torch.eye(2)), "mismatched event shapes"),
        (td.Normal(torch.zeros(3), 1.0), td.Normal(torch.zeros(2), 1.0), "do not broadcast"),
        (N01, td.Normal(torch.tensor(0.0, dtype=torch.float64), 1.0), "mismatched dtypes"),
        (
            td.Categorical(probs=torch.tensor([0.5, 0.5])),
            td.Categorical(probs=torch.tensor([0.2, 0.3, 0.5])),
            "numbers of categories",
        ),
    ],
    ids=["not-a-distribution", "event-shape", "batch-shape", "dtype", "categories"],
)
def test_incomparable_arguments(p, q, match: str) -> None:
    with pytest.raises(dv.InputError, match=match):
        divergence("kl", p, q)


def test_unknown_method_name_and_closed_without_a_form() -> None:
    with pytest.raises(dv.InputError, match="method must be one of"):
        divergence("kl", N01, N01, method="exact")  # type: ignore[arg-type]
    with pytest.raises(dv.InputError, match="no closed form of js between Laplace and Normal"):
        divergence("js", td.Laplace(0.0, 1.0), N01, method="closed")
    with pytest.raises(KeyError, match="unknown divergence"):
        divergence("no_such_divergence", N01, N01)
    with pytest.raises(dv.InputError, match="FDivergence or a registered name"):
        divergence(3, N01, N01)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["closed", "quadrature", "mc"])
def test_batch_shapes_broadcast_in_every_method(method: str) -> None:
    p = td.Normal(torch.tensor([[0.0], [1.0]], dtype=torch.float64), 1.0)  # batch (2, 1)
    q = td.Normal(torch.tensor([0.5, -0.5, 2.0], dtype=torch.float64), 1.5)  # batch (3,)
    result = divergence("squared_hellinger", p, q, method=method, num_samples=20000, generator=0)
    assert result.value.shape == result.standard_error.shape == (2, 3)
    expected = divergence("squared_hellinger", p, q, method="closed").value
    tolerance = 5 * result.standard_error + 1e-12
    assert ((result.value - expected).abs() <= tolerance).all()
