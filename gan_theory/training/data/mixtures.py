r"""Isotropic Gaussian mixtures: the 8-Gaussian ring, the 5x5 grid, 1-D mixtures.

.. math::

    p(x) = \sum_{k=1}^K w_k \, \mathcal N(x; \mu_k, \sigma^2 I)

Sampling draws the component (with :func:`torch.randint` when the weights are equal, which is
three times cheaper for a training batch, else with :func:`torch.multinomial`) and the offset
with :func:`torch.randn`, both from the caller's generator.

The ring and the grid follow the usual GAN mode-collapse benchmarks: eight modes on a circle of
radius 2 with :math:`\sigma = 0.02` (Metz et al., *Unrolled GANs*, ICLR 2017; Gulrajani et al.,
*Improved Training of Wasserstein GANs*, NeurIPS 2017) and 25 modes on the grid
:math:`\{-4, -2, 0, 2, 4\}^2` with :math:`\sigma = 0.05` (Srivastava et al., *VEEGAN*, NeurIPS 2017;
Lin et al., *PacGAN*, NeurIPS 2018).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from .base import Dataset, Modes

__all__ = ["GaussianMixture", "bimodal_1d", "grid_25", "mixture_1d", "ring_8"]


class GaussianMixture(Dataset):
    """A mixture of isotropic Gaussians with a common standard deviation.

    Args:
        means: component centres, shape ``(K, d)`` (a 1-D sequence is read as ``K`` scalars).
        std: common per-coordinate standard deviation, ``> 0``.
        weights: mixture weights (normalised here); ``None`` for equal weights.
        name: the registry name.
    """

    def __init__(
        self,
        means: Tensor | Sequence[float] | Sequence[Sequence[float]],
        std: float,
        weights: Tensor | Sequence[float] | None = None,
        name: str = "mixture",
    ) -> None:
        centres = torch.as_tensor(means, dtype=torch.float32)
        if centres.ndim == 1:
            centres = centres[:, None]
        if centres.ndim != 2 or centres.shape[0] == 0:
            raise ValueError(f"means must have shape (K, d), K >= 1, got {tuple(centres.shape)}")
        if not (math.isfinite(std) and std > 0):
            raise ValueError(f"std must be a finite number > 0, got {std!r}")
        if weights is None:
            w = torch.full((centres.shape[0],), 1.0 / centres.shape[0])
        else:
            w = torch.as_tensor(weights, dtype=torch.float32)
            if w.shape != (centres.shape[0],) or bool((w < 0).any()) or float(w.sum()) <= 0:
                raise ValueError(
                    f"weights must be {centres.shape[0]} non-negative numbers with a positive sum"
                )
            w = w / w.sum()
        self.name = name
        self.shape = (int(centres.shape[1]),)
        self.modes = Modes(means=centres, std=float(std), weights=w)
        self._equal_weights = bool((w == w[0]).all())

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        modes = self.modes
        assert modes is not None
        if self._equal_weights:
            component = torch.randint(modes.count, (n,), generator=generator)
        else:
            component = torch.multinomial(modes.weights, n, replacement=True, generator=generator)
        noise = torch.randn((n, *self.shape), generator=generator)
        return modes.means[component] + modes.std * noise

    def log_prob(self, x: Tensor) -> Tensor:
        """Log density at points ``x`` of shape ``(n, d)`` (float64 is recommended)."""
        modes = self.modes
        assert modes is not None
        means = modes.means.to(x.dtype)
        d = x.shape[-1]
        sq = (x[:, None, :] - means[None]).square().sum(-1)
        log_norm = d * (math.log(modes.std) + 0.5 * math.log(2 * math.pi))
        log_normal = -0.5 * sq / modes.std**2 - log_norm
        return torch.logsumexp(log_normal + modes.weights.to(x.dtype).log(), dim=1)


def ring_8(radius: float = 2.0, std: float = 0.02) -> GaussianMixture:
    """Eight equally weighted modes equally spaced on a circle."""
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture(means.float(), std, name="ring-8")


def grid_25(spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """25 equally weighted modes on the grid ``{-2, -1, 0, 1, 2}^2 * spacing``."""
    axis = torch.arange(-2, 3, dtype=torch.float32) * spacing
    means = torch.cartesian_prod(axis, axis)
    return GaussianMixture(means, std, name="grid-25")


def mixture_1d() -> GaussianMixture:
    """Four equally weighted 1-D modes at -3, -1, 1, 3 with standard deviation 0.2."""
    return GaussianMixture([-3.0, -1.0, 1.0, 3.0], 0.2, name="mixture-1d")


def bimodal_1d(separation: float = 4.0, std: float = 0.5) -> GaussianMixture:
    r"""Two equally weighted 1-D modes at :math:`\pm` ``separation / 2``.

    The target of the f-GAN paper's experiment of fitting a single Gaussian (Nowozin, Cseke &
    Tomioka, *f-GAN*, NeurIPS 2016, Section 4): KL covers both modes, reverse KL picks one.
    """
    half = separation / 2
    return GaussianMixture([-half, half], std, name="bimodal-1d")
