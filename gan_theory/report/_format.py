"""Markdown building blocks shared by the report's sections (no report logic here)."""

from __future__ import annotations

from collections.abc import Iterable

import sympy as sp

from divergences.symbolic.steps import Step

__all__ = ["cell", "math", "step_summary", "steps_table"]


def math(obj: sp.Basic) -> str:
    """``$latex$`` of a SymPy object (inline math in Markdown)."""
    return f"${sp.latex(obj)}$"


def cell(text: str) -> str:
    """``text`` made safe inside a Markdown table cell (pipes escaped, one line)."""
    return text.replace("|", "\\|").replace("\n", " ")


def steps_table(steps: Iterable[Step]) -> list[str]:
    lines = ["| # | claim | relation | checked | passed | detail |", "|---|---|---|---|---|---|"]
    for i, step in enumerate(steps, 1):
        lines.append(
            f"| {i} | {cell(step.description)} | {cell(math(step.relation))} | "
            f"{cell(step.method)} | {'yes' if step.passed else '**NO**'} | {cell(step.detail)} |"
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
