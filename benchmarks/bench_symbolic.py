"""Deriving and certifying the whole registry: cold, warm from the disk cache, warm in memory.

Run: ``.venv/bin/pytest benchmarks/bench_symbolic.py --benchmark-only``.

* **cold**: no cache at all (``DIVERGENCES_CACHE_DIR=off``, memory cache cleared): every
  generator is validated, its conjugate derived and every certificate step checked (target:
  under 10 s on two cores).
* **warm (disk)**: the memory cache is cleared, the disk cache holds every entry (one JSON file
  per derivation, decoded without evaluation): what a new process pays after the first derivation
  (target: under 50 ms).
* **warm (memory)**: the peer in the same run, the lower bound set by building the
  ``FDivergence`` views alone.

``dv.get`` keeps one object per ``(name, parameters)``; every round forgets those objects too, so
each round goes through the derivation cache.

The registry is every name with its default parameters, plus the parametrised entries the report
shows (alpha = -1 and 2, js_weighted with pi = 3/10).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sympy as sp

import divergences as dv
from divergences import fdivergence
from divergences.symbolic import cache

GROUP = "derive + certify the whole registry"
ENTRIES: tuple[tuple[str, dict[str, object]], ...] = (
    *((name, {}) for name in dv.names()),
    ("alpha", {"alpha": -1}),
    ("alpha", {"alpha": 2}),
    ("js_weighted", {"pi": sp.Rational(3, 10)}),
)


def derive_registry() -> list[dv.FDivergence]:
    return [dv.get(name, **params) for name, params in ENTRIES]


def forget_views() -> None:
    """Forget the objects ``dv.get`` keeps, so that the next call asks the derivation cache."""
    instances = getattr(fdivergence, "_INSTANCES", None)
    if instances is not None:
        instances.clear()


def forget_all() -> None:
    """Forget the views and the in-memory derivations (the disk cache is kept)."""
    forget_views()
    cache.clear_memory_cache()


@pytest.fixture
def cache_directory(tmp_path, monkeypatch) -> Iterator[str]:
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(tmp_path))
    forget_all()
    yield str(tmp_path)
    forget_all()


def test_cold(benchmark, monkeypatch) -> None:
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", "off")
    benchmark.group = GROUP
    result = benchmark.pedantic(derive_registry, setup=forget_all, rounds=3, iterations=1)
    assert all(d.verified for d in result)
    forget_all()


def test_warm_from_disk(benchmark, cache_directory) -> None:
    derive_registry()  # fills the disk cache
    assert len([f for f in os.listdir(cache_directory) if f.endswith(".json")]) >= len(ENTRIES)
    benchmark.group = GROUP
    result = benchmark.pedantic(derive_registry, setup=forget_all, rounds=20, iterations=1)
    assert all(d.verified for d in result)


def test_warm_in_memory(benchmark, cache_directory) -> None:
    derive_registry()
    benchmark.group = GROUP
    result = benchmark.pedantic(derive_registry, setup=forget_views, rounds=50, iterations=1)
    assert all(d.verified for d in result)
