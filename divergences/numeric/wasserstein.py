r"""Earth mover's (Wasserstein) distances between empirical distributions.

Three estimators of the p-Wasserstein distance

.. math::

    W_p(\mu, \nu) = \Big(\inf_{\gamma \in \Pi(\mu, \nu)}
        \int \lVert x - y \rVert^p \, d\gamma(x, y)\Big)^{1/p}, \qquad p \ge 1,

between two (optionally weighted) sample sets:

- :func:`wasserstein_1d`: exact, on the real line, by sorting (quantile-function formula);
  pure torch, differentiable, no host synchronisation on the fast path; samples are 1-D
  (``batched=True`` for many problems along the last dimension at once).
- :func:`wasserstein_nd`: exact, between point clouds in any dimension, by solving the transport
  linear program with POT's network simplex (``ot.emd2``); gradients flow through POT's torch
  backend.
- :func:`sliced_wasserstein`: the sliced distance, an average of exact 1-D distances over random
  directions; pure torch and differentiable.

All three return :math:`W_p` itself (the p-th root of the optimal cost), in the dtype of the
samples. Weights are non-negative and normalised internally; ``None`` means uniform weights.
"""

from __future__ import annotations

import math
import numbers
import warnings
from types import ModuleType

import numpy as np
import torch
from torch import Tensor

from divergences.errors import InputError

from ._checks import require_values
from .host import reads_on_host
from .precision import working_dtype

__all__ = ["sliced_wasserstein", "wasserstein_1d", "wasserstein_nd"]

# POT's network simplex reports this code when it has found an optimal transport plan.
_EMD_OPTIMAL = 1


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def wasserstein_1d(
    x: Tensor,
    y: Tensor,
    p: float = 1,
    x_weights: Tensor | None = None,
    y_weights: Tensor | None = None,
    *,
    validate: bool = True,
    batched: bool = False,
) -> Tensor:
    r"""Exact p-Wasserstein distance between two 1-D empirical distributions.

    With :math:`F^{-1}` and :math:`G^{-1}` the quantile functions of the (weighted) empirical
    distributions of ``x`` and ``y``,

    .. math::

        W_p^p = \int_0^1 \lvert F^{-1}(s) - G^{-1}(s) \rvert^p \, ds .

    Both quantile functions are step functions, so the integral is a finite sum over the merged
    cumulative weights: two sorts and two ``searchsorted`` calls, :math:`O(N \log N)`.
    For equal sizes and uniform weights it reduces to
    :math:`\frac1n \sum_i \lvert x_{(i)} - y_{(i)} \rvert^p`.

    Samples are 1-D, shape ``(n,)``, unless ``batched=True``. A 2-D array of samples is
    ambiguous: SciPy (``scipy.stats.wasserstein_distance``) and POT (``ot.wasserstein_1d``)
    read an ``(n, 2)`` array as samples along the first axis, the batched convention here as
    ``n`` problems of 2 samples each. So a multi-dimensional input is refused unless the
    caller says that its leading dimensions are batch dimensions; points in ``d`` dimensions
    belong to :func:`wasserstein_nd` (exact) or :func:`sliced_wasserstein`.

    Args:
        x: samples of the first distribution, shape ``(n,)`` (``(..., n)`` with ``batched``),
            floating point.
        y: samples of the second distribution, shape ``(m,)`` (``(..., m)`` with ``batched``);
            ``n`` and ``m`` may differ. With ``batched``, the leading (batch) dimensions of
            ``x``, ``y`` and the weights broadcast.
        p: order, a real number ``>= 1``.
        x_weights: non-negative weights of ``x``, shape ``(n,)`` (``(..., n)``), normalised
            internally; ``None`` means uniform.
        y_weights: non-negative weights of ``y``, shape ``(m,)`` (``(..., m)``); ``None`` means
            uniform.
        validate: check the values (finite samples, non-negative finite weights with a positive
            total). This costs one host synchronisation; pass ``False`` in hot loops, under
            ``torch.func`` transforms, or on accelerators when the inputs are known to be valid.
            Shape, dtype and device checks are always done (they are free). Under
            ``torch.compile`` the value checks are skipped.
        batched: the last dimension holds the samples and every leading dimension is a batch
            dimension: one distance per batch element.

    Returns:
        :math:`W_p`, a scalar (shape ``(...)``, the broadcast batch shape, with ``batched``), in
        the dtype of the samples and on their device. Differentiable with respect to the samples
        and the weights; at :math:`W_p = 0` with ``p > 1`` the gradient is taken to be zero (the
        subgradient).
        float16/bfloat16 inputs are computed in float32 and cast back.

    Raises:
        InputError: samples or weights with more than one dimension without ``batched=True``
            (the message points to :func:`wasserstein_nd` and :func:`sliced_wasserstein`), an
            empty sample set, non-floating samples, NaN/inf samples, negative or non-finite
            weights, weights whose shape does not match their samples, weights with zero total,
            ``p < 1``, or tensors on different devices.

    References:
        Santambrogio, *Optimal Transport for Applied Mathematicians* (2015), Chapter 2
        (one-dimensional transport); Peyré & Cuturi, *Computational Optimal Transport* (2019),
        Section 2.6.

    Example:
        >>> import torch
        >>> from divergences.numeric import wasserstein_1d
        >>> wasserstein_1d(torch.tensor([0.0, 1.0, 3.0]), torch.tensor([5.0, 6.0, 8.0]))
        tensor(5.)
        >>> wasserstein_1d(torch.tensor([0.0, 1.0]), torch.tensor([0.0]), p=2)
        tensor(0.7071)
        >>> wasserstein_1d(torch.tensor([[0.0], [2.0]]), torch.tensor([1.0]), batched=True)
        tensor([1., 1.])
    """
    _check_order(p)
    if not batched:
        _require_unbatched(x=x, y=y, x_weights=x_weights, y_weights=y_weights)
    x, y, x_weights, y_weights, out_dtype = _prepare_1d(x, y, x_weights, y_weights)
    if validate:
        _check_values(x, y, x_weights, y_weights)
    cost = _wasserstein_1d_cost(x, y, p, x_weights, y_weights)
    return _root(cost, p).to(out_dtype)


