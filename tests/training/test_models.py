"""Models: output shapes and the single-Gaussian generator's parametrisation."""

from __future__ import annotations

import torch

from gan_theory.training.models import (
    ConvDiscriminator,
    ConvGenerator,
    ConvTranslator,
    GaussianGenerator,
    MLPDiscriminator,
    MLPGenerator,
    MLPTranslator,
)


def test_shapes() -> None:
    z = torch.randn(5, 3)
    assert MLPGenerator(3, (2,)).forward(z).shape == (5, 2)
    assert MLPDiscriminator((2,))(torch.randn(5, 2)).shape == (5,)
    assert ConvGenerator(3, channels=4)(z).shape == (5, 1, 8, 8)
    assert ConvDiscriminator(channels=4)(torch.randn(5, 1, 8, 8)).shape == (5,)
    assert MLPTranslator(2)(torch.randn(5, 2)).shape == (5, 2)
    assert ConvTranslator(channels=4)(torch.randn(5, 1, 8, 8)).shape == (5, 1, 8, 8)


def test_conv_generator_outputs_images_in_range() -> None:
    images = ConvGenerator(8, channels=4)(100 * torch.randn(10, 8))
    assert images.abs().max() <= 1


def test_gaussian_generator_is_mean_plus_scale_times_z() -> None:
    gen = GaussianGenerator(1, mean=2.0, scale=0.5)
    z = torch.randn(10_000, 1, generator=torch.Generator().manual_seed(0))
    x = gen(z)
    assert torch.allclose(x, 2.0 + 0.5 * z)
    assert torch.allclose(gen.scale, torch.tensor([0.5]))
    x.mean().backward()
    assert gen.mean.grad is not None and gen.log_scale.grad is not None
