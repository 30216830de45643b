"""User strings in reports render as text, and names become file names inside ``--out`` only.

Oracles: the escaped text contains no ``<`` that could open a tag, no unescaped Markdown mark, and
rendering it back (replacing the entities and backslash escapes) gives the original characters;
slugs are checked against the characters a file name may have and against path traversal.
"""

from __future__ import annotations

import re

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import divergences as dv
from gan_theory.report._format import code, latex, text
from gan_theory.report.markdown import _section, _title
from gan_theory.report.paths import page_path, slug

u = sp.Symbol("u", positive=True)
HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[link](javascript:alert(1))",
    "# heading\n## another",
    "`code` and ``more``",
    "a & b &amp; c",
    "*bold* _em_ \\ backslash",
    "../../etc/passwd",
]


def _unescape(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown).replace("&lt;", "<").replace("&amp;", "&")


@pytest.mark.parametrize("value", HOSTILE)
def test_text_renders_as_the_same_characters_and_never_as_html(value):
    escaped = text(value)
    assert "<" not in escaped
    assert _unescape(escaped) == value
    assert not re.search(r"(?<!\\)[`*_\[\]#]", escaped)


@given(st.text(max_size=40))
def test_text_round_trips(value):
    assert _unescape(text(value)) == value
    assert "<" not in text(value)


@pytest.mark.parametrize("value", HOSTILE)
def test_code_span_holds_the_value_verbatim(value):
    span = code(value)
    fence = re.match("`+", span).group()
    assert span.endswith(fence) and fence not in value


def test_latex_cannot_close_the_math_or_open_a_tag():
    safe = latex("x < y $ <script> & z")
    assert "$" not in safe.replace("\\$", "") and "<" not in safe


def test_a_hostile_name_and_description_are_text_in_the_report():
    name = "<script>alert(1)</script>"
    d = dv.FDivergence.from_generator((u - 1) ** 2, u, name=name)
    section = "\n".join(_section(d))
    assert _title(d) == code(name)  # a code span: CommonMark shows its content verbatim
    outside_code = re.sub(r"(`+).*?\1", "", section)
    # no HTML tag, comment or declaration can start outside code spans (CommonMark 6.6)
    assert not re.search(r"<[A-Za-z/!?]", outside_code)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("kl", "kl"), ("js_weighted", "js_weighted"), ("alpha", "alpha")],
)
def test_plain_names_are_their_own_slug(name, expected):
    assert slug(name) == expected


@given(st.text(max_size=80))
def test_every_slug_is_a_plain_file_name(name):
    stem = slug(name)
    assert re.fullmatch(r"[a-z0-9_-]{1,80}", stem)
    assert stem not in {".", ".."}


def test_the_empty_name_has_a_slug():  # found by hypothesis
    assert re.fullmatch(r"[0-9a-f]{8}", slug(""))


def test_different_names_get_different_slugs():
    names = ["a/b", "a-b", "A-B", "a b", "../a-b", "", "Rényi", "renyi"]
    assert len({slug(n) for n in names}) == len(names)
    assert slug("Rényi").startswith("renyi-")


@pytest.mark.parametrize(
    "name", ["../../x", "/etc/passwd", "..", ".", "a/../../b", "~root", "C:\\x"]
)
def test_page_paths_stay_inside_out(tmp_path, name):
    path = page_path(tmp_path, name, ".html")
    assert path.parent == tmp_path.resolve()
    assert path.name.endswith(".html")


def test_page_path_refuses_odd_suffixes(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        page_path(tmp_path, "kl", "/../../x")
