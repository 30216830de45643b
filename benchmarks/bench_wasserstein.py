"""Exact 1-D W1 and sliced W1: divergences vs SciPy vs POT, in one run, at one thread.

Run: ``.venv/bin/python -m pytest benchmarks/bench_wasserstein.py --benchmark-only -q
-o python_files='bench_*.py'``; ratios: :mod:`benchmarks.ratios` (issue 18's targets: exact 1-D
W1 at most 0.5x of POT's and SciPy's time; sliced W1 on 1e5 points x 64 dimensions x 128
projections at most 0.8x of POT's ``sliced_wasserstein_distance``, same projections, same value).

All compute the same values in float64 on the CPU from the same data (checked below), with torch
held to one thread (``torch.set_num_threads(1)``; SciPy's and POT's sorts are single-threaded).
``divergences`` runs on torch tensors (it is the torch version that is differentiable); SciPy and
POT run on NumPy arrays, their fastest path.
"""

from __future__ import annotations

import numpy as np
import ot
import pytest
import scipy.stats
import torch

from benchmarks.ratios import AT_MOST_0_8X, AT_MOST_HALF, mark
from divergences.numeric import sliced_wasserstein, wasserstein_1d

N_SAMPLES = 1_000_000
GROUP = "wasserstein_1d, 1e6 float64 samples per side, 1 thread"
SLICED = "sliced_wasserstein p=1, 1e5 x 64 float64, 128 projections, 1 thread"
# Each call takes tens to hundreds of ms: a fixed number of rounds (after one warm-up call)
# gives stable medians without pytest-benchmark's calibration.
ROUNDS = 10


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run(benchmark, case, side, label, target, function, *args, **kwargs):
    mark(benchmark, case=case, side=side, label=label, target=target, group=case)
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
    result = run(
        benchmark, GROUP, "library", "wasserstein_1d(validate=True)", AT_MOST_HALF,
        wasserstein_1d, x, y,
    )  # fmt: skip
    assert result.item() == pytest.approx(reference, rel=1e-9)


def test_divergences_torch_without_validation(benchmark, samples, reference) -> None:
    x, y = (torch.from_numpy(s) for s in samples)
    result = run(
        benchmark, GROUP, "library", "wasserstein_1d(validate=False)", AT_MOST_HALF,
        wasserstein_1d, x, y, validate=False,
    )  # fmt: skip
    assert result.item() == pytest.approx(reference, rel=1e-9)


def test_divergences_torch_with_gradient(benchmark, samples, reference) -> None:
    x, y = (torch.from_numpy(s).requires_grad_() for s in samples)

    def forward_backward():
        value = wasserstein_1d(x, y, validate=False)
        value.backward()
        return value.detach()

    result = run(
        benchmark, GROUP, "library", "wasserstein_1d fwd+bwd", AT_MOST_HALF, forward_backward
    )
    assert result.item() == pytest.approx(reference, rel=1e-9)


def test_scipy(benchmark, samples, reference) -> None:
    result = run(
        benchmark, GROUP, "peer", "scipy.stats.wasserstein_distance", AT_MOST_HALF,
        scipy.stats.wasserstein_distance, *samples,
    )  # fmt: skip
    assert result == reference


def test_pot_numpy(benchmark, samples, reference) -> None:
    result = run(
        benchmark, GROUP, "peer", "ot.wasserstein_1d", AT_MOST_HALF,
        ot.wasserstein_1d, *samples, p=1,
    )  # fmt: skip
    assert result == pytest.approx(reference, rel=1e-9)


@pytest.fixture(scope="module")
def clouds() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 1.0, (100_000, 64))
    y = rng.normal(0.3, 1.5, (100_000, 64))
    directions = rng.normal(size=(128, 64))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return x, y, directions


@pytest.fixture(scope="module")
def sliced_reference(clouds) -> float:
    x, y, directions = clouds
    return float(ot.sliced_wasserstein_distance(x, y, p=1, projections=directions.T))


def test_sliced_divergences(benchmark, clouds, sliced_reference) -> None:
    x, y, directions = (torch.from_numpy(a) for a in clouds)
    result = run(
        benchmark, SLICED, "library", "sliced_wasserstein(validate=False)", AT_MOST_0_8X,
        sliced_wasserstein, x, y, p=1, projections=directions, validate=False,
    )  # fmt: skip
    assert result.item() == pytest.approx(sliced_reference, rel=1e-9)


def test_sliced_pot(benchmark, clouds, sliced_reference) -> None:
    x, y, directions = clouds
    result = run(
        benchmark, SLICED, "peer", "ot.sliced_wasserstein_distance", AT_MOST_0_8X,
        ot.sliced_wasserstein_distance, x, y, p=1, projections=directions.T,
    )  # fmt: skip
    assert float(result) == pytest.approx(sliced_reference, rel=1e-12)
