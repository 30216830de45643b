"""Tests of divergences.losses.

Where expected values come from:
- naive float64 formulas written from the papers (log of an explicit sigmoid, (||g|| - 1)^2 with
  the norm computed by hand) on ranges where they are accurate (|logit| <= 20);
- mpmath at 50 digits for extreme logits, where the naive formulas overflow or cancel;
- torch.nn.functional.binary_cross_entropy_with_logits, an independent implementation of the
  same cross-entropy;
- closed forms: a linear critic x -> w.x has input gradient w at every point, so its penalty is
  weight * (||w|| - 1)^2 exactly.
"""

from __future__ import annotations

import doctest
import math
from collections.abc import Iterator

import mpmath
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from divergences.errors import InputError
from divergences.losses import (
    _cycle,
    _gan,
    _wgan,
    clip_weights_,
    cycle_consistency_loss,
    cyclegan_objective,
    gan_discriminator_loss,
    gan_generator_loss,
    gradient_penalty,
    wgan_critic_loss,
    wgan_generator_loss,
)

F64 = torch.float64
FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


@pytest.fixture(autouse=True, scope="module")
def _fifty_digits() -> Iterator[None]:
    """mpmath references at 50 digits for this module's tests only (a module-level
    ``mp.dps = 50`` changed the precision of every test collected after it)."""
    with mpmath.workdps(50):
        yield


def naive_log_d(v: torch.Tensor) -> torch.Tensor:
    """log D with D = 1 / (1 + e^-v) formed explicitly (accurate in float64 for |v| <= 20)."""
    return torch.log(1 / (1 + torch.exp(-v)))


def naive_log_one_minus_d(v: torch.Tensor) -> torch.Tensor:
    """log(1 - D) with 1 - D = 1 / (1 + e^v) formed explicitly (1 - sigmoid(v) would cancel)."""
    return torch.log(1 / (1 + torch.exp(v)))


def mp_softplus(v: float) -> float:
    """log(1 + e^v) to 50 digits."""
    return float(mpmath.log1p(mpmath.exp(mpmath.mpf(v))))


def logits(seed: int, *shape: int, scale: float = 5.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64) * scale


moderate_logits = hnp.arrays(
    "float64", st.integers(1, 30), elements=st.floats(-20, 20, allow_nan=False)
)
any_logits = hnp.arrays("float64", st.integers(1, 30), elements=st.floats(-1e4, 1e4))


# --------------------------------------------------------------------------------------------
# GAN losses: values
# --------------------------------------------------------------------------------------------


@settings(deadline=None)
@given(moderate_logits, moderate_logits)
def test_discriminator_loss_matches_naive_formula(real, fake) -> None:
    real, fake = torch.from_numpy(real), torch.from_numpy(fake)
    # J(D) = -1/2 E log D(x) - 1/2 E log(1 - D(G(z))), with D = sigmoid(v) formed explicitly.
    expected = -0.5 * naive_log_d(real).mean() - 0.5 * naive_log_one_minus_d(fake).mean()
    torch.testing.assert_close(gan_discriminator_loss(real, fake), expected, rtol=1e-12, atol=1e-15)


@settings(deadline=None)
@given(any_logits, any_logits)
def test_discriminator_loss_is_half_binary_cross_entropy(real, fake) -> None:
    real, fake = torch.from_numpy(real), torch.from_numpy(fake)
    expected = 0.5 * F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + (
        0.5 * F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    )
    torch.testing.assert_close(gan_discriminator_loss(real, fake), expected, rtol=1e-12, atol=0)


