r"""The loop shared by GAN, f-GAN, WGAN and WGAN-GP: k critic steps, then one generator step.

One generator step (Goodfellow et al. 2014, Algorithm 1; Arjovsky et al. 2017, Algorithm 1;
Gulrajani et al. 2017, Algorithm 1):

1. ``k`` times: draw a real batch :math:`x \sim P` and latent codes :math:`z`, generate
   :math:`\tilde x = G(z)` without gradient, score both in one critic call, minimise the game's
   critic loss (plus the penalty for WGAN-GP), then apply the game's post-step (clipping for WGAN);
2. draw fresh codes, minimise the game's generator loss through the (fixed) critic, updating the
   generator's parameters only (skipped when ``lr_g = 0``: the generator is frozen).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..config import TrainConfig
from ..data import Dataset
from ..metrics import distance_to_data, mode_report
from .base import Loop, StepContext, checked_update, require_finite
from .builders import build_discriminator, build_generator, build_optimiser
from .games import Game, make_game

__all__ = ["AdversarialLoop"]


class AdversarialLoop(Loop):
    """Generator ``G`` against critic ``D`` under a :class:`~.games.Game`."""

    def __init__(self, config: TrainConfig, data: Dataset, device: torch.device) -> None:
        super().__init__()
        self.config = config
        self.data = data
        self.device = device
        self.game: Game = make_game(
            config.model,
            divergence=config.fdivergence() if config.model == "fgan" else None,
            fgan_alternative=config.fgan_alternative,
            clip=config.clip,
            gp_weight=config.gp_weight,
        )
        self.latent_dim = config.resolved_latent_dim(data)
        self.critic_steps = config.critic_steps
        self.trains_generator = config.trains_generator
        self.batch_size = config.batch_size
        self.nets = {
            "generator": build_generator(config, data).to(device),
            "critic": build_discriminator(config, data).to(device),
        }
        self.wrapped = dict(self.nets)
        # the generator update backpropagates into these only (the critic gets no gradient)
        self.generator_parameters = list(self.nets["generator"].parameters())
        spec = config.optimiser()
        self.optimisers = {
            "generator": build_optimiser(spec, self.nets["generator"].parameters(), spec.lr_g),
            "critic": build_optimiser(spec, self.nets["critic"].parameters(), spec.lr_d),
        }

    # -- sampling --
    def _real(self, n: int, generator: torch.Generator) -> Tensor:
        return self.data.sample(n, generator).to(self.device)

    def _latent(self, n: int, generator: torch.Generator) -> Tensor:
        return torch.randn((n, self.latent_dim), generator=generator).to(self.device)

    # -- training --
    def train_step(self, ctx: StepContext) -> dict[str, float]:
        generator, critic = self.nets["generator"], self.nets["critic"]
        critic_ddp, generator_ddp = self.wrapped["critic"], self.wrapped["generator"]
        opt_g, opt_d = self.optimisers["generator"], self.optimisers["critic"]
        n = self.batch_size
        loss_d = float("nan")
        for _ in range(self.critic_steps):
            real = self._real(n, ctx.streams.data)
            with torch.no_grad():
                fake = generator(self._latent(n, ctx.streams.noise))
            scores = critic_ddp(torch.cat([real, fake]))
            loss = self.game.critic_loss(scores[:n], scores[n:])
            penalty = self.game.regulariser(critic, real, fake, ctx.streams.penalty)
            if penalty is not None:
                loss = loss + penalty
            loss_d = checked_update(
                ctx,
                "loss_d",
                loss,
                opt_d,
                inputs={"real batch": real, "generator output": fake},
                state=self.named_state,
            )
            self.game.after_critic_step(critic)
        if not self.trains_generator:  # lr_g = 0: a frozen generator, the critic alone learns
            return {"loss_d": loss_d}

        fake = generator_ddp(self._latent(n, ctx.streams.noise))
        loss = self.game.generator_loss(critic(fake))
        loss_g = checked_update(
            ctx,
            "loss_g",
            loss,
            opt_g,
            self.generator_parameters,
            inputs={"generator output": fake},
            state=self.named_state,
        )
        return {"loss_d": loss_d, "loss_g": loss_g}

    # -- evaluation --
    @torch.no_grad()
    def evaluate(self, generator: torch.Generator, n: int) -> dict[str, float]:
        """The metrics; the samples are checked first (an exploded generator is a divergence,
        reported by the trainer, not a metric's input error)."""
        real = require_finite("data sample", self._real(n, generator))
        fake = self.nets["generator"](self._latent(n, generator))
        fake = require_finite("generator output", fake)
        metrics: dict[str, float] = {}
        key = "w1" if self.data.dim == 1 else "sliced_w1"
        metrics[key] = distance_to_data(fake, real, generator)
        if self.data.modes is not None:
            report = mode_report(fake, self.data.modes, self.config.coverage_fraction)
            metrics["modes_covered"] = report.covered
            metrics["modes_total"] = report.total
            metrics["high_quality"] = report.high_quality
        critic = self.nets["critic"]
        metrics[self.game.estimate_name] = float(self.game.estimate(critic(real), critic(fake)))
        gen = self.nets["generator"]
        if hasattr(gen, "scale") and self.data.dim == 1:
            metrics["gen_mean"] = float(gen.mean[0])
            metrics["gen_scale"] = float(gen.scale[0])
        return metrics

    @torch.no_grad()
    def plot_samples(self, generator: torch.Generator, n: int) -> dict[str, Any]:
        real = self._real(n, generator).cpu()
        fake = self.nets["generator"](self._latent(n, generator)).cpu()
        return {"kind": "single", "real": real, "fake": fake, "modes": self.data.modes}
