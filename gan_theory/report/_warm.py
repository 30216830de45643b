"""Cold-cache speed-up: derive, emit and plot the registry's divergences in worker processes.

Everything a report needs from a divergence (its derivation, the emitted torch functions' forms,
its plot, and the emitted perspective where the propositions evaluate ``d.divergence`` and the
entry has no hand kernel), and the propositions' plots, are pure functions stored in the disk
cache (:mod:`divergences.symbolic.cache`). When that cache is cold, :func:`start` fills it from a
pool of worker processes while the main process checks the propositions; the main process reads
the results back from disk, re-checking the certificates on load as it always does. Nothing
computed by a worker is trusted as is: a worker only saves the main process time.

The ``gan-theory report`` command calls :func:`prestart` before it imports anything heavy: when
the cache looks cold, the fork server then imports the library on one core while the command
imports it on the other (one after the other, a core would idle for seconds).

The schedule: largest first (:func:`estimated_cost`), so that no worker is left with one long
entry at the end while the other idles; when the report has propositions, the entries with their
default parameters come first (the propositions derive those, so the main process waits for them
before checking the propositions, while the workers go on with the others).

The workers are forked from one server process that imported the library once (``forkserver``
with a preload, on Linux; ``spawn`` elsewhere), instead of each worker importing torch, SymPy
and matplotlib on its own. A pool that cannot start leaves all the work to the main process.

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
import sys
from collections.abc import Sequence
from multiprocessing.context import BaseContext
from pathlib import Path

__all__ = [
    "MIN_ENTRIES",
    "PRELOAD",
    "Warmup",
    "cache_directory",
    "estimated_cost",
    "mark_warm",
    "marker_path",
    "prestart",
    "schedule",
    "start",
    "warm_one",
    "warm_proposition_plot",
]

#: fewer cold entries than this are derived in the main process (a pool costs ~3 s to start)
MIN_ENTRIES = 4

#: what the fork server imports once for all workers (what :func:`warm_one` uses)
PRELOAD = (
    "divergences",
    "divergences.numeric.discrete",
    "divergences.render.plots",
    "matplotlib.figure",
    "matplotlib.backends.backend_svg",
)

Reported = Sequence[tuple[str, dict[str, object]]]


def warm_one(name: str, params: dict[str, object], perspective: bool = False) -> str:
    """In a worker: derive ``name``, emit its torch functions and draw its plot (all stored in
    the disk cache); with ``perspective``, also build what ``d.divergence`` uses (the entry's
    hand kernel, or the emitted perspective, whose forms are cached). Errors are left for the
    main process to meet and report."""
    import divergences as dv
    from divergences.numeric.discrete import perspective as chosen_perspective
    from divergences.render.plots import divergence_svg

    try:
        d = dv.get(name, **params)
        divergence_svg(d)
        if perspective:
            chosen_perspective(d)
    except Exception as exc:  # the main process derives it again and raises the real error
        return f"{name}: {type(exc).__name__}"
    return name


def warm_proposition_plot(name: str) -> str:
    """In a worker: draw proposition ``name``'s plot into the disk cache (a picture, never a
    certificate: :func:`.plots.proposition_svg`). Errors are left to the main process."""
    from .plots import proposition_svg

    try:
        proposition_svg(name)
    except Exception as exc:  # the main process draws it again and raises the real error
        return f"{name}: {type(exc).__name__}"
    return name


def estimated_cost(name: str, params: dict[str, object], perspective: bool = False) -> int:
    """A rough, relative cost of :func:`warm_one` for ordering the work: the number of operations
    in the generator (its conjugate, certificates and form searches grow with it), twice that
    when the emitted perspective is searched too (an entry without a hand kernel). Unknown names
    and refused parameters cost 0: the main process meets the error."""
    import sympy as sp

    import divergences.numeric.discrete  # noqa: F401  (attaches the hand kernels to the entries)
    from divergences.registry import REGISTRY

    entry = REGISTRY.get(name)
    if entry is None:
        return 0
    try:
        values = entry.resolve(params)
        ops = int(sp.count_ops(entry.generator(**values)))
        searched = perspective and entry.kernel(values) is None
    except Exception:  # only an ordering hint: the main process meets and reports the error
        return 0
    return ops * (2 if searched else 1)


def schedule(
    reported: Reported, propositions: bool = False
) -> list[tuple[str, dict[str, object], bool]]:
    """``(name, params, perspective)`` in the order the workers take them, by decreasing
    :func:`estimated_cost` (ties keep the report's order).

    With ``propositions`` (the main process checks them, and they derive the entries with their
    default parameters and evaluate ``d.divergence`` on those) the default entries come first,
    with ``perspective`` set, then the others; the main process waits for the first group only.
    """
    tasks = [(name, dict(params), propositions and not params) for name, params in reported]
    costs = [estimated_cost(*task) for task in tasks]
    order = sorted(
        range(len(tasks)), key=lambda i: (propositions and bool(tasks[i][1]), -costs[i], i)
    )
    return [tasks[i] for i in order]


def marker_path(reported: Reported) -> Path | None:
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
    """A running pool of workers (or nothing to wait for); :meth:`wait` joins it.

    ``futures`` pairs each task's future with whether it is a registry entry with its default
    parameters (what the propositions derive).
    """

    def __init__(
        self,
        executor: concurrent.futures.Executor | None,
        futures: Sequence[tuple[bool, concurrent.futures.Future]],
    ) -> None:
        self._executor = executor
        self._futures = list(futures)

    @property
    def active(self) -> bool:
        return self._executor is not None

    def wait(self, defaults_only: bool = False) -> None:
        """Wait for the entries with default parameters (``defaults_only``), or for every task
        (then the pool is shut down)."""
        if self._executor is None:
            return
        if defaults_only:
            concurrent.futures.wait([f for default, f in self._futures if default])
            return
        concurrent.futures.wait([f for _, f in self._futures])
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None

    def cancel(self) -> None:
        """Stop the pool without waiting (tasks not started are dropped)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _forkserver_usable() -> bool:
    """Linux with the ``forkserver`` start method (macOS has it too, but forking a process
    that loaded system frameworks is unsafe there: Python itself defaults to ``spawn``)."""
    return sys.platform.startswith("linux") and (
        "forkserver" in multiprocessing.get_all_start_methods()
    )


def _context() -> BaseContext:
    """``forkserver`` preloading :data:`PRELOAD` where usable, else ``spawn``. Never plain
    ``fork``: the parent has torch (and its thread pools) loaded; the fork server is a fresh
    process that only imports (no torch operation runs in it before it forks)."""
    if _forkserver_usable():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(PRELOAD))
        return context
    return multiprocessing.get_context("spawn")