@settings(deadline=None)
@given(moderate_logits)
def test_generator_losses_match_naive_formulas(fake) -> None:
    fake = torch.from_numpy(fake)
    minimax = naive_log_one_minus_d(fake).mean()  # E log(1 - D(G(z)))
    non_saturating = -naive_log_d(fake).mean()  # -E log D(G(z))
    torch.testing.assert_close(
        gan_generator_loss(fake, saturating=True), minimax, rtol=1e-12, atol=1e-15
    )
    torch.testing.assert_close(gan_generator_loss(fake), non_saturating, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("v", [-1e4, -700.0, -40.0, -1e-3, 0.0, 1e-3, 40.0, 700.0, 1e4])
def test_extreme_logits_match_mpmath(v: float) -> None:
    real = torch.tensor([v], dtype=F64)
    fake = torch.tensor([-v], dtype=F64)
    # -log D(x) = softplus(-v); -log(1 - D) = softplus(v).
    expected_d = 0.5 * mp_softplus(-v) + 0.5 * mp_softplus(-v)
    assert gan_discriminator_loss(real, fake).item() == pytest.approx(expected_d, rel=1e-15)
    assert gan_generator_loss(real).item() == pytest.approx(mp_softplus(-v), rel=1e-15)
    assert gan_generator_loss(real, saturating=True).item() == pytest.approx(
        -mp_softplus(v), rel=1e-15
    )


def test_discriminator_loss_at_the_uninformed_discriminator_is_log_2() -> None:
    # D = 1/2 everywhere (logit 0) is optimal when p_data = p_g: J(D*) = log 2 - JS = log 2.
    assert gan_discriminator_loss(torch.zeros(3), torch.zeros(5)).item() == pytest.approx(
        math.log(2), rel=1e-7
    )


def test_batch_sizes_and_shapes_may_differ() -> None:
    real = logits(0, 4, 1)
    fake = logits(1, 6)
    expected = 0.5 * F.softplus(-real).mean() + 0.5 * F.softplus(fake).mean()
    torch.testing.assert_close(gan_discriminator_loss(real, fake), expected)


# --------------------------------------------------------------------------------------------
# GAN losses: stability at |logit| = 1e4 in every float dtype
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_losses_and_gradients_are_finite_and_right_at_extreme_logits(dtype: torch.dtype) -> None:
    extreme = torch.tensor([-1e4, 1e4], dtype=dtype)
    real = extreme.clone().requires_grad_(True)
    fake = extreme.clone().requires_grad_(True)
    losses = {
        "discriminator": lambda: gan_discriminator_loss(real, fake),
        "non_saturating": lambda: gan_generator_loss(fake),
        "minimax": lambda: gan_generator_loss(fake, saturating=True),
    }
    # Expected gradients, mean over 2 elements: d softplus(-v)/dv = -sigmoid(-v), which is
    # -1 at v = -1e4 and 0 at v = +1e4 (and symmetrically for softplus(v)).
    expected = {
        "discriminator": ([-0.25, 0.0], [0.0, 0.25]),
        "non_saturating": (None, [-0.5, 0.0]),
        "minimax": (None, [0.0, -0.5]),
    }
    # Values: each softplus term is |v| or 0 (1e4 rounds to 9984 in bfloat16, so use |v|).
    big = extreme[1].item()
    expected_values = {"discriminator": big / 2, "non_saturating": big / 2, "minimax": -big / 2}
    for name, loss_fn in losses.items():
        real.grad = fake.grad = None
        loss = loss_fn()
        loss.backward()
        assert loss.dtype == dtype
        assert loss.item() == expected_values[name], name
        real_grad, fake_grad = expected[name]
        for grad, want in ((real.grad, real_grad), (fake.grad, fake_grad)):
            if want is None:
                assert grad is None
            else:
                assert torch.isfinite(grad).all(), name
                assert grad.double().tolist() == want, name


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_large_batches_of_extreme_logits_do_not_overflow_the_mean(dtype: torch.dtype) -> None:
    # 4096 * 1e4 overflows float16 (max 65504) if the mean were accumulated in the input dtype.
    logits_ = torch.full((4096,), 1e4, dtype=dtype, requires_grad=True)
    loss = gan_discriminator_loss(-logits_, logits_)
    loss.backward()
    assert loss.item() == logits_[0].item()  # each of the two terms is |v| / 2
    assert torch.isfinite(logits_.grad).all()
    assert logits_.grad[0].item() == pytest.approx(1 / 4096, rel=1e-2)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_wgan_losses_are_finite_at_extreme_scores(dtype: torch.dtype) -> None:
    scores = torch.tensor([-1e4, 1e4, 3.0], dtype=dtype, requires_grad=True)
    loss = wgan_critic_loss(scores, scores * 0.5) + wgan_generator_loss(scores)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(scores.grad).all()
    # d/ds [mean(s/2) - mean(s) - mean(s)] = (1/2 - 2)/3 per element.
    torch.testing.assert_close(scores.grad.double(), torch.full((3,), -0.5, dtype=F64))


# --------------------------------------------------------------------------------------------
# GAN losses: autograd, torch.func, torch.compile
# --------------------------------------------------------------------------------------------


def test_gradcheck_gan_and_wgan_losses() -> None:
    real = logits(2, 5).requires_grad_(True)
    fake = logits(3, 4).requires_grad_(True)
    assert torch.autograd.gradcheck(gan_discriminator_loss, (real, fake))
    assert torch.autograd.gradcheck(gan_generator_loss, (fake,))
    assert torch.autograd.gradcheck(lambda v: gan_generator_loss(v, saturating=True), (fake,))
    assert torch.autograd.gradcheck(wgan_critic_loss, (real, fake))
    assert torch.autograd.gradcheck(wgan_generator_loss, (fake,))


def test_func_grad_matches_the_analytic_gradient() -> None:
    fake = logits(4, 6)
    # d/dv mean softplus(-v) = -sigmoid(-v) / n
    gradient = torch.func.grad(gan_generator_loss)(fake)
    torch.testing.assert_close(gradient, -torch.sigmoid(-fake) / 6)


def test_vmap_over_independent_batches() -> None:
    real, fake = logits(5, 3, 8), logits(6, 3, 7)
    batched = torch.func.vmap(gan_discriminator_loss)(real, fake)
    looped = torch.stack([gan_discriminator_loss(r, f) for r, f in zip(real, fake, strict=True)])
    torch.testing.assert_close(batched, looped)


def _every_elementwise_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return (
        gan_discriminator_loss(real, fake)
        + gan_generator_loss(fake)
        + gan_generator_loss(fake, saturating=True)
        + wgan_critic_loss(real, fake)
        + wgan_generator_loss(fake)
        + cycle_consistency_loss(real, fake)
        + cyclegan_objective(real, fake, real, fake, fake, real, adversarial="non_saturating")
    )


def test_losses_trace_into_one_graph() -> None:
    # fullgraph=True fails on any graph break (host sync, data-dependent Python control flow).
    # aot_eager traces forward and backward without code generation, which keeps this fast.
    compiled = torch.compile(_every_elementwise_loss, fullgraph=True, backend="aot_eager")
    real, fake = logits(7, 8), logits(8, 8)
    real_c, fake_c = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    real_e, fake_e = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    compiled(real_c, fake_c).backward()
    _every_elementwise_loss(real_e, fake_e).backward()
    torch.testing.assert_close(real_c.grad, real_e.grad)
    torch.testing.assert_close(fake_c.grad, fake_e.grad)


@pytest.mark.slow
def test_losses_compile_with_inductor() -> None:
    # ~30 s on two CPU cores: code generation by the default backend.
    compiled = torch.compile(_every_elementwise_loss, fullgraph=True)
    real, fake = logits(9, 16).float(), logits(10, 16).float()
    torch.testing.assert_close(compiled(real, fake), _every_elementwise_loss(real, fake))


# --------------------------------------------------------------------------------------------
# WGAN losses and weight clipping
# --------------------------------------------------------------------------------------------


def test_wgan_losses_values() -> None:
    real = torch.tensor([1.0, 2.0, 6.0], dtype=F64)
    fake = torch.tensor([[-1.0], [0.0]], dtype=F64)
    assert wgan_critic_loss(real, fake).item() == -0.5 - 3.0
    assert wgan_generator_loss(fake).item() == 0.5


def test_clip_weights_clamps_every_parameter_in_place() -> None:
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    before = [p.detach().clone() for p in critic.parameters()]
    storages = [p.data_ptr() for p in critic.parameters()]
    clip_weights_(critic, 0.1)
    for parameter, old, storage in zip(critic.parameters(), before, storages, strict=True):
        assert parameter.data_ptr() == storage  # in place: optimiser state still points at it
        assert parameter.requires_grad and parameter.grad_fn is None  # not recorded by autograd
        torch.testing.assert_close(parameter.detach(), old.clamp(-0.1, 0.1), rtol=0, atol=0)
    assert any((old.abs() > 0.1).any() for old in before)  # the clamp did something


@pytest.mark.parametrize("c", [0, -0.01, float("nan"), float("inf"), True])
def test_clip_weights_refuses_a_bad_threshold(c: float) -> None:
    with pytest.raises(InputError, match="clipping threshold c"):
        clip_weights_(torch.nn.Linear(2, 1), c)


def test_clip_weights_refuses_a_non_module() -> None:
    with pytest.raises(InputError, match=r"torch\.nn\.Module"):
        clip_weights_([torch.zeros(2)], 0.01)


# --------------------------------------------------------------------------------------------
# Gradient penalty
# --------------------------------------------------------------------------------------------


def linear_critic(weights: list[float], dtype: torch.dtype = F64) -> torch.nn.Linear:
    layer = torch.nn.Linear(len(weights), 1, bias=True, dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weights], dtype=dtype))
        layer.bias.fill_(0.3)
    return layer


