r"""Sample-based variational (f-GAN) lower bounds: train a critic, report a held-out bound.

For every critic :math:`T` with values in the domain of :math:`f^*` (Fenchel-Young;
Nguyen, Wainwright & Jordan, *Estimating divergence functionals and the likelihood ratio by
convex risk minimization*, IEEE T-IT 56(11), 2010; Nowozin, Cseke & Tomioka, *f-GAN*, NeurIPS
2016, Eq. 4):

.. math::

    D_f(P \| Q) \ \ge\ \mathbb E_{P}[T(x)] - \mathbb E_{Q}[f^*(T(x))],

with equality at :math:`T = f'(p/q)`. :func:`variational_estimate` parametrises
:math:`T = g_f(V_\omega)` (the output activation, so :math:`T` is always admissible), trains
:math:`V_\omega` by minimising :func:`divergences.losses.fgan_critic_loss` (the bound negated)
on a training split of the samples, and evaluates the bound on the held-out rest.

**Bias.** For a critic that is fixed before the held-out samples are looked at, the held-out
value is an unbiased estimate of :math:`\mathbb E_P[T] - \mathbb E_Q[f^*(T)] \le D_f`: it is
biased *low*, by the gap between the trained critic and the optimal one (a critic class that
cannot represent :math:`f'(p/q)`, too few steps, too few samples), and scattered by its standard
error. The training value is biased *high* relative to it (the critic was fitted to those
samples; with a flexible critic it can exceed :math:`D_f`), which is why it is not the
reported value. Divergences whose optimal critic is unbounded and whose ratio :math:`p/q` has
heavy tails (``pearson``: :math:`T^* = 2(p/q - 1)`) converge slowest, and the standard error
understates their error.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from divergences.errors import InputError
from divergences.fdivergence import FDivergence
from divergences.losses import fgan_critic_loss

from ._divergence import _as_divergence
from ._estimate import VariationalEstimate
from ._montecarlo import _seeded

__all__ = ["variational_estimate"]


class _Standardise(nn.Module):
    """``(x - mean) / std`` with constants fixed from the training samples."""

    def __init__(self, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


def _default_critic(train: Tensor, hidden: int) -> nn.Module:
    features = train.shape[-1]
    mean = train.mean(0)
    std = train.std(0).clamp_min(torch.finfo(train.dtype).eps)
    return nn.Sequential(
        _Standardise(mean, std),
        nn.Linear(features, hidden),
        nn.SiLU(),
        nn.Linear(hidden, hidden),
        nn.SiLU(),
        nn.Linear(hidden, 1),
    ).to(dtype=train.dtype, device=train.device)


def _samples(name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise InputError(
            f"{name} must be a floating-point tensor of samples, got {type(x).__name__}"
        )
    if x.dim() == 0 or x.shape[0] < 4:
        raise InputError(f"{name} must hold at least 4 samples on its first dimension")
    if not bool(torch.isfinite(x).all()):
        raise InputError(f"{name} has NaN or infinite samples")
    return x.reshape(x.shape[0], -1)


def _scores(critic: nn.Module, x: Tensor) -> Tensor:
    v = critic(x)
    return v.reshape(v.shape[0], -1)[:, 0] if v.dim() > 1 else v


def _bound_terms(
    d: FDivergence, critic: nn.Module, x_p: Tensor, x_q: Tensor
) -> tuple[Tensor, Tensor]:
    """``g_f(V(x_p))`` and ``f*(g_f(V(x_q)))`` element-wise."""
    return d.torch.activation(_scores(critic, x_p)), d.torch.conjugate_of_activation(
        _scores(critic, x_q)
    )


def variational_estimate(
    d: FDivergence | str,
    x_p: Tensor,
    x_q: Tensor,
    critic: nn.Module | None = None,
    *,
    steps: int = 300,
    lr: float = 3e-3,
    held_out: float = 0.25,
    batch_size: int | None = None,
    hidden: int = 64,
    generator: torch.Generator | int | None = None,
) -> VariationalEstimate:
    r"""The f-GAN lower bound of :math:`D_f(P \| Q)` from samples, with a held-out estimate.

    .. math::

        \widehat D = \frac1{m}\sum_{i} g_f(V(x^P_i)) - \frac1{n}\sum_j f^*(g_f(V(x^Q_j)))

    over the held-out samples, after training ``V`` (Adam, ``steps`` steps of
    :func:`divergences.losses.fgan_critic_loss`) on the others. See the module docstring for
    the bias: the held-out value is a lower bound up to its standard error.

    Args:
        d: an :class:`~divergences.FDivergence` or a registered name.
        x_p, x_q: samples of :math:`P` and :math:`Q`, shapes ``(n_p, *event)`` and
            ``(n_q, *event)`` (same event shape, dtype and device; at least 4 each). Not
            differentiated through.
        critic: a module mapping ``(n, features)`` (the flattened event) to ``n`` raw scores
            (shape ``(n,)`` or ``(n, 1)``); trained in place. Default: an MLP with two hidden
            layers of ``hidden`` SiLU units after standardising the inputs.
        steps, lr: Adam steps and learning rate.
        held_out: the fraction of each sample set kept out of training (in ``(0, 1)``).
        batch_size: minibatch size per set (default: full batch).
        generator: a ``torch.Generator`` or int seed for the split, the default critic's
            initialisation and the minibatches (global RNG state untouched).

    Returns:
        A :class:`VariationalEstimate`: ``value`` and ``standard_error`` on the held-out
        samples (``num_samples`` of them, both sets together), ``train_value``, ``critic``.

    Raises:
        InputError: samples that are not floating tensors, too few, non-finite, or of
            different event shapes, dtypes or devices; ``held_out`` outside ``(0, 1)``.

    Example:
        >>> import torch
        >>> from divergences.distributions import variational_estimate
        >>> g = torch.Generator().manual_seed(0)
        >>> x_p, x_q = torch.randn(2000, generator=g), torch.randn(2000, generator=g) + 1
        >>> est = variational_estimate("kl", x_p, x_q, steps=200, generator=0)
        >>> bool(abs(est.value - 0.5) < 0.1)  # KL(N(0,1) || N(1,1)) = 0.5
        True
    """
    div = _as_divergence(d)
    xp, xq = _samples("x_p", x_p), _samples("x_q", x_q)
    if x_p.shape[1:] != x_q.shape[1:]:
        raise InputError(
            f"mismatched event shapes: x_p has {tuple(x_p.shape[1:])}, x_q has "
            f"{tuple(x_q.shape[1:])}"
        )
    if xp.dtype != xq.dtype or xp.device != xq.device:
        raise InputError(
            f"x_p and x_q differ in dtype or device ({xp.dtype}/{xp.device} vs "
            f"{xq.dtype}/{xq.device})"
        )
    if not 0.0 < held_out < 1.0:
        raise InputError(f"held_out must lie in (0, 1), got {held_out}")
    if steps < 0:
        raise InputError(f"steps must be non-negative, got {steps}")
    with _seeded(generator, xp.device), torch.enable_grad():
        xp, xq = xp.detach(), xq.detach()
        parts = []
        for x in (xp, xq):
            order = torch.randperm(x.shape[0], device=x.device)
            cut = max(2, min(x.shape[0] - 2, round(x.shape[0] * (1.0 - held_out))))
            parts.append((x[order[:cut]], x[order[cut:]]))
        (train_p, test_p), (train_q, test_q) = parts
        if critic is None:
            critic = _default_critic(torch.cat([train_p, train_q]), hidden)
        optimiser = torch.optim.Adam(critic.parameters(), lr=lr)
        for _ in range(steps):
            bp, bq = train_p, train_q
            if batch_size is not None:
                bp = train_p[torch.randint(0, train_p.shape[0], (batch_size,), device=xp.device)]
                bq = train_q[torch.randint(0, train_q.shape[0], (batch_size,), device=xq.device)]
            loss = fgan_critic_loss(div, _scores(critic, bp), _scores(critic, bq))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        train_value = -fgan_critic_loss(div, _scores(critic, train_p), _scores(critic, train_q))
        real, fake = _bound_terms(div, critic, test_p, test_q)
        value = real.mean() - fake.mean()
        variance = real.var() / real.shape[0] + fake.var() / fake.shape[0]
        error = torch.where(torch.isfinite(value), variance.sqrt(), 0.0)
    return VariationalEstimate(
        value=value,
        standard_error=error,
        method="variational",
        num_samples=test_p.shape[0] + test_q.shape[0],
        train_value=train_value,
        critic=critic,
    )
