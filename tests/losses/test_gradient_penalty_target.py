"""``gradient_penalty(..., target=)``: the gradient norm the penalty pulls towards.

Expected values are computed by hand. A linear critic ``f(x) = w . x`` has the same input
gradient ``w`` at every interpolate, so the penalty does not depend on the random interpolates:
with ``|w| = 5`` (``w = (0, 3, 4)``) it is ``weight * (5 / target - 1)^2`` -- TF-GAN's form
(``tfgan.losses.wasserstein_gradient_penalty``: ``penalties = slopes / target - 1.0``, squared;
``one_sided`` clips the difference at 0 first).
"""

from __future__ import annotations

import math

import pytest
import torch

from divergences import InputError
from divergences.losses import gradient_penalty


def _linear_critic(dtype: torch.dtype = torch.float64) -> torch.nn.Linear:
    critic = torch.nn.Linear(3, 1, bias=False).to(dtype)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.0, 3.0, 4.0]], dtype=dtype))  # |w| = 5
    return critic


def _batches(dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    real = torch.randn(16, 3, generator=generator, dtype=dtype)
    fake = torch.randn(16, 3, generator=generator, dtype=dtype)
    return real, fake


@pytest.mark.parametrize(
    ("target", "one_sided", "expected"),
    [
        (1.0, False, 10 * (5 - 1) ** 2),  # 160: the paper's penalty, the default target
        (2.0, False, 10 * (5 / 2 - 1) ** 2),  # 22.5
        (5.0, False, 0.0),  # the critic's slope is the target
        (10.0, False, 10 * (5 / 10 - 1) ** 2),  # 2.5: too flat is penalised too
        (10.0, True, 0.0),  # ... but not one-sided
        (2.0, True, 10 * (5 / 2 - 1) ** 2),  # one-sided: too steep still counts
        (0.5, False, 10 * (5 / 0.5 - 1) ** 2),  # 810
    ],
)
def test_penalty_of_a_linear_critic_is_the_hand_computed_value(
    target: float, one_sided: bool, expected: float
) -> None:
    real, fake = _batches()
    penalty = gradient_penalty(_linear_critic(), real, fake, target=target, one_sided=one_sided)
    assert penalty.item() == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_default_target_is_one() -> None:
    real, fake = _batches()
    critic = _linear_critic()
    seeded = {"generator": torch.Generator().manual_seed(3)}
    default = gradient_penalty(critic, real, fake, **seeded)
    seeded = {"generator": torch.Generator().manual_seed(3)}
    assert torch.equal(default, gradient_penalty(critic, real, fake, target=1.0, **seeded))


def test_a_scaled_critic_at_its_scaled_target_gets_the_unscaled_penalty() -> None:
    # the norm is divided by the target: f * c at target c is penalised as f at target 1
    real, fake = _batches()
    scaled = _linear_critic()
    with torch.no_grad():
        scaled.weight.mul_(7.0)
    base = gradient_penalty(_linear_critic(), real, fake)
    assert gradient_penalty(scaled, real, fake, target=7.0).item() == pytest.approx(base.item())


def test_penalty_gradient_with_a_target_matches_the_hand_derivative() -> None:
    # d/dw [weight (|w| / c - 1)^2] = 2 weight (|w| / c - 1) w / (c |w|)
    real, fake = _batches()
    critic = _linear_critic()
    target, weight = 2.0, 3.0
    gradient_penalty(critic, real, fake, weight=weight, target=target).backward()
    w = torch.tensor([0.0, 3.0, 4.0], dtype=torch.float64)
    norm = 5.0
    expected = 2 * weight * (norm / target - 1) * w / (target * norm)
    torch.testing.assert_close(critic.weight.grad[0], expected)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_target_keeps_the_dtype(dtype: torch.dtype) -> None:
    real, fake = _batches(dtype)
    penalty = gradient_penalty(_linear_critic(dtype), real, fake, target=2.0)
    assert penalty.dtype == dtype
    assert penalty.float().item() == pytest.approx(22.5, rel=1e-2)


@pytest.mark.parametrize("target", [0.0, -1.0, math.nan, math.inf, True, "1"])
def test_a_target_that_is_not_a_positive_number_is_refused(target: object) -> None:
    real, fake = _batches()
    with pytest.raises(InputError, match="target must be a finite number > 0"):
        gradient_penalty(_linear_critic(), real, fake, target=target)