def batch_norm_penalty(critic, real, fake, weight=10.0):
    """The known bug: one gradient norm over the whole batch instead of one per sample."""
    epsilon = torch.rand(real.shape[0], 1, dtype=real.dtype)
    interpolates = (epsilon * real + (1 - epsilon) * fake).requires_grad_(True)
    (gradient,) = torch.autograd.grad(critic(interpolates).sum(), interpolates)
    return weight * (gradient.norm() - 1) ** 2


def test_penalty_uses_per_sample_norms_not_the_batch_norm() -> None:
    # A 1-Lipschitz linear critic (||w|| = 1) has input gradient norm exactly 1 at every sample:
    # the per-sample penalty is 0, while the whole-batch norm is sqrt(N) and gives 10 (4 - 1)^2.
    critic = linear_critic([0.6, 0.8])
    real, fake = logits(11, 16, 2), logits(12, 16, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-24)
    assert batch_norm_penalty(critic, real, fake).item() == pytest.approx(90.0)


@pytest.mark.parametrize(
    ("w", "one_sided", "expected"),
    [
        ([3.0, 4.0], False, 10 * 4.0**2),
        ([3.0, 4.0], True, 10 * 4.0**2),
        ([0.3, 0.4], False, 10 * 0.5**2),
        ([0.3, 0.4], True, 0.0),  # slopes below 1 are not penalised by the one-sided variant
    ],
)
def test_penalty_of_a_linear_critic(w: list[float], one_sided: bool, expected: float) -> None:
    critic = linear_critic(w)
    real, fake = logits(13, 5, 2), logits(14, 5, 2)
    penalty = gradient_penalty(critic, real, fake, one_sided=one_sided)
    assert penalty.item() == pytest.approx(expected, rel=1e-12, abs=1e-24)


