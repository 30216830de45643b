"""The run's random streams and the capture/restore of every random state.

A run draws from dedicated :class:`torch.Generator` objects, one per purpose, seeded from
``(seed, rank, purpose)`` through :class:`numpy.random.SeedSequence` (so streams of different
processes and purposes are independent, and a stream's output does not depend on how many
numbers another stream drew):

- ``data``: real samples; ``noise``: latent codes; ``penalty``: WGAN-GP interpolation weights.

Model initialisation uses torch's global generator, seeded by :func:`torch.manual_seed`.
Metrics draw from a fresh generator per evaluation (:func:`eval_generator`), so they never
disturb the training streams and are the same in a resumed run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["Streams", "capture_rng", "eval_generator", "restore_rng", "stream_seed"]

_PURPOSES = {"data": 1, "noise": 2, "penalty": 3, "eval": 4, "plot": 5}


def stream_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed mixed from ``seed`` and integer keys by SeedSequence."""
    state = np.random.SeedSequence([seed, *keys]).generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


@dataclass
class Streams:
    """The training streams of one process."""

    data: torch.Generator
    noise: torch.Generator
    penalty: torch.Generator

    @classmethod
    def create(cls, seed: int, rank: int = 0) -> Streams:
        def make(purpose: str) -> torch.Generator:
            return torch.Generator().manual_seed(stream_seed(seed, rank, _PURPOSES[purpose]))

        return cls(data=make("data"), noise=make("noise"), penalty=make("penalty"))

    def state(self) -> dict[str, torch.Tensor]:
        return {
            "data": self.data.get_state(),
            "noise": self.noise.get_state(),
            "penalty": self.penalty.get_state(),
        }

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        self.data.set_state(state["data"])
        self.noise.set_state(state["noise"])
        self.penalty.set_state(state["penalty"])


def eval_generator(seed: int, step: int, purpose: str = "eval") -> torch.Generator:
    """The generator of the evaluation (or, ``purpose="plot"``, the plot) at ``step``.

    Independent of the training streams, and a function of ``(seed, step)`` only.
    """
    return torch.Generator().manual_seed(stream_seed(seed, step, _PURPOSES[purpose]))


def capture_rng(streams: Streams) -> dict[str, Any]:
    """Every random state a run may touch: the streams, torch (CPU and CUDA), Python, NumPy."""
    state: dict[str, Any] = {
        "streams": streams.state(),
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": np.random.get_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(streams: Streams, state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng`."""
    streams.load_state(state["streams"])
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
