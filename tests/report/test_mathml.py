"""The MathML of the pages is built from a whitelist: LaTeX cannot inject markup.

Oracle: ``latex2mathml`` copies ``\\text{<script>}`` and ``\\href{javascript:...}`` through as
markup (checked first, so the test shows the sanitizer is needed); after :func:`sanitize` no tag
outside MathML, no event handler, link or style attribute survives, and text is escaped.
"""

from __future__ import annotations

import re

import pytest
import sympy as sp
from latex2mathml.converter import convert

from divergences.render.mathml import ELEMENTS, latex_to_mathml, sanitize, to_mathml

HOSTILE = [
    r"\text{<script>alert(1)</script>}",
    r"\href{javascript:alert(1)}{x}",
    r"\style{background:url(http://x)}{y}",
    r"\text{<img src=x onerror=alert(1)>}",
    r"\mathrm{</math><script>alert(1)</script>}",
]


def test_the_converter_alone_would_let_markup_through():
    assert "<script>" in convert(HOSTILE[0]) and "javascript:" in convert(HOSTILE[1])


@pytest.mark.parametrize("latex", HOSTILE)
def test_hostile_latex_becomes_plain_mathml(latex):
    markup = latex_to_mathml(latex)
    tags = set(re.findall(r"</?([a-zA-Z][\w-]*)", markup))
    assert tags <= ELEMENTS
    assert not re.search(r"\s(on\w+|href|style|src)=", markup)
    assert "javascript" not in markup and "url(" not in markup


def test_sanitize_reports_what_it_dropped_and_escapes_text():
    markup, dropped = sanitize('<math><mi onclick="x">a&lt;b</mi><img src="x"></math>')
    assert markup == "<math><mi>a&lt;b</mi></math>"
    assert dropped == ("mi@onclick", "img")


def test_the_library_math_loses_nothing():
    # the library's own mathematics passes the whitelist untouched
    t = sp.Symbol("t", real=True)
    expr = sp.Piecewise((-sp.log(2 - sp.exp(2 * t)) / 2, t < sp.log(2) / 2), (sp.oo, True))
    _, dropped = sanitize(convert(sp.latex(expr)))
    assert dropped == ()
    assert "<mtable" in to_mathml(expr)  # cases are laid out as a table


def test_unparsable_latex_is_shown_as_its_source():
    markup = latex_to_mathml(r"\frac{1}{")
    assert 'class="math-fallback"' in markup and r"\frac{1}{" in markup


def test_fences_stretch_only_around_something_taller_than_a_line():
    # MathML Core makes a stretchy fence as wide as its widest variant: f ( u ) with a math font
    def fences(markup):
        return re.findall(r'<mo stretchy="(\w+)" fence="true"', markup)

    assert fences(to_mathml(sp.Function("f")(sp.Symbol("u")))) == ["false", "false"]
    assert fences(latex_to_mathml(r"\left(\frac{1}{2}\right)")) == ["true", "true"]
    nested = latex_to_mathml(r"\left(a + \left(b\right) + \left(\frac{1}{2}\right)\right)")
    assert fences(nested) == ["true", "false", "false", "true", "true", "true"]
