"""Cold-cache speed-up: derive, emit and plot the registry's divergences in worker processes.

Everything a report needs from a divergence (its derivation, the emitted torch functions' forms,
its plot) is a pure function stored in the disk cache (:mod:`divergences.symbolic.cache`). When
that cache is cold, :func:`start` fills it from a pool of worker processes while the main process
checks the propositions; the main process then reads the results back from disk, re-checking the
certificates on load as it always does. Nothing computed by a worker is trusted as is: a worker
only saves the main process time.

A marker file in the cache directory, named by a hash of the engine's, the emitter's and the
plotting code's sources and of what is reported, records that a report was written with a warm
cache; while it is there (the sources unchanged) no pool is started, since starting one costs
more than reading the cache. The marker only decides the schedule, never a result.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import multiprocessing
import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["MIN_ENTRIES", "Warmup", "mark_warm", "marker_path", "start", "warm_one"]

#: fewer cold entries than this are derived in the main process (a pool costs ~3 s to start)
MIN_ENTRIES = 4


def warm_one(name: str, params: dict[str, object]) -> str:
    """In a worker: derive ``name``, emit its torch functions and draw its plot (all stored in
    the disk cache). Errors are left for the main process to meet and report."""
    import divergences as dv
    from divergences.render.plots import divergence_svg

    try:
        divergence_svg(dv.get(name, **params))
    except Exception as exc:  # the main process derives it again and raises the real error
        return f"{name}: {type(exc).__name__}"
    return name


def marker_path(reported: Sequence[tuple[str, dict[str, object]]]) -> Path | None:
    """The marker of a warm cache for these entries, or ``None`` without a disk cache."""
    import matplotlib
    import torch

    from divergences.symbolic.cache import cache_dir, source_fingerprint

    directory = cache_dir()
    if directory is None:
        return None
    package = Path(__file__).resolve().parents[2] / "divergences"
    fingerprint = source_fingerprint(
        package / "symbolic",
        package / "numeric",
        package / "registry",
        package / "errors.py",
        package / "render" / "plots.py",
    )
    what = json.dumps(
        [fingerprint, [[n, sorted(map(str, p.items()))] for n, p in reported],
         matplotlib.__version__, torch.__version__]
    )  # fmt: skip
    return directory / f"report-warm-{hashlib.sha256(what.encode()).hexdigest()[:32]}.marker"


class Warmup:
    """A running pool of workers (or nothing to wait for); :meth:`wait` joins it."""

    def __init__(self, executor: concurrent.futures.Executor | None, futures: list) -> None:
        self._executor = executor
        self._futures = futures

    @property
    def active(self) -> bool:
        return self._executor is not None

    def wait(self, count: int | None = None) -> None:
        """Wait for the first ``count`` entries (all by default; then the pool is shut down)."""
        if self._executor is None:
            return
        concurrent.futures.wait(self._futures[:count])
        if count is not None and count < len(self._futures):
            return
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None

    def cancel(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def start(reported: Sequence[tuple[str, dict[str, object]]], workers: int | None = None) -> Warmup:
    """Start filling the cache for ``reported`` in ``workers`` processes (default: the CPUs,
    at most 2), unless the cache is off or already warm, or there are too few entries."""
    marker = marker_path(reported)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = min(2, cpus or 1) if workers is None else workers
    if marker is None or marker.exists() or len(reported) < MIN_ENTRIES or workers < 2:
        return Warmup(None, [])
    # spawn, not fork: the parent has torch (and its thread pools) loaded
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn")
    )
    futures = [executor.submit(warm_one, name, dict(params)) for name, params in reported]
    return Warmup(executor, futures)


def mark_warm(reported: Sequence[tuple[str, dict[str, object]]]) -> None:
    """Record that the cache is warm for ``reported`` (after a report was written)."""
    marker = marker_path(reported)
    if marker is not None and not marker.exists():
        with contextlib.suppress(OSError):
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("the derivation report's cache is warm for these sources\n")
