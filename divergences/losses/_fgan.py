r"""f-GAN losses (Nowozin, Cseke and Tomioka, *f-GAN*, NeurIPS 2016), for any f-divergence.

The critic outputs a raw score :math:`V_\omega(x) \in \mathbb R`; the output activation
:math:`g_f` maps it into the domain of the conjugate :math:`f^*`, and the variational
(Fenchel) lower bound of :math:`D_f(P \| Q_\theta)` is the saddle-point objective (paper, Eq. 6)

.. math::

    F(\theta, \omega) = \mathbb E_{x \sim P}\big[g_f(V_\omega(x))\big]
        - \mathbb E_{x \sim Q_\theta}\big[f^*(g_f(V_\omega(x)))\big] \le D_f(P \| Q_\theta),

maximised by the critic and minimised by the generator. Both terms come from the emitted
functions of :mod:`divergences.numeric.emit`: :math:`f^* \circ g_f` is composed and simplified
*symbolically* (e.g. :math:`e^{v-1}` for ``kl``, :math:`\operatorname{softplus}(v)` for ``gan``),
so no conjugate is ever applied to a rounded or saturated activation. Each term is written
:math:`a + b\, G(v)` and its mean as :math:`a + b\, \overline{G(v)}`: the constant is added once,
and the mean is accurate to a few ulps of :math:`|a| + |b \overline{G}|`. Where the constant would
cancel (terms that vanish at ``v = 0``: ``1 - e^{-v}`` for ``neyman`` and ``squared_hellinger``,
``(softplus(v) - log 2)/2`` for ``js``) it is carried inside the core instead (``expm1``, a
centred softplus; :class:`~divergences.numeric.emit.AffineTerm`), so the loss keeps its relative
accuracy next to ``v = 0``. Means of exponentials are finite whenever they are representable.
Where the symbolic core has a known shape (exponentials, softplus, ``js_weighted``'s
:math:`\log(1 - e^{-e^{H}})`, ``jeffrey``'s Wright-omega conjugate, a clamped quadratic) its mean
is one fused autograd Function with a closed-form backward (:mod:`divergences.losses._plan`):
the same value in fewer passes over the data, with no more memory than the one-line formula.

Inputs in float16/bfloat16 are computed in float32 and the loss is rounded once to the input
dtype; losses and gradients are free of NaN for raw scores up to :math:`|v| = 10^4` and finite
wherever the exact value is representable (``tests/losses/test_fgan_losses.py``). Where both
means overflow towards the same infinity (e.g. ``neyman`` with very negative real and fake
scores), the critic loss is the infinity of the larger one, compared in log space.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
from torch import Tensor

from divergences.errors import InputError
from divergences.fdivergence import FDivergence, get
from divergences.losses._plan import TermMean, plan
from divergences.numeric._checks import check_compatible, check_scores
from divergences.numeric.precision import upcast

__all__ = ["fgan_critic_loss", "fgan_generator_loss"]

F = TypeVar("F", bound=Callable[..., object])


class _Prepared:
    """Prepared terms as attributes named by key (see :func:`_prepare`): Dynamo reads an
    attribute of an object when the traced code asks for it, so it sees the entries that
    ``_prepare`` adds at trace time (a dict would be captured once, without later entries)."""


_PREPARED = _Prepared()


def _assume_constant_result(fn: F) -> F:
    """``torch.compiler.assume_constant_result(fn)`` without importing Dynamo (0.8 s) with the
    package: that decorator only sets the flag below, which Dynamo reads when it traces a call
    of ``fn`` (``tests/losses/test_fgan_losses.py`` checks that the two mark alike)."""
    fn._dynamo_marked_constant = True  # type: ignore[attr-defined]
    return fn


@_assume_constant_result
def _prepare(d: FDivergence | str) -> str:
    """Emit the terms of ``d`` (once) into :data:`_TERMS` and return their key.

    Under ``torch.compile`` this runs when the function is traced, not inside the graph: the
    emission is SymPy work (and ``functools.cached_property`` takes a lock that Dynamo cannot
    enter), so a compiled training step may call the loss before any eager call. The key
    (``id`` of the shared :class:`~divergences.numeric.emit.Emitted` object) is a constant of the
    graph; Dynamo guards on the divergence passed.
    """
    if isinstance(d, str):
        d = get(d)  # one object per name
    elif not isinstance(d, FDivergence):
        raise InputError(f"d must be an FDivergence or a registered name, got {type(d).__name__}")
    emitted = d.torch
    key = f"terms_{id(emitted)}"  # one Emitted object per generator, kept alive here
    if not hasattr(_PREPARED, key):
        terms = (plan(emitted, "activation"), plan(emitted, "conjugate_of_activation"))
        setattr(_PREPARED, key, terms)
    return key


def _terms(d: FDivergence | str) -> tuple[TermMean, TermMean]:
    """``(g_f, f* o g_f)`` of ``d`` with their means (built once per divergence,
    :func:`divergences.losses._plan.plan`)."""
    return getattr(_PREPARED, _prepare(d))


def fgan_critic_loss(d: FDivergence | str, v_real: Tensor, v_fake: Tensor) -> Tensor:
    r"""Critic loss of the f-GAN: the saddle-point objective negated, to be minimised.

    .. math::

        L_{\text{critic}} = -\Big(\overline{g_f(v_{\text{real}})}
            - \overline{f^*(g_f(v_{\text{fake}}))}\Big) = -F(\theta, \omega)

    so :math:`-L_{\text{critic}} \le D_f(P \| Q_\theta)` for every critic (the variational
    bound), with equality at :math:`g_f(V(x)) = f'(p(x)/q(x))` (paper, Eq. 5).

    For ``gan`` (:math:`f(1) = -\log 4`), :math:`-L_{\text{critic}}` estimates
    :math:`D_{\text{gan}} = 2\,\mathrm{JS}(P \| Q) - \log 4 \in [-\log 4, 0]`, the value of the
    original GAN game at the optimal discriminator: it is ``-log 4`` (not 0) when the generator
    is perfect, and :math:`-L_{\text{critic}} + \log 4` estimates :math:`2\,\mathrm{JS}`.

    Args:
        d: an :class:`~divergences.FDivergence` or a registered name (``"kl"``, ``"js"``, ...).
        v_real: raw critic scores on data samples, any non-empty shape (mean over all elements).
        v_fake: raw critic scores on generated samples, any non-empty shape (its batch size may
            differ); same dtype and device as ``v_real``.

    Returns:
        Scalar loss in the scores' dtype.

    Raises:
        InputError: non-tensor, non-floating or empty scores, mismatched dtype/device, ``d``
            neither an FDivergence nor a name.
        KeyError: an unknown divergence name (the message lists the registered names).

    References:
        Nowozin, Cseke and Tomioka, *f-GAN: Training Generative Neural Samplers using
        Variational Divergence Minimization*, NeurIPS 2016, Eq. (6) and Table 2.

    Example:
        >>> import torch
        >>> from divergences.losses import fgan_critic_loss
        >>> # kl: g_f(v) = v, f*(g_f(v)) = exp(v - 1); at v = 1: -(1 - 1) = 0
        >>> fgan_critic_loss("kl", torch.ones(3), torch.ones(3))
        tensor(0.)
    """
    check_scores("v_real", v_real)
    check_scores("v_fake", v_fake)
    check_compatible(("v_real", v_real), ("v_fake", v_fake))
    return _critic_loss(v_real, v_fake, *_terms(d))


@upcast
def _critic_loss(
    v_real: Tensor, v_fake: Tensor, real_term: TermMean, fake_term: TermMean
) -> Tensor:
    if _may_cancel_infinities(real_term, fake_term):
        # both means may overflow to the same infinity: the larger one decides the sign
        fake, log_fake = fake_term.mean_and_log_magnitude(v_fake)
        real, log_real = real_term.mean_and_log_magnitude(v_real)
        return _Difference.apply(fake, real, log_fake >= log_real)
    return fake_term.mean(v_fake) - real_term.mean(v_real)


class _Difference(torch.autograd.Function):
    """``fake - real``, with ``inf - inf`` resolved by ``fake_wins``; the gradient is that of
    ``fake - real`` (``+1``, ``-1``), so no ``0 * inf`` reaches the terms' backward."""

    generate_vmap_rule = True

    @staticmethod
    def forward(fake: Tensor, real: Tensor, fake_wins: Tensor) -> Tensor:
        same = torch.isinf(fake) & (fake == real)
        return torch.where(same, torch.where(fake_wins, fake, -real), fake - real)

    @staticmethod
    def setup_context(ctx: object, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        pass

    @staticmethod
    def backward(ctx: object, grad: Tensor) -> tuple[Tensor, Tensor, None]:
        return grad, -grad, None


def _may_cancel_infinities(real_term: TermMean, fake_term: TermMean) -> bool:
    """Both means can overflow (exponential cores) towards the same infinity."""
    both_exponential = real_term.exponential and fake_term.exponential
    return both_exponential and (real_term.factor > 0) == (fake_term.factor > 0)


def fgan_generator_loss(d: FDivergence | str, v_fake: Tensor, alternative: bool = False) -> Tensor:
    r"""Generator loss of the f-GAN, saddle-point (default) or the paper's alternative form.

    .. math::

        L_G^{\text{saddle}} = -\overline{f^*(g_f(v_{\text{fake}}))}, \qquad
        L_G^{\text{alt}} = -\overline{g_f(v_{\text{fake}})}

    The saddle-point form minimises :math:`F(\theta, \omega)` over the generator (only its second
    term depends on :math:`\theta`). The alternative maximises
    :math:`\mathbb E_{Q_\theta}[g_f(V_\omega(x))]` instead (paper, Section 3.2), which like the
    non-saturating GAN loss gives stronger gradients early in training; for ``gan`` it is
    exactly the non-saturating loss :math:`\overline{\operatorname{softplus}(-v)}`.

    Args:
        d: an :class:`~divergences.FDivergence` or a registered name.
        v_fake: raw critic scores on generated samples, any non-empty shape.
        alternative: use the alternative objective of Section 3.2.

    Returns:
        Scalar loss in the scores' dtype, to be minimised by the generator.

    Raises:
        InputError: non-tensor, non-floating or empty scores, ``d`` neither an FDivergence nor
            a name.
        KeyError: an unknown divergence name (the message lists the registered names).

    References:
        Nowozin, Cseke and Tomioka, *f-GAN*, NeurIPS 2016, Eq. (6) and Section 3.2.

    Example:
        >>> import torch
        >>> from divergences.losses import fgan_generator_loss
        >>> v = torch.tensor([0.0, 2.0])
        >>> fgan_generator_loss("gan", v, alternative=True)  # mean softplus(-v)
        tensor(0.4100)
    """
    check_scores("v_fake", v_fake)
    real_term, fake_term = _terms(d)
    return _generator_loss(v_fake, real_term if alternative else fake_term)


@upcast
def _generator_loss(v_fake: Tensor, term: TermMean) -> Tensor:
    return -term.mean(v_fake)
