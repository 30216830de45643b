"""Derivation reports: an HTML site with MathML and plots, Markdown and JSON.

:func:`write_report` writes ``index.html`` (certificate summary, links), one page per divergence
and per proposition, ``derivations.md`` and ``report.json`` (schema:
:data:`~.records.SCHEMA_PATH`). The per-divergence page is :mod:`divergences.render`'s, which
``FDivergence.report(path)`` writes on its own.

The names below are imported from their modules on first use (PEP 562): importing this package
costs nothing, so the ``gan-theory report`` command can start its worker processes
(:func:`._warm.prestart`) before it imports the library, which takes seconds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: each public name and the module of this package that defines it
_EXPORTS: dict[str, str] = {
    "FORMATS": "site",
    "REPORTED": "markdown",
    "SCHEMA_PATH": "records",
    "SCHEMA_VERSION": "records",
    "UnknownNameError": "site",
    "propositions_section": "propositions",
    "propositions_summary": "propositions",
    "registry_report": "markdown",
    "report_document": "records",
    "reported_divergences": "markdown",
    "schema": "records",
    "select": "site",
    "write_report": "site",
}

__all__ = [
    "FORMATS",
    "REPORTED",
    "SCHEMA_PATH",
    "SCHEMA_VERSION",
    "UnknownNameError",
    "propositions_section",
    "propositions_summary",
    "registry_report",
    "report_document",
    "reported_divergences",
    "schema",
    "select",
    "write_report",
]

if TYPE_CHECKING:
    from .markdown import REPORTED, registry_report, reported_divergences
    from .propositions import propositions_section, propositions_summary
    from .records import SCHEMA_PATH, SCHEMA_VERSION, report_document, schema
    from .site import FORMATS, UnknownNameError, select, write_report


def __getattr__(name: str) -> object:
    """Import a public name from its module on first use (then it is a plain attribute)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
