r"""f-GAN and GAN losses, forward + backward on 10^6 float32 scores, against naive torch one-liners.

Run: ``.venv/bin/pytest benchmarks/bench_fgan_losses.py --benchmark-only -o
python_files='bench_*.py'``; ratios: see :mod:`benchmarks.ratios` (target: library at most 1.2x
the naive expression).

For every registered divergence (``alpha`` at its default 1/2, ``js_weighted`` at pi = 1/2) the
library's ``fgan_critic_loss`` and ``fgan_generator_loss`` (saddle-point form) are timed against
the same formula typed here as a one-line torch expression,

.. math::

    L_{\text{critic}} = \overline{f^*(g_f(v_{\text{fake}}))} - \overline{g_f(v_{\text{real}})},
    \qquad L_G = -\overline{f^*(g_f(v_{\text{fake}}))},

with :math:`g_f` and :math:`f^*` from Nowozin, Cseke and Tomioka, *f-GAN*, NeurIPS 2016, Table 6,
and :math:`f^* \circ g_f` simplified by hand (e.g. ``kl``: :math:`e^{v-1}`; ``reverse_kl``:
:math:`-1 - \log e^{-v} = v - 1`): the naive side gets the algebra a careful person would do, so
it is the harder peer. Where the library's convention differs from the paper's table, the naive
formula follows the library (read from ``d.activation`` and ``d.conjugate``):

* ``js`` is the standard Jensen-Shannon divergence, half the paper's: :math:`g_f(v) =
  \tfrac12(\log 2 - \operatorname{softplus}(-v))` and :math:`f^*(t) = -\tfrac12 \log(2 - e^{2t})`,
  so :math:`f^*(g_f(v)) = \tfrac12(\operatorname{softplus}(v) - \log 2)`;
* ``pearson``: :math:`f = (u-1)^2` on :math:`u \ge 0` has :math:`f^*(t) = t^2/4 + t` for
  :math:`t > -2` and :math:`-1` below (the paper's table omits the branch);
* ``alpha`` (a = 1/2, :math:`f = 2(\sqrt u - 1)^2`, not in the paper's table): :math:`g_f(v) = 2 -
  e^{-v}`, :math:`f^*(t) = 4/(2 - t) - 2`, so :math:`f^*(g_f(v)) = 4 e^v - 2`;
* ``js_weighted`` (pi = 1/2): :math:`g_f(v) = \tfrac12 \log 2 - e^{-v}`, :math:`f^*` as ``js``;
* ``jeffrey``: :math:`f^*(t) = W(e^{1-t}) + 1/W(e^{1-t}) + t - 2`. torch has no Lambert W, so the
  naive side computes it once with six Newton steps from :math:`\log(1 + x)` (the fewest that
  reach float32 accuracy for :math:`|v| \le 12`); this row is informative rather than a
  like-for-like one-liner.

``log(1 + exp(x))`` is written ``F.softplus(x)``, the one-liner a torch user types. The GAN
discriminator and non-saturating generator losses are timed against
``F.binary_cross_entropy_with_logits`` with the labels built outside the timed call.

Before timing, each pair is checked to give the same loss and the same gradients.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

import divergences as dv
from benchmarks.ratios import AT_MOST_1_2X, mark
from divergences.losses import (
    fgan_critic_loss,
    fgan_generator_loss,
    gan_discriminator_loss,
    gan_generator_loss,
)

N_SCORES = 1_000_000
# Each call takes a few ms to tens of ms: a fixed number of rounds after a warm-up (which also
# builds the emitted functions) gives stable medians without pytest-benchmark's calibration.
ROUNDS = 30
WARMUP = 3
LN2 = math.log(2.0)

Elementwise = Callable[[Tensor], Tensor]


def _lambertw(x: Tensor, steps: int = 6) -> Tensor:
    """Principal Lambert W for ``x >= 0`` by Newton's method from ``log(1 + x)`` (six steps:
    relative error 1.5e-7 against mpmath for ``x = exp(1 - v)``, ``|v| <= 12``)."""
    w = torch.log1p(x)
    for _ in range(steps):
        ew = torch.exp(w)
        w = w - (w * ew - x) / (ew * (w + 1))
    return w


#: name -> (g_f(v), f*(g_f(v))), typed from Nowozin et al. 2016, Table 6 (see the module docstring)
NAIVE: dict[str, tuple[Elementwise, Elementwise]] = {
    "kl": (lambda v: v, lambda v: torch.exp(v - 1)),
    "reverse_kl": (lambda v: -torch.exp(-v), lambda v: v - 1),
    "pearson": (lambda v: v, lambda v: torch.where(v > -2, v * v / 4 + v, -1.0)),
    "neyman": (lambda v: 1 - torch.exp(-v), lambda v: 2 - 2 * torch.exp(-v / 2)),
    "squared_hellinger": (lambda v: 1 - torch.exp(-v), lambda v: torch.exp(v) - 1),
    "jeffrey": (lambda v: v, lambda v: (w := _lambertw(torch.exp(1 - v))) + 1 / w + v - 2),
    "js": (lambda v: (LN2 - F.softplus(-v)) / 2, lambda v: (F.softplus(v) - LN2) / 2),
    "gan": (lambda v: -F.softplus(-v), lambda v: F.softplus(v)),
    "total_variation": (lambda v: torch.tanh(v) / 2, lambda v: torch.tanh(v) / 2),
    "alpha": (lambda v: 2 - torch.exp(-v), lambda v: 4 * torch.exp(v) - 2),
    "js_weighted": (
        lambda v: LN2 / 2 - torch.exp(-v),
        lambda v: -torch.log(2 - 2 * torch.exp(-2 * torch.exp(-v))) / 2,
    ),
}

NAMES = dv.names()
assert set(NAIVE) == set(NAMES), f"a naive formula is needed for each of {NAMES}"


@pytest.fixture(scope="module")
def scores() -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(0)
    v_real = torch.randn(N_SCORES, generator=generator) * 2 + 0.5
    v_fake = torch.randn(N_SCORES, generator=generator) * 2 - 0.5
    return v_real.requires_grad_(), v_fake.requires_grad_()


def forward_backward(loss: Callable[..., Tensor], *scores: Tensor) -> tuple[Tensor, ...]:
    """The loss and its gradients (``autograd.grad``: nothing accumulates between rounds)."""
    value = loss(*scores)
    return (value.detach(), *torch.autograd.grad(value, scores))


def check_same(library: Callable[..., Tensor], naive: Callable[..., Tensor], *scores) -> None:
    ours, theirs = forward_backward(library, *scores), forward_backward(naive, *scores)
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    for got, expected in zip(ours[1:], theirs[1:], strict=True):
        scale = float(expected.abs().max())
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5 * scale)


def run(benchmark, loss: Callable[..., Tensor], *scores: Tensor) -> None:
    benchmark.pedantic(
        forward_backward,
        args=(loss, *scores),
        rounds=ROUNDS,
        iterations=1,
        warmup_rounds=WARMUP,
    )


def _losses(name: str) -> dict[str, tuple[Callable[..., Tensor], Callable[..., Tensor], int]]:
    """kind -> (library loss, naive loss, number of score tensors)."""
    d = dv.get(name)
    g, conj = NAIVE[name]
    return {
        "critic": (
            lambda v_real, v_fake: fgan_critic_loss(d, v_real, v_fake),
            lambda v_real, v_fake: conj(v_fake).mean() - g(v_real).mean(),
            2,
        ),
        "generator": (
            lambda v_fake: fgan_generator_loss(d, v_fake),
            lambda v_fake: -conj(v_fake).mean(),
            1,
        ),
    }


# library and naive of one case are adjacent, so they see the same machine load
CASES = [
    pytest.param(name, kind, side, id=f"{kind}-{name}-{side}")
    for name in NAMES
    for kind in ("critic", "generator")
    for side in ("library", "naive")
]


@pytest.mark.parametrize(("name", "kind", "side"), CASES)
def test_fgan_loss(benchmark, scores, name: str, kind: str, side: str) -> None:
    library, naive, n_args = _losses(name)[kind]
    args = scores if n_args == 2 else scores[1:]
    if side == "library":
        check_same(library, naive, *args)
    case = f"fgan {kind} / {name}"
    label = f"fgan_{kind}_loss" if side == "library" else "naive torch"
    mark(
        benchmark,
        case=case,
        side="library" if side == "library" else "peer",
        label=label,
        target=AT_MOST_1_2X,
        group=f"{case}: fwd+bwd, 1e6 float32 scores",
    )
    run(benchmark, library if side == "library" else naive, *args)


def _bce_discriminator(real: Tensor, fake: Tensor, ones: Tensor, zeros: Tensor) -> Tensor:
    return 0.5 * (
        F.binary_cross_entropy_with_logits(real, ones)
        + F.binary_cross_entropy_with_logits(fake, zeros)
    )


GAN_CASES = [
    pytest.param(kind, side, id=f"{kind}-{side}")
    for kind in ("discriminator", "generator")
    for side in ("library", "naive")
]


@pytest.mark.parametrize(("kind", "side"), GAN_CASES)
def test_gan_loss(benchmark, scores, kind: str, side: str) -> None:
    v_real, v_fake = scores
    ones, zeros = torch.ones(N_SCORES), torch.zeros(N_SCORES)
    if kind == "discriminator":
        library: Callable[..., Tensor] = gan_discriminator_loss
        args: tuple[Tensor, ...] = (v_real, v_fake)

        def naive(real: Tensor, fake: Tensor) -> Tensor:
            return _bce_discriminator(real, fake, ones, zeros)
    else:
        library, args = gan_generator_loss, (v_fake,)

        def naive(fake: Tensor) -> Tensor:  # non-saturating: -log D(G(z))
            return F.binary_cross_entropy_with_logits(fake, ones)

    if side == "library":
        check_same(library, naive, *args)
    case = f"gan {kind}"
    mark(
        benchmark,
        case=case,
        side="library" if side == "library" else "peer",
        label=f"gan_{kind}_loss" if side == "library" else "F.binary_cross_entropy_with_logits",
        target=AT_MOST_1_2X,
        group=f"{case}: fwd+bwd, 1e6 float32 logits",
    )
    run(benchmark, library if side == "library" else naive, *args)
