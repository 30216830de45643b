"""Sphinx configuration of the documentation site (``make docs`` writes it to ``build/docs``).

Why Sphinx and not MkDocs + mkdocstrings: the library's docstrings are reStructuredText with
Google-style sections (``.. math::`` blocks, ``:math:``/``:func:``/``:class:`` roles,
double-backtick literals, doctest examples). Sphinx's autodoc + napoleon render them as written,
while mkdocstrings renders docstring text as Markdown, where ``.. math::`` and the roles would
show as source. The guide pages stay Markdown (MyST), the files the repository already has. Math
is converted to MathML at build time by the library's own converter (``_ext/mathml_math.py``,
the same as the derivation report's), so no MathJax/KaTeX and no CDN: the site works offline.
Theme: furo (a pip package; its assets are copied into the site).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import divergences  # noqa: E402

project = "divergences"
author = "the divergences authors"
copyright = "the divergences authors"
release = version = divergences.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "mathml_math",
    "derivation_report",
]
html_math_renderer = "mathml"

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
# pages in progress elsewhere, not built until they join the toctree in index.md:
# distributions.md (being written), performance.md (written by benchmarks/scaling.py)
exclude_patterns = ["_build"]

# Markdown pages: $...$ and $$...$$ math, GitHub-style heading anchors for in-page links
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# API reference from the docstrings (Google-style sections, reST bodies)
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
# a class's "Attributes:" section as fields, not entries (properties are documented already)
napoleon_use_ivar = True

html_theme = "furo"
html_title = f"divergences {release}"
html_static_path = ["_static"]
html_css_files = ["mathml.css"]
html_show_sourcelink = False

# the report linked from the guide (the full one is `make report`)
derivation_report_only = ("kl", "js", "global_optimum")
