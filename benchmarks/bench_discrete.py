"""Discrete KL and JS on a 1024 x 1000 float64 batch: divergences vs SciPy, in one run.

Run: ``.venv/bin/pytest benchmarks/bench_discrete.py --benchmark-only -o
python_files='bench_*.py'``; ratios: see :mod:`benchmarks.ratios` (target: 3x faster than SciPy).

The peers are SciPy's element-wise ``rel_entr`` summed over the last axis (KL) and the square of
``scipy.spatial.distance.jensenshannon`` along the last axis (JS in nats), on NumPy arrays, their
fastest path. ``divergences`` runs on torch tensors sharing the same memory, once with the
default ``validate=True`` (finite, non-negative, normalised inputs: one host synchronisation) and
once with ``validate=False``. The values are checked to agree before timing.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.special
import torch

import divergences as dv
from benchmarks.ratios import AT_MOST_THIRD, mark

BATCH, OUTCOMES = 1024, 1000
ROUNDS = 20
WARMUP = 2


@pytest.fixture(scope="module")
def distributions() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(OUTCOMES), size=BATCH)
    q = rng.dirichlet(np.ones(OUTCOMES), size=BATCH)
    return p, q


def scipy_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return scipy.special.rel_entr(p, q).sum(axis=-1)


def scipy_js(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return scipy.spatial.distance.jensenshannon(p, q, axis=-1) ** 2


PEERS = {
    "kl": (scipy_kl, "scipy rel_entr(p, q).sum(-1)"),
    "js": (scipy_js, "scipy jensenshannon**2"),
}
LIBRARY = {"kl": dv.kl, "js": dv.js}

CASES = [
    pytest.param(name, side, id=f"{name}-{side}")
    for name in ("kl", "js")
    for side in ("validate", "no-validate", "scipy")
]


@pytest.mark.parametrize(("name", "side"), CASES)
def test_discrete(benchmark, distributions, name: str, side: str) -> None:
    p, q = distributions
    peer, peer_label = PEERS[name]
    expected = peer(p, q)
    case = f"discrete {name}, {BATCH} x {OUTCOMES} float64"
    if side == "scipy":
        mark(benchmark, case=case, side="peer", label=peer_label, target=AT_MOST_THIRD, group=case)
        function, args, kwargs = peer, (p, q), {}
    else:
        validate = side == "validate"
        tp, tq = torch.from_numpy(p), torch.from_numpy(q)
        ours = LIBRARY[name](tp, tq, validate=validate).numpy()
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)
        label = f"dv.{name}(validate={validate})"
        mark(benchmark, case=case, side="library", label=label, target=AT_MOST_THIRD, group=case)
        function, args, kwargs = LIBRARY[name], (tp, tq), {"validate": validate}
    benchmark.pedantic(
        function, args=args, kwargs=kwargs, rounds=ROUNDS, iterations=1, warmup_rounds=WARMUP
    )
