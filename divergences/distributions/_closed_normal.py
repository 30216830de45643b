r"""Closed forms between Gaussians: the alpha family (Rényi-type), squared Hellinger, Pearson,
Neyman, and total variation.

Everything follows from the Chernoff (Hellinger) integral of two Gaussians, by completing the
square in the exponent of :math:`p^\alpha q^{1-\alpha}`. For
:math:`P = N(\mu_1, \Sigma_1)`, :math:`Q = N(\mu_2, \Sigma_2)` in :math:`k` dimensions and
:math:`\Sigma_\alpha = \alpha \Sigma_2 + (1 - \alpha) \Sigma_1`:

.. math::

    \log \int p^\alpha q^{1-\alpha}\,dx
      = -\frac{\alpha(1-\alpha)}{2} (\mu_1 - \mu_2)^\top \Sigma_\alpha^{-1} (\mu_1 - \mu_2)
        - \frac12 \log \frac{|\Sigma_\alpha|}{|\Sigma_1|^{1-\alpha} |\Sigma_2|^{\alpha}},

finite iff :math:`\Sigma_\alpha` is positive definite (always for :math:`0 < \alpha < 1`;
otherwise the integral diverges and the divergence is ``+inf``). This is :math:`(\alpha - 1)`
times the Rényi divergence of order :math:`\alpha` in Gil, Alajaji & Linder, *Rényi divergence
measures for commonly used univariate continuous distributions*, Information Sciences 249
(2013), Table 2 (normal; the multivariate form in their Section 3 / Pardo, *Statistical
Inference Based on Divergence Measures*, 2006, p. 33). Then, with the library's conventions
(DESIGN.md):

.. math::

    D_\alpha = \frac{\int p^\alpha q^{1-\alpha} - 1}{\alpha(\alpha-1)}, \qquad
    H^2 = \int (\sqrt p - \sqrt q)^2 = 2 - 2 \int \sqrt{pq} = \tfrac12 D_{1/2}, \qquad
    \chi^2_P = \int \frac{p^2}{q} - 1 = 2 D_2, \qquad \chi^2_N = 2 D_{-1}.

For univariate normals :math:`\chi^2_P(P\|Q) = \frac{\sigma_2^2}{\sigma_1\sqrt{2\sigma_2^2 -
\sigma_1^2}} \exp\big(\frac{(\mu_1-\mu_2)^2}{2\sigma_2^2 - \sigma_1^2}\big) - 1` for
:math:`2\sigma_2^2 > \sigma_1^2` and ``+inf`` otherwise (Nielsen & Nock, *On the chi square and
higher-order chi distances for approximating f-divergences*, IEEE Signal Processing Letters
21(1), 2014); Neyman's is the same with the arguments swapped.

Numerics: the integral is formed in the whitened frame of :math:`Q`,
:math:`E = L_2^{-1} (\Sigma_1 - \Sigma_2) L_2^{-\top}` (:math:`\Sigma_2 = L_2 L_2^\top`; the
difference of the covariances is taken before anything else, so nearby covariances keep
their digits), with :math:`e_i` the eigenvalues of :math:`E`:

.. math::

    \log \int p^\alpha q^{1-\alpha} = -\frac{\alpha(1-\alpha)}{2} z^\top (I + (1-\alpha)E)^{-1} z
      - \frac12 \sum_i \big[\operatorname{log1p}((1-\alpha) e_i)
      - (1-\alpha) \operatorname{log1p}(e_i)\big], \qquad z = L_2^{-1}(\mu_1 - \mu_2),

finite iff every :math:`1 + (1-\alpha) e_i > 0`, and the divergence is
``expm1`` of it (so small divergences keep their relative accuracy: about
:math:`\epsilon / |e|` for covariances that differ by a relative :math:`e`). In one dimension
:math:`e = \mathrm{expm1}(2 \log(\sigma_1/\sigma_2))`. Eigenvalues only (``eigvalsh``) and a
Cholesky factorisation with an error flag (``cholesky_ex``): no host synchronisation, and
gradients stay finite at :math:`P = Q`.

Total variation between univariate normals (Scheffé's identity,
:math:`\mathrm{TV} = P(A) - Q(A)` with :math:`A = \{p > q\}`): for equal scales
:math:`\mathrm{TV} = 2\Phi\big(|\mu_1 - \mu_2| / (2\sigma)\big) - 1 =
\operatorname{erf}\big(|\mu_1-\mu_2| / (2\sqrt2\,\sigma)\big)`; otherwise :math:`\log p - \log q`
is a quadratic with two real roots and :math:`A` is the interval between them (or its
complement), whose probabilities are differences of ``erf``/``erfc`` of standardised
arguments, taken in the tail where they do not cancel (Devroye, Mehrabian & Reddad, *The total
variation distance between high-dimensional Gaussians*, 2018, Section 1).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.distributions import MultivariateNormal, Normal

from divergences.registry import builtin as entries

from ._registry import register_divergence

__all__ = ["log_chernoff_mvn", "log_chernoff_normal"]

_SQRT2 = math.sqrt(2.0)


def log_chernoff_normal(alpha: float, p: Normal, q: Normal) -> tuple[Tensor, Tensor]:
    r"""``(log int p^alpha q^(1-alpha), finite)`` for univariate normals (module docstring)."""
    m1, s1, m2, s2 = torch.broadcast_tensors(p.loc, p.scale, q.loc, q.scale)
    ell = torch.log(s1) - torch.log(s2)
    e = torch.expm1(2.0 * ell)  # (s1^2 - s2^2) / s2^2
    w_minus_1 = (1.0 - alpha) * e
    finite = w_minus_1 > -1.0
    w_minus_1 = torch.where(finite, w_minus_1, 0.0)
    z = (m1 - m2) / s2
    log_value = (
        (1.0 - alpha) * ell
        - 0.5 * torch.log1p(w_minus_1)
        - alpha * (1.0 - alpha) * z * z / (2.0 * (1.0 + w_minus_1))
    )
    return log_value, finite


def log_chernoff_mvn(
    alpha: float, p: MultivariateNormal, q: MultivariateNormal
) -> tuple[Tensor, Tensor]:
    r"""``(log int p^alpha q^(1-alpha), finite)`` for multivariate normals (module docstring).

    Shapes: ``loc`` ``(..., k)``, covariances ``(..., k, k)``; batch dimensions broadcast.
    """
    l2 = q.scale_tril
    diff = p.covariance_matrix - q.covariance_matrix
    l2, diff = torch.broadcast_tensors(l2, diff)
    y = torch.linalg.solve_triangular(l2, diff, upper=False)
    e_matrix = torch.linalg.solve_triangular(l2, y.mT, upper=False).mT
    e_matrix = 0.5 * (e_matrix + e_matrix.mT)
    eig = torch.linalg.eigvalsh(e_matrix)
    finite = ((1.0 - alpha) * eig > -1.0).all(-1)
    eye = torch.eye(eig.shape[-1], dtype=eig.dtype, device=eig.device)
    a_matrix = torch.where(finite[..., None, None], eye + (1.0 - alpha) * e_matrix, eye)
    chol, _ = torch.linalg.cholesky_ex(a_matrix)
    delta = torch.broadcast_to(p.loc - q.loc, l2.shape[:-1])
    z = torch.linalg.solve_triangular(l2, delta[..., None], upper=False)
    w = torch.linalg.solve_triangular(chol, z, upper=False)[..., 0]
    quadratic = (w * w).sum(-1)
    safe_eig = torch.where(finite[..., None], eig, 0.0)
    log_det = (torch.log1p((1.0 - alpha) * safe_eig) - (1.0 - alpha) * torch.log1p(safe_eig)).sum(
        -1
    )
    log_value = -0.5 * alpha * (1.0 - alpha) * quadratic - 0.5 * log_det
    return log_value, finite


def _from_chernoff(log_value: Tensor, finite: Tensor, factor: float) -> Tensor:
    """``factor * expm1(log_value)`` where finite, ``+inf`` elsewhere."""
    value = factor * torch.expm1(torch.where(finite, log_value, 0.0))
    return torch.where(finite, value, math.inf)


def _alpha_value(
    alpha: float, p: Normal | MultivariateNormal, q: Normal | MultivariateNormal
) -> Tensor:
    if isinstance(p, MultivariateNormal):
        log_value, finite = log_chernoff_mvn(alpha, p, q)  # type: ignore[arg-type]
    else:
        log_value, finite = log_chernoff_normal(alpha, p, q)  # type: ignore[arg-type]
    return _from_chernoff(log_value, finite, 1.0 / (alpha * (alpha - 1.0)))


@torch.compiler.assume_constant_result
def _as_float(value: object) -> float:
    """The family's exact parameter as a float (a constant of a traced graph)."""
    return float(value)  # type: ignore[arg-type]


