r"""A proposition's summary card for notebooks (``Proposition._repr_html_``, ``_repr_latex_``,
``_repr_markdown_``): the claim, its statement, the source and how many steps passed, with the
failed steps named. Text is escaped in every format; the statement is the proposition's LaTeX.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from divergences.render import escape
from divergences.render.mathml import latex_to_mathml

if TYPE_CHECKING:
    from ..propositions import Proposition

__all__ = ["card_html", "card_latex", "card_markdown"]


def _counts(p: Proposition) -> tuple[int, int, int]:
    steps = p.steps
    return sum(bool(s.passed) for s in steps), len(steps), sum(not s.symbolic for s in steps)


def card_html(p: Proposition) -> str:
    """The card as an HTML fragment (``<div class="proposition-card">``)."""
    passed, total, numeric = _counts(p)
    failed = "".join(f"<li>{escape.html(s.description)}</li>" for s in p.failures)
    return (
        '<div class="proposition-card">'
        f"<strong>Proposition</strong> <code>{escape.html(p.name)}</code>: "
        f"{escape.html(p.title)}"
        f"<div>{latex_to_mathml(p.statement, display=True)}</div>"
        f"<p>source: {escape.html(p.source)}</p>"
        f'<p class="steps">{passed}/{total} steps passed ({numeric} numeric)</p>'
        + (f'<ul class="failed">{failed}</ul>' if failed else "")
        + "</div>"
    )


def card_latex(p: Proposition) -> str:
    """The card as LaTeX: the name and counts as text, then the statement."""
    passed, total, numeric = _counts(p)
    return (
        f"$\\begin{{aligned}}&\\text{{{escape.latex_text(p.name)}: {passed}/{total} steps "
        f"passed ({numeric} numeric)}} \\\\ &{p.statement}\\end{{aligned}}$"
    )


def card_markdown(p: Proposition) -> str:
    """The card as Markdown: name (code span), title, statement, source and counts."""
    passed, total, numeric = _counts(p)
    lines = [
        f"**Proposition** {escape.code(p.name)}: {escape.markdown(p.title)}",
        "",
        f"$$ {p.statement} $$",
        "",
        f"- source: {escape.markdown(p.source)}",
        f"- {passed}/{total} steps passed ({numeric} numeric)",
    ]
    lines += [f"- FAILED: {escape.markdown(s.description)}" for s in p.failures]
    return "\n".join(lines)
