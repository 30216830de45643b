"""Hypothesis strategies for divergences, GAN losses and their analytic references.

Every strategy shrinks towards small, simple examples (few outcomes, round numbers), so a failing
property is reported on a counterexample a person can read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from ._convert import as_dtype, make_input

__all__ = [
    "DEFAULT_PARAMETERS",
    "default_min_positive",
    "distribution_pairs",
    "extreme_logits",
    "normal_parameters",
    "probability_vectors",
    "registered_divergences",
]

#: Parameter values drawn by :func:`registered_divergences` (exact, so each is derived once).
DEFAULT_PARAMETERS: Mapping[str, tuple[Fraction, ...]] = {
    "alpha": (Fraction(-1), Fraction(1, 2), Fraction(2), Fraction(3)),
    "pi": (Fraction(1, 2), Fraction(1, 4)),
}

# Smallest positive probability drawn by default: tiny but far from the dtype's underflow, so
# the ratios p/q (up to n / min_positive) and their powers stay representable in most cases.
_MIN_POSITIVE = {
    torch.float64: 1e-30,
    torch.float32: 1e-7,
    torch.float16: 1e-3,
    torch.bfloat16: 1e-3,
    np.dtype(np.float64): 1e-30,
    np.dtype(np.float32): 1e-7,
    np.dtype(np.float16): 1e-3,
}

IntOrStrategy = int | st.SearchStrategy[int] | None
ShapeOrStrategy = tuple[int, ...] | st.SearchStrategy[tuple[int, ...]]


def _sizes(n: IntOrStrategy, default: tuple[int, int] = (1, 8)) -> st.SearchStrategy[int]:
    if n is None:
        return st.integers(*default)
    if isinstance(n, int):
        if n < 1:
            raise ValueError(f"the number of outcomes must be >= 1, got {n}")
        return st.just(n)
    return n


def _shapes(batch_shape: ShapeOrStrategy) -> st.SearchStrategy[tuple[int, ...]]:
    if isinstance(batch_shape, st.SearchStrategy):
        return batch_shape
    return st.just(tuple(int(b) for b in batch_shape))


def default_min_positive(dtype: Any) -> float:
    """The default smallest positive weight drawn in ``dtype`` (see :func:`probability_vectors`)."""
    try:
        return _MIN_POSITIVE[as_dtype(dtype)]
    except KeyError:
        raise ValueError(f"no default min_positive for dtype {dtype}; pass one") from None


def _min_positive(dtype: Any, min_positive: float | None) -> float:
    if min_positive is not None:
        if not 0 < min_positive <= 1:
            raise ValueError(f"min_positive must lie in (0, 1], got {min_positive}")
        return float(min_positive)
    return default_min_positive(dtype)


def _positive_weights(min_positive: float) -> st.SearchStrategy[float]:
    """Positive weights spread over all orders of magnitude in ``[min_positive, 1]``."""
    return st.one_of(
        st.floats(min_value=0.01, max_value=1.0),
        st.floats(min_value=math.log(min_positive), max_value=0.0).map(math.exp),
    ).map(lambda w: max(w, min_positive))


def _normalise(weights: np.ndarray) -> np.ndarray:
    total = np.sum(weights, axis=-1, keepdims=True)
    return weights / total


@st.composite
def _weight_array(
    draw: st.DrawFn,
    shape: tuple[int, ...],
    min_positive: float,
    zero_mask: np.ndarray | None,
    allow_zeros: bool,
) -> np.ndarray:
    """Non-negative float64 weights of ``shape``, each last-axis row with a positive entry."""
    size = int(np.prod(shape))
    weights = np.array(
        draw(st.lists(_positive_weights(min_positive), min_size=size, max_size=size)),
        dtype=np.float64,
    ).reshape(shape)
    if zero_mask is None and allow_zeros:
        zero_mask = np.array(
            draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool
        ).reshape(shape)
        keep = draw(st.integers(0, shape[-1] - 1))
        zero_mask[..., keep] = False
    if zero_mask is not None:
        weights = np.where(zero_mask, 0.0, weights)
    return weights


def probability_vectors(
    n: IntOrStrategy = None,
    *,
    allow_zeros: bool = True,
    dtype: Any = torch.float64,
    batch_shape: ShapeOrStrategy = (),
    min_positive: float | None = None,
) -> st.SearchStrategy[Any]:
    r"""Probability vectors on the last dimension: non-negative, summing to one.

    Entries span all orders of magnitude from ``min_positive`` to 1 (half drawn uniformly in
    :math:`[0.01, 1]`, half log-uniformly), with exact zeros when ``allow_zeros`` (every vector
    keeps at least one positive entry). Normalised in float64, then cast, so in float16 and
    bfloat16 the sum is one only to the dtype's precision.

    Args:
        n: the number of outcomes (an int or a strategy); default ``integers(1, 8)``.
        allow_zeros: draw exact zeros.
        dtype: a ``torch.dtype`` (the result is a tensor) or a NumPy dtype (an array).
        batch_shape: leading batch dimensions (a tuple or a strategy of tuples).
        min_positive: the smallest positive weight before normalisation; defaults per dtype:
            1e-30 (float64), 1e-7 (float32), 1e-3 (float16, bfloat16).

    Example:
        >>> from hypothesis import given
        >>> @given(probability_vectors(4))
        ... def test_sums_to_one(p):
        ...     assert abs(float(p.sum()) - 1) < 1e-12
        >>> test_sums_to_one()
    """
    dt = as_dtype(dtype)
    floor = _min_positive(dt, min_positive)

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        shape = (*draw(_shapes(batch_shape)), draw(_sizes(n)))
        weights = draw(_weight_array(shape, floor, None, allow_zeros))
        return make_input(_normalise(weights), dt)

    return build()


def distribution_pairs(
    n: IntOrStrategy = None,
    *,
    allow_zeros: bool = True,
    shared_support: bool = False,
    dtype: Any = torch.float64,
    batch_shape: ShapeOrStrategy = (),
    min_positive: float | None = None,
) -> st.SearchStrategy[tuple[Any, Any]]:
    """Pairs ``(p, q)`` of probability vectors with the same shape ``(*batch_shape, n)``.

    Args:
        n, allow_zeros, dtype, batch_shape, min_positive: as :func:`probability_vectors`.
        shared_support: put the zeros of ``p`` and ``q`` at the same places (then every
            f-divergence of the pair is finite and the density ratio is defined on the support).

    Example:
        >>> from hypothesis import given
        >>> @given(distribution_pairs(3, shared_support=True))
        ... def test_same_support(pair):
        ...     p, q = pair
        ...     assert bool(((p > 0) == (q > 0)).all())
        >>> test_same_support()
    """
    dt = as_dtype(dtype)
    floor = _min_positive(dt, min_positive)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[Any, Any]:
        shape = (*draw(_shapes(batch_shape)), draw(_sizes(n)))
        p = draw(_weight_array(shape, floor, None, allow_zeros))
        mask = (p == 0) if shared_support else None
        q = draw(_weight_array(shape, floor, mask, allow_zeros and not shared_support))
        return make_input(_normalise(p), dt), make_input(_normalise(q), dt)

    return build()


def normal_parameters(
    dim: int | None = None,
    *,
    loc_range: float = 10.0,
    scale_range: tuple[float, float] = (1e-2, 1e2),
) -> st.SearchStrategy[tuple[Any, Any]]:
    r"""Parameters of a normal distribution, as plain floats / float64 NumPy arrays.

    Univariate (``dim=None``): ``(loc, scale)`` with ``scale`` the standard deviation, drawn
    log-uniformly in ``scale_range``. Multivariate: ``(loc, cov)`` with ``loc`` of shape
    ``(dim,)`` and ``cov = R diag(s^2) R^T`` of shape ``(dim, dim)`` for a random rotation
    ``R`` (QR of a Gaussian-like matrix) and ``s`` log-uniform in ``scale_range``, so the
    condition number is at most ``(scale_range[1] / scale_range[0])^2``.

    Example:
        >>> from hypothesis import given
        >>> @given(normal_parameters(dim=2))
        ... def test_spd(params):
        ...     loc, cov = params
        ...     assert np.all(np.linalg.eigvalsh(cov) > 0)
        >>> test_spd()
    """
    lo, hi = scale_range
    if not 0 < lo <= hi:
        raise ValueError(f"scale_range must satisfy 0 < low <= high, got {scale_range}")
    locs = st.floats(-loc_range, loc_range)
    scales = st.floats(math.log(lo), math.log(hi)).map(math.exp).map(lambda s: min(max(s, lo), hi))
    if dim is None:
        return st.tuples(locs, scales)
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")

    @st.composite
    def build(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
        loc = np.array(draw(st.lists(locs, min_size=dim, max_size=dim)))
        s = np.array(draw(st.lists(scales, min_size=dim, max_size=dim)))
        entries = draw(st.lists(st.floats(-1, 1), min_size=dim * dim, max_size=dim * dim))
        matrix = np.array(entries).reshape(dim, dim) + 2.0 * np.eye(dim)  # keeps QR regular
        rotation, _ = np.linalg.qr(matrix)
        cov = (rotation * s**2) @ rotation.T
        return loc, 0.5 * (cov + cov.T)

    return build()


def _logit_specials(dtype: torch.dtype, max_abs: float) -> list[float]:
    """Scores where stable and naive formulas part ways, for this dtype."""
    info = torch.finfo(dtype)
    overflow = math.log(info.max)  # exp overflows just above this
    underflow = math.log(info.tiny)  # exp is subnormal or zero below this
    magnitudes = [
        0.0,
        float(info.eps),
        1.0,
        10.0,
        overflow * (1 - 1e-3),
        overflow * (1 + 1e-3),
        -underflow,
        100.0,
        1e3,
        1e4,
        max_abs,
    ]
    values = {m * sign for m in magnitudes for sign in (1.0, -1.0) if m <= max_abs}
    return sorted(values)


def extreme_logits(
    *,
    dtype: torch.dtype = torch.float32,
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    max_abs: float = 1e4,
) -> st.SearchStrategy[torch.Tensor]:
    r"""Raw scores (logits) for losses, mixing ordinary values and the dtype's danger zones.

    Elements are drawn from: ordinary floats in ``[-max_abs, max_abs]``; and the special values
    :math:`0`, :math:`\pm\varepsilon`, :math:`\pm 1`, :math:`\pm 10`, just below and above the
    overflow threshold of ``exp`` in ``dtype`` (:math:`\log` of the largest finite value: 88.7 in
    float32 and bfloat16, 11.1 in float16, 709.8 in float64), the underflow threshold
    :math:`-\log(\text{tiny})`, :math:`\pm 100`, :math:`\pm 10^3`, :math:`\pm 10^4` and
    :math:`\pm` ``max_abs`` (all limited to ``max_abs``). Values are rounded to ``dtype``.

    Args:
        dtype: a floating torch dtype.
        shape: the tensor shape (or a strategy); default 1-D with 1 to 16 elements.
        max_abs: the largest magnitude drawn (1e4 is the library's stability contract).
    """
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be floating point, got {dtype}")
    max_abs = min(float(max_abs), float(torch.finfo(dtype).max))
    elements = st.one_of(
        st.sampled_from(_logit_specials(dtype, max_abs)),
        st.floats(-max_abs, max_abs),
    )
    shapes = (
        st.integers(1, 16).map(lambda k: (k,))
        if shape is None
        else shape
        if isinstance(shape, st.SearchStrategy)
        else st.just(tuple(shape))
    )

    @st.composite
    def build(draw: st.DrawFn) -> torch.Tensor:
        size_shape = draw(shapes)
        size = int(np.prod(size_shape))
        values = draw(st.lists(elements, min_size=size, max_size=size))
        return torch.tensor(values, dtype=torch.float64).reshape(size_shape).to(dtype)

    return build()


def registered_divergences(
    names: Sequence[str] | None = None,
    *,
    parameters: Mapping[str, Sequence[Any]] | None = None,
) -> st.SearchStrategy[Any]:
    """Registered :class:`~divergences.FDivergence` objects, parameters drawn for families.

    Args:
        names: the registry names to draw from (default: all of :func:`divergences.names`).
        parameters: values per parameter name for the parametrised entries (``alpha``, ``pi``);
            defaults to :data:`DEFAULT_PARAMETERS`. Each value costs one symbolic derivation
            (cached), so a short list of exact values is better than a continuous range.

    Example:
        >>> from hypothesis import given
        >>> @given(registered_divergences(["js", "kl"]))
        ... def test_named(d):
        ...     assert d.name in ("js", "kl")
        >>> test_named()
    """
    import divergences as dv
    from divergences.registry import REGISTRY

    chosen = tuple(dv.names() if names is None else names)
    unknown = [name for name in chosen if name not in REGISTRY]
    if unknown or not chosen:
        raise ValueError(f"unknown divergence names {unknown}; registered: {dv.names()}")
    values = dict(DEFAULT_PARAMETERS)
    values.update(parameters or {})

    def for_name(name: str) -> st.SearchStrategy[Any]:
        params = [p.name for p in REGISTRY[name].parameters]
        if not params:
            return st.just(name).map(dv.get)
        draws = st.fixed_dictionaries({p: st.sampled_from(tuple(values[p])) for p in params})
        return draws.map(lambda kwargs: dv.get(name, **kwargs))

    return st.sampled_from(chosen).flatmap(for_name)