def wasserstein_nd(
    x: Tensor,
    y: Tensor,
    p: float = 1,
    x_weights: Tensor | None = None,
    y_weights: Tensor | None = None,
    *,
    validate: bool = True,
    max_iterations: int = 1_000_000,
) -> Tensor:
    r"""Exact p-Wasserstein distance between two point clouds, with the Euclidean ground metric.

    .. math::

        W_p^p = \min_{\gamma \ge 0,\ \gamma \mathbf 1 = a,\ \gamma^\top \mathbf 1 = b}
            \sum_{i,j} \gamma_{ij} \lVert x_i - y_j \rVert_2^p

    solved exactly by POT's network simplex (:func:`ot.emd2`). Gradients with respect to the
    points flow through the optimal plan (POT's torch backend) and, with respect to the weights,
    through the dual potentials. The cost matrix is built with :func:`torch.cdist` without the
    matrix-product shortcut, so coincident points get distance exactly 0 and a zero (not NaN)
    gradient.

    The solver runs on the CPU in float64: this function synchronises with the host, copies
    the ``n x m`` cost matrix, and is not traceable by ``torch.compile``. Memory is
    :math:`O(nm)`; use :func:`sliced_wasserstein` for large clouds.

    Args:
        x: points of the first cloud, shape ``(n, d)``, floating point.
        y: points of the second cloud, shape ``(m, d)``.
        p: order, a real number ``>= 1`` (``1`` and ``2`` are the usual choices).
        x_weights: non-negative weights, shape ``(n,)``, normalised internally; ``None`` = uniform.
        y_weights: non-negative weights, shape ``(m,)``; ``None`` = uniform.
        validate: check the values (finite points, non-negative finite weights, positive totals).
        max_iterations: iteration budget of the network simplex.

    Returns:
        :math:`W_p`, a scalar tensor in the dtype of the points, on their device.

    Raises:
        InputError: as :func:`wasserstein_1d`, plus clouds that are not 2-D or differ in dimension.
        RuntimeError: the solver did not reach an optimal plan within ``max_iterations``.

    References:
        Bonneel, van de Panne, Paris & Heidrich, *Displacement interpolation using Lagrangian mass
        transport*, ACM TOG 30(6), 2011 (the network simplex used by POT); Flamary et al., *POT:
        Python Optimal Transport*, JMLR 22(78), 2021.

    Example:
        >>> import torch
        >>> from divergences.numeric import wasserstein_nd
        >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
        >>> wasserstein_nd(x, x + torch.tensor([3.0, 4.0]))
        tensor(5.)
    """
    _check_order(p)
    _check_positive_int("max_iterations", max_iterations)
    x, y, x_weights, y_weights, out_dtype = _prepare_point_clouds(x, y, x_weights, y_weights)
    if validate:
        _check_values(x, y, x_weights, y_weights)
    elif x.is_meta or y.is_meta:
        # POT's network simplex runs on the values, so there is no shape-only computation
        raise InputError("wasserstein_nd needs values: x and y must not be meta tensors")

    a = _normalised_or_uniform(x_weights, x.shape[0], x)
    b = _normalised_or_uniform(y_weights, y.shape[0], y)
    distances = torch.cdist(x, y, p=2.0, compute_mode="donot_use_mm_for_euclid_dist")
    ground_cost = distances if p == 1 else distances.pow(p)
    with warnings.catch_warnings():
        # The result code is checked below and turned into an exception.
        warnings.filterwarnings("ignore", message="numItermax reached")
        cost, log = _pot().emd2(a, b, ground_cost, numItermax=max_iterations, log=True)
    if log["result_code"] != _EMD_OPTIMAL:
        raise RuntimeError(
            "wasserstein_nd: the network simplex stopped before optimality "
            f"({log['warning']}); increase max_iterations (currently {max_iterations})"
        )
    return _root(cost.to(ground_cost.dtype), p).to(out_dtype)


