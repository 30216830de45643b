"""Ratio tables from pytest-benchmark results: library time / peer time, per case, medians.

Every benchmark that takes part in a comparison calls :func:`mark`, which stores in its
``extra_info`` the *case* it belongs to (e.g. ``"fgan critic / kl"``), its *side* (``library`` or
``peer``), a label, the case's target ratio, and optionally its *mode* (``eager``, the default,
or ``compiled``: both sides under ``torch.compile``) and its *peak memory* (bytes allocated above
the start of one call, :func:`benchmarks.bench_fgan_losses.peak_memory`). Machines are shared
and noisy, so absolute times mean little; the ratio of two medians measured in the same run is
what is compared with a target.

Usage::

    .venv/bin/pytest benchmarks --benchmark-only -q -o python_files='bench_*.py' \\
        --benchmark-json=bench.json
    .venv/bin/python -m benchmarks.ratios bench.json [more runs ...]

One row per case (and library/peer pair): the eager ratio, the compiled ratio (``-`` where the
case has no compiled measurement) and the memory ratio (library peak / peer peak, eager and
compiled). A row meets its target when every time ratio it has meets the target and, where
memory was measured, the library's peak is at most the peer's. With several JSON files (repeated
runs), each file gives one ratio per row, and the table shows their median and range (the
medians of the times are always the per-run medians of pytest-benchmark's rounds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Row", "Target", "Timings", "load", "main", "mark", "record_peer", "rows", "table"]


@dataclass(frozen=True)
class Target:
    """``library / peer`` must be ``< limit`` (``strict``) or ``<= limit``."""

    limit: float
    strict: bool
    text: str

    def met(self, ratio: float) -> bool:
        return ratio < self.limit if self.strict else ratio <= self.limit


AT_MOST_1_2X = Target(1.2, strict=False, text="<= 1.2x")
AT_MOST_1_1X = Target(1.1, strict=False, text="<= 1.10x")
FASTER = Target(1.0, strict=True, text="< 1 (faster)")
NOT_SLOWER = Target(1.0, strict=False, text="<= 1 (not slower)")
AT_MOST_HALF = Target(0.5, strict=False, text="<= 0.5x")
#: three times faster (issue 18's target for the discrete divergences against SciPy)
AT_MOST_THIRD = Target(1 / 3, strict=False, text="<= 0.33x (3x faster)")
AT_MOST_0_8X = Target(0.8, strict=False, text="<= 0.8x")
#: peak memory: the library's at most the peer's
NO_MORE_MEMORY = Target(1.0, strict=False, text="<= 1")

MODES = ("eager", "compiled")


def mark(
    benchmark,
    *,
    case: str,
    side: str,
    label: str,
    target: Target,
    group: str,
    mode: str = "eager",
    peak_bytes: int | None = None,
) -> None:
    """Tag a pytest-benchmark fixture for the ratio table (``side``: ``library`` or ``peer``;
    ``mode``: ``eager`` or ``compiled``; ``peak_bytes``: the peak memory of one call, if
    measured)."""
    if side not in ("library", "peer"):
        raise ValueError(f"side must be 'library' or 'peer', got {side!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    benchmark.group = group
    benchmark.extra_info.update(
        case=case,
        side=side,
        label=label,
        mode=mode,
        target_limit=target.limit,
        target_strict=target.strict,
        target_text=target.text,
    )
    if peak_bytes is not None:
        benchmark.extra_info["peak_bytes"] = int(peak_bytes)


def record_peer(
    benchmark, *, label: str, seconds: Sequence[float], peak_bytes: int | None = None
) -> None:
    """Store in a library benchmark the peer's rounds, timed interleaved with the library's
    (one peer round before each library round, same clock): :func:`load` turns them into the
    peer's entry, with their median as its time."""
    if benchmark.extra_info.get("side") != "library":
        raise ValueError("record_peer needs a benchmark marked side='library'")
    peer: dict = {"label": label, "seconds": [float(x) for x in seconds]}
    if peak_bytes is not None:
        peer["peak_bytes"] = int(peak_bytes)
    benchmark.extra_info["peer"] = peer


