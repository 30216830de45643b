"""File names for report pages: one slug function, and output that always stays inside ``out``.

A divergence's name can come from a user (``gan-theory report --name``, ``dv.register``), so it
never becomes a path as it is: ``../../x`` or ``/etc/passwd`` would choose where files are
written. :func:`slug` turns any name into a plain file-name stem, and :func:`page_path` joins it
to the output directory and checks that the result is inside it.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

__all__ = ["MAX_SLUG_LENGTH", "page_path", "slug"]

#: longest stem before the disambiguating hash
MAX_SLUG_LENGTH = 60


def slug(name: str) -> str:
    """A file-name stem for ``name``: lower-case ASCII letters, digits, ``-`` and ``_`` only.

    Accents are dropped (``Rényi`` -> ``renyi``), every other run of characters becomes one
    ``-``, and the stem is at most :data:`MAX_SLUG_LENGTH` characters. When that changed the
    name (or left nothing), the first 8 hex digits of the name's SHA-256 are appended, so two
    different names never share a file (``a/b`` and ``a-b`` differ) and the slug of a plain
    name is the name itself: ``slug("kl") == "kl"``, ``slug("../../x")`` is ``x-`` and a hash.
    """
    if not isinstance(name, str):
        raise TypeError(f"slug: expected a string, got {type(name).__name__}")
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9_]+", "-", ascii_name.lower()).strip("-_")[:MAX_SLUG_LENGTH]
    if stem and stem == name:
        return stem
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{stem}-{digest}" if stem else digest


def page_path(out: str | os.PathLike[str], name: str, suffix: str) -> Path:
    """``out / (slug(name) + suffix)``, checked to lie directly inside ``out``.

    Raises:
        ValueError: ``suffix`` is not a plain extension such as ``".html"``.
    """
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        raise ValueError(
            f"page_path: suffix must be a plain extension like '.html', got {suffix!r}"
        )
    directory = Path(out).resolve()
    path = (directory / (slug(name) + suffix)).resolve()
    if path.parent != directory:  # cannot happen for a slug; kept as the last line of defence
        raise ValueError(f"page_path: {name!r} would be written outside {directory}")
    return path
