"""Derivation reports: an HTML site with MathML and plots, Markdown and JSON.

:func:`write_report` writes ``index.html`` (certificate summary, links), one page per divergence
and per proposition, ``derivations.md`` and ``report.json`` (schema:
:data:`~.records.SCHEMA_PATH`). The per-divergence page is :mod:`divergences.render`'s, which
``FDivergence.report(path)`` writes on its own.
"""

from .markdown import REPORTED, registry_report, reported_divergences
from .propositions import propositions_section, propositions_summary
from .records import SCHEMA_PATH, SCHEMA_VERSION, report_document, schema
from .site import FORMATS, UnknownNameError, select, write_report

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
