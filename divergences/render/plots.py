r"""Plots of a divergence's derived quantities, drawn with matplotlib as deterministic SVG.

One figure per divergence, six panels, every value computed by the torch functions the library
emitted from the derivation (``d.torch``) in float64, so the picture shows what a training loop
would compute:

* :math:`f(u)` on :math:`(0, 4]` with :math:`f(1)` marked;
* :math:`f^*(t)` on its domain, the upper end :math:`b` marked closed (a filled dot, the value is
  finite there) or open (a dashed line, :math:`f^* \to \infty`);
* :math:`g_f(v)` with the domain's end it approaches;
* :math:`f^*(g_f(v))`, the term of the f-GAN loss;
* the Fenchel-Young gap :math:`f(u) + f^*(t) - u t \ge 0` for :math:`t = f'(u_0)`, which touches
  zero at :math:`u = u_0`;
* the optimal critic :math:`T^*(r) = f'(r)`.

The SVG is reproducible: no date in its metadata, ids from a fixed ``svg.hashsalt``, text kept as
text (``svg.fonttype = "none"``). :func:`svg_data_uri` turns it into a ``data:`` URI for an
``<img>``, which the pages' Content-Security-Policy allows (an inline ``<svg>`` would carry
``style`` attributes that the policy forbids).
"""

from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..fdivergence import FDivergence

__all__ = ["RC", "divergence_figure", "divergence_svg", "svg", "svg_data_uri"]

#: matplotlib settings for every figure (deterministic, text as text, no display needed)
RC: dict[str, object] = {
    "svg.hashsalt": "divergences-report",
    "svg.fonttype": "none",
    "font.size": 9.0,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 10.0,
    "lines.linewidth": 1.6,
    "path.simplify": True,
}
_COLOR = "#0b5cad"
_END = "#cf222e"


def svg(fig: Figure) -> str:
    """The figure as SVG text, without a date (same input, same bytes)."""
    import matplotlib

    with matplotlib.rc_context(RC):
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def svg_data_uri(text: str) -> str:
    """``data:image/svg+xml;base64,...`` for ``<img src>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")


def _as_float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _finite_limits(ax: object, values: np.ndarray, top_quantile: float = 0.97) -> None:
    """y-limits that show the curve's shape when it blows up at an end of the range."""
    finite = values[np.isfinite(values)]
    if finite.size < 2:
        return
    low, high = float(finite.min()), float(np.quantile(finite, top_quantile))
    if high <= low:
        high = low + 1.0
    pad = 0.08 * (high - low)
    ax.set_ylim(low - pad, high + pad)  # type: ignore[attr-defined]