def sliced_wasserstein(
    x: Tensor,
    y: Tensor,
    n_projections: int = 128,
    p: float = 1,
    x_weights: Tensor | None = None,
    y_weights: Tensor | None = None,
    *,
    generator: torch.Generator | int | None = None,
    projections: Tensor | None = None,
    validate: bool = True,
) -> Tensor:
    r"""Monte Carlo sliced p-Wasserstein distance between two point clouds.

    .. math::

        SW_p^p(\mu, \nu) = \int_{S^{d-1}} W_p^p(\theta_\# \mu, \theta_\# \nu)
            \, d\sigma(\theta)
        \approx \frac1L \sum_{l=1}^L W_p^p(\langle \theta_l, x \rangle,
            \langle \theta_l, y \rangle)

    with :math:`\theta_l` drawn uniformly on the unit sphere (normalised standard Gaussians) and
    each 1-D term computed exactly by :func:`wasserstein_1d`, all directions in one batched call.
    Returns :math:`SW_p`, the p-th root of the average. :math:`SW_p \le W_p`, and it is a metric.

    Args:
        x: points of the first cloud, shape ``(n, d)``, floating point.
        y: points of the second cloud, shape ``(m, d)``.
        n_projections: number of random directions ``L`` (ignored when ``projections`` is given).
        p: order, a real number ``>= 1``.
        x_weights: non-negative weights, shape ``(n,)``; ``None`` = uniform.
        y_weights: non-negative weights, shape ``(m,)``; ``None`` = uniform.
        generator: a :class:`torch.Generator` (directions are drawn on its device, then moved to
            the points' device), an ``int`` seed, or ``None`` for torch's global generator. The
            result is deterministic given the generator state.
        projections: explicit directions, shape ``(L, d)``; rows are normalised to unit length.
        validate: check the values (as :func:`wasserstein_1d`; one host synchronisation).

    Returns:
        :math:`SW_p`, a scalar tensor in the dtype of the points, differentiable with respect to
        the points and the weights.

    Raises:
        InputError: as :func:`wasserstein_nd`, plus a non-positive ``n_projections``, projections of
            the wrong shape, or (when validating) a zero projection row.

    References:
        Rabin, Peyré, Delon & Bernot, *Wasserstein barycenter and its application to texture
        mixing*, SSVM 2011; Bonneel, Rabin, Peyré & Pfister, *Sliced and Radon Wasserstein
        barycenters of measures*, JMIV 51, 2015.

    Example:
        >>> import torch
        >>> from divergences.numeric import sliced_wasserstein
        >>> x = torch.zeros(4, 3)
        >>> y = x + torch.tensor([0.0, 0.0, 2.0])
        >>> sliced_wasserstein(x, y, projections=torch.tensor([[0.0, 0.0, 1.0]]))
        tensor(2.)
    """
    _check_order(p)
    x, y, x_weights, y_weights, out_dtype = _prepare_point_clouds(x, y, x_weights, y_weights)
    directions = _directions(projections, n_projections, generator, x)
    if validate:
        _check_values(x, y, x_weights, y_weights, directions)

    unit_directions = directions / torch.linalg.vector_norm(directions, dim=-1, keepdim=True)
    projected_x = (x @ unit_directions.T).T  # (L, n): one 1-D problem per direction
    projected_y = (y @ unit_directions.T).T
    if x_weights is not None:
        x_weights = x_weights.expand_as(projected_x)
    if y_weights is not None:
        y_weights = y_weights.expand_as(projected_y)
    costs = _wasserstein_1d_cost(projected_x, projected_y, p, x_weights, y_weights)
    return _root(costs.mean(), p).to(out_dtype)


