"""W1 between two 1-D samples of 10^6 points: divergences vs SciPy vs POT, in one run.

Run: ``.venv/bin/pytest benchmarks/bench_wasserstein.py --benchmark-only``; ratios: see
:mod:`benchmarks.ratios` (target: not slower than either peer).

All three compute the same exact W1 in float64 on the CPU from the same data (checked below).
``divergences`` runs on torch tensors (it is the torch version that is differentiable); SciPy and
POT run on NumPy arrays, their fastest path. The group makes pytest-benchmark print them side
by side.
"""

from __future__ import annotations

import numpy as np
import ot
import pytest
import scipy.stats
import torch

from benchmarks.ratios import NOT_SLOWER, mark
from divergences.numeric import wasserstein_1d

N_SAMPLES = 1_000_000
GROUP = "wasserstein_1d, 1e6 float64 samples per side"
# Each call takes a few hundred ms: a fixed number of rounds (after one warm-up call) gives
# stable medians without pytest-benchmark's calibration.
ROUNDS = 10


def run(benchmark, side, label, function, *args, **kwargs):
    mark(benchmark, case=GROUP, side=side, label=label, target=NOT_SLOWER, group=GROUP)
    return benchmark.pedantic(
        function, args=args, kwargs=kwargs, rounds=ROUNDS, iterations=1, warmup_rounds=1
    )


@pytest.fixture(scope="module")
def samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(0.0, 1.0, N_SAMPLES), rng.normal(0.5, 2.0, N_SAMPLES)


@pytest.fixture(scope="module")
def reference(samples: tuple[np.ndarray, np.ndarray]) -> float:
    return scipy.stats.wasserstein_distance(*samples)


def test_divergences_torch(benchmark, samples, reference) -> None:
    x, y = (torch.from_numpy(s) for s in samples)
    result = run(benchmark, "library", "wasserstein_1d(validate=True)", wasserstein_1d, x, y)
    assert result.item() == pytest.approx(reference, rel=1e-9)


def test_divergences_torch_without_validation(benchmark, samples, reference) -> None:
    x, y = (torch.from_numpy(s) for s in samples)
    result = run(
        benchmark, "library", "wasserstein_1d(validate=False)", wasserstein_1d, x, y, validate=False
    )
    assert result.item() == pytest.approx(reference, rel=1e-9)


def test_scipy(benchmark, samples, reference) -> None:
    result = run(
        benchmark,
        "peer",
        "scipy.stats.wasserstein_distance",
        scipy.stats.wasserstein_distance,
        *samples,
    )
    assert result == reference


def test_pot_numpy(benchmark, samples, reference) -> None:
    result = run(benchmark, "peer", "ot.wasserstein_1d", ot.wasserstein_1d, *samples, p=1)
    assert result == pytest.approx(reference, rel=1e-9)
