"""The training driver: seeding, the step loop, metrics, checkpoints, resume, logs and plots.

:func:`train` runs a :class:`~.config.TrainConfig` to completion and returns a
:class:`TrainResult`. With an output directory it writes

- ``checkpoint.pt``: every ``checkpoint_every`` steps and at the end, atomically
  (:mod:`.checkpoint`): networks, optimisers, all random states (of every process), the step,
  the metrics history and the running loss sums;
- ``metrics.csv`` / ``metrics.json``: one row every ``log_every`` steps (and at steps 0 and the
  last): mean losses since the previous row and the loop's metrics;
- ``samples.png``, ``losses.png``, ``metrics.png`` (with ``plots=True``) and ``summary.json``.

Reproducibility: networks are initialised after ``torch.manual_seed(seed)``; data, noise and
penalty draws come from dedicated generators (:mod:`.rng`); the run executes under
``torch.use_deterministic_algorithms(True)`` (warn-only) unless ``deterministic=False``.
Bitwise reproduction also needs the same number of intra-op threads (``threads``) and the same
number of processes.
``resume=True`` restores the last checkpoint, and the resumed run then ends with parameters
bitwise equal to those of an uninterrupted run with the same configuration.

Any non-finite value of a step raises :class:`~.errors.TrainingDivergedError` ("training
diverged at step N: <what> is not finite"): a loss (before the update it would have caused; a
non-finite parameter or input behind it is named as the cause), an optimiser step that overflows
the parameters' dtype, any parameter or optimiser moment, generated or data sample, or metric at
every evaluation (before any metric sees the samples), and any tensor of the state before a
checkpoint is written. The logs are flushed and the last
good checkpoint is left as it was: a checkpoint never holds a non-finite tensor. Under
``torchrun`` the checks made on rank 0 alone (evaluation, checkpoint state) are broadcast, so
every rank stops at the same point instead of waiting for rank 0 in the next collective.

Checkpoints are data, not code (:mod:`.checkpoint`): a resume reads one with
``weights_only=True`` and checks every field before anything is restored; a damaged, planted,
old-format or incomplete file ends in :class:`~.errors.CheckpointError` naming it.

A fresh run writes its files over those of an earlier run in the same directory. The files a run
writes are :data:`RUN_FILES`; :func:`existing_run_files` finds them, so that a caller can refuse
to replace a run by accident (``gan-theory train`` does, unless ``--overwrite``), and
:func:`remove_run_files` deletes the old run's logs, summary and plots before the new run starts
(so none of them is mixed with the new run's), nothing else in the directory. The old checkpoint
stays until the new run writes its own: a replacing run that fails at once does not destroy it,
and never claims it as its own.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.utils.deterministic
from torch import nn
from tqdm.auto import tqdm

from . import plots
from .checkpoint import CHECKPOINT_NAME, FORMAT, load_checkpoint, save_atomic
from .config import TrainConfig
from .distributed import DistContext, from_environment
from .errors import CheckpointError, ConfigError, NonFiniteError, TrainingDivergedError
from .logs import write_csv, write_json
from .loops import Loop, StepContext, make_loop
from .rng import Streams, capture_rng, eval_generator, restore_rng

__all__ = ["RUN_FILES", "TrainResult", "Trainer", "existing_run_files", "remove_run_files", "train"]

_PLOT_SAMPLES = 1000

#: the files a run writes into its output directory; a directory holding any of them holds a run
RUN_FILES = (
    CHECKPOINT_NAME,
    "metrics.csv",
    "metrics.json",
    "summary.json",
    "samples.png",
    "losses.png",
    "metrics.png",
)


def existing_run_files(out: str | os.PathLike[str]) -> list[Path]:
    """The files of :data:`RUN_FILES` present in ``out`` (empty if it holds no run)."""
    directory = Path(out)
    return [directory / name for name in RUN_FILES if (directory / name).is_file()]


def remove_run_files(
    out: str | os.PathLike[str], *, keep: tuple[str, ...] = (CHECKPOINT_NAME,)
) -> list[Path]:
    """Delete the files of an earlier run in ``out`` (of :data:`RUN_FILES`, except ``keep``);
    return them.

    A run that replaces an old one then leaves none of the old logs, summary or plots behind (a
    plot it would not draw itself, a summary it would not reach). The checkpoint is kept by
    default: the new run replaces it with its first own checkpoint (see the module docstring).
    Anything else in ``out`` is left alone.
    """
    removed = []
    for path in existing_run_files(out):
        if path.name not in keep:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@dataclass
class TrainResult:
    """The outcome of a run.

    Attributes:
        config: the configuration.
        step: the last completed generator step.
        history: the metric rows (on the main process; empty on the others).
        loop: the trained loop (networks in ``loop.nets``).
        out: the output directory, if any.
        resumed_from: the checkpoint step the run resumed from (0 for a fresh run).
        rank_digests: SHA-256 of the parameters on every process, in rank order.
    """

    config: TrainConfig
    step: int
    history: list[dict[str, Any]]
    loop: Loop
    out: Path | None
    resumed_from: int = 0
    rank_digests: list[str] = field(default_factory=list)

    @property
    def nets(self) -> dict[str, nn.Module]:
        return self.loop.nets

    @property
    def final_metrics(self) -> dict[str, Any]:
        return dict(self.history[-1]) if self.history else {}


class _LossMeans:
    """Running sums of the loss values between two metric rows."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.count += 1

    def pop(self) -> dict[str, float]:
        means = {key: total / self.count for key, total in self.sums.items()} if self.count else {}
        self.sums, self.count = {}, 0
        return means

    def state(self) -> dict[str, Any]:
        return {"sums": dict(self.sums), "count": self.count}

    def load(self, state: dict[str, Any]) -> None:
        self.sums, self.count = dict(state["sums"]), int(state["count"])


