"""scikit-learn's bundled 8x8 handwritten digits as images in [-1, 1] (no download).

The 1797 images of :func:`sklearn.datasets.load_digits` (UCI optical recognition of handwritten
digits, test set), grey levels 0..16 mapped linearly to [-1, 1], shape ``(1, 8, 8)``. A fixed
permutation (independent of any run's seed) splits them into 1497 training and 300 held-out
images. ``inverted=True`` gives the negatives ``-x`` (white digits on black become black on
white): the second domain of the digits CycleGAN.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor

from .base import Dataset

__all__ = ["HELD_OUT", "Digits"]

HELD_OUT = 300
_SPLIT_SEED = 20240607


@lru_cache(maxsize=1)
def _all_images() -> Tensor:
    from sklearn.datasets import load_digits

    pixels = torch.as_tensor(load_digits().data, dtype=torch.float32)  # (1797, 64), 0..16
    images = (pixels / 8.0 - 1.0).reshape(-1, 1, 8, 8)
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(_SPLIT_SEED))
    return images[order]


class Digits(Dataset):
    """Uniform draws (with replacement) from one split of the 8x8 digits.

    Args:
        split: ``"train"`` (1497 images) or ``"held_out"`` (300 images).
        inverted: return ``-x`` instead of ``x``.
    """

    def __init__(self, split: str = "train", inverted: bool = False) -> None:
        if split not in ("train", "held_out"):
            raise ValueError(f"split must be 'train' or 'held_out', got {split!r}")
        self.split = split
        self.inverted = inverted
        self.name = "digits-inverted" if inverted else "digits"
        self.shape = (1, 8, 8)

    @property
    def images(self) -> Tensor:
        """All images of the split, shape ``(N, 1, 8, 8)``."""
        every = _all_images()
        chosen = every[:-HELD_OUT] if self.split == "train" else every[-HELD_OUT:]
        return -chosen if self.inverted else chosen

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        images = self.images
        index = torch.randint(images.shape[0], (n,), generator=generator)
        return images[index]
