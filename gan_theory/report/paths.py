"""File names for report pages (re-exported from :mod:`divergences.render.names`, where
``FDivergence.report`` uses them too): one slug function, and output that always stays inside
``out``."""

from __future__ import annotations

from divergences.render.names import MAX_SLUG_LENGTH, page_path, slug

__all__ = ["MAX_SLUG_LENGTH", "page_path", "slug"]