def test_penalty_backpropagates_into_the_critic() -> None:
    # GP = lambda (||w|| - 1)^2, so dGP/dw = 2 lambda (||w|| - 1) w / ||w||, and the bias does not
    # enter the input gradient at all (its gradient is exactly 0, through create_graph=True).
    critic = linear_critic([3.0, 4.0])
    gradient_penalty(critic, logits(15, 4, 2), logits(16, 4, 2), weight=2.0).backward()
    expected = 2 * 2.0 * (5.0 - 1.0) * torch.tensor([[3.0, 4.0]], dtype=F64) / 5.0
    torch.testing.assert_close(critic.weight.grad, expected)
    assert critic.bias.grad is None or critic.bias.grad.item() == 0.0


def test_penalty_interpolates_per_sample_over_image_shaped_batches() -> None:
    # Critic f(x) = 1/2 ||x||^2 has input gradient x, so GP = lambda mean (||x_hat_i|| - 1)^2;
    # x_hat_i is rebuilt here from the same generator state with one epsilon per image.
    def critic(images: torch.Tensor) -> torch.Tensor:
        return 0.5 * images.square().sum(dim=(1, 2, 3))

    real, fake = logits(17, 6, 2, 3, 3, scale=0.3), logits(18, 6, 2, 3, 3, scale=0.3)
    penalty = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(5))
    epsilon = torch.rand(6, 1, 1, 1, generator=torch.Generator().manual_seed(5)).double()
    assert ((epsilon > 0) & (epsilon < 1)).all()
    interpolates = epsilon * real + (1 - epsilon) * fake
    norms = interpolates.reshape(6, -1).square().sum(dim=1).sqrt()
    expected = 10 * ((norms - 1) ** 2).mean()
    torch.testing.assert_close(penalty, expected, rtol=1e-12, atol=0)


