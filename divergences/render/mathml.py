"""Mathematics as presentation MathML, rendered natively by browsers (MathML Core): no script,
no web font, nothing fetched, so a page works offline under a strict Content-Security-Policy.

SymPy objects are printed with :func:`sympy.latex` and converted by ``latex2mathml`` (one
converter for SymPy objects and for the LaTeX the library keeps as text: a proposition's
statement, an entry's formula). SymPy's own presentation printer was the first choice, but it
prints ``Piecewise`` as ``piecewise((..., ...))``, function names such as ``f^*`` and ``g_f``
verbatim and one-sided limits without their side; the LaTeX printer gets all of them right.

Whatever the converter produces is passed through :func:`sanitize`, which rebuilds it from a
whitelist of MathML elements and attributes and escapes every text node: LaTeX such as
``\\text{<script>...}`` or ``\\href{javascript:...}{x}`` (which ``latex2mathml`` copies through)
cannot put a tag, a link, a style or an event handler into a page. Then a pair of fences
(``\\left( ... \\right)``) that encloses only a line of text is made non-stretchy, as TeX sizes
it, since MathML Core would give it the width of its widest variant (``f ( u )``).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from html.parser import HTMLParser

import sympy as sp

__all__ = ["ATTRIBUTES", "ELEMENTS", "latex_to_mathml", "sanitize", "to_mathml"]

#: the MathML elements kept by :func:`sanitize` (MathML Core, plus ``mstyle``/``menclose``)
ELEMENTS = frozenset(
    {
        "math",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "msub",
        "msup",
        "msubsup",
        "munder",
        "mover",
        "munderover",
        "mfrac",
        "msqrt",
        "mroot",
        "mstyle",
        "mpadded",
        "mphantom",
        "menclose",
        "mtable",
        "mtr",
        "mtd",
        "merror",
        "mmultiscripts",
        "mprescripts",
        "none",
        "semantics",
        "annotation",
    }
)
#: the attributes kept, each with a value of letters, digits, spaces and ``. % # + -`` only
ATTRIBUTES = frozenset(
    {
        "display",
        "mathvariant",
        "stretchy",
        "fence",
        "form",
        "separator",
        "lspace",
        "rspace",
        "largeop",
        "movablelimits",
        "symmetric",
        "minsize",
        "maxsize",
        "accent",
        "accentunder",
        "displaystyle",
        "scriptlevel",
        "linethickness",
        "width",
        "height",
        "depth",
        "columnalign",
        "rowalign",
        "columnspacing",
        "rowspacing",
        "columnlines",
        "rowlines",
        "frame",
        "framespacing",
        "equalrows",
        "equalcolumns",
        "notation",
        "encoding",
    }
)
_VALUE = re.compile(r"[A-Za-z0-9 .%#+\-]{0,64}")
_XMLNS = "http://www.w3.org/1998/Math/MathML"


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.dropped: list[str] = []

    def _start(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag not in ELEMENTS:
            self.dropped.append(tag)
            return False
        kept = []
        for name, value in attrs:
            if name in ATTRIBUTES and value is not None and _VALUE.fullmatch(value):
                kept.append(f' {name}="{html.escape(value, quote=True)}"')
            elif name != "xmlns" or value != _XMLNS:
                self.dropped.append(f"{tag}@{name}")
        self.out.append(f"<{tag}{''.join(kept)}>")
        return True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._start(tag, attrs):
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._start(tag, attrs):
            self.out.append(f"</{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open:
                top = self.open.pop()
                self.out.append(f"</{top}>")
                if top == tag:
                    break

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))

    def close(self) -> None:
        super().close()
        while self.open:
            self.out.append(f"</{self.open.pop()}>")


def sanitize(markup: str) -> tuple[str, tuple[str, ...]]:
    """``markup`` rebuilt from whitelisted MathML only, and what was dropped.

    Elements outside :data:`ELEMENTS` are dropped (their text is kept, escaped), attributes
    outside :data:`ATTRIBUTES` or with other characters in their value are dropped, comments and
    declarations are dropped, and every text node is escaped. Unclosed elements are closed.

    Returns:
        The sanitized markup and the names of the dropped elements and ``element@attribute``
        pairs (empty for the library's own mathematics).
    """
    parser = _Sanitizer()
    parser.feed(markup)
    parser.close()
    return "".join(parser.out), tuple(parser.dropped)


_TAG = re.compile(r"<(/?)([a-z]+)([^>]*)>")
#: elements taller than a line of text: a fence around one of them is stretched
_TALL = frozenset({"mfrac", "msqrt", "mroot", "munder", "munderover", "mtable"})
_STRETCHY, _NOT_STRETCHY = 'stretchy="true"', 'stretchy="false"'


def _fit_fences(markup: str) -> str:
    """Fences (``\\left( ... \\right)``) around no more than a line of text are not stretched.

    MathML Core gives a vertically stretchy operator the width of its widest size variant, so
    with a math font a stretched parenthesis around ``u`` is twice as wide as the glyph and
    SymPy's ``f{\\left(u \\right)}`` reads ``f ( u )``. TeX sizes ``\\left``/``\\right`` to
    what they enclose, which for a line of text is the glyph itself; so a pair of fences that
    encloses no fraction, root, limit or table (:data:`_TALL`) is marked ``stretchy="false"``.
    ``markup`` is :func:`sanitize`'s output (well-formed, no self-closing tags).
    """
    tokens: list[str] = []
    # per open element, its fence pairs still open: [index of the opening fence, encloses tall]
    frames: list[list[list]] = []
    position = 0
    for match in _TAG.finditer(markup):
        tokens.append(markup[position : match.start()])
        position = match.end()
        closing, tag, attrs = match.groups()
        if closing:
            if frames:
                frames.pop()
        else:
            if tag in _TALL:
                for pair in (pair for frame in frames for pair in frame):
                    pair[1] = True
            if tag == "mo" and frames and _STRETCHY in attrs and 'fence="true"' in attrs:
                if 'form="prefix"' in attrs:
                    frames[-1].append([len(tokens), False])
                elif 'form="postfix"' in attrs and frames[-1]:
                    opening, tall = frames[-1].pop()
                    if not tall:
                        tokens[opening] = tokens[opening].replace(_STRETCHY, _NOT_STRETCHY)
                        tokens.append(match.group(0).replace(_STRETCHY, _NOT_STRETCHY))
                        frames.append([])
                        continue
            frames.append([])
        tokens.append(match.group(0))
    tokens.append(markup[position:])
    return "".join(tokens)


def _fallback(latex: str, display: bool) -> str:
    mode = "block" if display else "inline"
    return (
        f'<math display="{mode}" class="math-fallback"><mtext>'
        f"{html.escape(latex, quote=False)}</mtext></math>"
    )


@lru_cache(maxsize=4096)
def latex_to_mathml(latex: str, display: bool = False) -> str:
    """``<math>`` markup for a LaTeX string (sanitized; see the module docstring).

    LaTeX the converter cannot parse is shown as its source text in an ``<mtext>`` (the
    ``<math>`` element then has ``class="math-fallback"``), never raised.

    Args:
        latex: math-mode LaTeX, without ``$`` delimiters.
        display: a block formula (``display="block"``) instead of an inline one.
    """
    from latex2mathml.converter import convert

    try:
        converted = convert(latex, display="block" if display else "inline")
    except Exception:  # the converter's own errors (unbalanced braces, ...): show the source
        return _fallback(latex, display)
    markup, _ = sanitize(converted)
    if not markup.startswith("<math"):
        return _fallback(latex, display)
    return _fit_fences(markup)


def to_mathml(obj: sp.Basic, display: bool = False) -> str:
    """``<math>`` markup for a SymPy object (printed by :func:`sympy.latex`)."""
    return latex_to_mathml(sp.latex(obj), display)