#: memory is compared in pages: the scalars a call allocates (a few bytes each) are not a cost
PAGE_BYTES = 4096


def _pages(nbytes: int) -> int:
    return -(-nbytes // PAGE_BYTES)


@dataclass(frozen=True)
class Timings:
    """The per-run medians (seconds) and peak memories (bytes, if measured) of one mode."""

    library_medians: tuple[float, ...]
    peer_medians: tuple[float, ...]
    library_peaks: tuple[int, ...] = ()
    peer_peaks: tuple[int, ...] = ()

    @property
    def ratios(self) -> tuple[float, ...]:
        return tuple(a / b for a, b in zip(self.library_medians, self.peer_medians, strict=True))

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def memory_ratio(self) -> float | None:
        """Library peak / peer peak in pages of :data:`PAGE_BYTES` (the largest over the runs;
        ``None`` if not measured)."""
        pairs = [
            (_pages(a), _pages(b)) for a, b in zip(self.library_peaks, self.peer_peaks, strict=True)
        ]
        if not pairs:
            return None
        return max(a / b if b else (1.0 if a == 0 else float("inf")) for a, b in pairs)


@dataclass(frozen=True)
class Row:
    case: str
    library: str
    peer: str
    target: Target
    modes: dict[str, Timings] = field(default_factory=dict)

    @property
    def library_medians(self) -> tuple[float, ...]:
        return self._first().library_medians

    @property
    def peer_medians(self) -> tuple[float, ...]:
        return self._first().peer_medians

    @property
    def ratios(self) -> tuple[float, ...]:
        return self._first().ratios

    @property
    def ratio(self) -> float:
        """The eager ratio (or the only mode's)."""
        return self._first().ratio

    def _first(self) -> Timings:
        return self.modes.get("eager") or next(iter(self.modes.values()))

    @property
    def met(self) -> bool:
        """Every time ratio meets the target; every measured peak is at most the peer's."""
        for timings in self.modes.values():
            if not self.target.met(timings.ratio):
                return False
            memory = timings.memory_ratio
            if memory is not None and not NO_MORE_MEMORY.met(memory):
                return False
        return True


def load(path: str | Path) -> list[dict]:
    """The benchmarks of one ``--benchmark-json`` file that carry a :func:`mark`; a peer timed
    inside a library benchmark (:func:`record_peer`) becomes an entry of its own."""
    data = json.loads(Path(path).read_text())
    marked = [b for b in data["benchmarks"] if "case" in b.get("extra_info", {})]
    out = []
    for benchmark in marked:
        out.append(benchmark)
        peer = benchmark["extra_info"].get("peer")
        if peer is not None:
            out.append(_peer_entry(benchmark, peer))
    return out


def _peer_entry(library: dict, peer: dict) -> dict:
    info = {k: v for k, v in library["extra_info"].items() if k not in ("peer", "peak_bytes")}
    info.update(side="peer", label=peer["label"])
    if "peak_bytes" in peer:
        info["peak_bytes"] = peer["peak_bytes"]
    return {"extra_info": info, "stats": {"median": statistics.median(peer["seconds"])}}


Key = tuple[str, str, str, str]  # case, side, label, mode


def _key(benchmark: dict) -> Key:
    info = benchmark["extra_info"]
    return info["case"], info["side"], info["label"], info.get("mode", "eager")


def rows(runs: Sequence[Sequence[dict]]) -> list[Row]:
    """One row per (case, library entry, peer entry), over the runs that have both, with the
    modes each was measured in."""
    per_run: list[dict[Key, dict]] = [{_key(b): b for b in run} for run in runs]
    order: list[Key] = []
    for run in per_run:
        order += [key for key in run if key not in order]
    result = []
    cases = list(dict.fromkeys(case for case, *_ in order))
    for case in cases:
        libraries = list(
            dict.fromkeys(lb for c, sd, lb, _ in order if c == case and sd == "library")
        )
        peers = list(dict.fromkeys(lb for c, sd, lb, _ in order if c == case and sd == "peer"))
        for library in libraries:
            for peer in peers:
                row = _row(case, library, peer, order, per_run)
                if row is not None:
                    result.append(row)
    return result


def _row(
    case: str, library: str, peer: str, order: Sequence[Key], per_run: Sequence[dict[Key, dict]]
) -> Row | None:
    modes: dict[str, Timings] = {}
    target = None
    for mode in MODES:
        lib_key, peer_key = (case, "library", library, mode), (case, "peer", peer, mode)
        if lib_key not in order or peer_key not in order:
            continue
        pairs = [
            (run[lib_key], run[peer_key]) for run in per_run if lib_key in run and peer_key in run
        ]
        if not pairs:
            continue
        info = pairs[0][0]["extra_info"]
        target = target or Target(info["target_limit"], info["target_strict"], info["target_text"])
        peaks = [
            (a["extra_info"]["peak_bytes"], b["extra_info"]["peak_bytes"])
            for a, b in pairs
            if "peak_bytes" in a["extra_info"] and "peak_bytes" in b["extra_info"]
        ]
        modes[mode] = Timings(
            tuple(a["stats"]["median"] for a, _ in pairs),
            tuple(b["stats"]["median"] for _, b in pairs),
            tuple(a for a, _ in peaks),
            tuple(b for _, b in peaks),
        )
    if not modes or target is None:
        return None
    return Row(case, library, peer, target, modes)


def _ms(seconds: Iterable[float]) -> str:
    return f"{statistics.median(seconds) * 1e3:.2f}"


def _ratio_cell(timings: Timings | None, several: bool) -> tuple[str, str]:
    """``(times, ratio)`` cells of one mode: ``library / peer`` ms, and the ratio (with its
    range over several runs)."""
    if timings is None:
        return "-", "-"
    ratio = f"{timings.ratio:.2f}"
    if several:
        low, high = min(timings.ratios), max(timings.ratios)
        ratio += f" [{low:.2f}, {high:.2f}] (n={len(timings.ratios)})"
    times = f"{_ms(timings.library_medians)} / {_ms(timings.peer_medians)}"
    return times, ratio


def _memory_cell(row: Row) -> str:
    cells = []
    for mode in MODES:
        timings = row.modes.get(mode)
        memory = None if timings is None else timings.memory_ratio
        cells.append("-" if memory is None else f"{memory:.2f}")
    return " / ".join(cells) if any(c != "-" for c in cells) else "-"


def table(result: Sequence[Row]) -> str:
    """A Markdown table, one row per case: eager and compiled times (``library / peer`` ms) and
    ratios, the memory ratio (``eager / compiled``), the target and whether it is met; with
    several runs a ratio shows ``median [min, max]``."""
    several = any(len(t.ratios) > 1 for row in result for t in row.modes.values())
    header = [
        "case",
        "library",
        "peer",
        "eager ms",
        "eager ratio",
        "compiled ms",
        "compiled ratio",
        "memory ratio",
        "target",
        "met",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result:
        eager_ms, eager = _ratio_cell(row.modes.get("eager"), several)
        compiled_ms, compiled = _ratio_cell(row.modes.get("compiled"), several)
        cells = [
            row.case,
            row.library,
            row.peer,
            eager_ms,
            eager,
            compiled_ms,
            compiled,
            _memory_cell(row),
            row.target.text,
            "yes" if row.met else "**no**",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="pytest-benchmark --benchmark-json files (runs)")
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 if a target is missed"
    )
    args = parser.parse_args(argv)
    result = rows([load(path) for path in args.json])
    if not result:
        print("no marked benchmarks found", file=sys.stderr)
        return 2
    print(table(result))
    missed = [row for row in result if not row.met]
    print(f"\n{len(result) - len(missed)}/{len(result)} targets met ({len(args.json)} run(s)).")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
