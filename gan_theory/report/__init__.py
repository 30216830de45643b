"""Derivation reports."""

from .markdown import registry_report, write_report

__all__ = ["registry_report", "write_report"]
