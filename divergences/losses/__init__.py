"""Training losses for GANs: all are means over the batch, to be minimised.

Logits and scores are raw (pre-sigmoid) discriminator/critic outputs.
"""

from divergences.losses._cycle import cycle_consistency_loss as cycle_consistency_loss
from divergences.losses._cycle import cyclegan_objective as cyclegan_objective
from divergences.losses._fgan import fgan_critic_loss as fgan_critic_loss
from divergences.losses._fgan import fgan_generator_loss as fgan_generator_loss
from divergences.losses._gan import gan_discriminator_loss as gan_discriminator_loss
from divergences.losses._gan import gan_generator_loss as gan_generator_loss
from divergences.losses._wgan import clip_weights_ as clip_weights_
from divergences.losses._wgan import gradient_penalty as gradient_penalty
from divergences.losses._wgan import wgan_critic_loss as wgan_critic_loss
from divergences.losses._wgan import wgan_generator_loss as wgan_generator_loss

__all__ = [
    "clip_weights_",
    "cycle_consistency_loss",
    "cyclegan_objective",
    "fgan_critic_loss",
    "fgan_generator_loss",
    "gan_discriminator_loss",
    "gan_generator_loss",
    "gradient_penalty",
    "wgan_critic_loss",
    "wgan_generator_loss",
]
