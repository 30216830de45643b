"""Ratio tables from pytest-benchmark results: library time / peer time, per case, medians.

Every benchmark that takes part in a comparison calls :func:`mark`, which stores in its
``extra_info`` the *case* it belongs to (e.g. ``"fgan critic / kl"``), its *side* (``library`` or
``peer``), a label, and the case's target ratio. Machines are shared and noisy, so absolute times
mean little; the ratio of two medians measured in the same run is what is compared with a target.

Usage::

    .venv/bin/pytest benchmarks --benchmark-only -q -o python_files='bench_*.py' \\
        --benchmark-json=bench.json
    .venv/bin/python -m benchmarks.ratios bench.json [more runs ...]

With several JSON files (repeated runs), each file gives one ratio per row, and the table shows
their median and range (the medians of the times are always the per-run medians of
pytest-benchmark's rounds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Target", "load", "main", "mark", "rows", "table"]


@dataclass(frozen=True)
class Target:
    """``library / peer`` must be ``< limit`` (``strict``) or ``<= limit``."""

    limit: float
    strict: bool
    text: str

    def met(self, ratio: float) -> bool:
        return ratio < self.limit if self.strict else ratio <= self.limit


AT_MOST_1_2X = Target(1.2, strict=False, text="<= 1.2x")
FASTER = Target(1.0, strict=True, text="< 1 (faster)")
NOT_SLOWER = Target(1.0, strict=False, text="<= 1 (not slower)")
AT_MOST_HALF = Target(0.5, strict=False, text="<= 0.5x")
AT_MOST_0_8X = Target(0.8, strict=False, text="<= 0.8x")


def mark(benchmark, *, case: str, side: str, label: str, target: Target, group: str) -> None:
    """Tag a pytest-benchmark fixture for the ratio table (``side``: ``library`` or ``peer``)."""
    if side not in ("library", "peer"):
        raise ValueError(f"side must be 'library' or 'peer', got {side!r}")
    benchmark.group = group
    benchmark.extra_info.update(
        case=case,
        side=side,
        label=label,
        target_limit=target.limit,
        target_strict=target.strict,
        target_text=target.text,
    )


@dataclass(frozen=True)
class Row:
    case: str
    library: str
    peer: str
    library_medians: tuple[float, ...]  # seconds, one per run
    peer_medians: tuple[float, ...]
    target: Target

    @property
    def ratios(self) -> tuple[float, ...]:
        return tuple(a / b for a, b in zip(self.library_medians, self.peer_medians, strict=True))

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def met(self) -> bool:
        return self.target.met(self.ratio)


def load(path: str | Path) -> list[dict]:
    """The benchmarks of one ``--benchmark-json`` file that carry a :func:`mark`."""
    data = json.loads(Path(path).read_text())
    return [b for b in data["benchmarks"] if "case" in b.get("extra_info", {})]


def rows(runs: Sequence[Sequence[dict]]) -> list[Row]:
    """One row per (case, library entry, peer entry), over the runs that have both."""
    per_run: list[dict[tuple[str, str, str], dict]] = [
        {
            (b["extra_info"]["case"], b["extra_info"]["side"], b["extra_info"]["label"]): b
            for b in run
        }
        for run in runs
    ]
    order: list[tuple[str, str, str]] = []
    for run in per_run:
        order += [key for key in run if key not in order]
    result = []
    cases = list(dict.fromkeys(case for case, _, _ in order))
    for case in cases:
        libraries = [label for c, side, label in order if c == case and side == "library"]
        peers = [label for c, side, label in order if c == case and side == "peer"]
        for library in libraries:
            for peer in peers:
                lib_key, peer_key = (case, "library", library), (case, "peer", peer)
                pairs = [
                    (run[lib_key], run[peer_key])
                    for run in per_run
                    if lib_key in run and peer_key in run
                ]
                if not pairs:
                    continue
                info = pairs[0][0]["extra_info"]
                target = Target(info["target_limit"], info["target_strict"], info["target_text"])
                result.append(
                    Row(
                        case,
                        library,
                        peer,
                        tuple(a["stats"]["median"] for a, _ in pairs),
                        tuple(b["stats"]["median"] for _, b in pairs),
                        target,
                    )
                )
    return result


def _ms(seconds: Iterable[float]) -> str:
    return f"{statistics.median(seconds) * 1e3:.2f}"


def table(result: Sequence[Row]) -> str:
    """A Markdown table; with several runs the ratio column shows ``median [min, max]``."""
    several = any(len(row.ratios) > 1 for row in result)
    header = ["case", "library", "peer", "library ms", "peer ms", "ratio", "target", "met"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in result:
        ratio = f"{row.ratio:.2f}"
        if several:
            ratio += f" [{min(row.ratios):.2f}, {max(row.ratios):.2f}] (n={len(row.ratios)})"
        cells = [
            row.case,
            row.library,
            row.peer,
            _ms(row.library_medians),
            _ms(row.peer_medians),
            ratio,
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
