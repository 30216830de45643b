"""The ``gan-theory train`` subcommand: arguments, their checks, and the run.

Bad arguments end with an argparse error (exit status 2) naming the problem: an unknown model,
data set or divergence (with the closest name), ``--divergence`` for a model other than ``fgan``
(or none for ``fgan``), a non-positive ``--steps``, data that does not fit the model
(``cyclegan`` needs a paired data set, the others a single one), a ``--device`` this torch
cannot use (``cuda`` on a CPU build, an unknown name), ``--resume`` without a checkpoint in
``--out``, a checkpoint of another configuration, or an ``--out`` that already holds a run
without ``--resume`` or ``--overwrite`` (a run is never replaced by accident; with
``--overwrite`` the old run's logs, summary and plots are deleted, nothing else, and its
checkpoint is replaced by the new run's first one); an unsafe
(pickled, e.g. written by an older version), damaged or incomplete checkpoint is refused the same
way, naming the file and the field, and is never loaded. A run that diverges -- any non-finite
loss, sample, metric, optimiser step or state tensor -- prints "gan-theory train: training
diverged at step N: <what> is not finite" (and the last good checkpoint it kept) and exits with
status 1, without a traceback.

Under ``torchrun --nproc_per_node N -m gan_theory.cli train ...`` the run is data-parallel
(:mod:`gan_theory.training.distributed`); only rank 0 prints.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch

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


class _DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` after an option's help, except where the help already says what
    the default is (a default that depends on the model) or there is nothing to show (a flag)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if "default" in text or default is None or default is False or default == []:
            return text
        return super()._get_help_string(action)


def _device(text: str) -> str:
    """``--device``: a device this torch can use, checked before anything is built.

    Without the check, ``--device cuda`` on a CPU build of torch (or on a machine without a GPU)
    fails deep inside the first tensor move with a long traceback.
    """
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"unknown device {text!r} (expected cpu, cuda, cuda:N or mps)"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            if torch.version.cuda is None:
                why = f"this torch ({torch.__version__}) is a CPU build, without CUDA"
            else:
                why = f"no CUDA device found (torch {torch.__version__}, CUDA {torch.version.cuda})"
            raise argparse.ArgumentTypeError(f"{text!r}: {why}; use --device cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise argparse.ArgumentTypeError(
                f"{text!r}: there are {count} CUDA device(s), numbered 0 to {count - 1}"
            )
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise argparse.ArgumentTypeError(
                f"{text!r}: the MPS (Apple GPU) backend is not available to this torch; "
                "use --device cpu"
            )
    elif device.type != "cpu":
        raise argparse.ArgumentTypeError(
            f"unsupported device {text!r} (expected cpu, cuda, cuda:N or mps)"
        )
    return text


def add_train_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``train`` to the subcommands of the ``gan-theory`` parser."""
    p = commands.add_parser(
        "train",
        help="train a GAN, f-GAN, WGAN, WGAN-GP or CycleGAN",
        # a short usage line: an argument error is this line and the error, not 17 lines of
        # every option (--help lists them)
        usage="%(prog)s --model MODEL [options]",
        description="Train a model on a built-in data set; metrics, plots and checkpoints go "
        "to --out. Launch with torchrun for data-parallel training.",
        formatter_class=_DefaultsHelpFormatter,
    )
    p.add_argument("--model", required=True, choices=MODELS, help="what to train")
    p.add_argument(
        "--data",
        default=None,
        choices=dataset_names(),
        help="data set (default: ring-8, ring-square for cyclegan)",
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
        help="parameter of the divergence, e.g. alpha=0.5 (default: the family's, alpha=1/2)",
    )
    p.add_argument(
        "--fgan-alternative",
        action="store_true",
        help="f-GAN: the paper's alternative generator objective",
    )
    p.add_argument(
        "--steps",
        type=_positive_int,
        default=1000,
        help="generator steps in all (with --resume: the total to reach)",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="output directory (default: runs/MODEL-DATA)"
    )
    again = p.add_mutually_exclusive_group()
    again.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its checkpoint (same settings, a larger --steps)",
    )
    again.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --out (without it, an existing run is refused)",
    )
    p.add_argument("--seed", type=_non_negative_int, default=0, help="random seed")
    p.add_argument(
        "--batch-size", type=_positive_int, default=256, help="samples per batch and process"
    )
    p.add_argument(
        "--d-steps",
        type=_positive_int,
        default=None,
        help="critic steps per generator step (default: 5 for wgan/wgan-gp, else 1)",
    )
    p.add_argument(
        "--lr-g",
        type=float,
        default=None,
        help="generator learning rate; 0 freezes the generator (default: the model's: 2e-4 "
        "Adam for gan/gan-ns/fgan/cyclegan, 5e-5 RMSProp for wgan, 1e-4 Adam for wgan-gp)",
    )
    p.add_argument(
        "--lr-d", type=float, default=None, help="critic learning rate (default: as --lr-g)"
    )
    p.add_argument(
        "--betas",
        type=float,
        nargs=2,
        default=None,
        metavar=("BETA1", "BETA2"),
        help="Adam betas (default: the model's: 0.5 0.999; 0 0.9 for wgan-gp)",
    )
    p.add_argument(
        "--lr-decay-steps",
        type=_positive_int,
        default=None,
        metavar="N",
        help="decay both learning rates linearly to 0 over N generator steps "
        "(default: constant learning rates)",
    )
    p.add_argument(
        "--generator",
        choices=GENERATORS,
        default="auto",
        help="generator network (auto: MLP for points, conv for images)",
    )
    p.add_argument(
        "--gaussian-init",
        type=float,
        nargs=2,
        default=(0.0, 1.0),
        metavar=("MEAN", "SCALE"),
        help="initial mean and scale of --generator gaussian (default: 0 1)",
    )
    p.add_argument(
        "--latent-dim",
        type=_positive_int,
        default=None,
        help="generator input dimension (default: 2 for points, 16 for images)",
    )
    p.add_argument("--hidden", type=_positive_int, default=128, help="width of the networks")
    p.add_argument("--depth", type=_positive_int, default=3, help="hidden layers of the MLPs")
    p.add_argument("--clip", type=float, default=0.01, help="WGAN weight clipping")
    p.add_argument("--gp-weight", type=float, default=10.0, help="WGAN-GP lambda")
    p.add_argument("--cycle-weight", type=float, default=10.0, help="CycleGAN lambda")
    p.add_argument("--log-every", type=_positive_int, default=100, help="steps between metric rows")
    p.add_argument(
        "--checkpoint-every",
        type=_non_negative_int,
        default=500,
        help="steps between checkpoints; 0: only at the end",
    )
    p.add_argument(
        "--eval-samples", type=_positive_int, default=2000, help="samples used by the metrics"
    )
    p.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="intra-op threads (default: torch's; 1 is fastest for small models)",
    )
    p.add_argument(
        "--device",
        type=_device,
        default="cpu",
        help="cpu, cuda, cuda:N or mps (under torchrun, cuda means cuda:LOCAL_RANK)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-plots", action="store_true", help="no plots")
    p.add_argument(
        "--nondeterministic", action="store_true", help="do not force deterministic algorithms"
    )
    p.set_defaults(train_parser=p)  # run_train reports argument errors with this usage line
    return p


