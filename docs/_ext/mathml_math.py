"""Sphinx math renderer: LaTeX to MathML at build time, with the library's own converter.

``divergences.render.mathml.latex_to_mathml`` (``latex2mathml``, then rebuilt from a whitelist of
MathML elements) is what the derivation report uses, so the API reference, the guide and the
report show mathematics the same way: MathML Core, which browsers render natively. No script,
no web font, nothing fetched: the site works offline.

Each ``.. math::`` block (a docstring's, or a ``$$...$$`` / ``{math}`` block of a Markdown page)
becomes one ``<math display="block">`` per equation (equations are separated by blank lines, as
in Sphinx's other renderers); each ``:math:`` role (``$...$``) an inline ``<math>``. LaTeX the
converter cannot read is a build warning naming the document and line, so ``sphinx-build -W``
fails on it instead of showing LaTeX source on the page.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

from divergences.render.mathml import latex_to_mathml

logger = logging.getLogger(__name__)


def _convert(latex: str, display: bool, node: nodes.Node) -> str:
    markup = latex_to_mathml(latex.strip(), display)
    if "math-fallback" in markup:
        logger.warning("cannot convert LaTeX to MathML: %r", latex, location=node)
    return markup


def visit_math(self: Any, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate"))
    self.body.append(_convert(node.astext(), False, node))
    self.body.append("</span>")
    raise nodes.SkipNode


def visit_math_block(self: Any, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    for part in node.astext().split("\n\n"):
        if part.strip():
            self.body.append(_convert(part, True, node))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_html_math_renderer(
        "mathml", inline_renderers=(visit_math, None), block_renderers=(visit_math_block, None)
    )
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
