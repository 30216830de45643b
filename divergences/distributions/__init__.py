r"""f-divergences between ``torch.distributions`` objects, with a stated method and error.

.. math::

    D_f(P \| Q) = \mathbb E_{Q}\Big[f\Big(\frac{p}{q}\Big)\Big] = \int q\, f(p/q)\, dx

for any :class:`~divergences.FDivergence` (registered or derived from a user's generator) and
any pair of distributions: a closed form where one is registered, batched adaptive quadrature
for 1-D continuous pairs, Monte Carlo with a standard error otherwise, and sample-based
variational (f-GAN) lower bounds. See ``docs/distributions.md``.

* :func:`divergence`: ``divergence(d, P, Q, method="auto")`` -> :class:`Estimate`;
* :func:`register_divergence`: attach a closed form to a divergence for two classes;
* :func:`variational_estimate`: train an f-GAN critic on samples, return the bound;
* :class:`Estimate`, :class:`VariationalEstimate`: value, standard error, method.

Example:
    >>> import torch
    >>> from torch.distributions import Normal
    >>> from divergences.distributions import divergence
    >>> p, q = Normal(0.0, 1.0), Normal(0.0, 2.0)
    >>> divergence("squared_hellinger", p, q).value  # 2 - 2 sqrt(2*1*2/(1+4))
    tensor(0.2111)
"""

from ._divergence import divergence as divergence
from ._estimate import Estimate as Estimate
from ._estimate import VariationalEstimate as VariationalEstimate
from ._registry import register_divergence as register_divergence
from ._variational import variational_estimate as variational_estimate

__all__ = [
    "Estimate",
    "VariationalEstimate",
    "divergence",
    "register_divergence",
    "variational_estimate",
]
