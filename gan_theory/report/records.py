"""The JSON form of the report, ``report.json``, and its schema.

The document is described by the JSON Schema ``report.schema.json`` next to this module
(:func:`schema`); :data:`SCHEMA_VERSION` is written into every document and changes whenever a
field is removed, renamed or changes meaning (adding an optional field does not change it). An
expression is always a pair ``{"text": str(expr), "latex": latex(expr)}``; a checked step records
its relation, how it was checked (``kind`` symbolic / numeric / other, with ``digits`` and
``grid`` for numeric checks), whether it passed, and what was observed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import divergences as dv
from divergences.render.page import divergence_record, expression_record, step_record

from ._format import optimal_discriminator

if TYPE_CHECKING:
    from ..propositions import Proposition

__all__ = ["SCHEMA_PATH", "SCHEMA_VERSION", "proposition_record", "report_document", "schema"]

#: the version of the layout described by :data:`SCHEMA_PATH`
SCHEMA_VERSION = 1
#: the JSON Schema (draft 2020-12) of ``report.json``
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of ``report.json``."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def proposition_record(p: Proposition, page: str | None = None) -> dict[str, Any]:
    """The JSON record of a proposition."""
    return {
        "name": p.name,
        "title": p.title,
        "source": p.source,
        "statement": p.statement,
        "page": page,
        "passed": p.passed,
        "steps": [step_record(s) for s in p.steps],
    }


def _discriminator_record() -> dict[str, Any]:
    d_star, derivation, steps = optimal_discriminator()
    a, b = sorted(d_star.variables, key=lambda s: s.name)
    return {
        "result": expression_record(d_star(a, b)),
        "derivation": [
            {"description": s.description, "result": expression_record(s.result)}
            for s in derivation
        ],
        "steps": [step_record(s) for s in steps],
    }


def report_document(
    divergences: Sequence[dv.FDivergence],
    propositions: Sequence[Proposition],
    pages: Mapping[str, str] | None = None,
    *,
    discriminator: bool = True,
) -> dict[str, Any]:
    """The whole report as a JSON-ready object (see :data:`SCHEMA_PATH`).

    Args:
        divergences: the divergences reported.
        propositions: the propositions reported.
        pages: ``"divergence:<name>"`` / ``"proposition:<name>"`` -> relative path of the HTML
            page, when pages were written.
        discriminator: include the derivation of the optimal discriminator.
    """
    pages = pages or {}
    div_records = [divergence_record(d, pages.get(f"divergence:{d.name}")) for d in divergences]
    prop_records = [proposition_record(p, pages.get(f"proposition:{p.name}")) for p in propositions]
    steps = [s for rec in div_records for s in rec["certificate"]]
    steps += [s for rec in prop_records for s in rec["steps"]]
    return {
        "schema_version": SCHEMA_VERSION,
        "library": {"name": "divergences", "version": dv.__version__},
        "summary": {
            "divergences": len(div_records),
            "propositions": len(prop_records),
            "steps": len(steps),
            "passed": sum(s["passed"] for s in steps),
            "numeric": sum(s["kind"] != "symbolic" for s in steps),
        },
        "divergences": div_records,
        "optimal_discriminator": _discriminator_record() if discriminator else None,
        "propositions": prop_records,
    }
