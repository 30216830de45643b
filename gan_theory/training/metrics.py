r"""Sample-quality metrics: distance to the data, mode coverage, cycle error.

- Earth mover's distance to the data: exact :math:`W_1` between the empirical distributions for
  1-D data (:func:`divergences.numeric.wasserstein_1d`), sliced :math:`W_1` over flattened
  samples otherwise (:func:`divergences.numeric.sliced_wasserstein`, 128 random directions).
- Mode metrics for Gaussian mixtures (Metz et al., *Unrolled GANs*, 2017; Srivastava et al.,
  *VEEGAN*, 2017): each sample is assigned to its nearest mode; it is *high quality* when its
  Euclidean distance to that mode is at most :math:`3\sigma`. Mode :math:`k` (weight :math:`w_k`)
  is *covered* when it receives at least ``coverage_fraction`` :math:`\times\, w_k n` high-quality
  samples out of :math:`n` (default fraction 1/4: a quarter of its expected share).
- Cycle error (CycleGAN): the mean absolute error :math:`\overline{|F(G(x)) - x|}` on held-out
  points of each domain, the cycle-consistency loss of Zhu et al. (2017) evaluated out of sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from divergences.numeric import sliced_wasserstein, wasserstein_1d

from .data import Modes

__all__ = ["ModeReport", "cycle_error", "distance_to_data", "mode_report"]

HIGH_QUALITY_STDS = 3.0


def distance_to_data(
    fake: Tensor, real: Tensor, generator: torch.Generator, n_projections: int = 128
) -> float:
    """:math:`W_1` (1-D data) or sliced :math:`W_1` (otherwise) between two sample sets."""
    fake = fake.detach().reshape(fake.shape[0], -1).double()
    real = real.detach().reshape(real.shape[0], -1).double()
    if fake.shape[1] == 1:
        return float(wasserstein_1d(fake[:, 0], real[:, 0]))
    projections = torch.randn((n_projections, fake.shape[1]), generator=generator)
    return float(sliced_wasserstein(fake, real, projections=projections.to(fake)))


@dataclass(frozen=True)
class ModeReport:
    """Mode metrics of a sample set.

    Attributes:
        covered: number of covered modes.
        total: number of modes.
        high_quality: share of samples within :math:`3\\sigma` of their nearest mode.
        counts: high-quality samples per mode.
    """

    covered: int
    total: int
    high_quality: float
    counts: tuple[int, ...]


def mode_report(samples: Tensor, modes: Modes, coverage_fraction: float = 0.25) -> ModeReport:
    """Assign samples to their nearest mode and count coverage and high-quality samples."""
    points = samples.detach().reshape(samples.shape[0], -1).double()
    means = modes.means.double()
    distances = torch.cdist(points, means, compute_mode="donot_use_mm_for_euclid_dist")
    nearest_distance, nearest = distances.min(dim=1)
    good = nearest_distance <= HIGH_QUALITY_STDS * modes.std
    counts = torch.bincount(nearest[good], minlength=modes.count)
    needed = coverage_fraction * modes.weights.double() * points.shape[0]
    covered = int((counts.double() >= needed).sum())
    return ModeReport(
        covered=covered,
        total=modes.count,
        high_quality=float(good.double().mean()),
        counts=tuple(int(c) for c in counts),
    )


def cycle_error(x: Tensor, x_reconstructed: Tensor) -> float:
    """Mean absolute reconstruction error over all elements."""
    return float((x_reconstructed.detach() - x.detach()).abs().mean())
