"""One intra-op thread for these tests (restored afterwards).

Their tensors are small (a few thousand elements): an intra-op parallel region then costs more
in scheduling than it saves, and on a shared two-core machine each region waits for a busy
core (a 300-step critic training took 1.6 s on one thread and up to 27 s on two). The
benchmarks make the same choice (``benchmarks/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