def _alpha(p: Normal, q: Normal, *, alpha: object) -> Tensor:
    """:math:`D_\\alpha` between Gaussians (Gil, Alajaji & Linder 2013)."""
    return _alpha_value(_as_float(alpha), p, q)  # type: ignore[arg-type]


def _squared_hellinger(p: Normal, q: Normal) -> Tensor:
    """:math:`H^2 = 2 - 2\\int\\sqrt{pq} = \\tfrac12 D_{1/2}` between Gaussians."""
    return 0.5 * _alpha_value(0.5, p, q)


def _pearson(p: Normal, q: Normal) -> Tensor:
    """:math:`\\chi^2_P = 2 D_2` between Gaussians (``+inf`` unless
    :math:`2\\Sigma_2 - \\Sigma_1` is positive definite)."""
    return 2.0 * _alpha_value(2.0, p, q)


def _neyman(p: Normal, q: Normal) -> Tensor:
    """:math:`\\chi^2_N = 2 D_{-1}` between Gaussians (``+inf`` unless
    :math:`2\\Sigma_1 - \\Sigma_2` is positive definite)."""
    return 2.0 * _alpha_value(-1.0, p, q)


for _family in (Normal, MultivariateNormal):
    for _entry, _form in (
        (entries.ALPHA, _alpha),
        (entries.SQUARED_HELLINGER, _squared_hellinger),
        (entries.PEARSON, _pearson),
        (entries.NEYMAN, _neyman),
    ):
        register_divergence(_entry, _family, _family)(_form)


