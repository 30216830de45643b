r"""Hypothesis strategies and property checks for divergences and GAN losses, for your own tests.

Requires ``hypothesis`` (the ``test`` extra: ``pip install divergences[test]``).

Strategies (:mod:`hypothesis` search strategies):

- :func:`probability_vectors`, :func:`distribution_pairs`: discrete distributions on the last
  dimension, with exact zeros, probabilities over all orders of magnitude, optional batch
  dimensions and shared supports, as torch tensors or NumPy arrays;
- :func:`normal_parameters`: ``(loc, scale)`` or ``(loc, cov)`` of normal distributions;
- :func:`extreme_logits`: raw scores including :math:`\pm 10^4` and the dtype's ``exp``
  overflow thresholds;
- :func:`registered_divergences`: any registered :class:`~divergences.FDivergence`, with
  parameters drawn for ``alpha`` and ``js_weighted``.

Checks (raise :class:`AssertionError` naming the property and the counterexample):

- :func:`check_divergence_properties` / :func:`check_divergence_at`: non-negativity, zero iff
  equal, symmetry, an upper bound, the data processing inequality, no NaN, batching;
- :func:`check_conjugate_pair`: the Fenchel-Young inequality and equality for ``f`` and ``f*``;
- :func:`check_loss_stability`: no NaN (and finite) loss and gradient at extreme scores in
  float16, bfloat16, float32 and float64.

Example (a test in your own suite; ``docs/testing.md`` has more):

>>> import math, torch
>>> from divergences.testing import check_conjugate_pair, check_divergence_properties
>>> def my_js(p, q):
...     m = (p + q) / 2
...     kl_pm = torch.special.xlogy(p, p).sum(-1) - torch.special.xlogy(p, m).sum(-1)
...     kl_qm = torch.special.xlogy(q, q).sum(-1) - torch.special.xlogy(q, m).sum(-1)
...     return (kl_pm + kl_qm) / 2
>>> check_divergence_properties(my_js, symmetric=True, upper_bound=math.log(2),
...                             finite="always", max_examples=30)
>>> def no_half(p, q):  # the f-GAN table's generator without the 1/2: 2 JS
...     return 2 * my_js(p, q)
>>> check_divergence_properties(no_half, symmetric=True, upper_bound=math.log(2),
...                             max_examples=30)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
AssertionError: divergence property violated: upper bound...
>>> check_conjugate_pair(lambda u: u * math.log(u), lambda t: math.exp(t - 1))
"""

try:
    import hypothesis as _hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "divergences.testing needs hypothesis: pip install 'divergences[test]'"
    ) from error

from ._conjugate import check_conjugate_pair as check_conjugate_pair
from ._conjugate import default_u_grid as default_u_grid
from ._properties import check_divergence_at as check_divergence_at
from ._properties import check_divergence_properties as check_divergence_properties
from ._stability import DEFAULT_DTYPES as DEFAULT_DTYPES
from ._stability import check_loss_stability as check_loss_stability
from ._strategies import DEFAULT_PARAMETERS as DEFAULT_PARAMETERS
from ._strategies import default_min_positive as default_min_positive
from ._strategies import distribution_pairs as distribution_pairs
from ._strategies import extreme_logits as extreme_logits
from ._strategies import normal_parameters as normal_parameters
from ._strategies import probability_vectors as probability_vectors
from ._strategies import registered_divergences as registered_divergences

__all__ = [
    "DEFAULT_DTYPES",
    "DEFAULT_PARAMETERS",
    "check_conjugate_pair",
    "check_divergence_at",
    "check_divergence_properties",
    "check_loss_stability",
    "default_min_positive",
    "default_u_grid",
    "distribution_pairs",
    "extreme_logits",
    "normal_parameters",
    "probability_vectors",
    "registered_divergences",
]
