"""The ``gan-theory`` command.

``gan-theory report [--out DIR]`` writes the derivation report (Markdown and JSON) of every
registered divergence.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gan-theory", description="Checked derivations of GAN theory and f-divergences."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="write the derivation report")
    report.add_argument(
        "--out", type=Path, default=Path("report"), help="output directory (default: report/)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "report":
        from .report import write_report

        try:
            paths = write_report(args.out)
        except OSError as exc:
            print(f"gan-theory report: cannot write to {args.out}: {exc}", file=sys.stderr)
            return 2
        for path in paths:
            print(f"wrote {path}")
        return 0
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