# --------------------------------------------------------------------------------------------
# The 1-D kernel
# --------------------------------------------------------------------------------------------


def _wasserstein_1d_cost(
    x: Tensor, y: Tensor, p: float, x_weights: Tensor | None, y_weights: Tensor | None
) -> Tensor:
    """:math:`W_p^p` over the last dim; inputs already broadcast to a common batch shape."""
    n, m = x.shape[-1], y.shape[-1]
    if x_weights is None and y_weights is None and n == m:
        gaps = _sorted(x) - _sorted(y)
        return _abs_pow(gaps, p).mean(dim=-1)

    x_sorted, x_cdf = _sorted_with_cdf(x, x_weights)
    y_sorted, y_cdf = _sorted_with_cdf(y, y_weights)
    # Both quantile functions are constant between consecutive levels of the merged cumulative
    # weights {x_cdf} U {y_cdf}. Each level closes one interval, whose width is the level minus
    # its predecessor in the merged order (ties: x levels first, so a tied y level gets width 0).
    # Two searchsorted calls give every level's predecessor and the quantile index on the other
    # side, without sorting the merged levels.
    y_below = torch.searchsorted(y_cdf, x_cdf)  # #{y levels < x level}: smallest j, y_cdf_j >= s
    x_upto = torch.searchsorted(x_cdf, y_cdf, right=True)  # #{x levels <= y level}
    x_padded, y_padded = _prepend_zero(x_cdf), _prepend_zero(y_cdf)  # padded[k] = cdf[k - 1]
    x_widths = x_cdf - torch.maximum(x_padded[..., :-1], y_padded.gather(-1, y_below))
    y_widths = y_cdf - torch.maximum(y_padded[..., :-1], x_padded.gather(-1, x_upto))
    # The clamps keep the gathers in bounds: they only bite on zero-width levels (a y level tied
    # with x's last level) or on NaN weights under validate=False.
    x_gaps = x_sorted - y_sorted.gather(-1, y_below.clamp(max=m - 1))
    y_gaps = x_sorted.gather(-1, x_upto.clamp(max=n - 1)) - y_sorted
    x_terms = (x_widths * _abs_pow(x_gaps, p)).sum(dim=-1)
    y_terms = (y_widths * _abs_pow(y_gaps, p)).sum(dim=-1)
    return x_terms + y_terms


def _pot() -> ModuleType:
    """POT, imported on first use: it pulls in scipy.sparse and sklearn (about 2 s per process),
    which every ``import divergences`` would otherwise pay."""
    import ot

    return ot


