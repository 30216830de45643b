"""Calling user callables written for torch, NumPy or plain Python floats, and reading results.

The checks build their inputs as float64 NumPy arrays; :class:`Backend` turns them into what the
user's function expects and turns its result back into a float64 NumPy array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch

__all__ = ["BackendName", "Elementwise", "as_dtype", "eps_of", "to_numpy"]

BackendName = Literal["torch", "numpy"]


def as_dtype(dtype: Any) -> torch.dtype | np.dtype:
    """A ``torch.dtype`` stays one; anything else is read as a NumPy dtype."""
    return dtype if isinstance(dtype, torch.dtype) else np.dtype(dtype)


def eps_of(dtype: torch.dtype | np.dtype) -> float:
    """Machine epsilon of a torch or NumPy floating dtype."""
    if isinstance(dtype, torch.dtype):
        return float(torch.finfo(dtype).eps)
    return float(np.finfo(dtype).eps)


def to_numpy(value: Any) -> np.ndarray:
    """A function's result as a float64 NumPy array (torch tensors are detached, moved to CPU)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64).numpy()
    return np.asarray(value, dtype=np.float64)


def make_input(values: np.ndarray, dtype: torch.dtype | np.dtype) -> Any:
    """``values`` (float64) in the requested dtype: a tensor for a torch dtype, else an array."""
    if isinstance(dtype, torch.dtype):
        return torch.as_tensor(values, dtype=torch.float64).to(dtype)
    return np.asarray(values, dtype=dtype)


class Elementwise:
    """Apply an elementwise scalar function ``fn`` to a float64 array, whatever its kind.

    Tried in order, the first that works (and keeps the shape) is kept for later calls:
    a float64 torch tensor, a float64 NumPy array, then element by element with Python floats,
    then element by element with 0-d float64 tensors.
    """

    _MODES = ("numpy", "torch", "python", "torch-scalar")

    def __init__(self, fn: Callable[[Any], Any], name: str = "function") -> None:
        self.fn = fn
        self.name = name
        self.mode: str | None = None

    def _apply(self, mode: str, x: np.ndarray) -> np.ndarray:
        if mode == "torch":
            out = to_numpy(self.fn(torch.from_numpy(x.copy())))
        elif mode == "numpy":
            out = to_numpy(self.fn(x.copy()))
        elif mode == "python":
            out = np.array([float(self.fn(float(z))) for z in x.ravel()]).reshape(x.shape)
        else:
            scalars = [to_numpy(self.fn(torch.tensor(float(z), dtype=torch.float64))) for z in x]
            out = np.array([float(z) for z in scalars]).reshape(x.shape)
        if out.shape != x.shape:
            raise ValueError(f"{self.name} returned shape {out.shape} for input {x.shape}")
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.mode is not None:
            return self._apply(self.mode, x)
        errors = []
        for mode in self._MODES:
            try:
                out = self._apply(mode, x)
            except Exception as error:  # any failure: try the next calling convention
                errors.append(f"{mode}: {type(error).__name__}: {error}")
                continue
            self.mode = mode
            return out
        raise TypeError(f"could not call {self.name} on floats; tried\n  " + "\n  ".join(errors))
