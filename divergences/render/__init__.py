"""Rendering of derivations for people: MathML, HTML pages, plots and notebook cards.

* :func:`to_mathml` / :func:`latex_to_mathml`: presentation MathML (no script; sanitized);
* :func:`divergence_page` / :func:`write_divergence_page`: the page of one divergence
  (``FDivergence.report(path)``), with :func:`divergence_record` its JSON form;
* :func:`card_html`, :func:`card_latex`, :func:`card_markdown`: the summary card of
  ``FDivergence._repr_html_`` / ``_repr_latex_`` / ``_repr_markdown_``;
* :mod:`.escape`: escaping for HTML, Markdown and LaTeX; :mod:`.names`: file names from names.

The site of the whole registry and the propositions is built on these by
:mod:`gan_theory.report`. Plots need matplotlib, imported only when a plot is drawn.
"""

from __future__ import annotations

from . import escape
from .card import card_html, card_latex, card_markdown, certificate_count
from .document import CSP, document
from .mathml import latex_to_mathml, sanitize, to_mathml
from .names import page_path, slug
from .page import (
    Link,
    divergence_body,
    divergence_page,
    divergence_record,
    write_divergence_page,
)

__all__ = [
    "CSP",
    "Link",
    "card_html",
    "card_latex",
    "card_markdown",
    "certificate_count",
    "divergence_body",
    "divergence_page",
    "divergence_record",
    "document",
    "escape",
    "latex_to_mathml",
    "page_path",
    "sanitize",
    "slug",
    "to_mathml",
    "write_divergence_page",
]
