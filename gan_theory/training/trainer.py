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

A non-finite loss raises :class:`~.errors.TrainingDivergedError` before the update it would have
caused; the logs are flushed and the last good checkpoint is left as it was.
"""

from __future__ import annotations

import contextlib
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
from .errors import CheckpointError, ConfigError, TrainingDivergedError
from .logs import write_csv, write_json
from .loops import Loop, StepContext, make_loop
from .rng import Streams, capture_rng, eval_generator, restore_rng

__all__ = ["TrainResult", "Trainer", "train"]

_PLOT_SAMPLES = 1000


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

    # -- paths --
    @property
    def checkpoint_path(self) -> Path | None:
        return None if self.out is None else self.out / CHECKPOINT_NAME

    @property
    def _writes(self) -> bool:
        return self.out is not None and self.context.is_main

    # -- checkpoints --
    def save_checkpoint(self) -> None:
        """Write the current state atomically (rank 0; every rank contributes its RNG states)."""
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

    def load_checkpoint(self) -> int:
        """Restore the last checkpoint; return its step.

        Raises:
            CheckpointError: no output directory, no checkpoint, or a checkpoint of another
                configuration or number of processes.
        """
        if self.checkpoint_path is None:
            raise CheckpointError("resume needs an output directory holding a checkpoint")
        payload = load_checkpoint(self.checkpoint_path)
        if payload["fingerprint"] != self.config.fingerprint():
            mine = self.config.fingerprint()
            differ = sorted(k for k in mine if payload["fingerprint"].get(k) != mine[k])
            raise CheckpointError(
                f"{self.checkpoint_path} was written by a different configuration "
                f"(differs in: {', '.join(differ)})"
            )
        if payload["world_size"] != self.context.world_size:
            raise CheckpointError(
                f"{self.checkpoint_path} was written by {payload['world_size']} process(es); "
                f"this run has {self.context.world_size}"
            )
        self.loop.load_state_dict(payload["loop"])
        restore_rng(self.streams, payload["rng"][self.context.rank])
        self.history = list(payload["history"])
        self.losses.load(payload["losses"])
        self.step = self.resumed_from = int(payload["step"])
        return self.step

    # -- the run --
    def run(self, resume: bool = False) -> TrainResult:
        """Train to ``config.steps`` generator steps (from the last checkpoint with ``resume``).

        Raises:
            CheckpointError: ``resume`` without a usable checkpoint.
            ConfigError: the checkpoint is already past ``config.steps``.
            TrainingDivergedError: a loss became non-finite.
        """
        config = self.config
        with _runtime(config.deterministic, config.threads):
            if resume:
                self.load_checkpoint()
                if self.step > config.steps:
                    raise ConfigError(
                        f"the checkpoint is at step {self.step}, beyond steps={config.steps}"
                    )
            elif self.context.is_main:
                self.history.append({"step": 0, **self._evaluate(0)})
            started = time.perf_counter()
            try:
                self._loop()
            except TrainingDivergedError as exc:
                self._write_logs()
                kept = self.checkpoint_path
                raise exc.with_checkpoint(
                    str(kept) if kept is not None and kept.is_file() else None
                ) from None
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

    def _evaluate(self, step: int) -> dict[str, float]:
        return self.loop.evaluate(eval_generator(self.config.seed, step), self.config.eval_samples)

    def _log_row(self, bar: Any) -> None:
        losses = self.losses.pop()
        if not self.context.is_main:
            return
        row = {"step": self.step, **losses, **self._evaluate(self.step)}
        self.history.append(row)
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