def _numpy_sorts(samples: Tensor) -> bool:
    """Whether ``samples`` may be sorted by NumPy instead of ``torch.sort``.

    NumPy's sort (``np.sort``/``np.argsort`` with their SIMD kernels, x86-simd-sort) is 3-9x
    faster than ``torch.sort`` on one CPU thread (1e6 float64: 12 ms / 37 ms against 115 ms,
    ``benchmarks/bench_wasserstein.py``). It is used for plain strided float32/float64 CPU
    tensors only: never on an accelerator (no host transfer), under ``torch.compile`` or inside
    a ``torch.func`` transform (which need torch operations), or on a meta tensor.
    """
    return reads_on_host(samples)


def _sorted(samples: Tensor) -> Tensor:
    """``torch.sort(samples, dim=-1).values``, differentiable (gradients follow the order)."""
    if not _numpy_sorts(samples):
        return torch.sort(samples, dim=-1).values
    if samples.requires_grad and torch.is_grad_enabled():
        return samples.gather(-1, _sort_order(samples))
    return torch.from_numpy(np.sort(samples.detach().numpy(), axis=-1))


def _sort_order(samples: Tensor) -> Tensor:
    """The permutation that sorts the last dimension (``torch.sort(...).indices``; among equal
    values any order, which changes no distance)."""
    if not _numpy_sorts(samples):
        return torch.sort(samples, dim=-1).indices
    return torch.from_numpy(np.argsort(samples.detach().numpy(), axis=-1))


def _prepend_zero(cdf: Tensor) -> Tensor:
    return torch.cat([cdf.new_zeros((*cdf.shape[:-1], 1)), cdf], dim=-1)


def _sorted_with_cdf(samples: Tensor, weights: Tensor | None) -> tuple[Tensor, Tensor]:
    """Sorted samples and the cumulative normalised weights, whose last entry is exactly 1."""
    n = samples.shape[-1]
    if weights is None:
        sorted_samples = _sorted(samples)
        steps = torch.arange(1, n + 1, dtype=samples.dtype, device=samples.device)
        return sorted_samples, (steps / n).expand_as(sorted_samples).contiguous()
    order = _sort_order(samples)
    sorted_samples = samples.gather(-1, order)
    cumulative = torch.cumsum(weights.gather(-1, order), dim=-1)
    # Dividing by the total (rather than normalising the weights first) makes the last level
    # exactly 1.0 for both distributions, so no sliver of mass is left unmatched by rounding.
    return sorted_samples, cumulative / cumulative[..., -1:]


def _abs_pow(gaps: Tensor, p: float) -> Tensor:
    if p == 1:
        return gaps.abs()
    if p == 2:
        return gaps.square()
    return gaps.abs().pow(p)


def _root(cost: Tensor, p: float) -> Tensor:
    """``cost ** (1/p)`` with gradient 0 (not inf/NaN) at ``cost == 0``."""
    if p == 1:
        return cost
    positive = cost > 0
    safe_cost = torch.where(positive, cost, torch.ones_like(cost))
    return torch.where(positive, safe_cost.pow(1.0 / p), torch.zeros_like(cost))


# --------------------------------------------------------------------------------------------
# Input preparation and validation
# --------------------------------------------------------------------------------------------


def _prepare_1d(
    x: Tensor, y: Tensor, x_weights: Tensor | None, y_weights: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None, torch.dtype]:
    """Check shapes/dtypes/devices and broadcast everything to one batch shape."""
    x = _require_samples("x", x, min_ndim=1)
    y = _require_samples("y", y, min_ndim=1)
    _require_same_device(x, y)
    out_dtype = torch.promote_types(x.dtype, y.dtype)
    compute_dtype = _compute_dtype(out_dtype)
    x_weights = _prepare_weights("x_weights", x_weights, x, compute_dtype, batched=True)
    y_weights = _prepare_weights("y_weights", y_weights, y, compute_dtype, batched=True)

    batch_shapes = [t.shape[:-1] for t in (x, y, x_weights, y_weights) if t is not None]
    try:
        batch = torch.broadcast_shapes(*batch_shapes)
    except RuntimeError as error:
        raise InputError(
            "the batch (leading) dimensions of x, y and their weights do not broadcast: "
            + ", ".join(str(tuple(s)) for s in batch_shapes)
        ) from error

    def expand(t: Tensor | None) -> Tensor | None:
        return None if t is None else t.to(compute_dtype).expand(*batch, t.shape[-1])

    return expand(x), expand(y), expand(x_weights), expand(y_weights), out_dtype


