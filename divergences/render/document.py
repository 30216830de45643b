"""The HTML document around a page: head, stylesheet and Content-Security-Policy.

Every page is one self-contained file: the stylesheet is inline and allowed by its SHA-256 hash,
plots are ``data:`` images, mathematics is MathML. The policy
(``default-src 'none'; style-src 'sha256-...'; img-src 'self' data:; base-uri 'none';
form-action 'none'``) lets the page load nothing else and run no script, so a report opened from
disk shows the same thing offline and cannot be made to fetch or execute anything.
"""

from __future__ import annotations

import base64
import hashlib

from . import escape

__all__ = ["CSP", "STYLE", "document"]

#: the stylesheet of every page (inline; allowed by its hash in :data:`CSP`)
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; line-height: 1.45;
       margin: 0 auto; max-width: 72rem; padding: 1rem 1.5rem 3rem; color: #1b1f24; }
header nav, footer { font-size: 0.9rem; color: #57606a; }
header nav a { margin-right: 1rem; }
h1 { font-size: 1.7rem; margin-bottom: 0.3rem; } h2 { margin-top: 2rem; }
a { color: #0b5cad; }
table { border-collapse: collapse; margin: 0.6rem 0; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.5rem; vertical-align: top; text-align: left; }
th { background: #f6f8fa; }
td.num, th.num { text-align: right; white-space: nowrap; }
dl.quantities { display: grid; grid-template-columns: max-content 1fr; gap: 0.4rem 1rem; }
dl.quantities dt { font-weight: 600; } dl.quantities dd { margin: 0; min-width: 0; }
.passed { color: #1a7f37; font-weight: 600; } .failed { color: #cf222e; font-weight: 700; }
.method { font-variant: small-caps; } .detail { color: #57606a; font-size: 0.85rem; }
.lead { color: #57606a; }
.note { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.4rem 0.7rem; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: #57606a; font-size: 0.9rem; }
math[display="block"] { display: block math; width: fit-content; max-width: 100%;
                       margin: 0.3rem 0; }
math { font-family: "STIX Two Math", "Latin Modern Math", "Cambria Math", math; }
.math-fallback { font-family: monospace; }
ol.derivation li { margin-bottom: 0.4rem; }
""".strip()


def _hash(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


#: the Content-Security-Policy of every page
CSP = (
    f"default-src 'none'; style-src 'sha256-{_hash(STYLE)}'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'"
)


def document(title: str, body: str, *, nav: str = "", page_id: str = "page") -> str:
    """A complete HTML5 page: ``title`` (escaped here) and ``body`` (markup, already escaped).

    Args:
        title: the page's title, plain text.
        body: the page's content, HTML built by the caller from escaped parts.
        nav: navigation links (HTML) shown above the title.
        page_id: the ``id`` of ``<body>``, a stable hook for tests and styles.
    """
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{escape.html(CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape.html(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f'<body id="{escape.html(page_id)}">\n'
        + (f"<header><nav>{nav}</nav></header>\n" if nav else "")
        + f"<main>\n{body}\n</main>\n"
        "<footer><p>Written by the <code>divergences</code> library: every formula was derived "
        "and checked by its symbolic engine; nothing on this page was typed in by hand.</p>"
        "</footer>\n</body>\n</html>\n"
    )
