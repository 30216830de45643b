"""Errors of the training package (all subclasses of :class:`ValueError`)."""

from __future__ import annotations

__all__ = ["CheckpointError", "ConfigError", "NonFiniteError", "TrainingDivergedError"]


class ConfigError(ValueError):
    """A training configuration is invalid (unknown model or data set, bad value, ...)."""


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, unsafe, incomplete or of another configuration.

    Raised on load (with the file's path in the message) before anything is restored, and on
    save before anything is written.
    """


def _describe(what: str, value: float | None) -> str:
    return f"{what} is not finite" if value is None else f"{what} = {value} is not finite"


class NonFiniteError(ValueError):
    """A value that must be finite (a generated sample, a metric) is not.

    Raised where the training step is not known (a loop's evaluation); the trainer turns it
    into a :class:`TrainingDivergedError` at the step it was evaluating.

    Attributes:
        what: what is not finite (e.g. ``"generator output"``, ``"metric w1"``).
        value: a non-finite value found there, or ``None`` when there is no single one.
    """

    def __init__(self, what: str, value: float | None = None) -> None:
        self.what = what
        self.value = value
        super().__init__(_describe(what, value))


class TrainingDivergedError(ValueError):
    """A value of a training step (a loss, a generated sample, a parameter, an optimiser update,
    a metric, a tensor about to be checkpointed) became NaN or infinite; the run stopped.

    Losses are checked before the update they would cause, optimiser steps as they are taken,
    the state (parameters, optimiser moments), samples and metrics at every evaluation, and the
    state again before each checkpoint, so the checkpoint on disk always holds the last finite
    state.

    Attributes:
        step: the generator step (1-based; 0: the evaluation before training) it happened at.
        what: which value (e.g. ``"loss_d"``, ``"generator output"``, ``"metric w1"``).
        value: a non-finite value found there, or ``None`` when there is no single one (an
            optimiser step that overflows the parameters' dtype).
        cause: what made it so, when known (e.g. ``"generator output holds inf"`` for a
            loss, ``"after the loss_g update"`` for a parameter).
        checkpoint: the last good checkpoint of this run kept on disk, or ``None`` if the run
            neither wrote nor resumed from one.
    """

    def __init__(
        self,
        step: int,
        what: str,
        value: float | None = None,
        checkpoint: str | None = None,
        *,
        cause: str | None = None,
    ) -> None:
        self.step = step
        self.what = what
        self.value = value
        self.cause = cause
        self.checkpoint = checkpoint
        because = f" ({cause})" if cause else ""
        where = f"; last good checkpoint kept at {checkpoint}" if checkpoint else ""
        super().__init__(
            f"training diverged at step {step}: {_describe(what, value)}{because}{where}"
        )

    @property
    def loss_name(self) -> str:
        """The name of what diverged (kept for callers written when only losses were checked)."""
        return self.what

    def with_checkpoint(self, checkpoint: str | None) -> TrainingDivergedError:
        """A copy naming the last good checkpoint."""
        return TrainingDivergedError(self.step, self.what, self.value, checkpoint, cause=self.cause)
