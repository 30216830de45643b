r"""KL, reverse KL and Jeffreys in closed form: delegated to ``torch.distributions.kl_divergence``.

Registered on the ``kl``, ``reverse_kl`` and ``jeffrey`` entries for every pair of
``Distribution`` classes; torch's own most-specific dispatch (``register_kl``) then picks the
formula, and a pair torch does not know declines (``NotImplementedError``), so the next
method is tried. Nothing is re-typed here:

.. math::

    \mathrm{KL}(P \| Q), \qquad \mathrm{KL}(Q \| P), \qquad
    J(P, Q) = \mathrm{KL}(P \| Q) + \mathrm{KL}(Q \| P).

Source: ``torch/distributions/kl.py`` (each formula there cites its own).
"""

from __future__ import annotations

from torch import Tensor
from torch.distributions import Distribution, kl_divergence

from divergences.registry import builtin as entries

from ._registry import register_divergence

__all__: list[str] = []


@register_divergence(entries.KL, Distribution, Distribution)
def _kl(p: Distribution, q: Distribution) -> Tensor:
    return kl_divergence(p, q)


@register_divergence(entries.REVERSE_KL, Distribution, Distribution)
def _reverse_kl(p: Distribution, q: Distribution) -> Tensor:
    return kl_divergence(q, p)


@register_divergence(entries.JEFFREY, Distribution, Distribution)
def _jeffrey(p: Distribution, q: Distribution) -> Tensor:
    return kl_divergence(p, q) + kl_divergence(q, p)
