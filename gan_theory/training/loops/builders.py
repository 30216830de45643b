"""Build the networks and optimisers a configuration asks for."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ..config import OptimiserSpec, TrainConfig
from ..data import Dataset, PairedDomains
from ..models import (
    ConvDiscriminator,
    ConvGenerator,
    ConvTranslator,
    GaussianGenerator,
    MLPDiscriminator,
    MLPGenerator,
    MLPTranslator,
)

__all__ = ["build_discriminator", "build_generator", "build_optimiser", "build_translator"]


def build_generator(config: TrainConfig, data: Dataset) -> nn.Module:
    """The generator: Gaussian, conv (images) or MLP (points), as ``config.generator`` says."""
    latent = config.resolved_latent_dim(data)
    if config.generator == "gaussian":
        mean, scale = config.gaussian_init
        return GaussianGenerator(data.shape[0], mean=mean, scale=scale)
    if config.generator == "conv" or (config.generator == "auto" and data.is_image):
        return ConvGenerator(latent, channels=config.channels)
    return MLPGenerator(latent, data.shape, hidden=config.hidden, depth=config.depth)


def build_discriminator(config: TrainConfig, data: Dataset | PairedDomains) -> nn.Module:
    """The critic: conv for images, MLP for points."""
    if data.is_image:
        return ConvDiscriminator(channels=config.channels)
    return MLPDiscriminator(data.shape, hidden=config.hidden, depth=config.depth)


def build_translator(config: TrainConfig, data: PairedDomains) -> nn.Module:
    """A CycleGAN generator between the two domains."""
    if data.is_image:
        return ConvTranslator(channels=config.channels)
    return MLPTranslator(data.shape[0], hidden=config.hidden, depth=config.depth)


def build_optimiser(
    spec: OptimiserSpec, parameters: Iterable[nn.Parameter], lr: float
) -> torch.optim.Optimizer:
    """Adam (with ``spec.betas``) or RMSProp, with the given learning rate."""
    params = list(parameters)
    if spec.kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=spec.betas)
    if spec.kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise ValueError(f"unknown optimiser kind {spec.kind!r}")
