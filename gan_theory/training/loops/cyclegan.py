r"""CycleGAN between two domains X and Y (Zhu et al., 2017).

Networks: translators :math:`G: X \to Y` and :math:`F: Y \to X`, discriminators :math:`D_Y` on
Y and :math:`D_X` on X. Both use the least-squares adversarial loss of the paper (Section 4):
each discriminator minimises

.. math::

    \tfrac12\, \overline{(D(\text{real}) - 1)^2} + \tfrac12\, \overline{D(\text{translated})^2},

and the translators jointly minimise :func:`divergences.losses.cyclegan_objective`
(least-squares adversarial terms plus :math:`\lambda` times the two L1 cycle losses). Batches of
X and Y are drawn independently (unpaired training). One generator step is ``k`` discriminator
steps followed by one translator step (none when ``lr_g = 0`` freezes the translators).
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import torch
from torch import Tensor

from divergences.losses import cyclegan_objective

from ..config import TrainConfig
from ..data import PairedDomains
from ..metrics import cycle_error, distance_to_data
from .base import Loop, StepContext, checked_update, require_finite
from .builders import build_discriminator, build_optimiser, build_translator

__all__ = ["CycleGanLoop", "least_squares_discriminator_loss"]


def least_squares_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    r"""LSGAN loss :math:`\tfrac12\overline{(v_r - 1)^2} + \tfrac12\overline{v_f^2}`."""
    return 0.5 * (real_scores - 1).square().mean() + 0.5 * fake_scores.square().mean()


class CycleGanLoop(Loop):
    """Two translators and two discriminators on a :class:`PairedDomains` data set."""

    def __init__(self, config: TrainConfig, data: PairedDomains, device: torch.device) -> None:
        super().__init__()
        self.config = config
        self.data = data
        self.device = device
        self.critic_steps = config.critic_steps
        self.batch_size = config.batch_size
        self.cycle_weight = config.cycle_weight
        self.trains_generator = config.trains_generator
        self.nets = {
            "g_xy": build_translator(config, data).to(device),
            "f_yx": build_translator(config, data).to(device),
            "d_x": build_discriminator(config, data).to(device),
            "d_y": build_discriminator(config, data).to(device),
        }
        self.wrapped = dict(self.nets)
        self.translator_parameters = [
            *self.nets["g_xy"].parameters(),
            *self.nets["f_yx"].parameters(),
        ]
        spec = config.optimiser()
        translators = chain(self.nets["g_xy"].parameters(), self.nets["f_yx"].parameters())
        critics = chain(self.nets["d_x"].parameters(), self.nets["d_y"].parameters())
        self.optimisers = {
            "translators": build_optimiser(spec, translators, spec.lr_g),
            "discriminators": build_optimiser(spec, critics, spec.lr_d),
        }

    def _batch(
        self, generator: torch.Generator, n: int, held_out: bool = False
    ) -> tuple[Tensor, Tensor]:
        xs, ys = (
            (self.data.held_out_x, self.data.held_out_y) if held_out else (self.data.x, self.data.y)
        )
        return xs.sample(n, generator).to(self.device), ys.sample(n, generator).to(self.device)

    def train_step(self, ctx: StepContext) -> dict[str, float]:
        g, f = self.nets["g_xy"], self.nets["f_yx"]
        d_x, d_y = self.nets["d_x"], self.nets["d_y"]
        w = self.wrapped
        opt_t, opt_d = self.optimisers["translators"], self.optimisers["discriminators"]
        n = self.batch_size
        loss_d = float("nan")
        for _ in range(self.critic_steps):
            x, y = self._batch(ctx.streams.data, n)
            with torch.no_grad():
                fake_y, fake_x = g(x), f(y)
            scores_y = w["d_y"](torch.cat([y, fake_y]))
            scores_x = w["d_x"](torch.cat([x, fake_x]))
            loss = least_squares_discriminator_loss(
                scores_y[:n], scores_y[n:]
            ) + least_squares_discriminator_loss(scores_x[:n], scores_x[n:])
            loss_d = checked_update(
                ctx,
                "loss_d",
                loss,
                opt_d,
                inputs={"x": x, "y": y, "g_xy output": fake_y, "f_yx output": fake_x},
                state=self.named_state,
            )
        if not self.trains_generator:  # lr_g = 0: frozen translators
            return {"loss_d": loss_d}

        x, y = self._batch(ctx.streams.data, n)
        fake_y, fake_x = w["g_xy"](x), w["f_yx"](y)
        loss = cyclegan_objective(
            d_y(fake_y),
            d_x(fake_x),
            x,
            f(fake_y),
            y,
            g(fake_x),
            cycle_weight=self.cycle_weight,
            adversarial="least_squares",
        )
        loss_g = checked_update(
            ctx,
            "loss_g",
            loss,
            opt_t,
            self.translator_parameters,
            inputs={"g_xy output": fake_y, "f_yx output": fake_x},
            state=self.named_state,
        )
        return {"loss_d": loss_d, "loss_g": loss_g}

    @torch.no_grad()
    def evaluate(self, generator: torch.Generator, n: int) -> dict[str, float]:
        """The metrics; the samples and translations are checked first (an exploded translator
        is a divergence, reported by the trainer, not a metric's input error)."""
        g, f = self.nets["g_xy"], self.nets["f_yx"]
        x, y = self._batch(generator, n, held_out=True)
        fake_y = require_finite("g_xy output", g(require_finite("data sample x", x)))
        fake_x = require_finite("f_yx output", f(require_finite("data sample y", y)))
        error_x = cycle_error(x, f(fake_y))
        error_y = cycle_error(y, g(fake_x))
        return {
            "cycle_error": 0.5 * (error_x + error_y),
            "cycle_error_x": error_x,
            "cycle_error_y": error_y,
            "sliced_w1_xy": distance_to_data(fake_y, y, generator),
            "sliced_w1_yx": distance_to_data(fake_x, x, generator),
        }

    @torch.no_grad()
    def plot_samples(self, generator: torch.Generator, n: int) -> dict[str, Any]:
        g, f = self.nets["g_xy"], self.nets["f_yx"]
        x, y = self._batch(generator, n, held_out=True)
        fake_y = g(x)
        return {
            "kind": "paired",
            "x": x.cpu(),
            "y": y.cpu(),
            "g_x": fake_y.cpu(),
            "f_y": f(y).cpu(),
            "f_g_x": f(fake_y).cpu(),
        }
