"""Derivation reports."""

from .markdown import registry_report, write_report
from .propositions import propositions_section, propositions_summary

__all__ = ["propositions_section", "propositions_summary", "registry_report", "write_report"]
