"""Training loops: one :class:`Loop` per model family, chosen by :func:`make_loop`."""

from __future__ import annotations

import torch

from ..config import TrainConfig
from ..data import Dataset, PairedDomains
from .adversarial import AdversarialLoop as AdversarialLoop
from .base import Loop as Loop
from .base import StepContext as StepContext
from .cyclegan import CycleGanLoop as CycleGanLoop
from .games import FGanGame as FGanGame
from .games import Game as Game
from .games import GanGame as GanGame
from .games import WGanGame as WGanGame
from .games import WGanGPGame as WGanGPGame
from .games import make_game as make_game

__all__ = [
    "AdversarialLoop",
    "CycleGanLoop",
    "FGanGame",
    "Game",
    "GanGame",
    "Loop",
    "StepContext",
    "WGanGPGame",
    "WGanGame",
    "make_game",
    "make_loop",
]


def make_loop(config: TrainConfig, data: Dataset | PairedDomains, device: torch.device) -> Loop:
    """The loop of ``config.model`` (networks built with torch's global generator)."""
    if config.model == "cyclegan":
        assert isinstance(data, PairedDomains)
        return CycleGanLoop(config, data, device)
    assert isinstance(data, Dataset)
    return AdversarialLoop(config, data, device)
