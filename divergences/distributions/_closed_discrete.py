r"""Exact sums for every f-divergence between distributions on a finite set.

.. math::

    D_f(P \| Q) = \sum_{x} q(x)\, f\!\Big(\frac{p(x)}{q(x)}\Big)

computed by the library's discrete path, ``d.divergence(p, q)``
(:mod:`divergences.numeric.discrete`: the entry's hand kernel or the emitted perspective, with
:math:`0 f(0/0) = 0`, ``+inf`` where the divergence is infinite). Registered for every
divergence (:func:`~._registry.register_any_divergence`):

* ``Bernoulli``/``Bernoulli``: the vectors :math:`(1 - \pi, \pi)`, written from the logits as
  :math:`(\sigma(-\ell), \sigma(\ell))` when the distribution was given logits (so
  :math:`1 - \pi` keeps its digits for :math:`\pi` near 1), else from the probabilities;
* ``Categorical``/``Categorical`` and ``OneHotCategorical``/``OneHotCategorical``: ``probs``
  on the last dimension (both must have the same number of categories).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.distributions import Bernoulli, Categorical, OneHotCategorical

from divergences.errors import InputError

from ._registry import register_any_divergence

if TYPE_CHECKING:
    from divergences.fdivergence import FDivergence

__all__: list[str] = []


def _bernoulli_vector(dist: Bernoulli) -> Tensor:
    if "logits" in dist.__dict__ and "probs" not in dist.__dict__:
        logits = dist.logits
        return torch.stack([torch.sigmoid(-logits), torch.sigmoid(logits)], dim=-1)
    probs = dist.probs
    return torch.stack([1.0 - probs, probs], dim=-1)


@register_any_divergence(Bernoulli, Bernoulli)
def _bernoulli(d: FDivergence, p: Bernoulli, q: Bernoulli) -> Tensor:
    return d.divergence(_bernoulli_vector(p), _bernoulli_vector(q), validate=False)


def _categories(p: Categorical | OneHotCategorical, q: Categorical | OneHotCategorical) -> None:
    kp, kq = p.probs.shape[-1], q.probs.shape[-1]
    if kp != kq:
        raise InputError(
            f"mismatched numbers of categories: P has {kp}, Q has {kq} "
            f"({type(p).__name__} vs {type(q).__name__})"
        )


@register_any_divergence(Categorical, Categorical)
def _categorical(d: FDivergence, p: Categorical, q: Categorical) -> Tensor:
    _categories(p, q)
    return d.divergence(p.probs, q.probs, validate=False)


@register_any_divergence(OneHotCategorical, OneHotCategorical)
def _one_hot(d: FDivergence, p: OneHotCategorical, q: OneHotCategorical) -> Tensor:
    _categories(p, q)
    return d.divergence(p.probs, q.probs, validate=False)
