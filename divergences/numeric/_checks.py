"""Argument checks shared by the numeric functions and the losses.

Two kinds of checks, and only the second reads the data:

* structural checks (tensor type, floating dtype, shapes, dtype/device agreement) look at
  metadata only: no host synchronisation, no cost, and they are constant-folded by
  ``torch.compile``; they always run;
* value checks of probability vectors (finite, non-negative, normalised) need the data: they are
  reduced to one small tensor read with a single host synchronisation (``.tolist()``), so they
  run only with ``validate=True`` and break a ``torch.compile(fullgraph=True)`` graph. Hot loops
  and compiled code pass ``validate=False``.

Every failure raises :class:`~divergences.errors.InputError` naming the argument and the condition.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from divergences.errors import InputError
from divergences.numeric.host import reads_on_host

__all__ = [
    "check_compatible",
    "check_distributions",
    "check_same_shape",
    "check_scores",
    "normalisation_tolerance",
]


def check_scores(name: str, scores: object) -> Tensor:
    """A non-empty floating-point tensor."""
    if not isinstance(scores, Tensor):
        raise InputError(f"{name} must be a torch.Tensor, got {type(scores).__name__}")
    if not scores.is_floating_point():
        raise InputError(f"{name} must have a floating-point dtype, got {scores.dtype}")
    if scores.numel() == 0:
        raise InputError(f"{name} is empty (shape {tuple(scores.shape)}): the mean is undefined")
    return scores


def check_compatible(*named: tuple[str, Tensor]) -> None:
    """Same dtype and device for all tensors (no silent promotion or cross-device copies)."""
    (first_name, first), *rest = named
    for name, tensor in rest:
        if tensor.dtype != first.dtype:
            raise InputError(
                f"{first_name} and {name} must have the same dtype, "
                f"got {first.dtype} and {tensor.dtype}"
            )
        if tensor.device != first.device:
            raise InputError(
                f"{first_name} and {name} must be on the same device, "
                f"got {first.device} and {tensor.device}"
            )


def check_same_shape(*named: tuple[str, Tensor]) -> None:
    """Identical shapes (no broadcasting): for element-wise comparisons of images etc."""
    (first_name, first), *rest = named
    for name, tensor in rest:
        if tensor.shape != first.shape:
            raise InputError(
                f"{first_name} and {name} must have the same shape, "
                f"got {tuple(first.shape)} and {tuple(tensor.shape)}"
            )


def normalisation_tolerance(dtype: torch.dtype) -> float:
    r"""How far a probability vector's sum may be from one: :math:`\max(\sqrt{\epsilon}, 10^{-6})`.

    That is ``1e-6`` in float64, ``3.5e-4`` in float32, ``3.1e-2`` in float16 and ``8.8e-2`` in
    bfloat16: loose enough for vectors normalised in a lower precision and then converted, tight
    enough to catch unnormalised counts or a sum over the wrong dimension.
    """
    return max(math.sqrt(torch.finfo(dtype).eps), 1e-6)


def _check_structure(name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise InputError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype == torch.bool or not x.is_floating_point():
        raise InputError(
            f"{name} must have a floating-point dtype, got {x.dtype} (convert counts with "
            f"{name}.double() / {name}.sum(-1, keepdim=True))"
        )
    if x.ndim == 0:
        raise InputError(f"{name} must have a last dimension of outcomes, got a 0-d tensor")
    if x.shape[-1] == 0:
        raise InputError(f"{name} has an empty last dimension (shape {tuple(x.shape)})")
    return x


def check_distributions(p: object, q: object, *, validate: bool = True) -> tuple[Tensor, Tensor]:
    """Check two batches of discrete distributions on the last dimension.

    Always (metadata only): tensors, floating dtype (not integer or bool), a non-empty last
    dimension of the same size, broadcastable leading dimensions, same dtype and device.
    With ``validate=True`` also, with one host synchronisation: no NaN or infinity, no negative
    entry, and every vector sums to one within :func:`normalisation_tolerance`.

    Returns:
        ``(p, q)`` unchanged.

    Raises:
        InputError: naming the failing argument and condition.
    """
    p = _check_structure("p", p)
    q = _check_structure("q", q)
    if p.shape[-1] != q.shape[-1]:
        raise InputError(
            f"p and q must have the same number of outcomes (last dimension), got shapes "
            f"{tuple(p.shape)} and {tuple(q.shape)}"
        )
    try:
        torch.broadcast_shapes(p.shape, q.shape)
    except RuntimeError as exc:
        raise InputError(
            f"the batch shapes of p and q do not broadcast: {tuple(p.shape)} and {tuple(q.shape)}"
        ) from exc
    check_compatible(("p", p), ("q", q))
    if validate:
        _check_values(p, q)
    return p, q


def _value_flags(x: Tensor) -> Tensor:
    r"""``[not finite, negative, deviation]`` of one batch as a float64 tensor of shape ``(3,)``.

    Two passes over the data (one :func:`torch.aminmax` and the row sums) instead of five
    (``isfinite``, ``all``, ``< 0``, ``any`` and the sums, with two boolean temporaries).

    .. math::

        \text{not finite} = \lnot\big(\min_i x_i,\ \max_i x_i \in \mathbb{R}\big), \qquad
        \text{negative} = \min_i x_i < 0, \qquad
        \text{deviation} = \max_{\text{rows}} \Big|\sum_x x - 1\Big|

    ``aminmax`` propagates NaN into both extremes (documented), and an infinite entry is an
    infinite extreme, so the extremes are finite exactly when every entry is; when they are,
    :math:`\min_i x_i < 0` exactly when some entry is negative. Rows whose sum is not finite
    (only by overflow once the entries are finite) count as deviation 0, as before. An empty batch
    (``numel() == 0``, e.g. shape ``(0, n)``) has nothing to check: all flags 0, no reduction over
    an empty tensor (``aminmax`` and ``amax`` raise there).
    """
    work = x.detach()
    if work.numel() == 0:
        return torch.zeros(3, dtype=torch.float64, device=work.device)
    low, high = torch.aminmax(work)
    accumulate = torch.float64 if work.dtype == torch.float64 else torch.float32
    total = work.to(accumulate).sum(-1)
    deviation = torch.where(torch.isfinite(total), (total - 1).abs(), 0.0).amax()
    not_finite = ~(torch.isfinite(low) & torch.isfinite(high))
    return torch.stack(
        [not_finite.to(torch.float64), (low < 0).to(torch.float64), deviation.to(torch.float64)]
    )


#: up to this many elements (p and q together), plain CPU tensors are checked with NumPy: its
#: reductions cost a few microseconds where each torch operation costs about five, so a pair of
#: 1000-element vectors is checked in about 30 us instead of 240 us; above it torch's are faster
#: (a 1024 x 1000 float32 batch: 0.28 ms against NumPy's 0.56 ms)
HOST_CHECK_NUMEL = 2**14


def _value_flags_on_host(x: Tensor) -> list[float]:
    """:func:`_value_flags` of a plain CPU tensor (:func:`~divergences.numeric.host.reads_on_host`)
    computed by NumPy, as a list: the same extremes, and the row sums accumulated in the same
    dtype (float64 for float64, float32 for float32)."""
    values = x.detach().numpy()
    if values.size == 0:
        return [0.0, 0.0, 0.0]
    with np.errstate(all="ignore"):  # an overflowing row sum is data here, not a warning
        low, high = values.min(), values.max()  # NaN propagates into both, as in aminmax
        deviation = np.abs(values.sum(-1, dtype=values.dtype) - 1)
    deviation = deviation[np.isfinite(deviation)]  # rows whose sum overflowed count as 0
    return [
        float(not (np.isfinite(low) and np.isfinite(high))),
        float(low < 0),
        float(deviation.max()) if deviation.size else 0.0,
    ]


def require_values(**named: Tensor) -> None:
    """Refuse tensors without data (``device="meta"``) where values must be read.

    A meta tensor has a shape and a dtype but no values, so it cannot be validated; with
    ``validate=False`` the computations run on it and return meta results of the right shape.

    Raises:
        InputError: naming the tensor and the way out.
    """
    for name, x in named.items():
        if x is not None and x.is_meta:
            raise InputError(
                f"{name} is a meta tensor: it holds no values to validate (pass validate=False "
                "to compute shapes only)"
            )


def _check_values(p: Tensor, q: Tensor) -> None:
    require_values(p=p, q=q)
    tol = normalisation_tolerance(p.dtype)
    if reads_on_host(p, q) and p.numel() + q.numel() <= HOST_CHECK_NUMEL:
        values = _value_flags_on_host(p) + _value_flags_on_host(q)
    else:
        # one host synchronisation for all six checks
        values = torch.cat([_value_flags(p), _value_flags(q)]).tolist()
    for name, (not_finite, negative, deviation) in zip(
        ("p", "q"), (values[0:3], values[3:6]), strict=True
    ):
        if not_finite:
            raise InputError(f"{name} contains NaN or infinite entries")
        if negative:
            raise InputError(f"{name} has negative entries: probabilities must be >= 0")
        if deviation > tol:
            raise InputError(
                f"{name} is not normalised: a vector's sum over the last dimension differs "
                f"from 1 by {deviation:.3g} > {tol:.3g} (the tolerance for {p.dtype}); "
                f"normalise it or pass validate=False"
            )