def _config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> TrainConfig:
    if args.divergence is not None and args.divergence not in dv.names():
        close = difflib.get_close_matches(args.divergence.lower(), dv.names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        parser.error(
            f"argument --divergence: unknown divergence {args.divergence!r} "
            f"(choose from {', '.join(dv.names())}){hint}"
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
        betas=None if args.betas is None else tuple(args.betas),
        lr_decay_steps=args.lr_decay_steps,
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
    from .trainer import Trainer, existing_run_files, remove_run_files

    parser: argparse.ArgumentParser = args.train_parser
    config = _config(args, parser)
    out = args.out or Path("runs") / f"{config.model}-{config.data}"
    if args.resume and not (out / CHECKPOINT_NAME).is_file():
        parser.error(
            f"--resume: no checkpoint {CHECKPOINT_NAME} in {out} "
            "(start the run without --resume first)"
        )
    if not args.resume:
        earlier = existing_run_files(out)
        if earlier and not args.overwrite:
            parser.error(
                f"{out} already holds a run ({', '.join(p.name for p in earlier)}): continue "
                "it with --resume and a larger --steps, replace it with --overwrite, or choose "
                "another --out"
            )
        remove_run_files(out)  # --overwrite: the old logs and plots go; its checkpoint stays
        # until the new run writes its own (a new run that fails at once does not destroy it)
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
