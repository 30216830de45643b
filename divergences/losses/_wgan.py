r"""Wasserstein GAN losses: the critic/generator objectives and the two Lipschitz constraints.

The critic :math:`f` estimates the Kantorovich-Rubinstein dual of the earth mover's distance,

.. math::

    W_1(p_{\text{data}}, p_g) = \sup_{\lVert f \rVert_L \le 1}
        \mathbb E_{x \sim p_{\text{data}}}[f(x)] - \mathbb E_{\tilde x \sim p_g}[f(\tilde x)],

and the 1-Lipschitz constraint is enforced either by weight clipping (:func:`clip_weights_`,
Arjovsky et al. 2017) or by a gradient penalty (:func:`gradient_penalty`, Gulrajani et al. 2017).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import torch
from torch import Tensor, nn

from divergences.errors import InputError
from divergences.numeric._checks import check_compatible, check_same_shape, check_scores
from divergences.numeric.precision import working_dtype

__all__ = ["clip_weights_", "gradient_penalty", "wgan_critic_loss", "wgan_generator_loss"]


def wgan_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    r"""Critic loss of the WGAN: the negated dual objective.

    .. math::

        L_{\text{critic}} = \mathbb E_{z}\big[f(G(z))\big] - \mathbb E_{x}\big[f(x)\big]

    Minimising it over 1-Lipschitz critics makes :math:`-L_{\text{critic}}` an estimate of
    :math:`W_1(p_{\text{data}}, p_g)`.

    Args:
        real_scores: critic outputs on data samples, any non-empty shape (mean over all elements).
        fake_scores: critic outputs on generated samples, any non-empty shape; same dtype/device.

    Returns:
        Scalar loss, to be minimised by the critic.

    Raises:
        InputError: non-tensor, non-floating or empty scores, or mismatched dtype/device.

    References:
        Arjovsky, Chintala & Bottou, *Wasserstein GAN*, ICML 2017, Algorithm 1.

    Example:
        >>> import torch
        >>> from divergences.losses import wgan_critic_loss
        >>> wgan_critic_loss(torch.tensor([3.0, 5.0]), torch.tensor([1.0]))
        tensor(-3.)
    """
    check_scores("real_scores", real_scores)
    check_scores("fake_scores", fake_scores)
    check_compatible(("real_scores", real_scores), ("fake_scores", fake_scores))
    return fake_scores.mean() - real_scores.mean()


def wgan_generator_loss(fake_scores: Tensor) -> Tensor:
    r"""Generator loss of the WGAN.

    .. math::

        L_G = -\mathbb E_{z}\big[f(G(z))\big]

    Args:
        fake_scores: critic outputs on generated samples, any non-empty shape.

    Returns:
        Scalar loss, to be minimised by the generator.

    Raises:
        InputError: non-tensor, non-floating or empty scores.

    References:
        Arjovsky, Chintala & Bottou, *Wasserstein GAN*, ICML 2017, Algorithm 1.

    Example:
        >>> import torch
        >>> from divergences.losses import wgan_generator_loss
        >>> wgan_generator_loss(torch.tensor([1.0, 2.0]))
        tensor(-1.5000)
    """
    check_scores("fake_scores", fake_scores)
    return -fake_scores.mean()


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    weight: float = 10.0,
    one_sided: bool = False,
    generator: torch.Generator | None = None,
    target: float = 1.0,
) -> Tensor:
    r"""WGAN-GP gradient penalty on random interpolates between real and generated samples.

    .. math::

        \hat x_i = \epsilon_i x_i + (1 - \epsilon_i) \tilde x_i,
            \quad \epsilon_i \sim U[0, 1],
        \qquad
        \text{GP} = \lambda \, \frac1N \sum_{i=1}^N
            \Big(\frac{\lVert \nabla_{\hat x} f(\hat x_i) \rVert_2}{\gamma} - 1\Big)^2

    with the target gradient norm :math:`\gamma` (``target``, 1 in the paper: the penalty then is
    :math:`\lambda \frac1N \sum_i (\lVert \nabla f(\hat x_i) \rVert - 1)^2`). Another target asks
    for a :math:`\gamma`-Lipschitz critic; the norm is divided by :math:`\gamma` as in TF-GAN's
    ``wasserstein_gradient_penalty(..., target=)``, so a critic scaled by :math:`\gamma` gets the
    penalty its unscaled version gets at target 1 (the form of Karras et al. 2018, too).

    One :math:`\epsilon_i` per sample, broadcast over its other dimensions; the norm is taken per
    sample over all non-batch dimensions (not over the whole batch). With ``one_sided=True`` only
    gradients steeper than the target are penalised, :math:`\lambda \frac1N \sum_i
    \max(0, \lVert\nabla f(\hat x_i)\rVert / \gamma - 1)^2` (Petzka et al. 2018).

    The gradient is taken with ``create_graph=True``, so the penalty backpropagates into the
    critic's parameters; add it to :func:`wgan_critic_loss`. ``real`` and ``fake`` are detached:
    the penalty is a regulariser of the critic and sends no gradient to the generator. The norm's
    gradient is zero, not NaN, where the critic's input gradient vanishes. Because the penalty is
    per sample, the critic must not mix samples (no batch normalisation; Gulrajani et al. use layer
    normalisation).

    Args:
        critic: callable mapping a batch ``(N, ...)`` to one score per sample, ``(N,)`` or
            ``(N, 1)``.
        real: data samples, shape ``(N, ...)``, floating point.
        fake: generated samples, same shape, dtype and device as ``real``.
        weight: :math:`\lambda \ge 0`, 10 in the paper.
        one_sided: penalise only gradient norms above the target.
        generator: optional :class:`torch.Generator` for :math:`\epsilon` (drawn on its device,
            then moved to the samples' device), for reproducible penalties.
        target: :math:`\gamma > 0`, the gradient norm the penalty pulls towards (default 1).

    Returns:
        Scalar penalty in the samples' dtype (the norm is accumulated in at least float32).

    Raises:
        InputError: mismatched shapes/dtypes/devices, an empty batch, a negative or non-finite
            weight, a target that is not a finite number > 0, a non-callable critic, or a critic
            that does not return one score per sample.

    References:
        Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville, *Improved Training of Wasserstein GANs*,
        NeurIPS 2017, Algorithm 1; Petzka, Fischer & Lukovnicov, *On the regularization of
        Wasserstein GANs*, ICLR 2018; Karras, Aila, Laine & Lehtinen, *Progressive Growing of
        GANs*, ICLR 2018 (a target :math:`\gamma \ne 1`); TF-GAN
        ``tfgan.losses.wasserstein_gradient_penalty``.

    Example:
        >>> import torch
        >>> from divergences.losses import gradient_penalty
        >>> critic = torch.nn.Linear(3, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = critic.weight.copy_(torch.tensor([[0.0, 3.0, 4.0]]))  # gradient norm 5
        >>> gradient_penalty(critic, torch.randn(8, 3), torch.randn(8, 3))  # 10 * (5 - 1)^2
        tensor(160., grad_fn=<MulBackward0>)
        >>> gradient_penalty(critic, torch.randn(8, 3), torch.randn(8, 3), target=2.0)
        tensor(22.5000, grad_fn=<MulBackward0>)
    """
    if not callable(critic):
        raise InputError(f"critic must be callable (e.g. an nn.Module), got {type(critic)}")
    check_scores("real", real)
    check_scores("fake", fake)
    check_same_shape(("real", real), ("fake", fake))
    check_compatible(("real", real), ("fake", fake))
    if real.ndim == 0:
        raise InputError("real and fake must have a batch dimension, shape (N, ...), got a scalar")
    _check_non_negative("weight", weight)
    if not _is_finite_real(target) or target <= 0:
        raise InputError(f"target must be a finite number > 0, got {target!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise InputError(f"generator must be a torch.Generator or None, got {type(generator)}")

    batch = real.shape[0]
    per_sample_shape = (batch,) + (1,) * (real.ndim - 1)
    if generator is None:
        epsilon = torch.rand(per_sample_shape, dtype=real.dtype, device=real.device)
    else:
        epsilon = torch.rand(per_sample_shape, generator=generator, device=generator.device)
        epsilon = epsilon.to(device=real.device, dtype=real.dtype)

    with torch.enable_grad():
        interpolates = epsilon * real.detach() + (1 - epsilon) * fake.detach()
        interpolates.requires_grad_(True)
        scores = critic(interpolates)
        _check_per_sample_scores(scores, batch)
        gradient = _input_gradient(scores, interpolates)

    norm_dtype = working_dtype(real.dtype)
    # vector_norm's backward is exactly 0 where the norm is 0 (it masks the division), so a critic
    # that is flat at some interpolate gives a finite penalty gradient.
    norms = torch.linalg.vector_norm(gradient.reshape(batch, -1), dim=1, dtype=norm_dtype)
    excess = norms - 1 if target == 1 else norms / target - 1
    if one_sided:
        excess = torch.relu(excess)
    return (weight * excess.square().mean()).to(real.dtype)


def clip_weights_(module: nn.Module, c: float) -> None:
    r"""Clamp every parameter of ``module`` to :math:`[-c, c]`, in place (WGAN weight clipping).

    .. math::

        w \leftarrow \operatorname{clip}(w, -c, c) \quad \text{for every parameter } w

    Call it after each critic optimiser step. The clamp is done under :func:`torch.no_grad`, so it
    is not recorded by autograd. Buffers (e.g. batch-norm statistics) are left alone.

    Args:
        module: the critic.
        c: clipping threshold, a finite real number ``> 0`` (0.01 in the paper).

    Raises:
        InputError: ``module`` is not an :class:`torch.nn.Module` or ``c`` is not a positive
            finite number.

    References:
        Arjovsky, Chintala & Bottou, *Wasserstein GAN*, ICML 2017, Algorithm 1 (line 7).

    Example:
        >>> import torch
        >>> from divergences.losses import clip_weights_
        >>> layer = torch.nn.Linear(2, 1)
        >>> with torch.no_grad():
        ...     _ = layer.weight.copy_(torch.tensor([[0.5, -0.003]]))
        >>> clip_weights_(layer, 0.01)
        >>> layer.weight
        Parameter containing:
        tensor([[ 0.0100, -0.0030]], requires_grad=True)
    """
    if not isinstance(module, nn.Module):
        raise InputError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not _is_finite_real(c) or c <= 0:
        raise InputError(f"the clipping threshold c must be a finite number > 0, got {c!r}")
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.clamp_(-c, c)


def _input_gradient(scores: Tensor, interpolates: Tensor) -> Tensor:
    """d(sum of scores)/d(interpolates), kept in the graph; zeros if the critic ignores x."""
    if not scores.requires_grad:
        return torch.zeros_like(interpolates)
    (gradient,) = torch.autograd.grad(
        scores.sum(), interpolates, create_graph=True, allow_unused=True
    )
    return torch.zeros_like(interpolates) if gradient is None else gradient


def _check_per_sample_scores(scores: object, batch: int) -> None:
    if not isinstance(scores, Tensor) or not scores.is_floating_point():
        raise InputError(f"critic must return a floating-point torch.Tensor, got {scores!r:.80}")
    if scores.ndim == 0 or scores.shape[0] != batch or scores.numel() != batch:
        raise InputError(
            f"critic must return one score per sample, shape ({batch},) or ({batch}, 1), "
            f"got shape {tuple(scores.shape)}"
        )


def _check_non_negative(name: str, value: object) -> None:
    if not _is_finite_real(value) or value < 0:
        raise InputError(f"{name} must be a finite number >= 0, got {value!r}")


def _is_finite_real(value: object) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
