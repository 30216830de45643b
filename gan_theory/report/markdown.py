"""The Markdown derivation report of the registered divergences.

For every divergence: the generator, the derivation of its conjugate step by step, the domain, the
output activation (and where it came from), the optimal critic and the certificate table; then the
propositions of GAN theory with their checked steps (:mod:`.propositions`). Math is written as
``$...$`` LaTeX, which GitHub and most Markdown viewers render. The whole report (HTML, this
Markdown and JSON) is written by :func:`gan_theory.report.write_report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sympy as sp

import divergences as dv
from divergences.symbolic.symbols import r, t, u, v

from ._format import cell as _cell
from ._format import code as _code
from ._format import latex as _latex
from ._format import math as _m
from ._format import optimal_discriminator
from ._format import steps_table as _steps_table
from ._format import text as _text
from .propositions import propositions_section

if TYPE_CHECKING:
    from ..propositions import Proposition

__all__ = ["REPORTED", "registry_report", "reported_divergences"]

#: what the report covers: every registered name with its defaults, plus more family members
REPORTED: tuple[tuple[str, dict[str, object]], ...] = (
    *((name, {}) for name in dv.names()),
    ("alpha", {"alpha": -1}),
    ("alpha", {"alpha": 2}),
    ("js_weighted", {"pi": 0.3}),
)


def _title(d: dv.FDivergence) -> str:
    params = ", ".join(f"{sp.latex(sp.Symbol(k))} = {sp.latex(x)}" for k, x in d.parameters.items())
    return _code(d.entry.name) + (f" (${params}$)" if params else "")


def _section(d: dv.FDivergence) -> list[str]:
    f = d.generator
    lines = [
        f"## {_title(d)}",
        "",
        f"{_text(d.description)}. Reference: {_text(d.reference)}.",
        "",
        f"- generator: $f(u) = {sp.latex(f(u))}$, $u > 0$"
        + (f" (offset $f(1) = {sp.latex(d.offset)}$)" if d.has_offset else ""),
        f"- divergence: $D_f(P \\| Q) = {_latex(d.formula)}$",
        f"- range: {_m(d.value_range)}; symmetric: {'yes' if d.symmetric else 'no'}",
        "",
        "### Derivation of the conjugate $f^*(t) = \\sup_{u > 0} (u t - f(u))$",
        "",
    ]
    for i, step in enumerate(d.derivation, 1):
        lines.append(f"{i}. {_text(step.description)}: {_m(step.result)}")
    lines += [
        "",
        "### Result",
        "",
        f"- conjugate: $f^*(t) = {sp.latex(d.conjugate(t))}$",
        f"- domain: $\\operatorname{{dom}} f^* = {sp.latex(d.conjugate_domain)}$",
        f"- output activation: $g_f(v) = {sp.latex(d.activation(v))}$ "
        f"({_text(d.activation_source)})",
        f"- optimal critic: $T^*(r) = f'(r) = {sp.latex(d.optimal_critic(r))}$, $r = p/q$",
        "",
        "### Certificate",
        "",
        *_steps_table(d.steps),
        "",
    ]
    return lines


def _discriminator_section() -> list[str]:
    d_star, derivation, steps = optimal_discriminator()
    lines = [
        "## The optimal discriminator",
        "",
        "For fixed $G$, the GAN value is $\\int p_{data}(x) \\log D(x) + p_g(x) \\log(1 - D(x))\\,"
        "dx$; it is maximised pointwise (Goodfellow et al. 2014, Prop. 1) with "
        "$a = p_{data}(x)$, $b = p_g(x)$.",
        "",
    ]
    for i, step in enumerate(derivation, 1):
        lines.append(f"{i}. {step.description}: {_m(step.result)}")
    lines += ["", f"Result: $D^* = {sp.latex(d_star.expr)}$.", "", *_steps_table(steps), ""]
    return lines


def registry_report(
    divergences: Sequence[dv.FDivergence] | None = None,
    propositions: Sequence[Proposition] | None = None,
    *,
    discriminator: bool = True,
) -> str:
    """The Markdown report: a summary table, the optimal discriminator, one section per
    divergence, then the propositions (all reported ones by default)."""
    if divergences is None:
        divergences = reported_divergences()
    passed = sum(step.passed for d in divergences for step in d.steps)
    total = sum(len(d.steps) for d in divergences)
    numeric = sum(not step.symbolic for d in divergences for step in d.steps)
    lines = [
        "# Derivation report: f-divergences and their f-GAN quantities",
        "",
        "Every conjugate below was derived by the library's Legendre-Fenchel engine from the "
        "generator alone, over $u > 0$; none was typed in. Each derivation carries a certificate: "
        "a step is `symbolic` when a SymPy simplification reached zero or decided the relation, "
        "and `numeric` (with precision and grid) when SymPy could not decide.",
        "",
        f"Certificate steps passed: **{passed} / {total}** ({numeric} checked numerically).",
        "",
        "Note: the f-GAN paper (Nowozin et al. 2016, Table 2) lists the Jensen-Shannon generator "
        "without the factor 1/2, i.e. 2 JS; here `js` is the standard JS, bounded by log 2. The "
        "table also gives the Pearson and total-variation conjugates of f extended to all reals; "
        "over $u > 0$ they are piecewise, as derived below.",
        "",
        "| divergence | $f(u)$ | $f^*(t)$ | domain | $g_f(v)$ | checks |",
        "|---|---|---|---|---|---|",
    ]
    for d in divergences:
        ok = sum(step.passed for step in d.steps)
        lines.append(
            f"| {_title(d)} | {_cell(_m(d.generator(u)))} | {_cell(_m(d.conjugate(t)))} | "
            f"{_cell(_m(d.conjugate_domain))} | {_cell(_m(d.activation(v)))} | "
            f"{ok}/{len(d.steps)} |"
        )
    lines.append("")
    if discriminator:
        lines += _discriminator_section()
    for d in divergences:
        lines += _section(d)
    if propositions is None or propositions:
        lines += propositions_section(propositions)
    return "\n".join(lines)


def reported_divergences() -> list[dv.FDivergence]:
    """The divergences of :data:`REPORTED`, derived (or read from the cache)."""
    return [dv.get(name, **params) for name, params in REPORTED]