def test_penalty_is_reproducible_with_a_generator_and_random_without() -> None:
    def critic(x: torch.Tensor) -> torch.Tensor:
        return x.square().sum(dim=1)

    real, fake = logits(19, 8, 3), logits(20, 8, 3)
    first = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1))
    again = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1))
    other = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(2))
    assert first.item() == again.item() != other.item()


def test_penalty_gradient_is_zero_not_nan_where_the_critic_is_flat() -> None:
    # f(x) = 1/2 (w.x)^2 at x = 0 has input gradient (w.x) w = 0: the norm sits at its kink.
    # A naive sqrt(sum g^2) backpropagates 0 * inf = NaN into w here.
    w = torch.tensor([0.5, -1.0, 2.0], dtype=F64, requires_grad=True)

    def critic(x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x @ w) ** 2

    zeros = torch.zeros(4, 3, dtype=F64)
    penalty = gradient_penalty(critic, zeros, zeros)
    penalty.backward()
    assert penalty.item() == 10.0  # (0 - 1)^2 per sample
    assert torch.equal(w.grad, torch.zeros(3, dtype=F64))


def test_penalty_sends_no_gradient_to_the_generator() -> None:
    # A quadratic critic: its input gradient, hence the penalty, depends on the interpolates.
    def critic(x: torch.Tensor) -> torch.Tensor:
        return x.square().sum(dim=1)

    generator_net = torch.nn.Linear(2, 2, dtype=F64)
    fake = generator_net(logits(21, 4, 2))
    penalty = gradient_penalty(critic, logits(22, 4, 2), fake)
    penalty.backward()  # without the detach, this would reach generator_net through fake
    assert generator_net.weight.grad is None


def test_penalty_works_inside_no_grad() -> None:
    critic = linear_critic([3.0, 4.0])
    with torch.no_grad():
        penalty = gradient_penalty(critic, logits(23, 3, 2), logits(24, 3, 2))
    assert penalty.item() == pytest.approx(160.0)


