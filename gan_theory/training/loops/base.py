"""The interface of a training loop for one model family, and the per-step context.

A :class:`Loop` owns its networks and optimisers. The trainer calls :meth:`Loop.train_step` once
per generator step; the loop draws what it needs from the run's :class:`~..rng.Streams` and
passes every loss through :meth:`StepContext.check` *before* the corresponding backward pass
(:func:`checked_update` does both), so a non-finite loss stops the run before any parameter is
touched. :func:`checked_update` also reports an optimiser step that overflows the parameters'
dtype (``lr = 1e39`` for float32) as a divergence instead of torch's ``RuntimeError``. A loop's
evaluation checks the samples it measures (:func:`require_finite`) before any metric sees them,
and the trainer checks the whole state (:meth:`Loop.check_finite_state`) before every
checkpoint.

Parameters are not checked after every update: on the CPU that costs 3-6 % of a small model's
step (an ``isfinite`` pass over every parameter and a host sync), and a non-finite parameter is
caught anyway, by the next loss (its check then names the parameter as the cause), the next
evaluation, or the check before the next checkpoint, whichever comes first -- always before it
can reach a checkpoint or a metric.

Under DistributedDataParallel, :attr:`Loop.wrapped` holds the DDP-wrapped networks: a network is
called through its wrapper in the update of its own parameters (so DDP averages their
gradients), and unwrapped everywhere else (frozen uses, evaluation).
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import NonFiniteError, TrainingDivergedError
from ..rng import Streams

__all__ = [
    "Loop",
    "StepContext",
    "backward_into",
    "checked_update",
    "first_non_finite",
    "require_finite",
]


def first_non_finite(tensors: Iterable[tuple[str, Tensor]]) -> tuple[str, float] | None:
    """The name and a non-finite value of the first floating tensor holding one, else ``None``.

    One fused flag and one host sync when everything is finite (the usual case).
    """
    named = [(name, t.detach()) for name, t in tensors if t.is_floating_point() or t.is_complex()]
    if not named:
        return None
    device = named[0][1].device
    flags = torch.stack([torch.isfinite(t).all().to(device) for _, t in named])
    if bool(flags.all()):
        return None
    for name, tensor in named:
        bad = tensor[~torch.isfinite(tensor)]
        if bad.numel():
            return name, float(bad.flatten()[0].real if bad.is_complex() else bad.flatten()[0])
    return None  # pragma: no cover - the flag said otherwise


def require_finite(what: str, tensor: Tensor) -> Tensor:
    """``tensor`` itself when every entry is finite.

    Raises:
        NonFiniteError: naming ``what`` and one non-finite entry.
    """
    found = first_non_finite([(what, tensor)])
    if found is not None:
        raise NonFiniteError(*found)
    return tensor


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

    def check(
        self,
        name: str,
        loss: Tensor,
        inputs: Mapping[str, Tensor] | None = None,
        state: Callable[[], Iterable[tuple[str, Tensor]]] | None = None,
    ) -> float:
        """The (process-averaged) value of ``loss``; raise if it is not finite.

        Only when the loss is not finite are ``state()`` (the networks' parameters and the
        optimisers' state, see :meth:`Loop.named_state`) and then ``inputs`` (e.g. the real
        batch and the generator's output) searched, to name the first non-finite tensor as the
        cause: a NaN parameter explains a NaN output, not the reverse.

        Raises:
            TrainingDivergedError: naming the step, the loss, its value and the cause if found.
        """
        loss = loss.detach()
        value = loss.item() if self.reduce is None else self.reduce(loss).item()
        if not math.isfinite(value):
            suspects = [*(state() if state is not None else ()), *(inputs or {}).items()]
            found = first_non_finite(suspects)
            cause = None if found is None else f"{found[0]} holds {found[1]}"
            raise TrainingDivergedError(self.step, name, value, cause=cause)
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

    def parameter_names(self) -> dict[int, str]:
        """``id(parameter) -> "network.parameter"`` for every parameter (for messages)."""
        return {
            id(parameter): f"{net}.{name}"
            for net, module in self.nets.items()
            for name, parameter in module.named_parameters()
        }

    def named_state(self) -> list[tuple[str, Tensor]]:
        """Every tensor of :meth:`state_dict`, named for messages: the networks' parameters and
        buffers (``"parameter critic.net.0.weight"``), then the optimisers' state
        (``"optimiser state exp_avg_sq of critic.net.0.weight"``)."""
        names = self.parameter_names()
        out = [
            (f"parameter {net}.{key}", tensor)
            for net, module in self.nets.items()
            for key, tensor in module.state_dict().items()
        ]
        for optimiser_name, optimiser in self.optimisers.items():
            for parameter, state in optimiser.state.items():
                owner = names.get(id(parameter), optimiser_name)
                out.extend(
                    (f"optimiser state {key} of {owner}", value)
                    for key, value in state.items()
                    if isinstance(value, Tensor)
                )
        return out

    def check_finite_state(self) -> None:
        """Check every floating tensor of :meth:`named_state`.

        Run before each checkpoint, so a checkpoint never holds a non-finite state (a finite
        parameter can sit next to an optimiser moment that overflowed: Adam then silently stops
        moving it).

        Raises:
            NonFiniteError: naming the first non-finite tensor and one of its values.
        """
        found = first_non_finite(self.named_state())
        if found is not None:
            raise NonFiniteError(*found)

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
    *,
    inputs: Mapping[str, Tensor] | None = None,
    state: Callable[[], Iterable[tuple[str, Tensor]]] | None = None,
) -> float:
    """One optimiser update on ``loss``, after :meth:`StepContext.check` has passed it.

    Checks ``loss`` under ``name`` (raising before any parameter is touched; ``state`` and
    ``inputs`` are searched for the cause only then), clears the optimiser's gradients,
    backpropagates (into ``parameters`` only when given, see :func:`backward_into`; else into
    every leaf) and steps. Returns the checked loss value.

    Raises:
        TrainingDivergedError: the loss is not finite, or the optimiser step overflows the
            parameters' dtype (torch's "value cannot be converted to type float without
            overflow", e.g. ``lr = 1e39`` for float32 parameters: the step size itself is
            infinite there). The run stops; the checkpoint on disk is the last good state.
    """
    value = ctx.check(name, loss, inputs, state)
    optimiser.zero_grad(set_to_none=True)
    if parameters is None:
        loss.backward()
    else:
        backward_into(loss, parameters)
    try:
        optimiser.step()
    except RuntimeError as exc:
        if "overflow" not in str(exc):
            raise
        group = optimiser.param_groups[0]
        dtype = str(group["params"][0].dtype).removeprefix("torch.")
        raise TrainingDivergedError(
            ctx.step,
            f"the {name} update",
            cause=f"its optimiser step with lr = {group['lr']:g} overflows {dtype}",
        ) from None
    return value
