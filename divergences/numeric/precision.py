"""The one dtype policy of the numeric layer: half-precision inputs are computed in float32.

float16 and bfloat16 have too few bits of exponent (float16) or mantissa (bfloat16) for the
intermediate results of the stable forms (``exp`` of a moderate score overflows float16, a
``log1p`` of a small ratio loses every digit in bfloat16). Every numeric function of the library
therefore computes in :func:`working_dtype` and rounds its result once to the input's dtype.
float32 and float64 are computed as they are. This module is the only place that decides it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch
from torch import Tensor

__all__ = ["LOW_PRECISION", "upcast", "working_dtype"]

#: dtypes computed in float32 and rounded back once
LOW_PRECISION: tuple[torch.dtype, ...] = (torch.float16, torch.bfloat16)

F = TypeVar("F", bound=Callable[..., Tensor])


def working_dtype(dtype: torch.dtype) -> torch.dtype:
    """``float32`` for float16/bfloat16, else ``dtype`` itself."""
    return torch.float32 if dtype in LOW_PRECISION else dtype


def upcast(function: F) -> F:
    """``function(*tensors)`` computed in float32 for half-precision inputs, rounded back once.

    The first argument's dtype decides (the library's functions check that their tensor
    arguments share one dtype); non-tensor arguments pass through. float32/float64 inputs call
    ``function`` directly.
    """

    @functools.wraps(function)
    def run(first: Tensor, *rest: object, **options: object) -> Tensor:
        if first.dtype not in LOW_PRECISION:
            return function(first, *rest, **options)
        others = [x.float() if isinstance(x, Tensor) else x for x in rest]
        return function(first.float(), *others, **options).to(first.dtype)

    return run  # type: ignore[return-value]