def test_penalty_of_a_critic_that_ignores_its_input() -> None:
    # Input gradient 0 everywhere: penalty = weight * (0 - 1)^2.
    critic = torch.nn.Parameter(torch.tensor(2.0, dtype=F64))
    penalty = gradient_penalty(
        lambda x: critic.expand(x.shape[0]), logits(25, 3, 2), logits(26, 3, 2), weight=3.0
    )
    assert penalty.item() == 3.0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_penalty_in_low_precision(dtype: torch.dtype) -> None:
    critic = linear_critic([30.0, 40.0], dtype=dtype)  # norm 50: squares overflow no dtype here
    real, fake = logits(27, 8, 2).to(dtype), logits(28, 8, 2).to(dtype)
    penalty = gradient_penalty(critic, real, fake)
    penalty.backward()
    assert penalty.dtype == dtype
    assert penalty.item() == pytest.approx(10 * 49.0**2, rel=1e-2)
    assert torch.isfinite(critic.weight.grad).all()


def test_gradcheck_of_the_penalty_with_respect_to_critic_parameters() -> None:
    # A nonlinear critic: the penalty depends on its weights through second derivatives.
    real, fake = logits(29, 3, 2, scale=1.0), logits(30, 3, 2, scale=1.0)

    def penalty_of(weight: torch.Tensor) -> torch.Tensor:
        def critic(x: torch.Tensor) -> torch.Tensor:
            return torch.tanh(x @ weight).sum(dim=1)

        return gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))

    weight = logits(31, 2, 3, scale=0.5).requires_grad_(True)
    assert torch.autograd.gradcheck(penalty_of, (weight,))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fake": torch.zeros(4, 3)}, "must have the same shape"),
        ({"fake": torch.zeros(4, 2, dtype=torch.float32)}, "must have the same dtype"),
        ({"real": torch.zeros(0, 2), "fake": torch.zeros(0, 2)}, "real is empty"),
        ({"weight": -1.0}, "weight must be a finite number >= 0"),
        ({"critic": "critic"}, "critic must be callable"),
        ({"critic": lambda x: x.sum()}, "one score per sample"),
        ({"critic": lambda x: x}, "one score per sample"),
        ({"generator": 3}, "generator must be a torch.Generator"),
        ({"real": torch.tensor(1.0, dtype=F64), "fake": torch.tensor(1.0, dtype=F64)}, "batch"),
    ],
)
def test_penalty_invalid_inputs(kwargs: dict, message: str) -> None:
    arguments = {
        "critic": linear_critic([1.0, 1.0]),
        "real": torch.zeros(4, 2, dtype=F64),
        "fake": torch.zeros(4, 2, dtype=F64),
    } | kwargs
    with pytest.raises(InputError) as error:
        gradient_penalty(**arguments)
    assert message in str(error.value)


# --------------------------------------------------------------------------------------------
# CycleGAN
# --------------------------------------------------------------------------------------------


def test_cycle_consistency_is_mean_absolute_error() -> None:
    x = logits(32, 2, 3, 4, 4)
    reconstructed = logits(33, 2, 3, 4, 4)
    pairs = zip(x.flatten().tolist(), reconstructed.flatten().tolist(), strict=True)
    expected = sum(abs(a - b) for a, b in pairs) / x.numel()
    assert cycle_consistency_loss(x, reconstructed).item() == pytest.approx(expected, rel=1e-12)
    assert torch.autograd.gradcheck(
        cycle_consistency_loss, (x[:1, :1].clone().requires_grad_(True), reconstructed[:1, :1])
    )


@pytest.mark.parametrize(
    ("x", "reconstructed", "message"),
    [
        (torch.zeros(2, 3), torch.zeros(3), "same shape"),  # would broadcast silently
        (torch.zeros(2, 3), torch.zeros(3, 2), "same shape"),
        (torch.zeros(2), torch.zeros(2, dtype=F64), "same dtype"),
        (torch.zeros(2, dtype=torch.int64), torch.zeros(2, dtype=torch.int64), "floating-point"),
        (torch.zeros(0), torch.zeros(0), "is empty"),
    ],
)
def test_cycle_consistency_invalid_inputs(x, reconstructed, message: str) -> None:
    with pytest.raises(InputError, match=message):
        cycle_consistency_loss(x, reconstructed)


