r"""The adversarial games: which losses the critic and the generator minimise.

Each game wraps the library's losses (:mod:`divergences.losses`) and says what the critic's
objective estimates. With raw critic scores :math:`v`, real samples from :math:`P` and generated
ones from :math:`Q`:

=================  ===========================================  ==================================
game               critic / generator losses                    variational estimate
=================  ===========================================  ==================================
GAN (minimax)      ``gan_discriminator_loss``, saturating       :math:`\mathbb E_P\log D +
                   ``gan_generator_loss``                       \mathbb E_Q\log(1-D)
                                                                \le 2\,\mathrm{JS} - \log 4`
GAN (non-sat.)     same critic, non-saturating generator        same
f-GAN              ``fgan_critic_loss``, ``fgan_generator_loss``  :math:`\mathbb E_P[g_f(v)] -
                                                                \mathbb E_Q[f^*(g_f(v))] \le D_f`
WGAN / WGAN-GP     ``wgan_critic_loss``, ``wgan_generator_loss``  :math:`\mathbb E_P[v] -
                                                                \mathbb E_Q[v]`
=================  ===========================================  ==================================

The estimates are the negated critic losses: the GAN discriminator loss is the halved binary
cross-entropy, so its estimate is :math:`-2 J^{(D)}`; the f-GAN and WGAN critic losses are the
negated bounds themselves (for WGAN-GP without the penalty).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch import Tensor

import divergences as dv
from divergences import losses

__all__ = ["FGanGame", "Game", "GanGame", "WGanGPGame", "WGanGame", "make_game"]


class Game(ABC):
    """The two objectives of an adversarial game and the critic's estimate of its divergence."""

    #: name of the estimated quantity in the metrics
    estimate_name: str = "divergence_estimate"

    @abstractmethod
    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        """Loss the critic minimises (without any regulariser)."""

    @abstractmethod
    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        """Loss the generator minimises."""

    def estimate(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        """The critic's variational estimate (the negated critic loss, see the module docstring)."""
        return -self.critic_loss(real_scores, fake_scores)

    def regulariser(
        self,
        critic: Callable[[Tensor], Tensor],
        real: Tensor,
        fake: Tensor,
        generator: torch.Generator,
    ) -> Tensor | None:
        """A term added to the critic loss (WGAN-GP's penalty), or ``None``."""
        return None

    def after_critic_step(self, critic: torch.nn.Module) -> None:  # noqa: B027 - optional hook
        """Applied after each critic update (WGAN's weight clipping); nothing by default."""


class GanGame(Game):
    """The GAN game of Goodfellow et al. (2014), minimax (saturating) or non-saturating."""

    estimate_name = "gan_value_estimate"

    def __init__(self, saturating: bool) -> None:
        self.saturating = saturating

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return losses.gan_discriminator_loss(real_scores, fake_scores)

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return losses.gan_generator_loss(fake_scores, saturating=self.saturating)

    def estimate(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return -2 * self.critic_loss(real_scores, fake_scores)


class FGanGame(Game):
    """f-GAN (Nowozin et al., 2016) for any :class:`divergences.FDivergence`."""

    def __init__(self, divergence: dv.FDivergence, alternative: bool = False) -> None:
        self.divergence = divergence
        self.alternative = alternative
        self.estimate_name = f"{divergence.name}_estimate"
        # Emit the torch functions now, in grad mode: a divergence that cannot be emitted fails
        # when the run is built, not at its first (no-grad) evaluation.
        with torch.enable_grad():
            emitted = divergence.torch
            emitted.activation_term, emitted.conjugate_of_activation_term  # noqa: B018

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return losses.fgan_critic_loss(self.divergence, real_scores, fake_scores)

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return losses.fgan_generator_loss(
            self.divergence, fake_scores, alternative=self.alternative
        )


class _WassersteinGame(Game):
    """The WGAN losses shared by :class:`WGanGame` and :class:`WGanGPGame`; the critic's
    estimate is the Kantorovich-Rubinstein bound on :math:`W_1`."""

    estimate_name = "w1_estimate"

    def critic_loss(self, real_scores: Tensor, fake_scores: Tensor) -> Tensor:
        return losses.wgan_critic_loss(real_scores, fake_scores)

    def generator_loss(self, fake_scores: Tensor) -> Tensor:
        return losses.wgan_generator_loss(fake_scores)


class WGanGame(_WassersteinGame):
    """WGAN with weight clipping (Arjovsky et al., 2017)."""

    def __init__(self, clip: float) -> None:
        self.clip = clip

    def after_critic_step(self, critic: torch.nn.Module) -> None:
        losses.clip_weights_(critic, self.clip)


class WGanGPGame(_WassersteinGame):
    """WGAN with a gradient penalty (Gulrajani et al., 2017); no clipping."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def regulariser(
        self,
        critic: Callable[[Tensor], Tensor],
        real: Tensor,
        fake: Tensor,
        generator: torch.Generator,
    ) -> Tensor | None:
        return losses.gradient_penalty(critic, real, fake, weight=self.weight, generator=generator)


def make_game(
    model: str,
    *,
    divergence: dv.FDivergence | None = None,
    fgan_alternative: bool = False,
    clip: float = 0.01,
    gp_weight: float = 10.0,
) -> Game:
    """The game of a model name (``gan``, ``gan-ns``, ``fgan``, ``wgan``, ``wgan-gp``)."""
    if model == "gan":
        return GanGame(saturating=True)
    if model == "gan-ns":
        return GanGame(saturating=False)
    if model == "fgan":
        if divergence is None:
            raise ValueError("model 'fgan' needs a divergence")
        return FGanGame(divergence, alternative=fgan_alternative)
    if model == "wgan":
        return WGanGame(clip)
    if model == "wgan-gp":
        return WGanGPGame(gp_weight)
    raise ValueError(f"no adversarial game for model {model!r}")
