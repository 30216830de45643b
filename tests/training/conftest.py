"""Fixtures for the training tests: tiny, single-threaded configurations.

Runs use one intra-op thread: it is the fastest setting for these small models on a shared
CPU, and bitwise comparisons need a fixed thread count.
"""

from __future__ import annotations

from typing import Any

import pytest

from gan_theory.training import TrainConfig

#: the command-line counterpart of :func:`tiny` (``gan-theory train`` arguments)
TINY_CLI = [
    "--batch-size",
    "32",
    "--hidden",
    "16",
    "--depth",
    "2",
    "--eval-samples",
    "200",
    "--threads",
    "1",
    "--no-progress",
    "--no-plots",
]


def tiny(model: str, **overrides: Any) -> TrainConfig:
    """A few-step configuration of ``model`` with small nets and batches."""
    base: dict[str, Any] = {
        "model": model,
        "steps": 6,
        "batch_size": 32,
        "hidden": 16,
        "depth": 2,
        "channels": 4,
        "log_every": 3,
        "eval_samples": 200,
        "progress": False,
        "plots": False,
        "threads": 1,
    }
    if model == "fgan" and "divergence" not in overrides:
        base["divergence"] = "kl"
    if model == "cyclegan" and "data" not in overrides:
        base["data"] = "ring-square"
    base.update(overrides)
    return TrainConfig(**base)


@pytest.fixture
def tiny_config():
    return tiny
