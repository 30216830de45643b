"""Atomic checkpoints.

:func:`save_atomic` writes to a temporary file in the destination's directory, flushes and
``fsync``-s it, renames it over the destination with :func:`os.replace` (atomic on POSIX and
Windows), then ``fsync``-s the directory so the rename itself is durable. A crash at any point
leaves either the previous checkpoint or the new one, never a torn file; a temporary file left by
a crash is ignored by :func:`load_checkpoint` and removed by the next successful save.

A checkpoint is a dict (written with :func:`torch.save`) holding the models, the optimisers,
every random state, the step, the metrics history and the configuration's fingerprint.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError

__all__ = ["CHECKPOINT_NAME", "FORMAT", "load_checkpoint", "save_atomic"]

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = 1


def save_atomic(payload: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``payload`` to ``path`` atomically and durably; return the path.

    The payload is serialised in memory first, so a serialisation error never touches the disk.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getbuffer()
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(path.parent)
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        with contextlib.suppress(OSError):
            stale.unlink()
    return path


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_atomic`.

    Raises:
        CheckpointError: the file is missing, unreadable, or not a checkpoint of this format.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises several types for a corrupt file
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a training checkpoint of format {FORMAT}")
    return payload


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
