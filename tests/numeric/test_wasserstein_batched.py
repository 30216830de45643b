"""``wasserstein_1d`` refuses ambiguous multi-dimensional input unless told ``batched=True``.

SciPy (``scipy.stats.wasserstein_distance``) and POT (``ot.wasserstein_1d``) read an array of
shape ``(n, 2)`` as samples along the first axis; ``wasserstein_1d`` batches over leading
dimensions. Before, ``dv.wasserstein_1d(x, y)`` with ``(n, 2)`` point clouds silently returned
``n`` distances between pairs of numbers. Now a 2-D input is an ``InputError`` that points to
the n-dimensional functions, and ``batched=True`` keeps the batched semantics. Expected values:
SciPy's ``wasserstein_distance`` per row.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch

import divergences as dv
from divergences.numeric import sliced_wasserstein, wasserstein_1d, wasserstein_nd

F64 = torch.float64


def _points(seed: int, n: int = 40, d: int = 2) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=F64)


@pytest.mark.parametrize(
    ("kwargs", "name", "shape"),
    [
        ({"x": _points(0), "y": _points(1)}, "x", (40, 2)),  # the (N, 2) point clouds
        ({"x": torch.zeros(5, dtype=F64), "y": _points(1)}, "y", (40, 2)),
        ({"x": torch.zeros(2, 3, 4, dtype=F64), "y": torch.zeros(4, dtype=F64)}, "x", (2, 3, 4)),
        (
            {
                "x": torch.zeros(4, dtype=F64),
                "y": torch.zeros(3, dtype=F64),
                "x_weights": torch.ones(2, 4, dtype=F64),
            },
            "x_weights",
            (2, 4),
        ),
    ],
)
def test_multi_dimensional_input_is_refused_without_batched(
    kwargs: dict, name: str, shape: tuple[int, ...]
) -> None:
    with pytest.raises(dv.InputError) as error:
        dv.wasserstein_1d(**kwargs)
    message = str(error.value)
    assert f"{name} has shape {shape}" in message
    for pointer in ("wasserstein_nd", "sliced_wasserstein", "batched=True"):
        assert pointer in message


def test_the_refusal_comes_before_any_validation_work() -> None:
    # meta tensors hold no values: the shape rule is applied first, with or without validation
    x = torch.empty(40, 2, device="meta")
    for validate in (True, False):
        with pytest.raises(dv.InputError, match="x has shape"):
            wasserstein_1d(x, x, validate=validate)


def test_batched_gives_one_distance_per_row_as_scipy() -> None:
    x, y = _points(2, 30, 4).T, _points(3, 20, 4).T  # 4 problems, 30 and 20 samples
    got = wasserstein_1d(x, y, batched=True)
    assert got.shape == (4,)
    for row in range(4):
        expected = scipy.stats.wasserstein_distance(x[row].numpy(), y[row].numpy())
        assert got[row].item() == pytest.approx(expected, rel=1e-12)


def test_one_dimensional_samples_are_unchanged_and_match_scipy() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=300), rng.normal(1.0, 2.0, size=200)
    got = wasserstein_1d(torch.from_numpy(x), torch.from_numpy(y))
    assert got.shape == ()
    assert got.item() == pytest.approx(scipy.stats.wasserstein_distance(x, y), rel=1e-12)
    # batched=True on 1-D input is the same single problem
    assert torch.equal(got, wasserstein_1d(torch.from_numpy(x), torch.from_numpy(y), batched=True))


def test_the_functions_the_message_points_to_take_the_point_clouds() -> None:
    x, y = _points(5), _points(6) + 1.0
    assert wasserstein_nd(x, y).item() > 0
    assert sliced_wasserstein(x, y, generator=0).item() > 0


def test_vmap_over_one_dimensional_calls_needs_no_flag() -> None:
    # inside vmap each call sees 1-D samples, as a user's per-example function does
    x, y = _points(7, 10, 3).T, _points(8, 12, 3).T

    def distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return wasserstein_1d(a, b, validate=False)

    torch.testing.assert_close(torch.func.vmap(distance)(x, y), wasserstein_1d(x, y, batched=True))
