"""The ``gan-theory`` command.

``gan-theory --version`` prints the installed version (from the package metadata).

``gan-theory report [--out DIR]`` writes the derivation report (Markdown and JSON) of every
registered divergence and of the propositions of GAN theory.

``gan-theory propositions [NAME ...] [--steps]`` checks the propositions of GAN theory (all by
default) and prints each one's verdict and its failed steps (every step with ``--steps``); the exit
status is 0 when every step passed, 1 otherwise, 2 for an unknown name (the message suggests the
closest known names).

``gan-theory train --model {gan,gan-ns,fgan,wgan,wgan-gp,cyclegan} [--divergence NAME]
[--data NAME] [--steps N] [--out DIR] [--resume] [--seed S] ...`` trains a model (see
:mod:`gan_theory.training.cli_train`; under ``torchrun`` it runs data-parallel).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

__all__ = ["main"]


def _version() -> str:
    """The installed distribution's version (``pyproject.toml``), read from its metadata."""
    try:
        return metadata.version("divergences")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree, not installed
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gan-theory", description="Checked derivations of GAN theory and f-divergences."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()} (divergences)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="write the derivation report")
    report.add_argument(
        "--out", type=Path, default=Path("report"), help="output directory (default: report/)"
    )
    props = commands.add_parser(
        "propositions", help="check the propositions of GAN theory step by step"
    )
    props.add_argument(
        "names", nargs="*", metavar="NAME", help="propositions to check (default: all)"
    )
    props.add_argument("--steps", action="store_true", help="list every step, not only failures")
    from .training.cli_train import add_train_parser

    add_train_parser(commands)
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
    if args.command == "propositions":
        from .propositions.cli import run_propositions

        return run_propositions(args.names, show_steps=args.steps)
    if args.command == "train":
        from .training.cli_train import run_train

        return run_train(args)
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
