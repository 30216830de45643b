"""Shared benchmark configuration: the torch thread count, recorded in every result.

SciPy, NumPy and POT run single-threaded, so by default torch does too
(``torch.set_num_threads(1)``): a ratio then compares the algorithms, not the number of cores.
On a shared machine that is also the stable setting: an intra-op parallel region waits for its
slowest thread, and with other processes on the cores each region pays a scheduling delay, so
multi-threaded timings of memory-bound kernels swing by an order of magnitude from run to run.
Set ``DIVERGENCES_BENCH_THREADS=0`` to keep torch's default, or to any positive count.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch

THREADS_VARIABLE = "DIVERGENCES_BENCH_THREADS"


def _requested_threads() -> int:
    value = os.environ.get(THREADS_VARIABLE, "1")
    try:
        threads = int(value)
    except ValueError:
        raise pytest.UsageError(f"{THREADS_VARIABLE} must be an integer, got {value!r}") from None
    if threads < 0:
        raise pytest.UsageError(f"{THREADS_VARIABLE} must be >= 0, got {threads}")
    return threads


@pytest.fixture(scope="session", autouse=True)
def torch_threads() -> Iterator[int]:
    """Set the intra-op thread count for the whole run (restored afterwards)."""
    before = torch.get_num_threads()
    requested = _requested_threads()
    if requested:
        torch.set_num_threads(requested)
    yield torch.get_num_threads()
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _record_threads(request: pytest.FixtureRequest, torch_threads: int) -> None:
    """Store the thread count with each benchmark's result (``extra_info``)."""
    if "benchmark" in request.fixturenames:
        request.getfixturevalue("benchmark").extra_info["torch_threads"] = torch_threads