def _prepare_point_clouds(
    x: Tensor, y: Tensor, x_weights: Tensor | None, y_weights: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None, torch.dtype]:
    """Check two clouds ``(n, d)``, ``(m, d)`` and their weights; cast to the compute dtype."""
    x = _require_samples("x", x, min_ndim=2)
    y = _require_samples("y", y, min_ndim=2)
    _require_same_device(x, y)
    _require_point_clouds(x, y)
    out_dtype = torch.promote_types(x.dtype, y.dtype)
    compute_dtype = _compute_dtype(out_dtype)
    x, y = x.to(compute_dtype), y.to(compute_dtype)
    x_weights = _prepare_weights("x_weights", x_weights, x, compute_dtype, batched=False)
    y_weights = _prepare_weights("y_weights", y_weights, y, compute_dtype, batched=False)
    return x, y, x_weights, y_weights, out_dtype


def _require_samples(name: str, samples: object, *, min_ndim: int) -> Tensor:
    if not isinstance(samples, Tensor):
        raise InputError(f"{name} must be a torch.Tensor, got {type(samples).__name__}")
    if not samples.is_floating_point():
        raise InputError(
            f"{name} must have a floating-point dtype, got {samples.dtype}; "
            f"convert it first, e.g. {name}.double()"
        )
    if samples.ndim < min_ndim:
        expected = "(..., n)" if min_ndim == 1 else "(n, d)"
        raise InputError(f"{name} must have shape {expected}, got shape {tuple(samples.shape)}")
    if samples.shape[-min_ndim] == 0:
        raise InputError(f"{name} is an empty sample set (shape {tuple(samples.shape)})")
    return samples


def _require_unbatched(**arrays: object) -> None:
    """Without ``batched=True``, samples and weights of :func:`wasserstein_1d` are 1-D."""
    for name, array in arrays.items():
        if isinstance(array, Tensor) and array.ndim > 1:
            raise InputError(
                f"wasserstein_1d takes 1-D samples and weights, shape (n,); {name} has shape "
                f"{tuple(array.shape)}. Points in d dimensions, shape (n, d): use "
                "divergences.numeric.wasserstein_nd (exact) or sliced_wasserstein. Many 1-D "
                "problems along the last dimension: pass batched=True."
            )


