r"""Closed forms of the Kullback-Leibler divergence :math:`\mathrm{KL}(P \| Q)`.

All functions take NumPy array-likes (broadcasting over leading dimensions) and return float64
NumPy values. Natural logarithm; conventions :math:`0 \log(0/q) = 0` and
:math:`p \log(p/0) = +\infty` for :math:`p > 0` (Cover & Thomas, 2006, Sec. 2.3).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "expm1_minus_identity",
    "kl_bernoulli",
    "kl_categorical",
    "kl_multivariate_normal",
    "kl_normal",
]


def _float(x: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(x, dtype=np.float64)


def _positive(name: str, x: NDArray[np.float64]) -> None:
    if not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise ValueError(f"{name} must be finite and positive, got {x}")


def _probability(name: str, x: NDArray[np.float64]) -> None:
    if np.any(np.isnan(x)) or np.any(x < 0) or np.any(x > 1):
        raise ValueError(f"{name} must lie in [0, 1], got {x}")


def _rel_entr_terms(p: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    """Elementwise :math:`p \\log(p/q)` with the two conventions, never NaN."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        terms = p * np.log(p / q)
    terms = np.where(p == 0, 0.0, terms)
    return np.where((p > 0) & (q == 0), np.inf, terms)


def kl_normal(
    loc1: ArrayLike, scale1: ArrayLike, loc2: ArrayLike, scale2: ArrayLike
) -> NDArray[np.float64]:
    r"""KL between univariate normals :math:`N(\mu_1, \sigma_1^2)` and :math:`N(\mu_2, \sigma_2^2)`.

    .. math::

        \mathrm{KL} = \log\frac{\sigma_2}{\sigma_1}
            + \frac{\sigma_1^2 + (\mu_1 - \mu_2)^2}{2 \sigma_2^2} - \frac12 .

    ``scale`` is the standard deviation. Computed as
    :math:`\tfrac12\,(\rho - 1 - \log\rho) + \tfrac{(\mu_1-\mu_2)^2}{2\sigma_2^2}` with
    :math:`\rho = \sigma_1^2/\sigma_2^2` and :math:`\rho - 1 - \log\rho` summed as a series
    when :math:`\rho \approx 1` (:func:`expm1_minus_identity`), so the result keeps its relative
    accuracy for nearby normals.

    Source: Kullback, *Information Theory and Statistics* (Wiley 1959), Ch. 9 (the univariate
    case of the normal-normal formula); Gil, Alajaji & Linder, *Rényi divergence measures for
    commonly used univariate continuous distributions*, Information Sciences 249 (2013), the
    normal-distribution entry (its KL limit).

    Example:
        >>> float(kl_normal(0.0, 1.0, 1.0, 1.0))
        0.5
    """
    m1, s1, m2, s2 = map(_float, (loc1, scale1, loc2, scale2))
    _positive("scale1", s1)
    _positive("scale2", s2)
    log_rho = 2.0 * (np.log(s1) - np.log(s2))
    return 0.5 * expm1_minus_identity(log_rho) + 0.5 * ((m1 - m2) / s2) ** 2


def expm1_minus_identity(x: ArrayLike) -> NDArray[np.float64]:
    r""":math:`e^x - 1 - x` without cancellation.

    The Taylor series :math:`\sum_{k \ge 2} x^k / k!` (Horner, 24 terms, truncation below
    :math:`10^{-30}` relative) for :math:`|x| < 1/2`, ``expm1(x) - x`` otherwise.
    """
    x = _float(x)
    small = np.abs(x) < 0.5
    xs = np.where(small, x, 0.0)
    series = np.zeros_like(xs)
    for k in range(25, 1, -1):  # x^2 (1/2! + x (1/3! + x (1/4! + ...)))
        series = series * xs + 1.0 / math.factorial(k)
    series = series * xs * xs
    xl = np.where(small, 0.0, x)
    with np.errstate(over="ignore"):
        direct = np.expm1(xl) - xl
    return np.where(small, series, direct)


