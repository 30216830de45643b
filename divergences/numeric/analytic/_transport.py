r"""Reference values of Wasserstein distances: 1-D quadrature and the Gaussian closed form.

- :func:`wasserstein1_quad`: :math:`W_1(\mu, \nu) = \int_{\mathbb R} |F(x) - G(x)|\,dx` for two
  1-D distributions given by their CDFs (Vallender, *Calculation of the Wasserstein distance
  between probability distributions on the line*, Theory Probab. Appl. 18(4), 1974).
- :func:`wasserstein_quantile_quad`: :math:`W_p^p = \int_0^1 |F^{-1}(s) - G^{-1}(s)|^p\,ds`
  (Villani, *Topics in Optimal Transportation*, AMS 2003, Remark 2.19; Santambrogio, *Optimal
  Transport for Applied Mathematicians*, 2015, Prop. 2.17).
- :func:`wasserstein2_normal`: the closed form between Gaussians (Dowson & Landau 1982; Givens &
  Shortt 1984).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike
from scipy import integrate

from ._quadrature import QuadratureResult

__all__ = ["wasserstein1_quad", "wasserstein2_normal", "wasserstein_quantile_quad"]


@runtime_checkable
class _Frozen(Protocol):
    """What is used of a frozen :mod:`scipy.stats` distribution."""

    def cdf(self, x: float) -> float: ...
    def sf(self, x: float) -> float: ...
    def ppf(self, s: float) -> float: ...
    def isf(self, s: float) -> float: ...


Distribution = _Frozen | Callable[[float], float]


def _cdf_sf(dist: Distribution) -> tuple[Callable[[float], float], Callable[[float], float]]:
    if isinstance(dist, _Frozen):
        return (lambda x: float(dist.cdf(x))), (lambda x: float(dist.sf(x)))
    if callable(dist):
        return (lambda x: float(dist(x))), (lambda x: 1.0 - float(dist(x)))
    raise TypeError(f"expected a frozen scipy.stats distribution or a CDF callable, got {dist!r}")


def _quad(func: Callable[[float], float], a: float, b: float, **options: object) -> tuple:
    with warnings.catch_warnings():
        warnings.simplefilter("error", integrate.IntegrationWarning)
        return integrate.quad(func, a, b, **options)


#: levels ``s`` at which the quantile gaps are sampled for sign changes: geometric towards the
#: endpoint singularity at 0, where a crossing of two quantile functions hides among the
#: extrapolation of QUADPACK (e.g. N(3, e^{1/4}) against N(1.625, 1): they cross at
#: s = 6.5e-7, and without that break point the quadrature is 7e-8 low or does not converge)
_LEVELS = tuple(float(x) for x in np.geomspace(1e-15, 0.5, 161))


def _sign_changes(gap: Callable[[ArrayLike], np.ndarray], levels: tuple[float, ...]) -> list[float]:
    """The zeros of ``gap`` between consecutive ``levels`` where it changes sign (``gap``
    evaluated on all levels at once, then Brent's method; a change of sign inside one interval is
    found, two within one are not)."""
    from scipy.optimize import brentq

    values = gap(np.asarray(levels))
    zeros = []
    for k in np.flatnonzero(np.isfinite(values[:-1]) & np.isfinite(values[1:])):
        if values[k] * values[k + 1] < 0:
            root = brentq(lambda s: float(gap(s)), levels[k], levels[k + 1], xtol=1e-300)
            zeros.append(float(root))
    return zeros


def wasserstein1_quad(
    first: Distribution,
    second: Distribution,
    *,
    points: ArrayLike | None = None,
    epsabs: float = 1e-12,
    epsrel: float = 1e-10,
    limit: int = 400,
) -> QuadratureResult:
    r""":math:`W_1` between two distributions on the real line as :math:`\int |F - G|\,dx`.

    .. math::

        W_1 = \int_{-\infty}^{m} |F(x) - G(x)|\,dx + \int_{m}^{\infty} |S_G(x) - S_F(x)|\,dx,

    with :math:`S = 1 - F` the survival functions, used on the right of the split point
    :math:`m` so that the upper tail is not lost to cancellation in :math:`1 - F`. Where
    :math:`F` and :math:`G` cross (a kink of the integrand, located on a grid of quantiles and
    refined by Brent's method) is a break point. For frozen
    :mod:`scipy.stats` distributions ``cdf`` and ``sf`` are used and the break points default to
    the quantiles at :math:`10^{-12}, 10^{-6}, 0.01, 0.25, 0.5, 0.75, 0.99, 1 - 10^{-6},
    1 - 10^{-12}` of both; plain callables are taken as CDFs (pass ``points`` where they vary).
    Both distributions need a finite first moment.

    Args:
        first, second: frozen scipy.stats distributions (``cdf``/``sf``/``ppf``) or CDF callables.
        points: extra break points (locations of kinks, atoms or where the mass lies).
        epsabs, epsrel, limit: QUADPACK options.

    Returns:
        ``QuadratureResult(value, error)`` with QUADPACK's absolute error estimate.

    Raises:
        TypeError: an argument is neither a frozen distribution nor a callable.
        scipy.integrate.IntegrationWarning: raised as an exception when QUADPACK reports that
            it could not reach the tolerance.

    Example:
        >>> from scipy import stats
        >>> res = wasserstein1_quad(stats.norm(0, 1), stats.norm(3, 1))  # a shift: W1 = 3
        >>> abs(res.value - 3.0) < 1e-9
        True
    """
    cdf1, sf1 = _cdf_sf(first)
    cdf2, sf2 = _cdf_sf(second)
    breaks = [] if points is None else [float(x) for x in np.ravel(points)]
    levels = (1e-12, 1e-6, 0.01, 0.25, 0.5, 0.75, 0.99, 1 - 1e-6, 1 - 1e-12)
    for dist in (first, second):
        if isinstance(dist, _Frozen):
            breaks.extend(float(dist.ppf(s)) for s in levels)
    breaks = sorted(x for x in breaks if math.isfinite(x))
    if not breaks:
        breaks = [0.0]
    lo, hi = breaks[0], breaks[-1]
    split = breaks[len(breaks) // 2]

    def gap_at(x: float) -> float:
        # F - G, written as S_G - S_F right of the split (no cancellation in 1 - F there)
        return cdf1(x) - cdf2(x) if x <= split else sf2(x) - sf1(x)

    # where F and G cross, |F - G| has a kink: a break point (on a grid of both distributions'
    # quantiles, geometric towards both tails, as in wasserstein_quantile_quad)
    grid = set(breaks)
    for dist in (first, second):
        if isinstance(dist, _Frozen):
            tails = np.asarray(_LEVELS)
            grid.update(np.asarray(dist.ppf(tails), dtype=float).tolist())
            grid.update(np.asarray(dist.isf(tails), dtype=float).tolist())
    grid_points = tuple(sorted(x for x in grid if math.isfinite(x) and lo <= x <= hi))
    breaks = sorted({*breaks, *_sign_changes(np.vectorize(gap_at, otypes=[float]), grid_points)})

    def left(x: float) -> float:
        return abs(cdf1(x) - cdf2(x))

    def right(x: float) -> float:
        return abs(sf1(x) - sf2(x))

    options = {"epsabs": epsabs, "epsrel": epsrel, "limit": limit}
    pieces = [_quad(left, -math.inf, lo, **options), _quad(right, hi, math.inf, **options)]
    inner_left = [x for x in breaks if lo < x < split]
    inner_right = [x for x in breaks if split < x < hi]
    if split > lo:
        pieces.append(_quad(left, lo, split, points=inner_left or None, **options))
    if hi > split:
        pieces.append(_quad(right, split, hi, points=inner_right or None, **options))
    return QuadratureResult(sum(p[0] for p in pieces), sum(p[1] for p in pieces))


def wasserstein_quantile_quad(
    first: _Frozen,
    second: _Frozen,
    p: float = 1.0,
    *,
    epsabs: float = 1e-12,
    epsrel: float = 1e-10,
    limit: int = 400,
) -> QuadratureResult:
    r""":math:`W_p` between two 1-D distributions from their quantile functions.

    .. math::

        W_p = \Big(\int_0^1 \big|F^{-1}(s) - G^{-1}(s)\big|^p\, ds\Big)^{1/p}, \qquad p \ge 1.

    ``first`` and ``second`` are frozen :mod:`scipy.stats` distributions. The lower half
    :math:`s \in (0, 1/2]` uses ``ppf`` and the upper half is integrated as
    :math:`\int_0^{1/2} |\bar F^{-1}(s) - \bar G^{-1}(s)|^p ds` with the inverse survival
    functions ``isf``, so both endpoint singularities sit at :math:`s = 0` where no precision is
    lost in :math:`1 - s`. Where the two quantile functions cross (a kink of the integrand), the
    crossing, located on a geometric grid of levels and refined by Brent's method, ends one
    quadrature and starts the next. Each half is integrated in :math:`t = -\log s`
    (:math:`ds = e^{-t} dt`), where the quantile's logarithmic singularity at :math:`s = 0`
    becomes an exponentially decaying tail. The error estimate is propagated through the p-th
    root to first order.

    Example:
        >>> from scipy import stats
        >>> res = wasserstein_quantile_quad(stats.norm(0, 1), stats.norm(1, 2), p=2)
        >>> abs(res.value - 2**0.5) < 1e-9  # Dowson-Landau: sqrt(1 + 1)
        True
    """
    if not p >= 1:
        raise ValueError(f"p must be >= 1, got {p}")

    def lower_gap(s: ArrayLike) -> np.ndarray:
        return np.asarray(first.ppf(s), dtype=float) - np.asarray(second.ppf(s), dtype=float)

    def upper_gap(s: ArrayLike) -> np.ndarray:
        return np.asarray(first.isf(s), dtype=float) - np.asarray(second.isf(s), dtype=float)

    options = {"epsabs": epsabs, "epsrel": epsrel, "limit": limit}
    pieces = []
    for gap in (lower_gap, upper_gap):
        # in t = -log s the endpoint singularity moves to t = oo, where the integrand
        # |gap(e^-t)|^p e^-t decays exponentially; one quadrature per interval between
        # crossings, so that each integrand is smooth inside (a kink only at an end)
        edges = [math.log(2.0)]
        for t in sorted(-math.log(z) for z in _sign_changes(gap, _LEVELS)):
            # a crossing next to s = 1/2 (or to another crossing) would leave an interval of
            # a few ulps, on which QUADPACK reports bad behaviour: it is not an edge then
            if t - edges[-1] > 1e-9 * t:
                edges.append(t)

        def integrand(t: float, gap: Callable[[ArrayLike], np.ndarray] = gap) -> float:
            s = math.exp(-t)
            # below the smallest double the weight is 0 and the quantiles infinite: the
            # integrand's limit is 0 (finite p-th moments; for normals |gap| ~ sqrt(t))
            return abs(float(gap(s))) ** p * s if s > 0.0 else 0.0

        for a, b in itertools.pairwise([*edges, math.inf]):
            pieces.append(_quad(integrand, a, b, **options))
    cost = sum(piece[0] for piece in pieces)
    cost_error = sum(piece[1] for piece in pieces)
    value = cost ** (1.0 / p)
    error = cost_error / (p * cost ** (1.0 - 1.0 / p)) if cost > 0 else cost_error ** (1.0 / p)
    return QuadratureResult(value, error)


def _sqrtm_psd(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigendecomposition)."""
    sym = 0.5 * (matrix + np.swapaxes(matrix, -1, -2))
    eigenvalues, vectors = np.linalg.eigh(sym)
    roots = np.sqrt(np.clip(eigenvalues, 0.0, None))
    return (vectors * roots[..., None, :]) @ np.swapaxes(vectors, -1, -2)


def wasserstein2_normal(
    loc1: ArrayLike, cov1: ArrayLike, loc2: ArrayLike, cov2: ArrayLike
) -> np.ndarray:
    r""":math:`W_2` between :math:`N(\mu_1, \Sigma_1)` and :math:`N(\mu_2, \Sigma_2)`.

    .. math::

        W_2^2 = \lVert\mu_1 - \mu_2\rVert^2 + \operatorname{tr}\Big(\Sigma_1 + \Sigma_2
            - 2\big(\Sigma_2^{1/2}\Sigma_1\Sigma_2^{1/2}\big)^{1/2}\Big)

    (the Bures metric between the covariances plus the squared distance of the means).
    Shapes: ``loc`` ``(..., k)``, ``cov`` ``(..., k, k)`` symmetric positive semi-definite; or
    univariate: scalar ``loc`` with a scalar *variance* ``cov`` (then
    :math:`W_2^2 = (\mu_1-\mu_2)^2 + (\sigma_1 - \sigma_2)^2`). Matrix square roots by symmetric
    eigendecomposition; returns :math:`W_2` itself (not squared), as
    :func:`divergences.numeric.wasserstein_nd` does.

    Sources: Dowson & Landau, *The Fréchet distance between multivariate normal distributions*,
    J. Multivariate Anal. 12(3), 1982; Givens & Shortt, *A class of Wasserstein metrics for
    probability distributions*, Michigan Math. J. 31(2), 1984.

    Example:
        >>> float(wasserstein2_normal(0.0, 1.0, 3.0, 4.0))  # sqrt(3^2 + (1 - 2)^2)
        3.1622776601683795
    """
    m1, c1, m2, c2 = (np.asarray(z, dtype=np.float64) for z in (loc1, cov1, loc2, cov2))
    if c1.ndim == 0 and c2.ndim == 0:
        if c1 < 0 or c2 < 0:
            raise ValueError(f"variances must be non-negative, got {c1}, {c2}")
        return np.sqrt((m1 - m2) ** 2 + (np.sqrt(c1) - np.sqrt(c2)) ** 2)
    root1, root2 = _sqrtm_psd(c1), _sqrtm_psd(c2)
    cross = _sqrtm_psd(root2 @ c1 @ root2)
    bures = np.trace(c1 + c2 - 2.0 * cross, axis1=-2, axis2=-1)
    # commuting covariances (equal, diagonal, 1 x 1): (S2^1/2 S1 S2^1/2)^1/2 = S1^1/2 S2^1/2 and
    # the trace is ||S1^1/2 - S2^1/2||_F^2, a sum of squares without the cancellation of the
    # general form (whose rounding, ~eps tr(S), would give W2 ~ 4e-9 for equal covariances)
    commute = np.all(c1 @ c2 == c2 @ c1, axis=(-2, -1))
    squares = np.sum((root1 - root2) ** 2, axis=(-2, -1))
    bures = np.where(commute, squares, bures)
    means = np.sum((m1 - m2) ** 2, axis=-1)
    return np.sqrt(np.clip(means + bures, 0.0, None))
