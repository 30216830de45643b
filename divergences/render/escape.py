"""Escaping of text for the three formats the library writes: HTML, Markdown and LaTeX.

Everything a report or a card shows that is not built by the library itself (a divergence's name,
a description, a reference, the detail of a step) goes through one of these functions: a name like
``<script>alert(1)</script>`` is shown as those characters in every format, and never becomes a
tag, a link, a heading or LaTeX markup.
"""

from __future__ import annotations

import html as _html
import re

__all__ = ["code", "html", "latex", "latex_text", "markdown"]


def html(value: object) -> str:
    """``str(value)`` as HTML text or a double-quoted attribute value: ``& < > " '`` become
    entities."""
    return _html.escape(str(value), quote=True)


def markdown(value: str) -> str:
    """``value`` as Markdown prose that renders as the same characters and never as HTML.

    ``&`` and ``<`` become entities (no tag or entity can start), and the Markdown marks
    ``\\ ` * _ [ ] #`` are backslash-escaped (no link, emphasis or heading can start). A name
    like ``<script>alert(1)</script>`` is shown as text.
    """
    escaped = value.replace("&", "&amp;").replace("<", "&lt;")
    return "".join("\\" + ch if ch in "\\`*_[]#" else ch for ch in escaped)


def code(value: str) -> str:
    """``value`` as a Markdown inline code span: shown verbatim (Markdown renders code spans as
    text, never as HTML), fenced by more backticks than ``value`` has in a row."""
    longest = max((len(run) for run in re.findall("`+", value)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {value} {fence}" if longest else f"{fence}{value}{fence}"


def latex(value: str) -> str:
    """A LaTeX string from a caller (an entry's ``formula``) made safe inside ``$...$``: ``<``,
    ``&`` and ``$`` become ``\\lt``, ``\\&`` and ``\\$``, so the text can neither close the
    math nor start an HTML tag, and renders the same."""
    return value.replace("&", "\\&").replace("<", "\\lt ").replace("$", "\\$")


_LATEX_TEXT = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_text(value: str) -> str:
    """``value`` as the argument of ``\\text{...}``: every LaTeX special character escaped, so a
    name is typeset as its characters (``a_b`` stays ``a_b``, ``}`` cannot close the group)."""
    return "".join(_LATEX_TEXT.get(ch, ch) for ch in value.replace("\n", " "))
