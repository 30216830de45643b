"""The result of :func:`~divergences.distributions.divergence`: a value, its error, the method."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor, nn

__all__ = ["Estimate", "Method", "VariationalEstimate"]

#: how a value was obtained
Method = Literal["closed", "quadrature", "mc", "variational"]


@dataclass(frozen=True, eq=False)
class Estimate:
    r"""A divergence value and how far it can be from the true :math:`D_f(P \| Q)`.

    Attributes:
        value: the estimate, shape ``broadcast(P.batch_shape, Q.batch_shape)``, in the
            distributions' dtype and on their device; differentiable with respect to their
            parameters (closed forms, quadrature, Monte Carlo).
        standard_error: same shape, detached. ``0`` for a closed form (exact up to rounding);
            for ``"quadrature"`` the absolute error estimate of the Gauss-Kronrod rule
            (:math:`\sum |K_{15} - G_7|` over the intervals, a conservative estimate); for
            ``"mc"`` and ``"variational"`` the standard error of the sample mean. ``0`` where
            the value is ``+inf``.
        method: ``"closed"``, ``"quadrature"``, ``"mc"`` or ``"variational"``.
        num_samples: Monte Carlo: samples drawn per batch element; ``None`` otherwise.

    Estimates compare by identity (their fields are tensors).
    """

    value: Tensor
    standard_error: Tensor
    method: Method
    num_samples: int | None = None


@dataclass(frozen=True, eq=False)
class VariationalEstimate(Estimate):
    r"""The f-GAN lower bound :math:`\mathbb E_P[T] - \mathbb E_Q[f^*(T)]` of a trained critic.

    ``value`` and ``standard_error`` are measured on the held-out samples, which the critic
    never saw (``num_samples``: held-out samples of ``P`` plus of ``Q``); ``train_value`` is the
    same bound on the training samples, optimistic (see
    :func:`~divergences.distributions.variational_estimate`). ``critic`` is the trained module
    (raw scores ``V``; ``T = g_f(V)``).
    """

    train_value: Tensor | None = None
    critic: nn.Module | None = None
