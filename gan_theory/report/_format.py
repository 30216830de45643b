"""Markdown building blocks shared by the report's sections (no report logic here).

``text``, ``code`` and ``latex`` are :mod:`divergences.render.escape`'s ``markdown``, ``code`` and
``latex`` (one implementation for the report and the notebook cards).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import sympy as sp

import divergences as dv
from divergences.render import escape
from divergences.symbolic.steps import Step

__all__ = [
    "cell",
    "code",
    "latex",
    "math",
    "optimal_discriminator",
    "step_summary",
    "steps_table",
    "text",
]

#: :func:`divergences.optimal_discriminator`, derived and checked once per process (the HTML,
#: Markdown and JSON of a report show the same derivation)
optimal_discriminator = cache(dv.optimal_discriminator)


text = escape.markdown
code = escape.code
latex = escape.latex


def math(obj: sp.Basic) -> str:
    """``$latex$`` of a SymPy object (inline math in Markdown)."""
    return f"${sp.latex(obj)}$"


def cell(markdown: str) -> str:
    """``markdown`` made safe inside a table cell (pipes escaped, one line)."""
    return markdown.replace("|", "\\|").replace("\n", " ")


def steps_table(steps: Iterable[Step]) -> list[str]:
    lines = ["| # | claim | relation | checked | passed | detail |", "|---|---|---|---|---|---|"]
    for i, step in enumerate(steps, 1):
        lines.append(
            f"| {i} | {cell(text(step.description))} | {cell(math(step.relation))} | "
            f"{cell(text(step.method))} | {'yes' if step.passed else '**NO**'} | "
            f"{cell(text(step.detail))} |"
        )
    return lines


def step_summary(step: Step) -> dict[str, object]:
    """The JSON-ready record of a checked step (the columns of :func:`steps_table`)."""
    return {
        "description": step.description,
        "relation": str(step.relation),
        "method": step.method,
        "passed": step.passed,
        "detail": step.detail,
    }
