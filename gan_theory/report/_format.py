"""Markdown building blocks shared by the report's sections (no report logic here)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import sympy as sp

from divergences.symbolic.steps import Step

__all__ = ["cell", "code", "latex", "math", "step_summary", "steps_table", "text"]


def text(value: str) -> str:
    """``value`` as Markdown prose that renders as the same characters and never as HTML.

    ``&`` and ``<`` become entities (no tag or entity can start), and the Markdown marks
    ``\\ ` * _ [ ] #`` are backslash-escaped (no link, emphasis or heading can start). A name
    like ``<script>alert(1)</script>`` is shown as text.
    """
    escaped = value.replace("&", "&amp;").replace("<", "&lt;")
    return "".join("\\" + ch if ch in "\\`*_[]#" else ch for ch in escaped)


def code(value: str) -> str:
    """``value`` as an inline code span: shown verbatim (Markdown renders code spans as text,
    never as HTML), fenced by more backticks than ``value`` has in a row."""
    longest = max((len(run) for run in re.findall("`+", value)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {value} {fence}" if longest else f"{fence}{value}{fence}"


def latex(value: str) -> str:
    """A LaTeX string from a caller (an entry's ``formula``) made safe inside ``$...$``: ``<``,
    ``&`` and ``$`` become ``\\lt``, ``\\&`` and ``\\$``, so the text can neither close the
    math nor start an HTML tag, and renders the same."""
    return value.replace("&", "\\&").replace("<", "\\lt ").replace("$", "\\$")


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