def divergence_figure(d: FDivergence) -> Figure:
    """The six-panel figure of ``d`` (see the module docstring); no pyplot, no display.

    Raises whatever emitting ``d``'s torch functions raises (a
    :class:`~divergences.errors.DerivationError` when a form search runs out of budget).
    """
    import matplotlib
    import torch
    from matplotlib.figure import Figure

    emitted = d.torch

    def call(fn: object, x: np.ndarray) -> np.ndarray:
        out = fn(torch.as_tensor(x, dtype=torch.float64))  # type: ignore[operator]
        return out.detach().numpy().astype(float)

    domain = d.conjugate_domain
    end = _as_float(domain.end)
    end_open = bool(domain.right_open)
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(10.5, 6.0))
        axes = fig.subplots(2, 3)
        (a_f, a_conj, a_act), (a_comp, a_gap, a_crit) = axes

        x = np.concatenate([np.geomspace(1e-4, 0.05, 40), np.linspace(0.05, 4.0, 240)[1:]])
        fx = call(emitted.generator, x)
        a_f.plot(x, fx, color=_COLOR)
        one = call(emitted.generator, np.array([1.0]))[0]
        a_f.plot([1.0], [one], "o", color="black", ms=4)
        a_f.annotate(f"f(1) = {one:.4g}", (1.0, one), textcoords="offset points", xytext=(6, -12))
        a_f.set_title("generator f(u), u > 0")
        a_f.set_xlabel("u")
        _finite_limits(a_f, fx)

        slope = call(emitted.optimal_critic, np.array([1.0]))[0]
        center = slope if math.isfinite(slope) else 0.0
        if math.isfinite(end):
            width = max(4.0, 2.0 * abs(end - center))
            hi = end - (1e-3 * width if end_open else 0.0)
            ts = np.linspace(end - width, hi, 300)
        else:
            ts = np.linspace(center - 4.0, center + 4.0, 300)
        fs = call(emitted.conjugate, ts)
        a_conj.plot(ts, fs, color=_COLOR)
        if math.isfinite(end):
            if end_open:
                a_conj.axvline(end, color=_END, ls="--", lw=1.0)
                label = f"b = {end:.4g} (open: f* -> oo)"
            else:
                value = call(emitted.conjugate, np.array([end]))[0]
                a_conj.axvline(end, color=_END, ls="-", lw=0.8, alpha=0.6)
                a_conj.plot([end], [value], "o", color=_END, ms=5)
                label = f"b = {end:.4g} (closed: f*(b) = {value:.4g})"
            a_conj.annotate(label, (0.02, 0.92), xycoords="axes fraction", color=_END, fontsize=8)
        else:
            a_conj.annotate("dom f* = R", (0.02, 0.92), xycoords="axes fraction", fontsize=8)
        a_conj.set_title("conjugate f*(t) on its domain")
        a_conj.set_xlabel("t")
        _finite_limits(a_conj, fs)

        vs = np.linspace(-6.0, 6.0, 241)
        gs = call(emitted.activation, vs)
        a_act.plot(vs, gs, color=_COLOR)
        if math.isfinite(end):
            a_act.axhline(end, color=_END, ls="--" if end_open else "-", lw=1.0)
        a_act.set_title("output activation g_f(v)")
        a_act.set_xlabel("v (raw critic output)")
        _finite_limits(a_act, gs, 1.0)

        cs = call(emitted.conjugate_of_activation, vs)
        a_comp.plot(vs, cs, color=_COLOR)
        a_comp.set_title("f*(g_f(v)), the f-GAN loss term")
        a_comp.set_xlabel("v")
        _finite_limits(a_comp, cs)

        anchors = np.array([0.5, 1.0, 2.0])
        slopes = call(emitted.optimal_critic, anchors)
        conj = call(emitted.conjugate, slopes)
        for u0, t0, c0 in zip(anchors, slopes, conj, strict=True):
            gap = fx + c0 - x * t0
            a_gap.plot(x, gap, label=f"t = f'({u0:g}) = {t0:.3g}")
            a_gap.plot([u0], [0.0], "o", color="black", ms=3)
        a_gap.axhline(0.0, color="black", lw=0.6)
        a_gap.set_title("Fenchel-Young gap f(u) + f*(t) - ut")
        a_gap.set_xlabel("u")
        a_gap.legend(fontsize=7, loc="upper right")
        top = max(1.0, float(np.nanmax(np.where(np.isfinite(fx), np.abs(fx), np.nan))) * 0.5)
        a_gap.set_ylim(-0.05 * top, top)

        rs = x
        crit = call(emitted.optimal_critic, rs)
        a_crit.plot(rs, crit, color=_COLOR)
        a_crit.set_title("optimal critic T*(r) = f'(r), r = p/q")
        a_crit.set_xlabel("r")
        _finite_limits(a_crit, crit)
        fig.subplots_adjust(left=0.06, right=0.99, bottom=0.08, top=0.95, wspace=0.25, hspace=0.38)
    return fig


def _plot_fingerprint() -> str:
    """The code a plot depends on: this module, the emitter and the numeric primitives."""
    from pathlib import Path

    from ..symbolic.cache import source_fingerprint

    here = Path(__file__).parent
    return source_fingerprint(Path(__file__), here.parent / "numeric")


def divergence_svg(d: FDivergence) -> str:
    """The SVG text of :func:`divergence_figure`, cached with the derivations.

    The plot is a pure function of the derivation, the emitter's code, this module and the
    matplotlib and torch versions, so it is stored under those in the disk cache
    (:func:`divergences.symbolic.cache.cached`); a cached plot is only a picture (shown through
    ``<img>``, where an SVG can run nothing), never a certificate.
    """
    import matplotlib
    import sympy as sp
    import torch

    from ..symbolic.cache import cached

    derived = d.derived
    parts = (
        "report-plot",
        sp.srepr(derived.generator.expr),
        sp.srepr(derived.conjugate.expr),
        sp.srepr(derived.conjugate.domain),
        sp.srepr(derived.activation),
        sp.srepr(derived.optimal_critic),
        f"matplotlib {matplotlib.__version__}",
        f"torch {torch.__version__}",
    )

    def compute() -> str:
        return svg(divergence_figure(d))

    return cached(
        parts,
        compute,
        fingerprint=_plot_fingerprint(),
        check=lambda value: isinstance(value, str) and value.lstrip().startswith("<?xml"),
    )