@contextlib.contextmanager
def _runtime(deterministic: bool, threads: int | None) -> Iterator[None]:
    """Deterministic algorithms and the thread count for the run; the settings are restored.

    Filling uninitialised memory with NaN (a debugging aid torch turns on with deterministic
    algorithms) is switched off: it does not change results and slows small models ~1.5x.
    """
    previous = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    previous_threads = torch.get_num_threads()
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS determinism
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.utils.deterministic.fill_uninitialized_memory = False
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous, warn_only=warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = fill
        if threads is not None:
            torch.set_num_threads(previous_threads)


class Trainer:
    """A run in progress: builds everything from the configuration, then :meth:`run`.

    Args:
        config: the run's configuration (validated here).
        out: output directory; ``None`` writes nothing (no checkpoints, logs or plots).
        context: the distributed context; by default taken from the environment
            (:func:`~.distributed.from_environment`): a single process unless under ``torchrun``.

    Raises:
        ConfigError: the configuration is invalid.
    """

    def __init__(
        self,
        config: TrainConfig,
        out: str | os.PathLike[str] | None = None,
        *,
        context: DistContext | None = None,
    ) -> None:
        self.config = config.validate()
        self.out = Path(out) if out is not None else None
        self.context = context if context is not None else from_environment(config.device)
        self.device = self.context.device(config.device)
        self.data = config.dataset()
        torch.manual_seed(config.seed)
        self.loop = make_loop(config, self.data, self.device)
        self.loop.wrap(lambda module: self.context.wrap(module, self.device))
        self.streams = Streams.create(config.seed, self.context.rank)
        self.history: list[dict[str, Any]] = []
        self.losses = _LossMeans()
        self.step = 0
        self.resumed_from = 0
        #: whether the checkpoint on disk is this run's (written, or resumed from, by it)
        self.owns_checkpoint = False
        self._state_checked_at = -1  # the step whose state was last found finite

    # -- paths --
    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.out is None else self.out / CHECKPOINT_NAME

    @property
    def _writes(self) -> bool:
        return self.out is not None and self.context.is_main

    # -- checkpoints --
    def save_checkpoint(self) -> None:
        """Write the current state atomically (rank 0; every rank contributes its RNG states).

        Raises:
            TrainingDivergedError: a tensor of the state is not finite; the checkpoint on disk
                is left as it was.
        """
        if self.out is None:  # the same on every rank: nothing to write, no collective
            return
        failure = None
        # the state is the same on every rank: the writer checks it (unless the evaluation of
        # this very step just did)
        if self._writes and self._state_checked_at != self.step:
            try:
                self._check_state(cause="found before writing the checkpoint")
            except TrainingDivergedError as exc:
                failure = exc
        self._agree(failure)
        rng = self.context.gather(capture_rng(self.streams))
        if not self._writes:
            return
        assert self.checkpoint_path is not None
        payload = {
            "format": FORMAT,
            "step": self.step,
            "fingerprint": self.config.fingerprint(),
            "world_size": self.context.world_size,
            "loop": self.loop.state_dict(),
            "rng": rng,
            "history": self.history,
            "losses": self.losses.state(),
        }
        save_atomic(payload, self.checkpoint_path)
        self.owns_checkpoint = True

    def load_checkpoint(self) -> int:
        """Restore the last checkpoint; return its step.

        The file is read without running code and checked field by field
        (:func:`~.checkpoint.load_checkpoint`), then against this run: configuration, number of
        processes, the networks' and optimisers' names. Nothing on disk changes.

        Raises:
            CheckpointError: naming the file: no output directory, no checkpoint, an unsafe,
                damaged or incomplete checkpoint, or one of another configuration or number of
                processes, or whose tensors do not fit this run's networks.
        """
        path = self.checkpoint_path
        if path is None:
            raise CheckpointError("resume needs an output directory holding a checkpoint")
        payload = load_checkpoint(path)
        if payload["fingerprint"] != self.config.fingerprint():
            mine = self.config.fingerprint()
            keys = set(mine) | set(payload["fingerprint"])
            differ = sorted(k for k in keys if payload["fingerprint"].get(k) != mine.get(k))
            raise CheckpointError(
                f"{path} was written by a different configuration (differs in: {', '.join(differ)})"
            )
        if payload["world_size"] != self.context.world_size:
            raise CheckpointError(
                f"{path} was written by {payload['world_size']} process(es); "
                f"this run has {self.context.world_size}"
            )
        state = payload["loop"]
        for part, mine_ in (("nets", self.loop.nets), ("optimisers", self.loop.optimisers)):
            if set(state[part]) != set(mine_):
                raise CheckpointError(
                    f"{path} is not a usable checkpoint: field 'loop.{part}' holds "
                    f"{sorted(state[part])}, this run has {sorted(mine_)}"
                )
        try:
            self.loop.load_state_dict(state)
            restore_rng(self.streams, payload["rng"][self.context.rank])
        except (KeyError, IndexError, RuntimeError, TypeError, ValueError) as exc:
            raise CheckpointError(
                f"{path} does not fit this run: {type(exc).__name__}: {exc}"
            ) from None
        self.history = list(payload["history"])
        self.losses.load(payload["losses"])
        self.step = self.resumed_from = int(payload["step"])
        self.owns_checkpoint = True
        return self.step

    def _agree(self, failure: TrainingDivergedError | None) -> None:
        """Raise ``failure`` found on rank 0 on every rank (it alone evaluates and writes).

        Under ``torchrun`` the outcome is broadcast (as plain values), so the other ranks stop
        too instead of waiting for rank 0 in their next collective.
        """
        if self.context.active:
            sent = (
                None
                if failure is None
                else (failure.step, failure.what, failure.value, failure.cause)
            )
            received = self.context.broadcast(sent)
            if received is not None:
                step, what, value, cause = received
                failure = TrainingDivergedError(step, what, value, cause=cause)
        if failure is not None:
            raise failure

    # -- the run --
    def run(self, resume: bool = False) -> TrainResult:
        """Train to ``config.steps`` generator steps (from the last checkpoint with ``resume``).

        Raises:
            CheckpointError: ``resume`` without a usable checkpoint.
            ConfigError: the checkpoint is already past ``config.steps``.
            TrainingDivergedError: a value of a step became non-finite (see the module docstring).
        """
        config = self.config
        with _runtime(config.deterministic, config.threads):
            if resume:
                self.load_checkpoint()
                if self.step > config.steps:
                    raise ConfigError(
                        f"the checkpoint is at step {self.step}, beyond steps={config.steps}"
                    )
            else:
                self._log_row(None)  # step 0: the untrained networks' metrics
            started = time.perf_counter()
            try:
                self._loop()
            except TrainingDivergedError as exc:
                self._write_logs()
                kept = self.checkpoint_path
                owned = self.owns_checkpoint and kept is not None and kept.is_file()
                raise exc.with_checkpoint(str(kept) if owned else None) from None
            elapsed = time.perf_counter() - started
            digests = self.context.gather(self.loop.parameters_digest())
            self._finish(elapsed, digests)
        return TrainResult(
            config, self.step, self.history, self.loop, self.out, self.resumed_from, digests
        )

    def _loop(self) -> None:
        config, context = self.config, self.context
        bar = tqdm(
            total=config.steps,
            initial=self.step,
            desc=f"{config.model} on {getattr(self.data, 'name', 'data')}",
            disable=not (config.progress and context.is_main),
            dynamic_ncols=True,
        )
        train_step, add = self.loop.train_step, self.losses.add
        reduce = context.mean if context.active else None
        ctx = StepContext(step=self.step, streams=self.streams, reduce=reduce)
        decay = config.lr_decay_steps
        try:
            while self.step < config.steps:
                ctx.step = self.step + 1
                if decay is not None:
                    self.loop.scale_learning_rates(max(0.0, 1.0 - self.step / decay))
                add(train_step(ctx))
                self.step += 1
                bar.update()
                last = self.step == config.steps
                if last or self.step % config.log_every == 0:
                    self._log_row(bar)
                if last or (config.checkpoint_every and self.step % config.checkpoint_every == 0):
                    self.save_checkpoint()
        finally:
            bar.close()

    def _check_state(self, cause: str | None = None) -> None:
        """Every tensor of the networks and optimisers must be finite (at ``self.step``).

        Catches what no loss shows: an optimiser moment that overflowed (Adam's ``exp_avg_sq``
        after a gradient beyond 1.8e19 in float32) freezes its parameter while every loss stays
        finite.

        Raises:
            TrainingDivergedError: naming the first non-finite tensor.
        """
        try:
            self.loop.check_finite_state()
        except NonFiniteError as exc:
            raise TrainingDivergedError(self.step, exc.what, exc.value, cause=cause) from None
        self._state_checked_at = self.step

    def _evaluate(self, step: int) -> dict[str, float]:
        """The loop's metrics at ``step``; the state, the samples and the metrics must be finite.

        Raises:
            TrainingDivergedError: a tensor of the state, a sample the metrics would measure, or
                a metric is not finite.
        """
        self._check_state()
        generator = eval_generator(self.config.seed, step)
        try:
            metrics = self.loop.evaluate(generator, self.config.eval_samples)
        except NonFiniteError as exc:
            raise TrainingDivergedError(step, exc.what, exc.value) from None
        for key, value in metrics.items():
            if not math.isfinite(value):
                raise TrainingDivergedError(step, f"metric {key}", value)
        return metrics

    def _log_row(self, bar: Any) -> None:
        """Append the row of the current step (rank 0): mean losses since the last row, metrics.

        ``bar`` (the progress bar) is ``None`` for the row of step 0.
        """
        losses = self.losses.pop()
        row, failure = None, None
        if self.context.is_main:
            try:
                row = {"step": self.step, **losses, **self._evaluate(self.step)}
            except TrainingDivergedError as exc:
                failure = exc
        self._agree(failure)
        if row is None:
            return
        self.history.append(row)
        if bar is not None:
            bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k != "step"}, refresh=False)

    # -- outputs --
    def _write_logs(self) -> None:
        if not self._writes:
            return
        assert self.out is not None
        write_csv(self.history, self.out / "metrics.csv")
        write_json(
            {"config": self.config.fingerprint(), "history": self.history},
            self.out / "metrics.json",
        )

    def _finish(self, elapsed: float, digests: list[str]) -> None:
        if not self._writes:
            return
        assert self.out is not None
        self._write_logs()
        if self.config.plots:
            plot_generator = eval_generator(self.config.seed, self.step, "plot")
            samples = self.loop.plot_samples(plot_generator, _PLOT_SAMPLES)
            title = f"{self.config.model}, step {self.step}"
            plots.plot_samples(samples, self.out / "samples.png", title)
            plots.plot_history(self.history, self.out)
        write_json(
            {
                "config": self.config.fingerprint(),
                "steps": self.step,
                "resumed_from": self.resumed_from,
                "seconds": elapsed,
                "world_size": self.context.world_size,
                "rank_digests": digests,
                "ranks_identical": len(set(digests)) == 1,
                "final": self.history[-1] if self.history else {},
            },
            self.out / "summary.json",
        )


def train(
    config: TrainConfig,
    out: str | os.PathLike[str] | None = None,
    *,
    resume: bool = False,
    context: DistContext | None = None,
) -> TrainResult:
    """Run ``config`` (see :class:`Trainer`); the one-call entry point."""
    return Trainer(config, out, context=context).run(resume=resume)
