r"""Plots for the propositions where a picture helps, as deterministic SVG (see
:mod:`divergences.render.plots` for the settings). Values come from the library where it has
them (``dv.js``, the GAN losses through torch autograd), in float64.

* ``optimal_discriminator``: two densities and :math:`D^*(x) = p_{data}/(p_{data} + p_g)`;
* ``js_bounds``: :math:`\mathrm{JS}` of Bernoulli pairs between the bounds 0 and
  :math:`\log 2`, reached on disjoint supports;
* ``disjoint_supports``: JS and :math:`W_1` between parallel lines as :math:`\theta` varies;
* ``saturation``: the generator's gradient for the minimax and non-saturating losses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PLOTS", "proposition_svg"]


def _figure(width: float = 7.5, height: float = 3.2, panels: int = 1) -> tuple[Figure, list]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    axes = fig.subplots(1, panels)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.88, wspace=0.28)
    return fig, list(np.atleast_1d(axes))


def _optimal_discriminator() -> Figure:
    import torch

    x = torch.linspace(-4.0, 5.0, 361, dtype=torch.float64)
    normal_data = torch.distributions.Normal(0.0, 1.0)
    normal_g = torch.distributions.Normal(1.5, 0.8)
    log_p, log_q = normal_data.log_prob(x), normal_g.log_prob(x)
    d_star = torch.sigmoid(log_p - log_q)  # p / (p + q) in logits
    fig, (ax,) = _figure()
    xs = x.numpy()
    ax.plot(xs, log_p.exp().numpy(), label="p_data = N(0, 1)")
    ax.plot(xs, log_q.exp().numpy(), label="p_g = N(1.5, 0.8^2)")
    ax.plot(xs, d_star.numpy(), color="black", lw=2.0, label="D*(x) = p_data / (p_data + p_g)")
    ax.axhline(0.5, color="grey", ls=":", lw=1.0)
    ax.set_title("The optimal discriminator for two densities")
    ax.set_xlabel("x")
    ax.legend(fontsize=7, loc="center left")
    return fig


def _js_bounds() -> Figure:
    import torch

    import divergences as dv

    b = torch.linspace(0.0, 1.0, 201, dtype=torch.float64)
    fig, (ax,) = _figure()
    for a in (0.0, 0.2, 0.5):
        p = torch.tensor([a, 1.0 - a], dtype=torch.float64).expand(b.shape[0], 2)
        q = torch.stack([b, 1.0 - b], dim=-1)
        ax.plot(b.numpy(), dv.js(p, q).numpy(), label=f"JS(Bernoulli({a:g}) || Bernoulli(b))")
    ax.axhline(math.log(2.0), color="black", ls="--", lw=1.0)
    ax.axhline(0.0, color="black", lw=0.6)
    ax.annotate(
        "log 2 (disjoint supports)",
        (0.3, math.log(2.0)),
        xytext=(0, 4),
        textcoords="offset points",
        fontsize=8,
    )
    ax.set_ylim(-0.03, 0.78)
    ax.set_title("Jensen-Shannon divergence between 0 and log 2 (dv.js)")
    ax.set_xlabel("b")
    ax.legend(fontsize=7, loc="center right")
    return fig


def _disjoint_supports() -> Figure:
    import torch

    import divergences as dv

    theta = np.linspace(-1.0, 1.0, 201)
    apart = dv.js(
        torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)
    )
    js = np.where(theta == 0.0, 0.0, float(apart))
    fig, (ax,) = _figure()
    ax.plot(theta, js, ".", ms=2.5, label="JS(P, Q_theta): log 2 for theta != 0, 0 at 0")
    ax.plot([0.0], [0.0], "o", color="C0", ms=4)
    ax.plot(theta, np.abs(theta), label="W1(P, Q_theta) = |theta|")
    ax.set_title("Parallel lines: JS jumps, W1 is continuous")
    ax.set_xlabel("theta")
    ax.legend(fontsize=7, loc="upper center")
    return fig


def _saturation() -> Figure:
    import torch

    from divergences.losses import gan_generator_loss

    v = torch.linspace(-8.0, 8.0, 161, dtype=torch.float64, requires_grad=True)
    fig, (ax,) = _figure()
    for saturating, label in (
        (True, "minimax: d/dv log(1 - sigmoid(v))"),
        (False, "non-saturating: d/dv [-log sigmoid(v)]"),
    ):
        (grad,) = torch.autograd.grad(gan_generator_loss(v, saturating=saturating) * v.numel(), v)
        ax.plot(v.detach().numpy(), grad.numpy(), label=label)
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_title("Generator gradient as the discriminator rejects samples (v -> -oo)")
    ax.set_xlabel("v, the discriminator's logit on a generated sample")
    ax.legend(fontsize=7, loc="lower right")
    return fig


#: proposition name -> (figure builder, caption)
PLOTS: dict[str, tuple[Callable[[], Figure], str]] = {
    "optimal_discriminator": (
        _optimal_discriminator,
        "Two Gaussian densities and the optimal discriminator between them, computed in logits "
        "as sigmoid(log p_data - log p_g): it is 1/2 where the densities cross.",
    ),
    "js_bounds": (
        _js_bounds,
        "JS between Bernoulli distributions, computed by dv.js: always in [0, log 2], zero when "
        "b = a, log 2 only for disjoint supports (a = 0, b = 1).",
    ),
    "disjoint_supports": (
        _disjoint_supports,
        "Arjovsky et al.'s parallel lines: JS (dv.js on the disjoint supports) is log 2 for every "
        "theta != 0, so it gives no gradient, while W1 = |theta| is continuous.",
    ),
    "saturation": (
        _saturation,
        "Gradients of the library's generator losses (torch autograd): the minimax loss's "
        "vanishes as v -> -oo, the non-saturating one tends to -1.",
    ),
}


def proposition_svg(name: str) -> str | None:
    """The SVG of proposition ``name``'s plot (``None`` when it has none), cached on disk like
    the divergences' plots."""
    if name not in PLOTS:
        return None
    import matplotlib
    import torch

    from divergences.render.plots import RC, svg
    from divergences.symbolic.cache import cached, source_fingerprint

    build, _ = PLOTS[name]

    def compute() -> str:
        with matplotlib.rc_context(RC):
            return svg(build())

    here = Path(__file__)
    fingerprint = source_fingerprint(
        here,
        here.parents[2] / "divergences" / "render" / "plots.py",
        here.parents[2] / "divergences" / "numeric",
        here.parents[2] / "divergences" / "losses",
    )
    return cached(
        (
            "report-proposition-plot",
            name,
            f"matplotlib {matplotlib.__version__}",
            f"torch {torch.__version__}",
        ),
        compute,
        fingerprint=fingerprint,
        check=lambda value: isinstance(value, str) and value.lstrip().startswith("<?xml"),
    )