def _cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cache_directory() -> Path | None:
    """The disk cache directory, or ``None`` when it is off: the rule of
    :func:`divergences.symbolic.cache.cache_dir`, repeated here because importing the library
    takes seconds (``tests/report/test_warm.py`` checks that the two agree)."""
    configured = os.environ.get("DIVERGENCES_CACHE_DIR")
    if configured is not None:
        return None if configured.lower() in {"", "off", "0", "none"} else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "divergences"


def prestart() -> bool:
    """Start the fork server of :func:`start` now, when the cache looks cold (it holds no warm
    marker at all, for any sources) and two CPUs are there; return whether it was started.

    Call it before importing the library, for a report that :func:`start` will fill with
    workers (registry entries, as HTML): the server's imports then run next to the caller's.
    It only decides when the server starts; :func:`start` decides, as before, whether a pool
    is used (with stale markers of edited sources, the server simply starts later, there).
    """
    directory = cache_directory()
    if directory is None or _cpus() < 2 or not _forkserver_usable():
        return False
    with contextlib.suppress(OSError):
        if any(directory.glob("report-warm-*.marker")):
            return False
    from multiprocessing import forkserver

    _context()  # sets the preload
    try:
        forkserver.ensure_running()
    except (OSError, ValueError, RuntimeError):  # no server now: start() tries again, or not
        return False
    return True


def start(
    reported: Reported,
    workers: int | None = None,
    *,
    propositions: bool = False,
    plots: Sequence[str] = (),
) -> Warmup:
    """Start filling the cache for ``reported`` in ``workers`` processes (default: the CPUs,
    at most 2), unless the cache is off or already warm, or there are too few entries.

    ``propositions``: the main process checks propositions meanwhile (the default entries go
    first, with what ``d.divergence`` uses; see :func:`schedule`). ``plots``: the propositions
    whose plots are drawn last (:func:`warm_proposition_plot`).
    """
    marker = marker_path(reported)
    workers = min(2, _cpus()) if workers is None else workers
    if marker is None or marker.exists() or len(reported) < MIN_ENTRIES or workers < 2:
        return Warmup(None, [])
    executor = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=_context())
    try:
        futures = [
            (not params, executor.submit(warm_one, name, params, perspective))
            for name, params, perspective in schedule(reported, propositions)
        ]
        futures += [(False, executor.submit(warm_proposition_plot, name)) for name in plots]
    except (OSError, RuntimeError, concurrent.futures.BrokenExecutor):
        # no worker could be started: the main process derives everything itself
        executor.shutdown(wait=False, cancel_futures=True)
        return Warmup(None, [])
    return Warmup(executor, futures)


def mark_warm(reported: Reported) -> None:
    """Record that the cache is warm for ``reported`` (after a report was written)."""
    marker = marker_path(reported)
    if marker is not None and not marker.exists():
        with contextlib.suppress(OSError):
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("the derivation report's cache is warm for these sources\n")
