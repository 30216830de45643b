r"""Small generators, discriminators and translators for the built-in data sets.

- :class:`MLPGenerator` / :class:`MLPDiscriminator`: fully connected nets for points in
  :math:`\mathbb R^d`;
- :class:`ConvGenerator` / :class:`ConvDiscriminator`: DCGAN-style nets for ``(1, 8, 8)`` images
  in [-1, 1] (Radford et al., ICLR 2016), without batch normalisation so that the per-sample
  gradient penalty of WGAN-GP stays valid and DistributedDataParallel has no buffers to sync;
- :class:`GaussianGenerator`: :math:`x = \mu + \sigma \odot z`, :math:`z \sim \mathcal N(0, I)`,
  with learned mean :math:`\mu` and scale :math:`\sigma = e^{\rho}` (the f-GAN paper's experiment);
- :class:`MLPTranslator` / :class:`ConvTranslator`: domain-to-domain maps for CycleGAN.

Discriminators return one raw score per sample, shape ``(N,)``.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

__all__ = [
    "ConvDiscriminator",
    "ConvGenerator",
    "ConvTranslator",
    "GaussianGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "MLPTranslator",
]


def _mlp(sizes: list[int], activation: type[nn.Module], **kwargs: object) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(activation(**kwargs))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """``z (N, latent_dim) -> x (N, *out_shape)``: ``depth`` hidden ReLU layers, linear output."""

    def __init__(
        self, latent_dim: int, out_shape: tuple[int, ...], hidden: int = 128, depth: int = 3
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.out_shape = tuple(out_shape)
        out_dim = int(torch.Size(out_shape).numel())
        self.net = _mlp([latent_dim] + [hidden] * depth + [out_dim], nn.ReLU)

    def forward(self, z: Tensor) -> Tensor:
        out = self.net(z)
        return out if len(self.out_shape) == 1 else out.reshape(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    """``x (N, *in_shape) -> scores (N,)``: ``depth`` hidden LeakyReLU(0.2) layers."""

    def __init__(self, in_shape: tuple[int, ...], hidden: int = 128, depth: int = 3) -> None:
        super().__init__()
        in_dim = int(torch.Size(in_shape).numel())
        self.net = _mlp([in_dim] + [hidden] * depth + [1], nn.LeakyReLU, negative_slope=0.2)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x if x.ndim == 2 else x.reshape(x.shape[0], -1)).squeeze(-1)


class GaussianGenerator(nn.Module):
    r"""A single Gaussian :math:`\mathcal N(\mu, \operatorname{diag}\sigma^2)` as a generator.

    ``forward(z) = mean + exp(log_scale) * z`` (reparametrisation), so ``latent_dim`` equals the
    data dimension.

    Args:
        dim: data dimension.
        mean: initial mean.
        scale: initial standard deviation (``> 0``).
    """

    def __init__(self, dim: int, mean: float = 0.0, scale: float = 1.0) -> None:
        super().__init__()
        self.latent_dim = dim
        self.out_shape = (dim,)
        self.mean = nn.Parameter(torch.full((dim,), float(mean)))
        self.log_scale = nn.Parameter(torch.full((dim,), float(torch.tensor(scale).log())))

    @property
    def scale(self) -> Tensor:
        return self.log_scale.exp()

    def forward(self, z: Tensor) -> Tensor:
        return self.mean + self.log_scale.exp() * z


class ConvGenerator(nn.Module):
    """``z -> (N, 1, 8, 8)`` in [-1, 1]: linear to ``(4c, 2, 2)``, two stride-2 transposed convs."""

    def __init__(self, latent_dim: int, channels: int = 32) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.out_shape = (1, 8, 8)
        self.channels = channels
        self.project = nn.Sequential(nn.Linear(latent_dim, 4 * channels * 4), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(4 * channels, 2 * channels, 4, stride=2, padding=1),  # 2 -> 4
            nn.ReLU(),
            nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1),  # 4 -> 8
            nn.ReLU(),
            nn.Conv2d(channels, 1, 3, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(self.project(z).reshape(z.shape[0], 4 * self.channels, 2, 2))


class ConvDiscriminator(nn.Module):
    """``(N, 1, 8, 8) -> scores (N,)``: two stride-2 convs with LeakyReLU(0.2), then linear."""

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, 4, stride=2, padding=1),  # 8 -> 4
            nn.LeakyReLU(0.2),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1),  # 4 -> 2
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(2 * channels * 4, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)


class MLPTranslator(nn.Module):
    """``x (N, d) -> y (N, d)``: an MLP with ReLU hidden layers and a linear output.

    Deliberately not residual: a translator that starts near the identity would make the cycle
    error small before anything is learned.
    """

    def __init__(self, dim: int, hidden: int = 64, depth: int = 3) -> None:
        super().__init__()
        self.net = _mlp([dim] + [hidden] * depth + [dim], nn.ReLU)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ConvTranslator(nn.Module):
    """``(N, 1, 8, 8) -> (N, 1, 8, 8)`` in [-1, 1]: 3x3 same-padding convs, tanh output."""

    def __init__(self, channels: int = 32, depth: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(1, channels, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()]
        layers += [nn.Conv2d(channels, 1, 3, padding=1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
