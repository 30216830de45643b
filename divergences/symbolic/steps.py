"""Records of derivation and certificate steps.

A :class:`DerivationStep` is one line of a derivation (what was done and the resulting
expression). A :class:`Step` is one checked claim of a certificate: a statement, the relation that
was checked, how it was checked (``"symbolic"`` when a SymPy simplification reached zero or decided
the relation, ``"numeric: ..."`` with precision and grid when SymPy could not decide), and whether
it passed.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .serialize import register_dataclass

__all__ = ["DerivationStep", "Step"]


@register_dataclass
@dataclass(frozen=True)
class DerivationStep:
    """One line of a derivation: a sentence and the SymPy object it produced."""

    description: str
    result: sp.Basic

    def latex(self) -> str:
        return sp.latex(self.result)


@register_dataclass
@dataclass(frozen=True)
class Step:
    """One checked claim.

    Attributes:
        description: the claim in words.
        relation: the relation that was checked, as a SymPy object (usually ``Eq`` or ``Ge``).
        method: ``"symbolic"`` or ``"numeric: <precision>, <grid>"``.
        passed: whether the check succeeded.
        detail: what was observed (e.g. the largest residual of a numeric check).
    """

    description: str
    relation: sp.Basic
    method: str
    passed: bool
    detail: str = ""

    @property
    def symbolic(self) -> bool:
        return self.method == "symbolic"

    def latex(self) -> str:
        return sp.latex(self.relation)
