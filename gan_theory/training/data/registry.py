"""Named data sets: :func:`get_dataset`, :func:`dataset_names`, :func:`paired_names`.

========================  ==========================================================
``mixture-1d``            four 1-D Gaussians at -3, -1, 1, 3 (std 0.2)
``bimodal-1d``            two 1-D Gaussians at -2 and 2 (std 0.5), the f-GAN experiment
``ring-8``                eight 2-D Gaussians on a circle of radius 2 (std 0.02)
``grid-25``               25 2-D Gaussians on a 5x5 grid with spacing 2 (std 0.05)
``two-moons``             two interleaving half circles (noise 0.05)
``digits``                scikit-learn's 8x8 digits, images in [-1, 1]
``ring-square``           paired domains: circle of radius 1 <-> square boundary
``digits-inverted``       paired domains: digits <-> inverted digits
========================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable

from .base import Dataset, PairedDomains
from .digits import Digits
from .mixtures import bimodal_1d, grid_25, mixture_1d, ring_8
from .shapes import Ring, Square, TwoMoons

__all__ = ["dataset_names", "get_dataset", "is_paired", "paired_names", "single_names"]


def _ring_square() -> PairedDomains:
    return PairedDomains(
        name="ring-square",
        x=Ring(name="ring"),
        y=Square(name="square"),
        held_out_x=Ring(name="ring"),
        held_out_y=Square(name="square"),
    )


def _digits_inverted() -> PairedDomains:
    return PairedDomains(
        name="digits-inverted",
        x=Digits("train"),
        y=Digits("train", inverted=True),
        held_out_x=Digits("held_out"),
        held_out_y=Digits("held_out", inverted=True),
    )


_SINGLE: dict[str, Callable[[], Dataset]] = {
    "mixture-1d": mixture_1d,
    "bimodal-1d": bimodal_1d,
    "ring-8": ring_8,
    "grid-25": grid_25,
    "two-moons": TwoMoons,
    "digits": Digits,
}
_PAIRED: dict[str, Callable[[], PairedDomains]] = {
    "ring-square": _ring_square,
    "digits-inverted": _digits_inverted,
}


def single_names() -> tuple[str, ...]:
    """Names of the one-distribution data sets (for GAN, f-GAN and WGAN models)."""
    return tuple(_SINGLE)


def paired_names() -> tuple[str, ...]:
    """Names of the two-domain data sets (for CycleGAN)."""
    return tuple(_PAIRED)


def dataset_names() -> tuple[str, ...]:
    """All registered data-set names."""
    return single_names() + paired_names()


def is_paired(name: str) -> bool:
    return name in _PAIRED


def get_dataset(name: str) -> Dataset | PairedDomains:
    """A fresh instance of the named data set.

    Raises:
        KeyError: unknown name; the message lists the registered names.
    """
    if name in _SINGLE:
        return _SINGLE[name]()
    if name in _PAIRED:
        return _PAIRED[name]()
    raise KeyError(f"unknown data set {name!r}; registered: {', '.join(dataset_names())}")
