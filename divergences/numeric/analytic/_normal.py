r"""Closed forms of f-divergences other than KL between two normal distributions.

Univariate normals are given by ``(loc, scale)`` with ``scale`` the standard deviation;
arguments are NumPy array-likes that broadcast, results are float64 NumPy values. The library's
conventions (DESIGN.md) fix the constants: squared Hellinger without the 1/2 (values in [0, 2]),
total variation with the 1/2 (values in [0, 1]), alpha-divergence
:math:`\frac{1}{\alpha(\alpha-1)}\left(\int p^\alpha q^{1-\alpha} - 1\right)`.

The central quantity is the Chernoff (Hellinger) integral of two normals, obtained by completing
the square in the exponent:

.. math::

    \int p^\alpha q^{1-\alpha}\,dx
      = \frac{\sigma_1^{1-\alpha}\sigma_2^{\alpha}}{\sigma_\alpha}
        \exp\Big(-\frac{\alpha(1-\alpha)(\mu_1-\mu_2)^2}{2\sigma_\alpha^2}\Big),
    \qquad \sigma_\alpha^2 = \alpha\sigma_2^2 + (1-\alpha)\sigma_1^2 ,

finite iff :math:`\sigma_\alpha^2 > 0` (Gil, Alajaji & Linder, Information Sciences 249 (2013),
the Rényi divergence of normals, whose logarithm divided by :math:`\alpha - 1` this is; the
same formula specialised from exponential families: Nielsen & Nock, *On the chi square and
higher-order chi distances for approximating f-divergences*, IEEE Signal Processing Letters
21(1), 2014). Pearson (alpha = 2, times 2), Neyman (alpha = -1, times 2) and squared Hellinger
(alpha = 1/2, divided by 2) follow.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from ._kl import _float, _positive, kl_normal

__all__ = [
    "alpha_divergence_normal",
    "bhattacharyya_coefficient_normal",
    "chernoff_integral_normal",
    "jeffrey_normal",
    "neyman_chi2_normal",
    "pearson_chi2_normal",
    "reverse_kl_normal",
    "squared_hellinger_multivariate_normal",
    "squared_hellinger_normal",
    "total_variation_normal",
]


def _params(*args: ArrayLike) -> tuple[NDArray[np.float64], ...]:
    m1, s1, m2, s2 = map(_float, args)
    _positive("scale1", s1)
    _positive("scale2", s2)
    return m1, s1, m2, s2


def _log_chernoff(
    alpha: float, loc1: ArrayLike, scale1: ArrayLike, loc2: ArrayLike, scale2: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    r"""The logarithm of the Chernoff integral (where finite) and the finiteness mask.

    With :math:`\ell = \log(\sigma_1/\sigma_2)` and
    :math:`w = \sigma_\alpha^2/\sigma_2^2 = 1 + (1-\alpha)\,\mathrm{expm1}(2\ell)`,

    .. math::

        \log\int p^\alpha q^{1-\alpha} = (1-\alpha)\,\ell - \tfrac12\,\mathrm{log1p}(w - 1)
            - \frac{\alpha(1-\alpha)}{2w}\Big(\frac{\mu_1-\mu_2}{\sigma_2}\Big)^2,

    exactly zero for equal normals and accurate to a few ulps relative for nearby ones.
    """
    m1, s1, m2, s2 = _params(loc1, scale1, loc2, scale2)
    ell = np.log(s1) - np.log(s2)
    w_minus_1 = (1.0 - alpha) * np.expm1(2.0 * ell)
    finite = w_minus_1 > -1.0
    w_minus_1 = np.where(finite, w_minus_1, 0.0)
    log_value = (
        (1.0 - alpha) * ell
        - 0.5 * np.log1p(w_minus_1)
        - alpha * (1.0 - alpha) * ((m1 - m2) / s2) ** 2 / (2.0 * (1.0 + w_minus_1))
    )
    return log_value, finite


def chernoff_integral_normal(
    alpha: float, loc1: ArrayLike, scale1: ArrayLike, loc2: ArrayLike, scale2: ArrayLike
) -> NDArray[np.float64]:
    r""":math:`\int p^\alpha q^{1-\alpha}\,dx` for :math:`p = N(\mu_1,\sigma_1^2)`,
    :math:`q = N(\mu_2,\sigma_2^2)` (formula in the module docstring); ``+inf`` when
    :math:`\sigma_\alpha^2 = \alpha\sigma_2^2 + (1-\alpha)\sigma_1^2 \le 0`."""
    log_value, finite = _log_chernoff(alpha, loc1, scale1, loc2, scale2)
    with np.errstate(over="ignore"):
        return np.where(finite, np.exp(log_value), np.inf)


def alpha_divergence_normal(
    alpha: float, loc1: ArrayLike, scale1: ArrayLike, loc2: ArrayLike, scale2: ArrayLike
) -> NDArray[np.float64]:
    r"""The library's alpha-divergence between univariate normals, :math:`\alpha \notin \{0,1\}`.

    .. math::

        D_\alpha(P\|Q) = \frac{1}{\alpha(\alpha-1)}\Big(\int p^\alpha q^{1-\alpha}\,dx - 1\Big),

    generator :math:`f(u) = (u^\alpha - 1 - \alpha(u-1))/(\alpha(\alpha-1))`; ``+inf`` where the
    Chernoff integral diverges (only possible for :math:`\alpha > 1` or :math:`\alpha < 0`).
    :math:`\int p^\alpha q^{1-\alpha} - 1` is computed as ``expm1`` of its logarithm, so small
    divergences keep their relative accuracy.

    Source: Gil, Alajaji & Linder (2013), Rényi divergence of normals (see module docstring);
    Amari, *alpha-divergence is unique*, IEEE T-IT 55(11), 2009, for the family.
    """
    if alpha in (0, 1):
        raise ValueError("alpha must not be 0 or 1 (the limits are reverse KL and KL)")
    log_value, finite = _log_chernoff(alpha, loc1, scale1, loc2, scale2)
    with np.errstate(over="ignore"):
        value = np.expm1(log_value) / (alpha * (alpha - 1.0))
    return np.where(finite, value, np.inf)


def pearson_chi2_normal(
    loc1: ArrayLike, scale1: ArrayLike, loc2: ArrayLike, scale2: ArrayLike
) -> NDArray[np.float64]:
    r"""Pearson :math:`\chi^2(P\|Q) = \int (p-q)^2/q` between two univariate normals.

    .. math::

        \chi^2 = \frac{\sigma_2^2}{\sigma_1\sqrt{2\sigma_2^2 - \sigma_1^2}}
            \exp\Big(\frac{(\mu_1-\mu_2)^2}{2\sigma_2^2 - \sigma_1^2}\Big) - 1
        \quad (2\sigma_2^2 > \sigma_1^2), \qquad +\infty \text{ otherwise}.

    Source: Nielsen & Nock, IEEE Signal Processing Letters 21(1), 2014 (chi-square for
    exponential families, specialised to the normal family).
    """
    return 2.0 * alpha_divergence_normal(2.0, loc1, scale1, loc2, scale2)


def neyman_chi2_normal(
    loc1: ArrayLike, scale1: ArrayLike, loc2: ArrayLike, scale2: ArrayLike
) -> NDArray[np.float64]:
    r"""Neyman :math:`\chi^2(P\|Q) = \int (p-q)^2/p`, i.e. Pearson with the arguments swapped.

    Finite iff :math:`2\sigma_1^2 > \sigma_2^2`. Source: as :func:`pearson_chi2_normal`.
    """
    return 2.0 * alpha_divergence_normal(-1.0, loc1, scale1, loc2, scale2)


def bhattacharyya_coefficient_normal(
    loc1: ArrayLike, scale1: ArrayLike, loc2: ArrayLike, scale2: ArrayLike
) -> NDArray[np.float64]:
    r"""Bhattacharyya coefficient :math:`\int\sqrt{pq}` of two univariate normals.

    .. math::

        BC = \sqrt{\frac{2\sigma_1\sigma_2}{\sigma_1^2 + \sigma_2^2}}
             \exp\Big(-\frac{(\mu_1-\mu_2)^2}{4(\sigma_1^2 + \sigma_2^2)}\Big).

    Source: Bhattacharyya, Bull. Calcutta Math. Soc. 35 (1943); Kailath, *The divergence and
    Bhattacharyya distance measures in signal selection*, IEEE Trans. Commun. Technol. 15(1),
    1967 (Bhattacharyya distance of Gaussians, :math:`-\log BC`).
    """
    return chernoff_integral_normal(0.5, loc1, scale1, loc2, scale2)


def squared_hellinger_normal(
    loc1: ArrayLike, scale1: ArrayLike, loc2: ArrayLike, scale2: ArrayLike
) -> NDArray[np.float64]:
    r"""Squared Hellinger distance :math:`\int(\sqrt p - \sqrt q)^2 = 2 - 2\,BC` of two normals.

    In [0, 2] (library convention, no 1/2). Computed as ``-2 expm1(log BC)``.
    Source: :func:`bhattacharyya_coefficient_normal`.
    """
    return 0.5 * alpha_divergence_normal(0.5, loc1, scale1, loc2, scale2)


def squared_hellinger_multivariate_normal(
    loc1: ArrayLike, cov1: ArrayLike, loc2: ArrayLike, cov2: ArrayLike
) -> NDArray[np.float64]:
    r"""Squared Hellinger distance :math:`2 - 2\,BC` between :math:`N(\mu_1,\Sigma_1)` and
    :math:`N(\mu_2,\Sigma_2)`, with :math:`\Sigma = (\Sigma_1 + \Sigma_2)/2` and

    .. math::

        -\log BC = \frac18 (\mu_1-\mu_2)^\top \Sigma^{-1} (\mu_1-\mu_2)
            + \frac12 \log\frac{\det\Sigma}{\sqrt{\det\Sigma_1 \det\Sigma_2}} .

    Shapes: ``loc`` ``(..., k)``, ``cov`` ``(..., k, k)``. Source: Kailath (1967), the
    Bhattacharyya distance of two Gaussians.
    """
    m1, c1, m2, c2 = map(_float, (loc1, cov1, loc2, cov2))
    mean_cov = 0.5 * (c1 + c2)
    lm = np.linalg.cholesky(mean_cov)
    diff = np.broadcast_to(m1 - m2, lm.shape[:-1])
    z = np.linalg.solve(lm, diff[..., None])[..., 0]

    def logdet(chol: NDArray[np.float64]) -> NDArray[np.float64]:
        return 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)

    distance = 0.125 * np.sum(z**2, axis=-1) + 0.5 * (
        logdet(lm) - 0.5 * (logdet(np.linalg.cholesky(c1)) + logdet(np.linalg.cholesky(c2)))
    )
    return -2.0 * np.expm1(-distance)


def reverse_kl_normal(
    loc1: ArrayLike, scale1: ArrayLike, loc2: ArrayLike, scale2: ArrayLike
) -> NDArray[np.float64]:
    r"""Reverse KL, :math:`\mathrm{KL}(Q\|P)`: :func:`kl_normal` with the arguments swapped."""
    return kl_normal(loc2, scale2, loc1, scale1)


def jeffrey_normal(
    loc1: ArrayLike, scale1: ArrayLike, loc2: ArrayLike, scale2: ArrayLike
) -> NDArray[np.float64]:
    r"""Jeffreys divergence :math:`\mathrm{KL}(P\|Q) + \mathrm{KL}(Q\|P)` of two univariate normals.

    .. math::

        J = \frac{(\sigma_1^2 - \sigma_2^2)^2 + (\sigma_1^2 + \sigma_2^2)(\mu_1 - \mu_2)^2}
                 {2\sigma_1^2\sigma_2^2}.

    Source: Jeffreys, Proc. R. Soc. Lond. A 186 (1946); the sum of the two :func:`kl_normal`
    terms, whose logarithms cancel.
    """
    m1, s1, m2, s2 = _params(loc1, scale1, loc2, scale2)
    v1, v2 = s1**2, s2**2
    return ((v1 - v2) ** 2 + (v1 + v2) * (m1 - m2) ** 2) / (2.0 * v1 * v2)


def total_variation_normal(
    loc1: ArrayLike, scale1: ArrayLike, loc2: ArrayLike, scale2: ArrayLike
) -> NDArray[np.float64]:
    r"""Total variation :math:`\frac12\int|p - q|` between two univariate normals, exactly.

    Scheffé's identity :math:`\mathrm{TV} = P(A) - Q(A)` with :math:`A = \{x : p(x) > q(x)\}`.
    :math:`\log p - \log q = a x^2 + b x + c` is a quadratic, so :math:`A` is bounded by its real
    roots: with equal scales :math:`A` is a half-line and
    :math:`\mathrm{TV} = 2\Phi\big(|\mu_1-\mu_2|/(2\sigma)\big) - 1`; otherwise the
    probabilities of the interval between the two roots (or its complement) are differences of
    normal CDFs, evaluated with ``erf``/``erfc`` of standardised arguments.

    Source: Scheffé, *A useful convergence theorem for probability distributions*, Ann. Math.
    Statist. 18(3), 1947; the two-root construction e.g. in Devroye, Mehrabian & Reddad,
    *The total variation distance between high-dimensional Gaussians* (2018), Sec. 1.
    """
    m1, s1, m2, s2 = _params(loc1, scale1, loc2, scale2)
    m1, s1, m2, s2 = np.broadcast_arrays(m1, s1, m2, s2)
    out = np.empty(m1.shape, dtype=np.float64)
    for index in np.ndindex(m1.shape):
        out[index] = _tv_normal_scalar(
            float(m1[index]), float(s1[index]), float(m2[index]), float(s2[index])
        )
    return out


def _mass(loc: float, scale: float, lo: float, hi: float) -> float:
    """:math:`P(lo < X < hi)` for :math:`X \\sim N(loc, scale^2)`, accurate in both tails."""
    a = (lo - loc) / scale / np.sqrt(2.0)
    b = (hi - loc) / scale / np.sqrt(2.0)
    if a >= 0:  # both in the upper tail: erfc(a) - erfc(b)
        return 0.5 * (special.erfc(a) - special.erfc(b))
    if b <= 0:  # both in the lower tail
        return 0.5 * (special.erfc(-b) - special.erfc(-a))
    return 0.5 * (special.erf(b) - special.erf(a))


def _tv_normal_scalar(m1: float, s1: float, m2: float, s2: float) -> float:
    if s1 == s2:
        if m1 == m2:
            return 0.0
        return float(special.erf(abs(m1 - m2) / (2.0 * s1) / np.sqrt(2.0)))
    # log p - log q = a x^2 + b x + c, written around m2 to keep the coefficients small
    a = 0.5 * (1.0 / s2**2 - 1.0 / s1**2)
    b = (m1 - m2) / s1**2
    c = np.log(s2 / s1) - 0.5 * ((m1 - m2) / s1) ** 2
    # roots of a y^2 + b y + c with y = x - m2 (discriminant > 0: p > q somewhere and p < q)
    disc = b * b - 4.0 * a * c
    root = np.sqrt(disc)
    # stable quadratic formula
    qq = -0.5 * (b + np.copysign(root, b))
    y1, y2 = sorted((qq / a, c / qq))
    lo, hi = y1 + m2, y2 + m2
    inner = _mass(m1, s1, lo, hi) - _mass(m2, s2, lo, hi)
    # a < 0 (s1 < s2, p narrower): p > q between the roots; a > 0: p > q outside them
    return float(inner if a < 0 else -inner)
