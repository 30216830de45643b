"""The interface of a training loop for one model family, and the per-step context.

A :class:`Loop` owns its networks and optimisers. The trainer calls :meth:`Loop.train_step` once
per generator step; the loop draws what it needs from the run's :class:`~..rng.Streams` and
passes every loss through :meth:`StepContext.check` *before* the corresponding backward pass
(:func:`checked_update` does both), so a non-finite loss stops the run before any parameter is
touched.

Under DistributedDataParallel, :attr:`Loop.wrapped` holds the DDP-wrapped networks: a network is
called through its wrapper in the update of its own parameters (so DDP averages their
gradients), and unwrapped everywhere else (frozen uses, evaluation).
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import TrainingDivergedError
from ..rng import Streams

__all__ = ["Loop", "StepContext", "backward_into", "checked_update"]


@dataclass
class StepContext:
    """What a loop needs during one generator step.

    Attributes:
        step: the generator step being computed (1-based).
        streams: the process's random streams.
        reduce: maps a detached scalar loss to its value averaged over processes; ``None`` on
            one process (the value itself).
    """

    step: int
    streams: Streams
    reduce: Callable[[Tensor], Tensor] | None = None

    def check(self, name: str, loss: Tensor) -> float:
        """The (process-averaged) value of ``loss``; raise if it is not finite.

        Raises:
            TrainingDivergedError: naming the step, the loss and its value.
        """
        loss = loss.detach()
        value = loss.item() if self.reduce is None else self.reduce(loss).item()
        if not math.isfinite(value):
            raise TrainingDivergedError(self.step, name, value)
        return value


class Loop(ABC):
    """One model family's networks, optimisers, update rule and evaluation."""

    def __init__(self) -> None:
        self.nets: dict[str, nn.Module] = {}
        self.wrapped: dict[str, nn.Module] = {}
        self.optimisers: dict[str, torch.optim.Optimizer] = {}

    def scale_learning_rates(self, factor: float) -> None:
        """Set every learning rate to ``factor`` times its initial value."""
        for optimiser in self.optimisers.values():
            for group in optimiser.param_groups:
                group.setdefault("initial_lr", group["lr"])
                group["lr"] = group["initial_lr"] * factor

    def wrap(self, wrapper: Callable[[nn.Module], nn.Module]) -> None:
        """Wrap every network (e.g. in DistributedDataParallel) for its own updates."""
        self.wrapped = {name: wrapper(net) for name, net in self.nets.items()}

    @abstractmethod
    def train_step(self, ctx: StepContext) -> dict[str, float]:
        """One generator step (after its critic steps); returns the loss values."""

    @abstractmethod
    def evaluate(self, generator: torch.Generator, n: int) -> dict[str, float]:
        """Metrics on ``n`` fresh samples drawn from ``generator``."""

    @abstractmethod
    def plot_samples(self, generator: torch.Generator, n: int) -> dict[str, Any]:
        """Tensors for the samples plot (see :mod:`..plots`)."""

    def state_dict(self) -> dict[str, Any]:
        return {
            "nets": {name: net.state_dict() for name, net in self.nets.items()},
            "optimisers": {name: opt.state_dict() for name, opt in self.optimisers.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, net in self.nets.items():
            net.load_state_dict(state["nets"][name])
        for name, opt in self.optimisers.items():
            opt.load_state_dict(state["optimisers"][name])

    def parameters_digest(self) -> str:
        """SHA-256 of every parameter's bytes, in a fixed order (equal iff bitwise equal)."""
        digest = hashlib.sha256()
        for name in sorted(self.nets):
            for key, tensor in sorted(self.nets[name].state_dict().items()):
                digest.update(f"{name}.{key}".encode())
                digest.update(
                    tensor.detach().cpu().contiguous().flatten().view(torch.uint8).numpy()
                )
        return digest.hexdigest()


def backward_into(loss: Tensor, parameters: list[nn.Parameter]) -> None:
    """Backpropagate ``loss`` into ``parameters`` only (no other tensor gets a gradient)."""
    torch.autograd.backward(loss, inputs=parameters)


def checked_update(
    ctx: StepContext,
    name: str,
    loss: Tensor,
    optimiser: torch.optim.Optimizer,
    parameters: list[nn.Parameter] | None = None,
) -> float:
    """One optimiser update on ``loss``, after :meth:`StepContext.check` has passed it.

    Checks ``loss`` under ``name`` (raising before any parameter is touched), clears the
    optimiser's gradients, backpropagates (into ``parameters`` only when given, see
    :func:`backward_into`; else into every leaf) and steps. Returns the checked loss value.
    """
    value = ctx.check(name, loss)
    optimiser.zero_grad(set_to_none=True)
    if parameters is None:
        loss.backward()
    else:
        backward_into(loss, parameters)
    optimiser.step()
    return value
