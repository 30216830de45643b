"""torch.distributed support: process context, DDP wrapping, collectives used by the trainer.

A run launched by ``torchrun`` (which sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``MASTER_ADDR`` and ``MASTER_PORT``) is data-parallel: every process trains the same networks
(DistributedDataParallel averages the gradients; its start-up broadcast from rank 0 and the
common seed make the initial parameters equal) on its own data and noise streams, seeded with its
rank. The backend is NCCL on CUDA devices and gloo on the CPU. Rank 0 alone evaluates, logs,
plots and writes checkpoints; the random states of all ranks are gathered into the checkpoint so
every rank resumes its own streams.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

__all__ = ["DistContext", "from_environment", "launched_by_torchrun"]

#: how long :meth:`DistContext.close` waits for the other ranks before raising
_CLOSE_TIMEOUT = timedelta(seconds=120)


def launched_by_torchrun() -> bool:
    """Whether the environment describes a multi-process run (``WORLD_SIZE > 1``)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass(frozen=True)
class DistContext:
    """This process's place in the run.

    Attributes:
        rank: global rank (0 is the main process).
        world_size: number of processes.
        local_rank: rank on this machine (selects the CUDA device).
        owns_group: whether this context created the process group (and so destroys it).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, requested: str) -> torch.device:
        """``cuda:LOCAL_RANK`` for a CUDA run, else the requested device."""
        device = torch.device(requested)
        if device.type == "cuda" and device.index is None:
            return torch.device("cuda", self.local_rank)
        return device

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """``module`` in DistributedDataParallel when the run is distributed, else unchanged."""
        if not self.active or not any(p.requires_grad for p in module.parameters()):
            return module
        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def mean(self, value: Tensor) -> Tensor:
        """The average of a scalar tensor over processes (the value itself on one process)."""
        if not self.active:
            return value
        total = value.reshape(1).clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total[0] / self.world_size

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, in rank order (``[obj]`` on one process)."""
        if not self.active:
            return [obj]
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every process."""
        if not self.active:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def close(self) -> None:
        """Destroy the process group if this context created it, once every rank is here.

        Without the barrier a rank that finishes first (rank 1 writes no files) tears its gloo
        pairs down while rank 0 is still writing the logs, and the run hung at exit in about
        two of five two-process runs (``tests/training/test_distributed.py``). Under gloo the
        barrier is monitored: a rank that never arrives raises after :data:`_CLOSE_TIMEOUT`
        instead of hanging.
        """
        if self.owns_group and dist.is_initialized():
            if dist.get_backend() == "gloo":
                dist.monitored_barrier(timeout=_CLOSE_TIMEOUT)
            else:
                dist.barrier()
            dist.destroy_process_group()


def from_environment(device: str = "cpu") -> DistContext:
    """The context of this process: joins (or creates) the process group under ``torchrun``.

    Returns a single-process context when ``WORLD_SIZE`` is unset or 1.
    """
    if dist.is_available() and dist.is_initialized():
        return DistContext(
            dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0"))
        )
    if not launched_by_torchrun():
        return DistContext()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), local_rank, owns_group=True)