def _require_point_clouds(x: Tensor, y: Tensor) -> None:
    if x.ndim != 2 or y.ndim != 2:
        raise InputError(
            "x and y must be point clouds of shape (n, d) and (m, d), got shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.shape[1] != y.shape[1]:
        raise InputError(
            f"x and y must live in the same dimension, got d={x.shape[1]} and d={y.shape[1]}"
        )
    if x.shape[1] == 0:
        raise InputError("x and y have zero-dimensional points (d = 0)")


def _require_same_device(*tensors: Tensor) -> None:
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise InputError(f"all tensors must be on one device, got {sorted(map(str, devices))}")


def _prepare_weights(
    name: str,
    weights: object,
    samples: Tensor,
    compute_dtype: torch.dtype,
    *,
    batched: bool,
) -> Tensor | None:
    """Check the weights' type and shape; return them in the compute dtype (or None).

    One weight per sample: ``batched`` weights have shape ``(..., n)`` for samples ``(..., n)``
    (leading dimensions broadcast later); point-cloud weights have shape ``(n,)`` for ``(n, d)``.
    """
    if weights is None:
        return None
    if not isinstance(weights, Tensor):
        raise InputError(f"{name} must be a torch.Tensor or None, got {type(weights).__name__}")
    if weights.dtype == torch.bool or weights.is_complex():
        raise InputError(f"{name} must be real numbers, got dtype {weights.dtype}")
    _require_same_device(samples, weights)
    if batched:
        matches = weights.ndim >= 1 and weights.shape[-1] == samples.shape[-1]
        expected = f"(..., {samples.shape[-1]})"
    else:
        matches = weights.shape == samples.shape[:1]
        expected = f"({samples.shape[0]},)"
    if not matches:
        raise InputError(
            f"{name} has shape {tuple(weights.shape)}, which does not match its samples of shape "
            f"{tuple(samples.shape)}: one weight per sample, shape {expected}, is needed"
        )
    return weights.to(compute_dtype)


def _normalised_or_uniform(weights: Tensor | None, n: int, like: Tensor) -> Tensor:
    if weights is None:
        return torch.full((n,), 1.0 / n, dtype=like.dtype, device=like.device)
    return weights / weights.sum()


def _directions(
    projections: Tensor | None,
    n_projections: int,
    generator: torch.Generator | int | None,
    x: Tensor,
) -> Tensor:
    d = x.shape[1]
    if projections is not None:
        if not isinstance(projections, Tensor) or not projections.is_floating_point():
            raise InputError("projections must be a floating-point torch.Tensor of shape (L, d)")
        if projections.ndim != 2 or projections.shape[0] == 0 or projections.shape[1] != d:
            raise InputError(
                f"projections must have shape (L, {d}) with L >= 1, got {tuple(projections.shape)}"
            )
        _require_same_device(x, projections)
        return projections.to(x.dtype)
    _check_positive_int("n_projections", n_projections)
    if generator is None:
        return torch.randn((n_projections, d), dtype=x.dtype, device=x.device)
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        generator = torch.Generator(device=x.device).manual_seed(int(generator))
    if not isinstance(generator, torch.Generator):
        raise InputError(
            f"generator must be a torch.Generator, an int seed or None, got {type(generator)}"
        )
    draws = torch.randn((n_projections, d), generator=generator, device=generator.device)
    return draws.to(device=x.device, dtype=x.dtype)


def _extremes(t: Tensor) -> tuple[Tensor, Tensor]:
    """``(min, max)`` of all entries in one pass (``aminmax``); a NaN propagates into both.

    ``isfinite(t).all()`` costs several passes and a boolean tensor the size of ``t``; the
    extremes are finite exactly when every entry is.
    """
    if t.numel() == 0:
        zero = t.new_zeros(())
        return zero, zero
    return torch.aminmax(t)


def _all_finite(extremes: tuple[Tensor, Tensor]) -> Tensor:
    low, high = extremes
    return torch.isfinite(low) & torch.isfinite(high)


def _check_values(
    x: Tensor,
    y: Tensor,
    x_weights: Tensor | None,
    y_weights: Tensor | None,
    directions: Tensor | None = None,
) -> None:
    """All data-dependent checks, read back to the host in a single synchronisation."""
    if torch.compiler.is_compiling():
        return
    require_values(x=x, y=y, x_weights=x_weights, y_weights=y_weights, directions=directions)
    checks: list[tuple[Tensor, str]] = [
        (_all_finite(_extremes(x)), "x contains NaN or infinite samples"),
        (_all_finite(_extremes(y)), "y contains NaN or infinite samples"),
    ]
    for name, weights in (("x_weights", x_weights), ("y_weights", y_weights)):
        if weights is None:
            continue
        extremes = _extremes(weights)
        checks += [
            (_all_finite(extremes), f"{name} contains NaN or infinite values"),
            (extremes[0] >= 0, f"{name} contains negative weights"),
            ((weights.sum(dim=-1) > 0).all(), f"{name} sum to zero: there is no mass to move"),
        ]
    if directions is not None:
        checks += [
            (_all_finite(_extremes(directions)), "projections contain NaN or infinite values"),
            ((directions != 0).any(dim=-1).all(), "projections contain a zero direction"),
        ]
    passed = torch.stack([flag for flag, _ in checks]).tolist()
    for ok, (_, message) in zip(passed, checks, strict=True):
        if not ok:
            raise InputError(message)


def _check_order(p: object) -> None:
    if (
        isinstance(p, bool)
        or not isinstance(p, numbers.Real)
        or not math.isfinite(float(p))
        or float(p) < 1
    ):
        raise InputError(f"p must be a finite real number >= 1, got {p!r}")


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Half-precision inputs are sorted and accumulated in float32 (cumulative sums in float16
    lose all resolution beyond ~2048 samples): :func:`.precision.working_dtype`."""
    return working_dtype(dtype)
