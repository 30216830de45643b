"""``gan-theory propositions``: check propositions and print their verdicts."""

from __future__ import annotations

import difflib
import sys
from collections.abc import Sequence

from . import all_propositions, get, names

__all__ = ["run_propositions"]


def run_propositions(selected: Sequence[str] = (), *, show_steps: bool = False) -> int:
    """Check the ``selected`` propositions (all when empty) and print one verdict per line, then
    the failed steps (every step with ``show_steps``).

    Returns the exit status: 0 when every step passed, 1 when one failed, 2 for an unknown name
    (the message lists the known names and, for each unknown one, the closest known names).
    """
    known = names()
    unknown = [name for name in selected if name not in known]
    if unknown:
        print(
            f"gan-theory propositions: unknown {', '.join(unknown)}; known: {', '.join(known)}"
            + "".join(_suggestion(name, known) for name in unknown),
            file=sys.stderr,
        )
        return 2
    props = [get(name) for name in selected] if selected else list(all_propositions())
    status = 0
    for prop in props:
        steps = prop.steps
        ok = sum(step.passed for step in steps)
        verdict = "PASS" if ok == len(steps) else "FAIL"
        status = status or int(verdict == "FAIL")
        print(f"{verdict} {prop.name} ({ok}/{len(steps)} steps): {prop.title}")
        print(f"     source: {prop.source}")
        for step in steps:
            if show_steps or not step.passed:
                mark = "ok  " if step.passed else "FAIL"
                print(f"  {mark} {step.description}")
                print(f"       checked: {step.method}")
                if step.detail:
                    print(f"       {step.detail}")
    return status


def _suggestion(name: str, known: Sequence[str]) -> str:
    """``"; did you mean 'gibbs'?"`` for a misspelt ``name`` (case-insensitive, difflib), or
    ``""`` when nothing is close."""
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    if not close:
        return ""
    return f"; {name!r}: did you mean " + " or ".join(repr(lowered[c]) for c in close) + "?"
