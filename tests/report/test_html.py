"""The HTML report's structure, parsed with the standard library's ``html.parser``.

Oracles: the Content-Security-Policy of every page allows nothing but its own stylesheet (whose
SHA-256 is recomputed here from the page) and images; no page has a script, an inline style or an
external URL; every relative link resolves to a written file (and a ``#fragment`` to an id of it);
ids are unique; the pages show, as MathML, exactly the library's derivation (compared with the
MathML of ``dv.get(name)``'s own objects).
"""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import sympy as sp

import divergences as dv
from divergences.render.mathml import to_mathml
from divergences.render.plots import divergence_figure, svg
from divergences.symbolic.symbols import t, u


class Page(HTMLParser):
    """Elements (tag, attributes, parent chain) and the text of each ``<style>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None], tuple[str, ...]]] = []
        self.stack: list[tuple[str, str | None]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes, tuple(i for _, i in self.stack if i)))
        if tag not in {"meta", "img", "br", "link", "input", "hr"}:
            self.stack.append((tag, attributes.get("id")))
        self._in_style = tag == "style"
        if self._in_style:
            self.styles.append("")

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), tuple(i for _, i in self.stack if i)))

    def handle_endtag(self, tag):
        self._in_style = False
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self._in_style:
            self.styles[-1] += data

    def ids(self) -> list[str]:
        return [a["id"] for _, a, _ in self.elements if a.get("id")]

    def inside(self, element_id: str, tag: str) -> list[dict[str, str | None]]:
        return [a for name, a, parents in self.elements if name == tag and element_id in parents]


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def html_pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


def test_the_site_has_its_pages(small_report):
    out, paths = small_report
    relative = {p.relative_to(out).as_posix() for p in html_pages(out)}
    assert relative == {
        "index.html",
        "optimal-discriminator.html",
        "divergences/reverse_kl.html",
        "divergences/total_variation.html",
        "propositions/saturation.html",
    }
    assert set(paths) == set(out.rglob("*.*"))  # what was returned is what was written


def test_every_page_has_a_strict_csp_that_allows_its_own_style(small_report):
    out, _ = small_report
    for path in html_pages(out):
        page = parse(path)
        metas = [
            a for tag, a, _ in page.elements
            if tag == "meta" and (a.get("http-equiv") or "").lower() == "content-security-policy"
        ]  # fmt: skip
        assert len(metas) == 1, path
        policy = metas[0]["content"]
        assert "default-src 'none'" in policy and "img-src 'self' data:" in policy
        assert "unsafe" not in policy and "script-src" not in policy
        (style,) = page.styles
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"style-src 'sha256-{digest}'" in policy, path


def test_no_script_no_inline_style_no_external_resource(small_report):
    out, _ = small_report
    for path in html_pages(out):
        page = parse(path)
        for tag, attrs, _ in page.elements:
            assert tag not in {"script", "iframe", "object", "embed", "link"}, (path, tag)
            assert "style" not in attrs, (path, tag)
            assert not any(name.startswith("on") for name in attrs), (path, tag)
            for name in ("href", "src"):
                value = attrs.get(name)
                if value is None:
                    continue
                scheme = urlsplit(value).scheme
                assert scheme in {"", "data"}, (path, value)
                assert not value.startswith("/"), (path, value)


def test_every_internal_link_resolves(small_report):
    out, _ = small_report
    checked = 0
    for path in html_pages(out):
        for tag, attrs, _ in parse(path).elements:
            href = attrs.get("href")
            if tag != "a" or href is None:
                continue
            parts = urlsplit(href)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            assert target.is_file(), (path, href)
            assert out.resolve() in target.parents, (path, href)
            if parts.fragment:
                assert parts.fragment in parse(target).ids(), (path, href)
            checked += 1
    assert checked >= 20


def test_ids_are_unique_on_every_page(small_report):
    out, _ = small_report
    for path in html_pages(out):
        ids = parse(path).ids()
        assert len(ids) == len(set(ids)), (path, sorted({i for i in ids if ids.count(i) > 1}))


@pytest.mark.parametrize("name", ["reverse_kl", "total_variation"])
def test_divergence_page_shows_the_derived_f_and_conjugate_as_mathml(small_report, name):
    out, _ = small_report
    d = dv.get(name)
    path = out / "divergences" / f"{name}.html"
    page = parse(path)
    for part in ("generator", "conjugate", "domain", "activation", "critic", "discriminator"):
        assert page.inside(part, "math"), (name, part)
    text = path.read_text(encoding="utf-8")
    f, f_star = sp.Function("f"), sp.Function("f^{*}")
    assert to_mathml(sp.Eq(f(u), d.generator(u), evaluate=False), display=True) in text
    assert to_mathml(sp.Eq(f_star(t), d.conjugate(t), evaluate=False), display=True) in text
    other = dv.get("total_variation" if name == "reverse_kl" else "reverse_kl")
    assert to_mathml(sp.Eq(f_star(t), other.conjugate(t), evaluate=False), True) not in text
    rows = [a for tag, a, _ in page.elements if tag == "tr" and a.get("class") == "step"]
    assert len(rows) == len(d.steps)
    assert len(page.inside("derivation", "li")) == len(d.derivation)


def test_the_domain_says_which_end_is_open_or_closed(small_report):
    out, _ = small_report
    open_page = (out / "divergences" / "reverse_kl.html").read_text(encoding="utf-8")
    closed_page = (out / "divergences" / "total_variation.html").read_text(encoding="utf-8")
    assert dv.get("reverse_kl").conjugate_domain.right_open
    assert not dv.get("total_variation").conjugate_domain.right_open
    assert 'class="open-end"' in open_page and 'class="closed-end"' not in open_page
    assert 'class="closed-end"' in closed_page and 'class="open-end"' not in closed_page


def test_numeric_steps_show_precision_and_grid(small_report):
    out, _ = small_report
    d = dv.get("total_variation")
    numeric = [s for s in d.steps if not s.symbolic]
    assert numeric  # the biconjugate is checked numerically
    text = (out / "divergences" / "total_variation.html").read_text(encoding="utf-8")
    digits = re.search(r"numeric: (\d+) digits, ([^;]+)", numeric[0].method)
    assert f'<span class="digits">{digits.group(1)} digits</span>' in text
    assert digits.group(2).split(",")[0] in text
    assert text.count('class="method symbolic"') == len(d.steps) - len(numeric)


def test_index_summarises_the_certificates_and_links_every_page(small_report):
    out, _ = small_report
    page = parse(out / "index.html")
    links = {a["href"] for tag, a, _ in page.elements if tag == "a"}
    assert {"divergences/reverse_kl.html", "divergences/total_variation.html"} <= links
    assert "propositions/saturation.html" in links
    text = (out / "index.html").read_text(encoding="utf-8")
    steps = len(dv.get("reverse_kl").steps) + len(dv.get("total_variation").steps)
    from gan_theory import propositions

    steps += len(propositions.get("saturation").steps)
    assert f'<span class="passed">{steps}/{steps}</span>' in text
    assert len(page.inside("divergences-table", "math")) == 2 * 4  # f, f*, dom, g_f per row


def test_plots_are_embedded_svg_images(small_report):
    out, _ = small_report
    for path in (out / "divergences" / "reverse_kl.html", out / "propositions" / "saturation.html"):
        images = [a for tag, a, _ in parse(path).elements if tag == "img"]
        assert len(images) == 1 and images[0]["alt"]
        prefix = "data:image/svg+xml;base64,"
        assert images[0]["src"].startswith(prefix)
        image = base64.b64decode(images[0]["src"][len(prefix) :]).decode()
        assert image.startswith("<?xml") and "<svg" in image
        assert "<dc:date>" not in image  # no date: the same input gives the same bytes


def test_svg_is_reproducible():
    d = dv.get("reverse_kl")
    assert svg(divergence_figure(d)) == svg(divergence_figure(d))


def test_the_proposition_page_shows_its_statement_and_steps(small_report):
    from gan_theory import propositions

    out, _ = small_report
    page = parse(out / "propositions" / "saturation.html")
    assert page.inside("statement", "math")
    rows = [a for tag, a, _ in page.elements if tag == "tr" and a.get("class") == "step"]
    assert len(rows) == len(propositions.get("saturation").steps)
