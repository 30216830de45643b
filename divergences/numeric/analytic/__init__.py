r"""Analytic reference values: closed forms with cited sources, and quadratures with error bounds.

These are the oracles the library's torch functions are tested against. They are NumPy/SciPy/
mpmath code, independent of the torch implementations, and evaluate generators through
:func:`sympy.lambdify` of the registered SymPy expressions.

Closed forms (float64 NumPy, broadcasting):

- KL: :func:`kl_normal`, :func:`kl_multivariate_normal`, :func:`kl_bernoulli`,
  :func:`kl_categorical`;
- other f-divergences between univariate normals: :func:`reverse_kl_normal`,
  :func:`jeffrey_normal`, :func:`pearson_chi2_normal`, :func:`neyman_chi2_normal`,
  :func:`squared_hellinger_normal` (and :func:`squared_hellinger_multivariate_normal`),
  :func:`alpha_divergence_normal`, :func:`total_variation_normal`, all reachable through
  :func:`normal_closed_form`;
- :func:`wasserstein2_normal` (Bures / Fréchet distance between Gaussians).

Quadratures (return :class:`QuadratureResult` ``(value, error)``):

- :func:`f_divergence_normal_quad`: any f-divergence (registered or user-defined) between two
  univariate normals, integrand in log space in mpmath;
- :func:`wasserstein1_quad`: :math:`W_1 = \int |F - G|` for 1-D distributions;
- :func:`wasserstein_quantile_quad`: :math:`W_p` from quantile functions.

Example:
    >>> from divergences.numeric import analytic
    >>> float(analytic.kl_normal(0.0, 1.0, 1.0, 1.0))
    0.5
    >>> res = analytic.f_divergence_normal_quad("js", 0.0, 1.0, 0.0, 1.0)
    >>> res.value
    0.0
"""

from ._dispatch import NormalParameters as NormalParameters
from ._dispatch import has_normal_closed_form as has_normal_closed_form
from ._dispatch import normal_closed_form as normal_closed_form
from ._kl import expm1_minus_identity as expm1_minus_identity
from ._kl import kl_bernoulli as kl_bernoulli
from ._kl import kl_categorical as kl_categorical
from ._kl import kl_multivariate_normal as kl_multivariate_normal
from ._kl import kl_normal as kl_normal
from ._normal import alpha_divergence_normal as alpha_divergence_normal
from ._normal import bhattacharyya_coefficient_normal as bhattacharyya_coefficient_normal
from ._normal import chernoff_integral_normal as chernoff_integral_normal
from ._normal import jeffrey_normal as jeffrey_normal
from ._normal import neyman_chi2_normal as neyman_chi2_normal
from ._normal import pearson_chi2_normal as pearson_chi2_normal
from ._normal import reverse_kl_normal as reverse_kl_normal
from ._normal import squared_hellinger_multivariate_normal as squared_hellinger_multivariate_normal
from ._normal import squared_hellinger_normal as squared_hellinger_normal
from ._normal import total_variation_normal as total_variation_normal
from ._quadrature import QuadratureResult as QuadratureResult
from ._quadrature import f_divergence_normal_quad as f_divergence_normal_quad
from ._quadrature import generator_mpmath as generator_mpmath
from ._transport import wasserstein1_quad as wasserstein1_quad
from ._transport import wasserstein2_normal as wasserstein2_normal
from ._transport import wasserstein_quantile_quad as wasserstein_quantile_quad

__all__ = [
    "NormalParameters",
    "QuadratureResult",
    "alpha_divergence_normal",
    "bhattacharyya_coefficient_normal",
    "chernoff_integral_normal",
    "expm1_minus_identity",
    "f_divergence_normal_quad",
    "generator_mpmath",
    "has_normal_closed_form",
    "jeffrey_normal",
    "kl_bernoulli",
    "kl_categorical",
    "kl_multivariate_normal",
    "kl_normal",
    "neyman_chi2_normal",
    "normal_closed_form",
    "pearson_chi2_normal",
    "reverse_kl_normal",
    "squared_hellinger_multivariate_normal",
    "squared_hellinger_normal",
    "total_variation_normal",
    "wasserstein1_quad",
    "wasserstein2_normal",
    "wasserstein_quantile_quad",
]
