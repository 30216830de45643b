"""The data-set interface: deterministic sampling from a :class:`torch.Generator`.

Every data set draws its samples on the CPU, in float32, from the generator it is given and from
nothing else, so a run is reproducible from the generator's state alone (and a checkpoint only
has to store that state). Mixtures also expose their modes for the mode metrics.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Dataset", "Modes", "PairedDomains"]


@dataclass(frozen=True)
class Modes:
    """The components of an isotropic Gaussian mixture, for mode coverage and sample quality.

    Attributes:
        means: mode centres, shape ``(K, d)``.
        std: the common per-coordinate standard deviation of every component.
        weights: mixture weights, shape ``(K,)``, summing to 1.
    """

    means: Tensor
    std: float
    weights: Tensor

    @property
    def count(self) -> int:
        return int(self.means.shape[0])


class Dataset(ABC):
    """A distribution to learn, sampled deterministically.

    Attributes:
        name: the registry name.
        shape: shape of one sample, ``(d,)`` for points, ``(1, 8, 8)`` for 8x8 images.
        modes: the mixture components, or ``None`` when the data set is not a Gaussian mixture.
    """

    name: str = ""
    shape: tuple[int, ...] = ()
    modes: Modes | None = None

    @abstractmethod
    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` samples ``(n, *shape)``, float32 on the CPU, drawn from ``generator`` only."""

    @property
    def dim(self) -> int:
        """Number of coordinates of one sample (the product of :attr:`shape`)."""
        return int(torch.Size(self.shape).numel())

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, shape={self.shape})"


@dataclass(frozen=True)
class PairedDomains:
    """Two domains X and Y for CycleGAN: training distributions and held-out distributions.

    CycleGAN is trained on *unpaired* samples: X and Y batches are drawn independently. The
    held-out pair is used for the cycle error only; for continuous 2-D domains it is the same
    distribution sampled from a separate generator, for digits the held-out image split.
    """

    name: str
    x: Dataset
    y: Dataset
    held_out_x: Dataset
    held_out_y: Dataset

    @property
    def shape(self) -> tuple[int, ...]:
        return self.x.shape

    @property
    def is_image(self) -> bool:
        return self.x.is_image