def _mass(loc: Tensor, scale: Tensor, lo: Tensor, hi: Tensor) -> Tensor:
    """:math:`P(lo < X < hi)` for :math:`X \\sim N(loc, scale^2)`, accurate in both tails."""
    a = (lo - loc) / (scale * _SQRT2)
    b = (hi - loc) / (scale * _SQRT2)
    upper = 0.5 * (torch.erfc(a) - torch.erfc(b))  # both in the upper tail
    lower = 0.5 * (torch.erfc(-b) - torch.erfc(-a))  # both in the lower tail
    middle = 0.5 * (torch.erf(b) - torch.erf(a))
    return torch.where(a >= 0, upper, torch.where(b <= 0, lower, middle))


@register_divergence(entries.TOTAL_VARIATION, Normal, Normal)
def _total_variation(p: Normal, q: Normal) -> Tensor:
    """:math:`\\mathrm{TV}(P, Q)` between univariate normals, exactly (module docstring)."""
    m1, s1, m2, s2 = torch.broadcast_tensors(p.loc, p.scale, q.loc, q.scale)
    equal = s1 == s2
    same_scale = torch.erf((m1 - m2).abs() / (2.0 * _SQRT2 * s1))
    # log p - log q = a y^2 + b y + c, y = x - m2 (unequal scales: two real roots)
    s1u, s2u = torch.where(equal, 1.0, s1), torch.where(equal, 2.0, s2)
    shift = torch.where(equal, 0.0, m1 - m2)
    a = 0.5 * (1.0 / (s2u * s2u) - 1.0 / (s1u * s1u))
    b = shift / (s1u * s1u)
    c = torch.log(s2u) - torch.log(s1u) - 0.5 * (shift / s1u) ** 2
    root = torch.sqrt((b * b - 4.0 * a * c).clamp_min(0.0))
    qq = -0.5 * (b + torch.copysign(root, b))
    y1, y2 = qq / a, c / qq
    lo, hi = torch.minimum(y1, y2) + m2, torch.maximum(y1, y2) + m2
    m1u = torch.where(equal, 0.0, m1)
    inner = _mass(m1u, s1u, lo, hi) - _mass(torch.where(equal, 0.0, m2), s2u, lo, hi)
    # a < 0 (s1 < s2, p narrower): p > q between the roots; a > 0: outside them
    two_roots = torch.where(a < 0, inner, -inner)
    return torch.where(equal, same_scale, two_roots)
