"""Notebook display (Jupyter's ``_repr_*_`` protocol) from one method, ``_card(kind)``."""

from __future__ import annotations

__all__ = ["NotebookCard"]


class NotebookCard:
    """``_repr_html_``, ``_repr_latex_`` and ``_repr_markdown_`` of a summary card; a subclass
    implements ``_card(kind)`` for ``kind`` in ``"html"``, ``"latex"``, ``"markdown"``."""

    def _card(self, kind: str) -> str:
        raise NotImplementedError

    def _repr_html_(self) -> str:
        return self._card("html")

    def _repr_latex_(self) -> str:
        return self._card("latex")

    def _repr_markdown_(self) -> str:
        return self._card("markdown")
