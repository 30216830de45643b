"""Errors of the training package (all subclasses of :class:`ValueError`)."""

from __future__ import annotations

__all__ = ["CheckpointError", "ConfigError", "TrainingDivergedError"]


class ConfigError(ValueError):
    """A training configuration is invalid (unknown model or data set, bad value, ...)."""


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or belongs to a different configuration."""


class TrainingDivergedError(ValueError):
    """A loss became NaN or infinite; the run stopped before applying that update.

    Attributes:
        step: the generator step (1-based) at which the loss was computed.
        loss_name: which loss (e.g. ``"loss_d"``).
        value: the non-finite value.
        checkpoint: the last good checkpoint kept on disk, or ``None`` if none was written.
    """

    def __init__(
        self, step: int, loss_name: str, value: float, checkpoint: str | None = None
    ) -> None:
        self.step = step
        self.loss_name = loss_name
        self.value = value
        self.checkpoint = checkpoint
        where = f"; last good checkpoint kept at {checkpoint}" if checkpoint else ""
        super().__init__(
            f"training diverged at step {step}: {loss_name} = {value} is not finite{where}"
        )

    def with_checkpoint(self, checkpoint: str | None) -> TrainingDivergedError:
        """A copy naming the last good checkpoint."""
        return TrainingDivergedError(self.step, self.loss_name, self.value, checkpoint)
