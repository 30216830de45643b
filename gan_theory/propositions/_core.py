"""The :class:`Proposition` record and the helpers its derivations share.

A proposition is a claim of GAN theory with a derivation made of checked steps, each a
:class:`divergences.symbolic.steps.Step` (statement, relation, how it was checked, passed) as in
the library's certificates. A step is ``symbolic`` when SymPy decided the relation (an expression
simplified to zero, a sign or a limit was decided); a numeric witness says which independent
oracle it compared against, at which precision and on which inputs (``"numeric: ..."``).

A step never raises: an exception while checking it is recorded as ``passed=False`` with the
reason, and an exception that escapes a derivation adds one failed step saying where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import sympy as sp

from divergences._notebook import NotebookCard
from divergences.symbolic.simplify import is_zero
from divergences.symbolic.steps import Step

__all__ = ["Outcome", "Proposition", "Recorder", "compare", "decided_zero", "tex"]


class _Tex(sp.Symbol):
    """A placeholder shown verbatim in LaTeX (a quantity named in words in a relation)."""

    def _latex(self, printer: object) -> str:
        return self.name


def tex(latex: str) -> sp.Symbol:
    """A SymPy atom that prints as the given LaTeX, for relations that name a computed quantity
    (``tex(r"\\mathbb{E}_P[T^*]")``)."""
    return _Tex(latex)


class Outcome(NamedTuple):
    """The result of checking one step: passed, what was observed, and (optionally) the method
    actually used when it differs from the one announced (a symbolic attempt that fell back to a
    numeric check)."""

    passed: bool
    detail: str = ""
    method: str | None = None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ")
    if len(text) > 300:
        text = text[:297] + "..."
    return f"raised {type(exc).__name__}: {text}" if text else f"raised {type(exc).__name__}"


class Recorder:
    """Collects the steps of one derivation; checking a step never raises."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def check(
        self,
        description: str,
        relation: sp.Basic | Callable[[], sp.Basic],
        method: str,
        test: Callable[[], Outcome | bool],
    ) -> bool:
        """Run ``test`` and record the step; return whether it passed.

        ``relation`` may be a callable (built lazily, so an exception while building it is
        recorded like one raised by ``test``).
        """
        shown: sp.Basic = tex("?")
        try:
            lazy = callable(relation) and not isinstance(relation, sp.Basic)
            shown = relation() if lazy else relation  # type: ignore[operator]
            result = test()
            outcome = result if isinstance(result, Outcome) else Outcome(bool(result))
        except Exception as exc:  # a failed step is reported, not raised
            outcome = Outcome(False, _describe(exc))
        self.steps.append(
            Step(
                description,
                shown,
                outcome.method or method,
                bool(outcome.passed),
                outcome.detail,
            )
        )
        return bool(outcome.passed)


def decided_zero(expr: sp.Expr) -> bool:
    """True when SymPy shows ``expr == 0``: expansion of logs, ``simplify``, then the engine's
    own :func:`divergences.symbolic.simplify.is_zero` (which knows the Lambert W identities)."""
    if expr == 0:
        return True
    expanded = sp.expand(sp.expand_log(expr, force=True))
    if expanded == 0 or sp.simplify(expanded) == 0:
        return True
    return bool(is_zero(expr))


def compare(
    values: Iterable[float] | np.ndarray,
    references: Iterable[float] | np.ndarray,
    *,
    rtol: float,
    atol: float = 0.0,
    labels: Sequence[Any] | None = None,
) -> Outcome:
    """``|value - reference| <= atol + rtol |reference|`` element-wise (equal infinities agree).

    The detail names the largest error, the allowed error there and the input it came from.
    """
    got = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    ref = np.asarray(
        list(references) if not isinstance(references, np.ndarray) else references, dtype=float
    )
    got, ref = np.broadcast_arrays(got.ravel(), ref.ravel())
    same = got == ref  # also equal infinities
    with np.errstate(invalid="ignore"):
        error = np.where(same, 0.0, np.abs(got - ref))
    error = np.where(np.isnan(error), np.inf, error)
    allowed = atol + rtol * np.where(np.isfinite(ref), np.abs(ref), 0.0)
    ratio = np.where(error == 0, 0.0, error / np.where(allowed > 0, allowed, np.inf))
    ratio = np.where((error > 0) & (allowed == 0), np.inf, ratio)
    worst = int(np.argmax(ratio)) if ratio.size else 0
    ok = bool(np.all(error <= allowed))
    where = f" at {labels[worst]}" if labels is not None and ratio.size else ""
    if ratio.size == 0:
        return Outcome(False, "nothing was compared")
    detail = (
        f"{ref.size} comparisons; largest |error| {error[worst]:.3g} (allowed "
        f"{allowed[worst]:.3g}){where}: got {float(got[worst])!r}, reference "
        f"{float(ref[worst])!r}"
    )
    return Outcome(ok, detail)


@dataclass(frozen=True, eq=False)
class Proposition(NotebookCard):
    """A claim of GAN theory with a step-by-step checked derivation.

    Attributes:
        name: short identifier (``get(name)``).
        title: the claim in words.
        source: where the claim comes from (citation).
        statement: the claim in LaTeX.
        derive: builds the steps; accepts keyword overrides of the objects under test (see each
            proposition's ``check`` documentation) so that a wrong input can be shown to fail.
    """

    name: str
    title: str
    source: str
    statement: str
    derive: Callable[..., None] = field(repr=False)

    def check(self, **overrides: Any) -> tuple[Step, ...]:
        """Run the derivation now (uncached) and return its steps.

        Keyword ``overrides`` replace the objects the derivation checks (a discriminator, a
        constant, a critic, ...): the steps then show whether the claim still holds for them.
        An exception escaping the derivation is recorded as a final failed step.
        """
        recorder = Recorder()
        try:
            self.derive(recorder, **overrides)
        except Exception as exc:  # reported as a failed step, never raised
            recorder.steps.append(
                Step(
                    f"the derivation stopped after {len(recorder.steps)} steps",
                    tex(r"\\text{stopped}"),
                    "symbolic",
                    False,
                    _describe(exc),
                )
            )
        if not recorder.steps:
            recorder.steps.append(
                Step("the derivation produced no step", tex(r"\\text{empty}"), "symbolic", False)
            )
        return tuple(recorder.steps)

    @cached_property
    def steps(self) -> tuple[Step, ...]:
        """The steps with the library's own objects (computed once, then cached)."""
        return self.check()

    @property
    def passed(self) -> bool:
        """True when every step passed."""
        return all(step.passed for step in self.steps)

    @property
    def failures(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if not step.passed)

    # -- notebook display (gan_theory.report.cards) ---------------------------------------------
    def _card(self, kind: str) -> str:
        """The notebook summary card (:class:`divergences._notebook.NotebookCard`)."""
        from ..report import cards

        return {"html": cards.card_html, "latex": cards.card_latex}.get(kind, cards.card_markdown)(
            self
        )
