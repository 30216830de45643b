r"""What the numeric methods need to know about a ``torch.distributions.Distribution``.

* :func:`check_pair`: both are distributions with the same event shape, dtype and device, and
  broadcastable batch shapes (else :class:`~divergences.InputError` naming the problem);
* :func:`log_density`: ``log_prob`` with ``-inf`` outside the support, so that a point of one
  distribution's support can be evaluated under the other without tripping its argument
  validation (``validate_args``) and without the garbage some ``log_prob`` formulas return off
  their support (``Exponential`` at ``x < 0``);
* :func:`interval`: the support as ``(lower, upper)`` tensors (``+-inf`` where unbounded), for
  the quadrature's break points and the Monte Carlo support check;
* :func:`location_scale`: where the mass is and how wide (from quantiles, else the mean and
  standard deviation), for the quadrature's initial grid;
* :func:`same_support`: whether the two supports are the same set, decided from the constraint
  objects alone (no tensor is compared, so no host synchronisation).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import Tensor
from torch.distributions import Distribution, VonMises
from torch.distributions import constraints as C

from divergences.errors import InputError

__all__ = [
    "Pair",
    "check_pair",
    "interval",
    "is_continuous_scalar",
    "location_scale",
    "log_density",
    "same_support",
]

#: normal-equivalent standard deviation of an interquartile range: Phi^-1(3/4) - Phi^-1(1/4)
_IQR_SIGMA = 1.3489795003921634


class Pair:
    """Shapes, dtype and device shared by ``P`` and ``Q`` (see :func:`check_pair`)."""

    __slots__ = ("batch_shape", "device", "dtype", "event_shape")

    def __init__(
        self,
        batch_shape: torch.Size,
        event_shape: torch.Size,
        dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        self.batch_shape = batch_shape
        self.event_shape = event_shape
        self.dtype = dtype
        self.device = device


def _floating_tensors(dist: Distribution) -> list[Tensor]:
    found: list[Tensor] = []
    for name in getattr(dist, "arg_constraints", {}):
        try:
            value = getattr(dist, name)
        except (AttributeError, NotImplementedError, RuntimeError, ValueError):
            continue
        if isinstance(value, Tensor) and value.is_floating_point():
            found.append(value)
    for inner in ("base_dist", "_component_distribution", "_mixture_distribution"):
        sub = getattr(dist, inner, None)
        if isinstance(sub, Distribution):
            found += _floating_tensors(sub)
    return found


def _dtype_device(name: str, dist: Distribution) -> tuple[torch.dtype, torch.device]:
    tensors = _floating_tensors(dist)
    if not tensors:
        try:
            mean = dist.mean
        except (NotImplementedError, AttributeError):
            mean = None
        if isinstance(mean, Tensor) and mean.is_floating_point():
            tensors = [mean]
    if not tensors:
        raise InputError(f"{name} ({type(dist).__name__}) has no floating-point parameter")
    return tensors[0].dtype, tensors[0].device


def check_pair(p: object, q: object) -> Pair:
    """Check that ``p`` and ``q`` can be compared; return what they share.

    Raises:
        InputError: not a ``torch.distributions.Distribution``, different event shapes,
            batch shapes that do not broadcast, different dtypes or devices.
    """
    for name, dist in (("P", p), ("Q", q)):
        if not isinstance(dist, Distribution):
            raise InputError(
                f"{name} must be a torch.distributions.Distribution, got {type(dist).__name__}"
            )
    assert isinstance(p, Distribution) and isinstance(q, Distribution)
    if p.event_shape != q.event_shape:
        raise InputError(
            f"mismatched event shapes: P has {tuple(p.event_shape)}, Q has "
            f"{tuple(q.event_shape)} ({type(p).__name__} vs {type(q).__name__})"
        )
    try:
        batch = torch.broadcast_shapes(p.batch_shape, q.batch_shape)
    except RuntimeError:
        raise InputError(
            f"batch shapes do not broadcast: P has {tuple(p.batch_shape)}, Q has "
            f"{tuple(q.batch_shape)}"
        ) from None
    (pd, pdev), (qd, qdev) = _dtype_device("P", p), _dtype_device("Q", q)
    if pd != qd:
        raise InputError(f"mismatched dtypes: P is {pd}, Q is {qd}")
    if pdev != qdev:
        raise InputError(f"mismatched devices: P is on {pdev}, Q is on {qdev}")
    return Pair(batch, p.event_shape, pd, pdev)


def _unwrap(constraint: C.Constraint) -> C.Constraint:
    while isinstance(constraint, C._IndependentConstraint):
        constraint = constraint.base_constraint
    return constraint


def _bound(constraint: C.Constraint, which: str) -> object:
    return getattr(constraint, which, None)


def _is_real(constraint: C.Constraint) -> bool:
    return isinstance(_unwrap(constraint), C._Real)


def interval(dist: Distribution, like: Tensor) -> tuple[Tensor, Tensor] | None:
    """``(lower, upper)`` of a scalar distribution's support, as tensors shaped like ``like``
    (``-inf``/``+inf`` where unbounded); ``None`` for supports that are not intervals (or for
    events of dimension > 0)."""
    support = dist.support
    if support.event_dim != 0:
        return None
    if isinstance(support, C._Real):
        return like.new_full(like.shape, -math.inf), like.new_full(like.shape, math.inf)
    lower, upper = _bound(support, "lower_bound"), _bound(support, "upper_bound")
    if lower is None and upper is None:
        return None

    def as_tensor(bound: object, fill: float) -> Tensor:
        if bound is None:
            return like.new_full(like.shape, fill)
        value = torch.as_tensor(bound, dtype=like.dtype, device=like.device)
        return value.expand(like.shape) if value.shape != like.shape else value

    return as_tensor(lower, -math.inf), as_tensor(upper, math.inf)


def _interior(dist: Distribution, like: Tensor) -> Tensor | None:
    """A point inside a scalar support (midpoint, bound +- 1, or 0), shaped like ``like``."""
    bounds = interval(dist, like)
    if bounds is None:
        return None
    lo, hi = bounds
    lo_f, hi_f = torch.isfinite(lo), torch.isfinite(hi)
    both = torch.where(
        lo_f & hi_f, (torch.where(lo_f, lo, 0.0) + torch.where(hi_f, hi, 0.0)) / 2, 0.0
    )
    point = torch.where(lo_f & ~hi_f, torch.where(lo_f, lo, 0.0) + 1.0, both)
    return torch.where(hi_f & ~lo_f, torch.where(hi_f, hi, 0.0) - 1.0, point)


@contextlib.contextmanager
def _unvalidated(dist: Distribution) -> Iterator[None]:
    """``dist`` (and the distributions it wraps) with ``validate_args`` off, restored after.

    :func:`log_density` only passes points of the support, so torch's per-call check (which
    synchronises with the host and costs a pass over the points) is redundant there.
    """
    touched = []
    stack = [dist]
    while stack:
        current = stack.pop()
        if getattr(current, "_validate_args", False):
            touched.append(current)
            current._validate_args = False
        for inner in ("base_dist", "_component_distribution", "_mixture_distribution"):
            sub = getattr(current, inner, None)
            if isinstance(sub, Distribution):
                stack.append(sub)
    try:
        yield
    finally:
        for current in touched:
            current._validate_args = True


def log_density(dist: Distribution, x: Tensor) -> Tensor:
    """``dist.log_prob(x)`` where ``x`` lies in the support, ``-inf`` elsewhere.

    ``x`` has shape ``(..., *batch_shape, *event_shape)``. Points outside the support are
    replaced by an interior point before ``log_prob`` sees them (a "double where": no ``NaN``
    from the off-support branch reaches the value or the gradient). Supports that are all of
    the space (``real``, ``real_vector``) are not checked.
    """
    support = dist.support
    with _unvalidated(dist):
        if _is_real(support):
            return dist.log_prob(x)
        inside = support.check(x)
        if dist.event_shape:  # an interior point is only constructed for scalar supports
            return torch.where(inside, dist.log_prob(x), -math.inf)
        shape = torch.broadcast_shapes(x.shape, dist.batch_shape)
        fill = _interior(dist, torch.zeros(shape, dtype=x.dtype, device=x.device))
        if fill is None:
            return torch.where(inside, dist.log_prob(x), -math.inf)
        return torch.where(inside, dist.log_prob(torch.where(inside, x, fill)), -math.inf)


def is_continuous_scalar(dist: Distribution) -> bool:
    """A distribution with a density on an interval of the real line (quadrature applies).

    ``VonMises`` is excluded: torch declares its support ``real`` but its density is periodic.
    """
    support = dist.support
    return (
        not support.is_discrete
        and support.event_dim == 0
        and dist.event_shape == torch.Size()
        and not isinstance(dist, VonMises)
    )


def location_scale(dist: Distribution, like: Tensor) -> tuple[Tensor, Tensor]:
    """Where a scalar distribution's mass is (``loc``) and how wide it is (``scale > 0``).

    From the quartiles when ``icdf`` is implemented (median, interquartile range / 1.349),
    else from ``mean`` and ``stddev``; an element where these are not finite (Cauchy's mean,
    a Student t's variance) falls back on a ``loc``/``scale`` attribute, else ``0``/``1``.
    Shaped like ``like``; only used to place the quadrature's initial break points (no
    gradient needed, so the result is detached).
    """
    with torch.no_grad():
        loc = scale = None
        probs = torch.tensor([0.25, 0.5, 0.75], dtype=like.dtype, device=like.device)
        probs = probs.reshape(3, *([1] * len(dist.batch_shape)))
        try:
            quartiles = dist.icdf(probs)
            loc, scale = quartiles[1], (quartiles[2] - quartiles[0]) / _IQR_SIGMA
        except (NotImplementedError, AttributeError, ValueError, RuntimeError):
            with contextlib.suppress(NotImplementedError, AttributeError, ValueError, RuntimeError):
                loc, scale = dist.mean, dist.stddev
        fallback_loc = getattr(dist, "loc", None)
        fallback_scale = getattr(dist, "scale", None)
        loc = like.new_zeros(like.shape) if loc is None else loc.expand(like.shape)
        scale = like.new_ones(like.shape) if scale is None else scale.expand(like.shape)
        if isinstance(fallback_loc, Tensor):
            loc = torch.where(torch.isfinite(loc), loc, fallback_loc.expand(like.shape))
        if isinstance(fallback_scale, Tensor):
            good = torch.isfinite(scale) & (scale > 0)
            scale = torch.where(good, scale, fallback_scale.expand(like.shape))
        loc = torch.where(torch.isfinite(loc), loc, 0.0)
        scale = torch.where(torch.isfinite(scale) & (scale > 0), scale, 1.0)
        return loc.to(like.dtype), scale.to(like.dtype)


def _static_key(constraint: C.Constraint) -> tuple[object, ...] | None:
    if isinstance(constraint, C._IndependentConstraint):
        inner = _static_key(constraint.base_constraint)
        return (
            None if inner is None else ("independent", inner, constraint.reinterpreted_batch_ndims)
        )
    bounds = []
    for which in ("lower_bound", "upper_bound"):
        value = getattr(constraint, which, None)
        if isinstance(value, Tensor):
            return None  # a parameter of the distribution: not comparable without a sync
        bounds.append(value)
    return (type(constraint), *bounds)


def same_support(p: Distribution, q: Distribution) -> bool:
    """``True`` when the two supports are known to be the same set without looking at tensor
    values (the same constraint object, or the same kind with the same constant bounds)."""
    a, b = p.support, q.support
    if a is b:
        return True
    key = _static_key(a)
    return key is not None and key == _static_key(b)