def kl_multivariate_normal(
    loc1: ArrayLike, cov1: ArrayLike, loc2: ArrayLike, cov2: ArrayLike
) -> NDArray[np.float64]:
    r"""KL between multivariate normals :math:`N(\mu_1, \Sigma_1)` and :math:`N(\mu_2, \Sigma_2)`.

    .. math::

        \mathrm{KL} = \frac12\Big[\operatorname{tr}(\Sigma_2^{-1}\Sigma_1)
            + (\mu_2-\mu_1)^\top \Sigma_2^{-1} (\mu_2-\mu_1) - k
            + \log\frac{\det\Sigma_2}{\det\Sigma_1}\Big].

    Shapes: ``loc`` ``(..., k)``, ``cov`` ``(..., k, k)`` symmetric positive definite; the result
    has the broadcast batch shape. Computed with Cholesky factors: ``log det`` from their
    diagonals, :math:`\operatorname{tr}(\Sigma_2^{-1}\Sigma_1) = \lVert L_2^{-1} L_1\rVert_F^2`
    and the quadratic form :math:`\lVert L_2^{-1}(\mu_2 - \mu_1)\rVert^2`.

    Source: Kullback (1959), Ch. 9, Sec. 1; Rasmussen & Williams, *Gaussian Processes for Machine
    Learning* (MIT Press 2006), eq. (A.23).

    Raises:
        numpy.linalg.LinAlgError: a covariance is not positive definite.
    """
    m1, c1, m2, c2 = map(_float, (loc1, cov1, loc2, cov2))
    k = m1.shape[-1]
    l1 = np.linalg.cholesky(c1)
    l2 = np.linalg.cholesky(c2)
    l1, l2 = np.broadcast_arrays(l1, l2)
    solved = np.linalg.solve(l2, l1)
    trace = np.sum(solved**2, axis=(-2, -1))
    diff = np.broadcast_to(m2 - m1, l2.shape[:-1])
    z = np.linalg.solve(l2, diff[..., None])[..., 0]
    mahalanobis = np.sum(z**2, axis=-1)
    log_det_ratio = 2.0 * np.sum(
        np.log(np.diagonal(l2, axis1=-2, axis2=-1)) - np.log(np.diagonal(l1, axis1=-2, axis2=-1)),
        axis=-1,
    )
    return 0.5 * (trace + mahalanobis - k + log_det_ratio)


def kl_bernoulli(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    r"""KL between Bernoulli(p) and Bernoulli(q).

    .. math::

        \mathrm{KL} = p \log\frac{p}{q} + (1 - p) \log\frac{1 - p}{1 - q}

    with :math:`0 \log(0/q) = 0` and :math:`+\infty` when :math:`q \in \{0, 1\}` puts zero mass
    where :math:`p` does not.

    Source: Cover & Thomas, *Elements of Information Theory*, 2nd ed. (Wiley 2006), Sec. 2.3
    (definition of relative entropy, applied to the two-point distribution).
    """
    p, q = np.broadcast_arrays(_float(p), _float(q))
    _probability("p", p)
    _probability("q", q)
    return _rel_entr_terms(p, q) + _rel_entr_terms(1.0 - p, 1.0 - q)


def kl_categorical(p: ArrayLike, q: ArrayLike) -> NDArray[np.float64]:
    r"""KL between categorical distributions given as probability vectors on the last axis.

    .. math::

        \mathrm{KL}(p \| q) = \sum_i p_i \log\frac{p_i}{q_i}

    with :math:`0 \log(0/q) = 0` and :math:`+\infty` if some :math:`p_i > 0 = q_i`. The inputs are
    used as given (not renormalised); shapes ``(..., n)`` broadcast, the result is ``(...)``.

    Source: Cover & Thomas (2006), Sec. 2.3, eq. (2.26).

    Example:
        >>> float(kl_categorical([0.5, 0.5], [0.25, 0.75]))  # doctest: +ELLIPSIS
        0.1438410362...
    """
    p, q = np.broadcast_arrays(_float(p), _float(q))
    _probability("p", p)
    _probability("q", q)
    return np.sum(_rel_entr_terms(p, q), axis=-1)
