r"""CycleGAN losses: cycle consistency and the full generator objective (Zhu et al., 2017).

Two generators :math:`G: X \to Y` and :math:`F: Y \to X`, two discriminators :math:`D_Y` (on
domain Y) and :math:`D_X` (on domain X). Cycle consistency asks
:math:`F(G(x)) \approx x` and :math:`G(F(y)) \approx y`.
"""

from __future__ import annotations

import math
import numbers
from typing import Literal

from torch import Tensor

from divergences.errors import InputError
from divergences.losses._gan import gan_generator_loss
from divergences.numeric._checks import check_compatible, check_same_shape, check_scores

__all__ = ["cycle_consistency_loss", "cyclegan_objective"]

AdversarialKind = Literal["least_squares", "non_saturating", "minimax"]
_ADVERSARIAL_KINDS = ("least_squares", "non_saturating", "minimax")


def cycle_consistency_loss(x: Tensor, x_reconstructed: Tensor) -> Tensor:
    r"""Mean absolute reconstruction error of one cycle.

    .. math::

        L_{\text{cyc}}(x, \hat x) = \frac{1}{|x|} \sum_k \lvert \hat x_k - x_k \rvert

    the mean over all elements (batch, channels, pixels) of the L1 error, as in the reference
    implementation (``torch.nn.L1Loss``).

    Args:
        x: original samples, any non-empty shape, e.g. images ``(N, C, H, W)``.
        x_reconstructed: the round trip, e.g. ``F(G(x))``; exactly the shape, dtype and device
            of ``x`` (no broadcasting).

    Returns:
        Scalar loss.

    Raises:
        InputError: shape, dtype or device mismatch; non-floating or empty inputs.

    References:
        Zhu, Park, Isola & Efros, *Unpaired Image-to-Image Translation using Cycle-Consistent
        Adversarial Networks*, ICCV 2017, Eq. (2).

    Example:
        >>> import torch
        >>> from divergences.losses import cycle_consistency_loss
        >>> cycle_consistency_loss(torch.zeros(2, 2), torch.tensor([[1.0, -1.0], [0.0, 2.0]]))
        tensor(1.)
    """
    check_scores("x", x)
    check_scores("x_reconstructed", x_reconstructed)
    check_same_shape(("x", x), ("x_reconstructed", x_reconstructed))
    check_compatible(("x", x), ("x_reconstructed", x_reconstructed))
    return (x_reconstructed - x).abs().mean()


def cyclegan_objective(
    fake_y_scores: Tensor,
    fake_x_scores: Tensor,
    x: Tensor,
    x_reconstructed: Tensor,
    y: Tensor,
    y_reconstructed: Tensor,
    *,
    cycle_weight: float = 10.0,
    adversarial: AdversarialKind = "least_squares",
) -> Tensor:
    r"""The CycleGAN objective minimised jointly by the two generators G and F.

    .. math::

        L(G, F) = L_{\text{adv}}\big(D_Y(G(x))\big) + L_{\text{adv}}\big(D_X(F(y))\big)
            + \lambda \Big( \overline{\lvert F(G(x)) - x \rvert}
                           + \overline{\lvert G(F(y)) - y \rvert} \Big)

    where the generator's adversarial term on raw discriminator scores :math:`v` is

    - ``"least_squares"`` (default, LSGAN, what the paper trains with, Section 4):
      :math:`L_{\text{adv}} = \overline{(v - 1)^2}`;
    - ``"non_saturating"``: :math:`L_{\text{adv}} = -\overline{\log\sigma(v)}
      = \overline{\operatorname{softplus}(-v)}`, as :func:`gan_generator_loss`;
    - ``"minimax"``: :math:`L_{\text{adv}} = \overline{\log(1 - \sigma(v))}
      = -\overline{\operatorname{softplus}(v)}`, the generator's side of Eq. (1) of the paper.

    Means run over all elements (a PatchGAN discriminator returns a map of scores per image).
    The discriminators are trained separately, on their own losses.

    Args:
        fake_y_scores: :math:`D_Y(G(x))`, raw scores of domain Y's discriminator on translated x.
        fake_x_scores: :math:`D_X(F(y))`, raw scores of domain X's discriminator on translated y.
        x: a batch from domain X.
        x_reconstructed: :math:`F(G(x))`, same shape as ``x``.
        y: a batch from domain Y.
        y_reconstructed: :math:`G(F(y))`, same shape as ``y``.
        cycle_weight: :math:`\lambda \ge 0`, 10 in the paper.
        adversarial: which adversarial loss, see above.

    Returns:
        Scalar objective, to be minimised by G and F together.

    Raises:
        InputError: any check of :func:`cycle_consistency_loss` fails for either cycle, scores are
            non-floating or empty, dtypes/devices differ, ``cycle_weight`` is negative or not
            finite, or ``adversarial`` is unknown.

    References:
        Zhu, Park, Isola & Efros, *Unpaired Image-to-Image Translation using Cycle-Consistent
        Adversarial Networks*, ICCV 2017, Eqs. (1)-(3) and Section 4; Mao et al., *Least Squares
        Generative Adversarial Networks*, ICCV 2017.

    Example:
        >>> import torch
        >>> from divergences.losses import cyclegan_objective
        >>> ones, images = torch.ones(2), torch.zeros(2, 3, 4, 4)
        >>> # Discriminators fooled (score 1) and perfect cycles: the objective is 0.
        >>> cyclegan_objective(ones, ones, images, images, images, images)
        tensor(0.)
        >>> cyclegan_objective(ones, ones, images, images + 0.5, images, images)
        tensor(5.)
    """
    if adversarial not in _ADVERSARIAL_KINDS:
        raise InputError(f"adversarial must be one of {_ADVERSARIAL_KINDS}, got {adversarial!r}")
    if (
        not isinstance(cycle_weight, numbers.Real)
        or isinstance(cycle_weight, bool)
        or not math.isfinite(float(cycle_weight))
        or cycle_weight < 0
    ):
        raise InputError(f"cycle_weight must be a finite number >= 0, got {cycle_weight!r}")
    check_scores("fake_y_scores", fake_y_scores)
    check_scores("fake_x_scores", fake_x_scores)
    check_compatible(("fake_y_scores", fake_y_scores), ("fake_x_scores", fake_x_scores))

    adversarial_y = _generator_adversarial(fake_y_scores, adversarial)
    adversarial_x = _generator_adversarial(fake_x_scores, adversarial)
    cycle_x = cycle_consistency_loss(x, x_reconstructed)
    cycle_y = cycle_consistency_loss(y, y_reconstructed)
    return adversarial_y + adversarial_x + cycle_weight * (cycle_x + cycle_y)


def _generator_adversarial(scores: Tensor, kind: AdversarialKind) -> Tensor:
    if kind == "least_squares":
        return (scores - 1).square().mean()
    return gan_generator_loss(scores, saturating=kind == "minimax")
