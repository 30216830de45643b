"""The propositions section of the derivation report (Markdown) and its JSON summary.

For each proposition of :mod:`gan_theory.propositions`: the claim, its source, the statement in
LaTeX and the table of checked steps (symbolic derivation steps and numeric witnesses).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._format import cell as _cell
from ._format import step_summary as _step_summary
from ._format import steps_table as _steps_table

if TYPE_CHECKING:
    from ..propositions import Proposition

__all__ = ["propositions_section", "propositions_summary"]


def _all() -> Sequence[Proposition]:
    from ..propositions import all_propositions

    return all_propositions()


def propositions_section(props: Sequence[Proposition] | None = None) -> list[str]:
    """Markdown lines: a summary table, then one subsection per proposition with its steps."""
    props = _all() if props is None else props
    passed = sum(step.passed for p in props for step in p.steps)
    total = sum(len(p.steps) for p in props)
    numeric = sum(not step.symbolic for p in props for step in p.steps)
    lines = [
        "# Propositions of GAN theory",
        "",
        "Each claim below is derived step by step: SymPy does the algebra (`symbolic` steps), "
        "and every proposition also has numeric witnesses on concrete distributions, checked "
        "against an oracle independent of the derivation (SciPy, mpmath, POT, torch autograd, "
        "Monte Carlo, a numeric supremum or a linear program); their `checked` column names the "
        "oracle, the precision and the inputs.",
        "",
        f"Steps passed: **{passed} / {total}** ({numeric} numeric witnesses or checks).",
        "",
        "| # | proposition | source | steps |",
        "|---|---|---|---|",
    ]
    for i, p in enumerate(props, 1):
        ok = sum(step.passed for step in p.steps)
        lines.append(
            f"| {i} | [{_cell(p.title)}](#{i}-{p.name}) | {_cell(p.source)} | {ok}/{len(p.steps)} |"
        )
    lines.append("")
    for i, p in enumerate(props, 1):
        lines += [
            f"## {i}. `{p.name}`",
            "",
            f"{p.title}. Source: {p.source}.",
            "",
            f"$$ {p.statement} $$",
            "",
            *_steps_table(p.steps),
            "",
        ]
    return lines


def propositions_summary(props: Sequence[Proposition] | None = None) -> list[dict[str, object]]:
    """A JSON-ready list: name, title, source, statement, passed and the steps of each."""
    props = _all() if props is None else props
    return [
        {
            "name": p.name,
            "title": p.title,
            "source": p.source,
            "statement": p.statement,
            "passed": p.passed,
            "steps": [_step_summary(s) for s in p.steps],
        }
        for p in props
    ]
