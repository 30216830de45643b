r"""A divergence's summary card for notebooks: ``FDivergence._repr_html_``, ``_repr_latex_`` and
``_repr_markdown_``.

The card shows the generator :math:`f`, the derived conjugate :math:`f^*`, its domain, the output
activation :math:`g_f` and the certificate count; the name is escaped in every format. The HTML
card uses MathML (rendered by the notebook's browser without a script).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sympy as sp

from ..symbolic.symbols import t, u, v
from . import escape
from .mathml import to_mathml

if TYPE_CHECKING:
    from ..fdivergence import FDivergence

__all__ = ["card_html", "card_latex", "card_markdown", "certificate_count"]


def certificate_count(d: FDivergence) -> tuple[int, int, int]:
    """``(passed, total, numeric)`` over the certificate steps of ``d``."""
    steps = d.steps
    return (
        sum(bool(s.passed) for s in steps),
        len(steps),
        sum(not s.symbolic for s in steps),
    )


def _rows(d: FDivergence) -> list[tuple[str, str, sp.Basic]]:
    """(key, LaTeX label, value) of each row of the card."""
    return [
        ("generator", "f(u)", d.generator(u)),
        ("conjugate", "f^*(t)", d.conjugate(t)),
        ("domain", r"\operatorname{dom} f^*", d.conjugate_domain),
        ("activation", "g_f(v)", d.activation(v)),
    ]


def _label(d: FDivergence) -> str:
    params = ", ".join(f"{k}={x}" for k, x in d.parameters.items())
    return f"{d.entry.name}({params})" if params else d.name


def card_html(d: FDivergence) -> str:
    """The card as an HTML fragment (a ``<div class="divergences-card">`` with a table)."""
    from .mathml import latex_to_mathml

    passed, total, numeric = certificate_count(d)
    rows = "".join(
        f'<tr class="{key}"><th>{latex_to_mathml(label)}</th><td>{to_mathml(value)}</td></tr>'
        for key, label, value in _rows(d)
    )
    return (
        '<div class="divergences-card">'
        f"<strong>FDivergence</strong> <code>{escape.html(_label(d))}</code>"
        f"<table>{rows}</table>"
        f'<p class="certificate">certificate: {passed}/{total} steps passed '
        f"({numeric} numeric)</p></div>"
    )


def card_latex(d: FDivergence) -> str:
    """The card as LaTeX (``$\\begin{array}...$``), the name in ``\\text{}``, escaped."""
    passed, total, numeric = certificate_count(d)
    lines = [rf"\text{{{escape.latex_text(_label(d))}}} \\"]
    lines += [rf"{label} &= {sp.latex(value)} \\" for _, label, value in _rows(d)]
    lines.append(
        rf"\text{{certificate}} &: \text{{{passed}/{total} steps passed ({numeric} numeric)}}"
    )
    return "$\\begin{aligned}" + " ".join(lines) + "\\end{aligned}$"


def card_markdown(d: FDivergence) -> str:
    """The card as Markdown: the name as a code span, one bullet per quantity with ``$...$``."""
    passed, total, numeric = certificate_count(d)
    lines = [f"**FDivergence** {escape.code(_label(d))}", ""]
    lines += [f"- ${label} = {sp.latex(value)}$" for _, label, value in _rows(d)]
    lines.append(f"- certificate: {passed}/{total} steps passed ({numeric} numeric)")
    return "\n".join(lines)
