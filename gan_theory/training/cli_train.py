"""The ``gan-theory train`` subcommand: arguments, their checks, and the run.

Bad arguments end with an argparse error (exit status 2) naming the problem: an unknown model,
data set or divergence, ``--divergence`` for a model other than ``fgan`` (or none for
``fgan``), a non-positive ``--steps``, data that does not fit the model (``cyclegan`` needs a
paired data set, the others a single one), ``--resume`` without a checkpoint in ``--out``, or a
checkpoint of another configuration; an unsafe (pickled, e.g. written by an older version),
damaged or incomplete checkpoint is refused the same way, naming the file and the field, and is
never loaded. A run that diverges -- any non-finite loss, sample, metric, optimiser step or state
tensor -- prints "gan-theory train: training diverged at step N: <what> is not finite" (and the
last good checkpoint it kept) and exits with status 1, without a traceback.

Under ``torchrun --nproc_per_node N -m gan_theory.cli train ...`` the run is data-parallel
(:mod:`gan_theory.training.distributed`); only rank 0 prints.
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import divergences as dv
from divergences.errors import InvalidGeneratorError
from divergences.symbolic.parse import parse_expression

from .checkpoint import CHECKPOINT_NAME
from .config import GENERATORS, MODELS, TrainConfig
from .data import dataset_names
from .distributed import from_environment
from .errors import CheckpointError, ConfigError, TrainingDivergedError

__all__ = ["add_train_parser", "run_train"]


def _integer(text: str) -> int:
    """``text`` as an ``int``; an argparse type error naming it if it is not one."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _positive_int(text: str) -> int:
    value = _integer(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _key_value(text: str) -> tuple[str, Fraction]:
    """``KEY=VALUE`` with an exact rational number (``0.5``, ``1/2``, ``2``) as the value.

    The value is mathematics given as text, so it goes through the library's one safe parser
    (:func:`divergences.symbolic.parse.parse_expression`: whitelisted syntax, bounded work; not
    ``Fraction(text)``, which computes ``1e20000000`` digit by digit).
    """
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with a plain KEY, got {text!r}")
    try:
        number = parse_expression(value, {}, what=f"--divergence-param {key}")
    except InvalidGeneratorError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not number.is_Rational:
        raise argparse.ArgumentTypeError(
            f"{key}: expected a rational number such as 0.5 or 1/2, got {value!r}"
        )
    return key, Fraction(int(number.p), int(number.q))


def add_train_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``train`` to the subcommands of the ``gan-theory`` parser."""
    p = commands.add_parser(
        "train",
        help="train a GAN, f-GAN, WGAN, WGAN-GP or CycleGAN",
        description="Train a model on a built-in data set; metrics, plots and checkpoints go "
        "to --out. Launch with torchrun for data-parallel training.",
    )
    p.add_argument("--model", required=True, choices=MODELS)
    p.add_argument(
        "--data",
        default=None,
        choices=dataset_names(),
        help="default: ring-8 (ring-square for cyclegan)",
    )
    p.add_argument(
        "--divergence",
        default=None,
        metavar="NAME",
        help=f"f-GAN divergence, one of: {', '.join(dv.names())}",
    )
    p.add_argument(
        "--divergence-param",
        action="append",
        default=[],
        type=_key_value,
        metavar="KEY=VALUE",
        help="parameter of the divergence, e.g. alpha=0.5",
    )
    p.add_argument(
        "--fgan-alternative",
        action="store_true",
        help="f-GAN: the paper's alternative generator objective",
    )
    p.add_argument("--steps", type=_positive_int, default=1000, help="generator steps")
    p.add_argument(
        "--out", type=Path, default=None, help="output directory (default: runs/MODEL-DATA)"
    )
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    p.add_argument("--seed", type=_non_negative_int, default=0)
    p.add_argument("--batch-size", type=_positive_int, default=256)
    p.add_argument(
        "--d-steps",
        type=_positive_int,
        default=None,
        help="critic steps per generator step (default: 5 for wgan/wgan-gp, else 1)",
    )
    p.add_argument("--lr-g", type=float, default=None, help="0 freezes the generator")
    p.add_argument("--lr-d", type=float, default=None)
    p.add_argument("--generator", choices=GENERATORS, default="auto")
    p.add_argument(
        "--gaussian-init",
        type=float,
        nargs=2,
        default=(0.0, 1.0),
        metavar=("MEAN", "SCALE"),
        help="initial mean and scale of --generator gaussian (default: 0 1)",
    )
    p.add_argument("--latent-dim", type=_positive_int, default=None)
    p.add_argument("--hidden", type=_positive_int, default=128)
    p.add_argument("--depth", type=_positive_int, default=3)
    p.add_argument("--clip", type=float, default=0.01, help="WGAN weight clipping")
    p.add_argument("--gp-weight", type=float, default=10.0, help="WGAN-GP lambda")
    p.add_argument("--cycle-weight", type=float, default=10.0, help="CycleGAN lambda")
    p.add_argument("--log-every", type=_positive_int, default=100)
    p.add_argument(
        "--checkpoint-every", type=_non_negative_int, default=500, help="0: only at the end"
    )
    p.add_argument("--eval-samples", type=_positive_int, default=2000)
    p.add_argument("--threads", type=_positive_int, default=None, help="intra-op threads")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument(
        "--nondeterministic", action="store_true", help="do not force deterministic algorithms"
    )
    p.set_defaults(train_parser=p)  # run_train reports argument errors with this usage line
    return p


def _config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> TrainConfig:
    if args.divergence is not None and args.divergence not in dv.names():
        parser.error(
            f"argument --divergence: unknown divergence {args.divergence!r} "
            f"(choose from {', '.join(dv.names())})"
        )
    if args.model != "fgan" and (args.divergence is not None or args.divergence_param):
        parser.error(f"--divergence is only used by --model fgan, not --model {args.model}")
    if args.model == "fgan" and args.divergence is None:
        parser.error("--model fgan needs --divergence NAME")
    data = args.data or ("ring-square" if args.model == "cyclegan" else "ring-8")
    config = TrainConfig(
        model=args.model,
        data=data,
        steps=args.steps,
        seed=args.seed,
        divergence=args.divergence,
        divergence_params=dict(args.divergence_param),
        fgan_alternative=args.fgan_alternative,
        generator=args.generator,
        gaussian_init=tuple(args.gaussian_init),
        batch_size=args.batch_size,
        latent_dim=args.latent_dim,
        hidden=args.hidden,
        depth=args.depth,
        d_steps=args.d_steps,
        lr_g=args.lr_g,
        lr_d=args.lr_d,
        clip=args.clip,
        gp_weight=args.gp_weight,
        cycle_weight=args.cycle_weight,
        log_every=args.log_every,
        checkpoint_every=args.checkpoint_every,
        eval_samples=args.eval_samples,
        progress=not args.no_progress,
        plots=not args.no_plots,
        deterministic=not args.nondeterministic,
        device=args.device,
        threads=args.threads,
    )
    try:
        return config.validate()
    except ConfigError as exc:
        parser.error(str(exc))


def run_train(args: argparse.Namespace) -> int:
    """Check the arguments, run, print where the outputs went; return the exit status."""
    from .trainer import Trainer

    parser: argparse.ArgumentParser = args.train_parser
    config = _config(args, parser)
    out = args.out or Path("runs") / f"{config.model}-{config.data}"
    if args.resume and not (out / CHECKPOINT_NAME).is_file():
        parser.error(f"--resume: no checkpoint {CHECKPOINT_NAME} in {out}")
    context = from_environment(config.device)
    try:
        trainer = Trainer(config, out, context=context)
        try:
            result = trainer.run(resume=args.resume)
        except CheckpointError as exc:
            parser.error(f"--resume: {exc}" if args.resume else str(exc))
        except ConfigError as exc:
            parser.error(str(exc))
        except TrainingDivergedError as exc:
            if context.is_main:
                print(f"gan-theory train: {exc}", file=sys.stderr)
            return 1
    finally:
        context.close()
    if context.is_main:
        final = {k: v for k, v in result.final_metrics.items() if k != "step"}
        print(f"{config.model} on {config.data}: {result.step} steps -> {out}")
        print("  " + ", ".join(f"{k}={v:.4g}" for k, v in final.items()))
    return 0