@pytest.mark.parametrize("adversarial", ["least_squares", "non_saturating", "minimax"])
@pytest.mark.parametrize("cycle_weight", [0.0, 10.0, 2.5])
def test_cyclegan_objective_assembles_the_paper_terms(
    adversarial: str, cycle_weight: float
) -> None:
    fake_y_scores, fake_x_scores = logits(34, 4, 1, 3, 3), logits(35, 4, 1, 3, 3)
    x, x_rec = logits(36, 4, 3, 5, 5), logits(37, 4, 3, 5, 5)
    y, y_rec = logits(38, 4, 3, 5, 5), logits(39, 4, 3, 5, 5)

    def naive_adversarial(v: torch.Tensor) -> torch.Tensor:
        probability = torch.sigmoid(v)
        return {
            "least_squares": ((v - 1) ** 2).mean(),  # LSGAN generator term
            "non_saturating": -torch.log(probability).mean(),
            "minimax": torch.log(1 - probability).mean(),
        }[adversarial]

    expected = (
        naive_adversarial(fake_y_scores)
        + naive_adversarial(fake_x_scores)
        + cycle_weight * ((x_rec - x).abs().mean() + (y_rec - y).abs().mean())
    )
    actual = cyclegan_objective(
        fake_y_scores,
        fake_x_scores,
        x,
        x_rec,
        y,
        y_rec,
        cycle_weight=cycle_weight,
        adversarial=adversarial,
    )
    torch.testing.assert_close(actual, expected, rtol=1e-12, atol=1e-12)


def test_cyclegan_objective_default_is_least_squares_with_lambda_10() -> None:
    ones = torch.ones(3)
    x = torch.zeros(3, 2)
    # Adversarial terms (1 - 1)^2 = 0; cycles 0.5 + 0: objective 10 * 0.5.
    assert cyclegan_objective(ones, ones, x, x + 0.5, x, x).item() == 5.0
    assert cyclegan_objective(ones * 3, ones, x, x, x, x).item() == 4.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"adversarial": "wasserstein"}, "adversarial must be one of"),
        ({"cycle_weight": -1.0}, "cycle_weight must be"),
        ({"y_reconstructed": torch.zeros(2, 3)}, "same shape"),
        ({"fake_x_scores": torch.zeros(2, dtype=F64)}, "same dtype"),
        ({"fake_y_scores": torch.zeros(0)}, "fake_y_scores is empty"),
    ],
)
def test_cyclegan_objective_invalid_inputs(kwargs: dict, message: str) -> None:
    images = torch.zeros(2, 4)
    arguments = {
        "fake_y_scores": torch.zeros(2),
        "fake_x_scores": torch.zeros(2),
        "x": images,
        "x_reconstructed": images,
        "y": images,
        "y_reconstructed": images,
    } | kwargs
    with pytest.raises(InputError, match=message):
        cyclegan_objective(**arguments)


# --------------------------------------------------------------------------------------------
# Argument checks of the GAN losses, documentation examples
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gan_discriminator_loss(torch.zeros(2), torch.zeros(2, dtype=F64)), "same dtype"),
        (lambda: gan_discriminator_loss(torch.zeros(2), torch.zeros(2, device="meta")), "device"),
        (lambda: gan_discriminator_loss(torch.zeros(0), torch.zeros(2)), "real_logits is empty"),
        (lambda: gan_generator_loss(torch.tensor([1, 2])), "floating-point"),
        (lambda: gan_generator_loss([0.5]), "must be a torch.Tensor"),
        (lambda: wgan_critic_loss(torch.zeros(2), torch.zeros(0)), "fake_scores is empty"),
        (lambda: wgan_generator_loss(torch.zeros(2, dtype=torch.int32)), "floating-point"),
    ],
)
def test_loss_invalid_inputs(call, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()


@pytest.mark.parametrize("module", [_gan, _wgan, _cycle])
def test_docstring_examples(module) -> None:
    results = doctest.testmod(module, raise_on_error=False)
    assert results.attempted > 0
    assert results.failed == 0
