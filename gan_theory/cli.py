"""The ``gan-theory`` command.

``gan-theory --version`` prints the installed version (from the package metadata).

``gan-theory report [--out DIR] [--only NAME ...] [--format html,md,json]`` writes the derivation
report: ``index.html`` with one page per divergence and per proposition (MathML, plots),
``derivations.md`` and ``report.json``. ``gan-theory report --generator "(u-1)**2/(u+1)" --name
triangular [--allow-offset] --out DIR`` derives a user's generator (parsed against a whitelist,
never evaluated) and reports it. A refused generator prints the library's error and exits 1, an
unknown name or format exits 2, an unwritable folder exits 2; in every case nothing is written.

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
import atexit
import gc
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _version() -> str:
    """The installed distribution's version (``pyproject.toml``), read from its metadata."""
    try:
        return metadata.version("divergences")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree, not installed
        return "unknown (not installed)"


def _formats(text: str) -> tuple[str, ...]:
    """``--format html,md`` -> ``("html", "md")``, checked against the known formats."""
    from .report.site import FORMATS

    chosen = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown format {', '.join(bad) or '(none)'}; choose from {','.join(FORMATS)}"
        )
    return chosen


def _add_report_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="write the derivation report (HTML, Markdown, JSON)",
        description="Write the derivation report of the registered divergences and the "
        "propositions of GAN theory, or of your own generator (--generator).",
    )
    report.add_argument(
        "--out", type=Path, default=Path("report"), help="output directory (default: report/)"
    )
    report.add_argument(
        "--generator",
        metavar="EXPR",
        help='a convex generator f(u) with f(1) = 0, as text in u, e.g. "(u-1)**2/(u+1)" '
        "(parsed against a whitelist of operations and functions, never evaluated)",
    )
    report.add_argument(
        "--name", default="custom", help="name of the --generator divergence (default: custom)"
    )
    report.add_argument(
        "--allow-offset", action="store_true", help="accept a --generator with f(1) != 0"
    )
    report.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        help="report only these divergences (registry names) and propositions",
    )
    report.add_argument(
        "--format",
        type=_formats,
        default=("html", "md", "json"),
        metavar="LIST",
        help="comma-separated formats among html, md, json (default: all three)",
    )


def _command(argv: Sequence[str] | None) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option)."""
    words = sys.argv[1:] if argv is None else argv
    return next((w for w in words if not w.startswith("-")), None)


def _attach_expressions(words: list[str]) -> list[str]:
    """``--generator -log(u)**2`` as ``--generator=-log(u)**2``: argparse would take a value
    that starts with ``-`` for an option."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i] == "--generator" and i + 1 < len(words):
            out.append(f"--generator={words[i + 1]}")
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


def _parser(command: str | None = "train") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gan-theory", description="Checked derivations of GAN theory and f-divergences."
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()} (divergences)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    _add_report_parser(commands)
    props = commands.add_parser(
        "propositions", help="check the propositions of GAN theory step by step"
    )
    props.add_argument(
        "names", nargs="*", metavar="NAME", help="propositions to check (default: all)"
    )
    props.add_argument("--steps", action="store_true", help="list every step, not only failures")
    if command in (None, "train"):
        from .training.cli_train import add_train_parser

        add_train_parser(commands)
    else:  # the training stack is slow to import; only its name is needed here
        commands.add_parser("train", help="train a GAN, f-GAN, WGAN, WGAN-GP or CycleGAN")
    return parser


def _run_report(args: argparse.Namespace) -> int:
    from .report import _warm

    if (
        args.generator is None
        and "html" in args.format
        and (args.only is None or len(args.only) >= _warm.MIN_ENTRIES)
    ):
        # registry entries as HTML: a cold cache is filled by worker processes, whose fork
        # server imports the library now, next to this process's imports
        _warm.prestart()
    import divergences as dv

    from .report import UnknownNameError, write_report

    extra = []
    if args.generator is not None:
        from divergences.symbolic.symbols import u

        try:
            extra.append(
                dv.FDivergence.from_generator(
                    args.generator, u, name=args.name, allow_offset=args.allow_offset
                )
            )
        except (dv.InvalidGeneratorError, dv.DerivationError) as exc:
            print(f"gan-theory report: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    try:
        paths = write_report(
            args.out, only=args.only, divergences=extra, formats=args.format, workers=None
        )
    except UnknownNameError as exc:
        print(f"gan-theory report: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"gan-theory report: cannot write to {args.out}: {exc}", file=sys.stderr)
        return 2
    pages = sum(p.suffix == ".html" for p in paths)
    print(f"wrote {len(paths)} files ({pages} HTML pages) to {args.out}")
    index = args.out / "index.html"
    if index in paths or index.absolute() in paths:
        print(f"open {index}")
    return 0


_FREEZE_AT_EXIT: list[bool] = []


def _freeze_at_exit() -> None:
    """Leave the objects alive at exit to the operating system (:func:`gc.freeze` as the
    process exits): the interpreter's last garbage collections would otherwise traverse every
    SymPy expression and torch object that the derivations made, about 1.4 s of a report's
    13 s. Nothing is lost: Python does not finalise objects still alive at exit anyway, the
    ``atexit`` handlers still run, and every file was written before. Registered once."""
    if not _FREEZE_AT_EXIT:
        _FREEZE_AT_EXIT.append(True)
        atexit.register(gc.freeze)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``gan-theory`` command with ``argv`` (default ``sys.argv[1:]``); return the exit
    status."""
    words = list(sys.argv[1:] if argv is None else argv)
    args = _parser(_command(words)).parse_args(_attach_expressions(words))
    if args.command == "report":
        _freeze_at_exit()
        return _run_report(args)
    if args.command == "propositions":
        from .propositions.cli import run_propositions

        _freeze_at_exit()
        return run_propositions(args.names, show_steps=args.steps)
    if args.command == "train":
        from .training.cli_train import run_train

        return run_train(args)
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":
    sys.exit(main())
