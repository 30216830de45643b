r"""Losses of the original GAN game (Goodfellow et al., 2014), computed from raw logits.

With the discriminator :math:`D = \sigma(v)` for a raw score (logit) :math:`v`,

.. math::

    -\log D = -\log\sigma(v) = \operatorname{softplus}(-v), \qquad
    -\log(1 - D) = -\log\sigma(-v) = \operatorname{softplus}(v),

and ``softplus`` is evaluated without overflow for any finite ``v``. The sigmoid is never formed,
so nothing saturates to ``log 0``: the losses and their gradients (``sigma(v) - 1`` and
``sigma(v)``) stay finite for ``|v|`` up to ``1e4`` in float16, bfloat16, float32 and float64.
Each mean is one autograd node with a closed-form backward
(:func:`divergences.losses._softplus_mean.softplus_mean`: one fresh tensor forward, one
backward, the same values as ``softplus(-v).mean()``), so a loss holds no more memory than
``F.binary_cross_entropy_with_logits``. Below :data:`divergences.losses._plan.FUSED_MIN_NUMEL`
elements (training batches) the means are plain autograd operations instead, whose Python
overhead is smaller than a Function's.
"""

from __future__ import annotations

from torch import Tensor

from divergences.losses import _plan
from divergences.losses._softplus_mean import softplus_mean
from divergences.numeric._checks import check_compatible, check_scores
from divergences.numeric.precision import upcast
from divergences.numeric.stable import softplus

__all__ = ["gan_discriminator_loss", "gan_generator_loss"]


def gan_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    r"""Discriminator loss of the GAN game, the binary cross-entropy halved.

    .. math::

        J^{(D)} = -\tfrac12\, \mathbb E_{x}\big[\log D(x)\big]
                  -\tfrac12\, \mathbb E_{z}\big[\log\big(1 - D(G(z))\big)\big]
                = \tfrac12\, \overline{\operatorname{softplus}(-v_{\text{real}})}
                + \tfrac12\, \overline{\operatorname{softplus}(v_{\text{fake}})}

    Its minimum over discriminators is :math:`\log 2 - \mathrm{JS}(p_{\text{data}} \Vert p_g)`,
    reached at :math:`D^* = p_{\text{data}} / (p_{\text{data}} + p_g)`.

    Args:
        real_logits: raw discriminator scores on data samples, any non-empty shape (e.g. ``(N,)``
            or ``(N, 1)``); the expectation is the mean over all elements.
        fake_logits: raw scores on generated samples, any non-empty shape (its batch size may
            differ from the real one); same dtype and device as ``real_logits``.

    Returns:
        Scalar loss, to be minimised by the discriminator, in the logits' dtype.

    Raises:
        InputError: non-tensor, non-floating or empty logits, or mismatched dtype/device.

    References:
        Goodfellow et al., *Generative Adversarial Nets*, NeurIPS 2014, Eq. (1); Goodfellow,
        *NIPS 2016 Tutorial: Generative Adversarial Networks*, arXiv:1701.00160, Eq. (8).

    Example:
        >>> import torch
        >>> from divergences.losses import gan_discriminator_loss
        >>> gan_discriminator_loss(torch.zeros(4), torch.zeros(4))  # D = 1/2 everywhere: log 2
        tensor(0.6931)
    """
    check_scores("real_logits", real_logits)
    check_scores("fake_logits", fake_logits)
    check_compatible(("real_logits", real_logits), ("fake_logits", fake_logits))
    return _discriminator_loss(real_logits, fake_logits)


@upcast
def _discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    return 0.5 * _softplus_mean(real_logits, -1.0) + 0.5 * _softplus_mean(fake_logits, 1.0)


def gan_generator_loss(fake_logits: Tensor, saturating: bool = False) -> Tensor:
    r"""Generator loss of the GAN game, non-saturating (default) or minimax ("saturating").

    .. math::

        J^{(G)}_{\text{non-sat}} = -\mathbb E_z\big[\log D(G(z))\big]
            = \overline{\operatorname{softplus}(-v_{\text{fake}})}, \qquad
        J^{(G)}_{\text{minimax}} = \mathbb E_z\big[\log\big(1 - D(G(z))\big)\big]
            = -\overline{\operatorname{softplus}(v_{\text{fake}})}

    The minimax form is the generator's side of the zero-sum game; its gradient vanishes when the
    discriminator confidently rejects the samples (:math:`v \to -\infty`), which is why
    Goodfellow et al. train with the non-saturating form.

    Args:
        fake_logits: raw discriminator scores on generated samples, any non-empty shape.
        saturating: ``True`` for the minimax loss, ``False`` (default) for the non-saturating one.

    Returns:
        Scalar loss, to be minimised by the generator, in the logits' dtype.

    Raises:
        InputError: non-tensor, non-floating or empty logits.

    References:
        Goodfellow et al., *Generative Adversarial Nets*, NeurIPS 2014, Section 3;
        Goodfellow, arXiv:1701.00160, Section 3.2.3.

    Example:
        >>> import torch
        >>> from divergences.losses import gan_generator_loss
        >>> logits = torch.tensor([-20.0, 0.0])
        >>> gan_generator_loss(logits)  # (20 + log 2) / 2
        tensor(10.3466)
        >>> gan_generator_loss(logits, saturating=True)  # -(log 2) / 2, nearly flat at -20
        tensor(-0.3466)
    """
    check_scores("fake_logits", fake_logits)
    return _generator_loss(fake_logits, saturating)


@upcast
def _generator_loss(fake_logits: Tensor, saturating: bool) -> Tensor:
    if saturating:
        return -_softplus_mean(fake_logits, 1.0)
    return _softplus_mean(fake_logits, -1.0)


def _softplus_mean(v: Tensor, slope: float) -> Tensor:
    """The mean of ``softplus(slope * v)``: fused from :data:`~._plan.FUSED_MIN_NUMEL` elements
    on, plain autograd operations below (where a Function's Python overhead costs more)."""
    if v.numel() < _plan.FUSED_MIN_NUMEL:
        return softplus(v if slope == 1.0 else -v).mean()
    return softplus_mean(v, slope)
