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
    """Every random state a run may touch: the streams, torch (CPU and CUDA), Python, NumPy.

    The result holds only tensors, strings, numbers and ``None`` in dicts and lists, so a
    checkpoint stores it in the form :func:`torch.load` reads with ``weights_only=True`` (no
    NumPy array, no tuple of Python's own state object): Python's and NumPy's Mersenne-Twister
    words become ``int64`` tensors. :mod:`.checkpoint` checks this layout on save and on load.
    """
    version, internal, gauss_next = random.getstate()
    numpy_state = np.random.get_state(legacy=False)
    state: dict[str, Any] = {
        "streams": streams.state(),
        "torch": torch.get_rng_state(),
        "python": {
            "version": int(version),
            "state": torch.tensor(internal, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
        "numpy": {
            "bit_generator": str(numpy_state["bit_generator"]),
            "key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
            "pos": int(numpy_state["state"]["pos"]),
            "has_gauss": int(numpy_state["has_gauss"]),
            "gauss": float(numpy_state["gauss"]),
        },
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(streams: Streams, state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng`.

    Raises whatever torch, :mod:`random` or NumPy raise for a state of the wrong shape or values
    (``RuntimeError``, ``ValueError``, ``TypeError``); the trainer reports it as a
    :class:`~.errors.CheckpointError` naming the file.
    """
    python, numpy_state = state["python"], state["numpy"]
    streams.load_state(state["streams"])
    torch.set_rng_state(state["torch"])
    random.setstate(
        (python["version"], tuple(int(w) for w in python["state"].tolist()), python["gauss_next"])
    )
    np.random.set_state(
        {
            "bit_generator": numpy_state["bit_generator"],
            "state": {
                "key": numpy_state["key"].numpy().astype(np.uint32),
                "pos": numpy_state["pos"],
            },
            "has_gauss": numpy_state["has_gauss"],
            "gauss": numpy_state["gauss"],
        }
    )
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
