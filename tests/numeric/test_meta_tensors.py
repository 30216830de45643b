"""Tensors without data (``device="meta"``): a named InputError where values must be read, and
shape-only results where they need not be (``validate=False``).

Oracle for the shapes: the same call on real tensors of the same shape.
"""

from __future__ import annotations

import pytest
import torch

import divergences as dv
from divergences.numeric.wasserstein import sliced_wasserstein, wasserstein_1d, wasserstein_nd

P = torch.rand(3, 4)
POINTS = torch.rand(5, 2)


def _meta(x: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(x, device="meta")


DISCRETE = {
    "kl": dv.kl,
    "js": dv.js,
    "pearson": dv.get("pearson").divergence,
    "total_variation": dv.get("total_variation").divergence,
    "alpha(1/3)": dv.get("alpha", alpha=1 / 3).divergence,
}


@pytest.mark.parametrize("name", list(DISCRETE))
def test_discrete_divergences_refuse_to_validate_meta_tensors(name):
    with pytest.raises(dv.InputError, match=r"p is a meta tensor.*validate=False"):
        DISCRETE[name](_meta(P), _meta(P))


@pytest.mark.parametrize("name", list(DISCRETE))
def test_discrete_divergences_give_the_shape_without_validation(name):
    p = P / P.sum(-1, keepdim=True)
    result = DISCRETE[name](_meta(p), _meta(p), validate=False)
    assert result.is_meta
    assert result.shape == DISCRETE[name](p, p).shape


@pytest.mark.parametrize(
    ("function", "x"),
    [(wasserstein_1d, torch.rand(7)), (sliced_wasserstein, POINTS), (wasserstein_nd, POINTS)],
)
def test_optimal_transport_refuses_to_validate_meta_tensors(function, x):
    with pytest.raises(dv.InputError, match="x is a meta tensor"):
        function(_meta(x), _meta(x))


def test_optimal_transport_shapes_without_validation():
    x = torch.rand(7)
    assert wasserstein_1d(_meta(x), _meta(x), validate=False).shape == wasserstein_1d(x, x).shape
    assert sliced_wasserstein(_meta(POINTS), _meta(POINTS), validate=False).is_meta
    with pytest.raises(dv.InputError, match="wasserstein_nd needs values"):
        wasserstein_nd(_meta(POINTS), _meta(POINTS), validate=False)


def test_losses_trace_meta_tensors():
    from divergences import losses

    scores = torch.empty(8, device="meta")
    for value in (
        losses.gan_discriminator_loss(scores, scores),
        losses.gan_generator_loss(scores),
        losses.fgan_critic_loss(dv.get("js"), scores, scores),
        losses.wgan_critic_loss(scores, scores),
    ):
        assert value.is_meta and value.shape == ()
