r"""Continuous 2-D shapes without modes: two moons, a ring and a square's boundary.

Each is a curve plus isotropic Gaussian noise of standard deviation ``noise``:

- two moons (as :func:`sklearn.datasets.make_moons`): the upper half circle
  :math:`(\cos t, \sin t)` and the lower one :math:`(1 - \cos t, \tfrac12 - \sin t)`,
  :math:`t \sim U[0, \pi]`, each moon with probability 1/2;
- ring: :math:`r(\cos t, \sin t)`, :math:`t \sim U[0, 2\pi)`;
- square: a uniform point on the boundary of :math:`[-h, h]^2` (arc length parametrisation).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .base import Dataset

__all__ = ["Ring", "Square", "TwoMoons"]


class TwoMoons(Dataset):
    """Two interleaving half circles (the scikit-learn ``make_moons`` shape)."""

    def __init__(self, noise: float = 0.05) -> None:
        self.name = "two-moons"
        self.shape = (2,)
        self.noise = noise

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        t = torch.rand(n, generator=generator) * math.pi
        lower = torch.rand(n, generator=generator) < 0.5
        upper_moon = torch.stack([t.cos(), t.sin()], dim=1)
        lower_moon = torch.stack([1 - t.cos(), 0.5 - t.sin()], dim=1)
        points = torch.where(lower[:, None], lower_moon, upper_moon)
        return points + self.noise * torch.randn((n, 2), generator=generator)


class Ring(Dataset):
    """A noisy circle of radius ``radius`` centred at the origin."""

    def __init__(self, radius: float = 1.0, noise: float = 0.02, name: str = "ring") -> None:
        self.name = name
        self.shape = (2,)
        self.radius = radius
        self.noise = noise

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        t = torch.rand(n, generator=generator) * (2 * math.pi)
        points = self.radius * torch.stack([t.cos(), t.sin()], dim=1)
        return points + self.noise * torch.randn((n, 2), generator=generator)


class Square(Dataset):
    """The noisy boundary of the square ``[-half, half]^2``."""

    def __init__(self, half: float = 1.0, noise: float = 0.02, name: str = "square") -> None:
        self.name = name
        self.shape = (2,)
        self.half = half
        self.noise = noise

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        s = torch.rand(n, generator=generator) * 4  # arc length in units of one side
        side = s.floor().clamp(max=3)
        along = (s - side) * 2 - 1  # position along the side, in [-1, 1]
        one = torch.ones_like(along)
        x = torch.stack([along, one, -along, -one])  # bottom-to-top traversal of the 4 sides
        y = torch.stack([-one, along, one, -along])
        index = side.long()[None]
        points = torch.stack([x.gather(0, index)[0], y.gather(0, index)[0]], dim=1) * self.half
        return points + self.noise * torch.randn((n, 2), generator=generator)
