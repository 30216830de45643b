"""The HTML site of the derivation report: the index, the optimal discriminator, one page per
proposition (one per divergence comes from :mod:`divergences.render`).

Layout inside the output folder (every link is relative, so the folder can be moved or opened
from disk)::

    index.html                      certificate summary and links
    optimal-discriminator.html      the derivation of D* = p / (p + q)
    divergences/<slug>.html         one page per divergence
    propositions/<slug>.html        one page per proposition

File names come from :func:`divergences.render.names.slug`; every piece of text is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

import divergences as dv
from divergences.render import escape
from divergences.render.document import document
from divergences.render.mathml import latex_to_mathml, to_mathml
from divergences.render.page import (
    Link,
    derivation_html,
    divergence_body,
    steps_table_html,
    title,
)
from divergences.render.plots import svg_data_uri
from divergences.symbolic.symbols import t, u, v

from ._format import optimal_discriminator

if TYPE_CHECKING:
    from ..propositions import Proposition


__all__ = [
    "DISCRIMINATOR_PAGE",
    "INDEX",
    "SiteMap",
    "discriminator_page",
    "divergence_site_page",
    "index_page",
    "proposition_page",
]

INDEX = "index.html"
DISCRIMINATOR_PAGE = "optimal-discriminator.html"

_JS_NOTE = (
    "The f-GAN paper (Nowozin et al. 2016, Table 2) lists the Jensen-Shannon generator without "
    "the factor 1/2, i.e. 2 JS; here js is the standard JS, bounded by log 2. The table also "
    "gives the Pearson and total-variation conjugates of f extended to all reals; over u > 0 "
    "they are piecewise, as derived here."
)


@dataclass(frozen=True)
class SiteMap:
    """Where each page of the site is, relative to the output folder."""

    divergences: Mapping[str, str]  # divergence name -> "divergences/<slug>.html"
    propositions: Mapping[str, str]  # proposition name -> "propositions/<slug>.html"
    discriminator: str | None  # DISCRIMINATOR_PAGE when written
    files: Sequence[str] = ()  # other formats written (derivations.md, report.json)


def _nav(depth: int, site: SiteMap) -> str:
    up = "../" * depth
    links = [Link("Index", up + INDEX)]
    if site.discriminator:
        links.append(Link("Optimal discriminator", up + site.discriminator))
    links += [Link(name, up + name) for name in site.files]
    return "".join(
        f'<a href="{escape.html(link.href)}">{escape.html(link.label)}</a>' for link in links
    )


def _stem(href: str) -> str:
    """``divergences/kl.html`` -> ``kl`` (a slug: safe in an id)."""
    return href.rsplit("/", 1)[-1].removesuffix(".html")


def _verdict(passed: int, total: int) -> str:
    cls = "passed" if passed == total else "failed"
    return f'<span class="{cls}">{passed}/{total}</span>'


def index_page(
    divergences: Sequence[dv.FDivergence],
    propositions: Sequence[Proposition],
    site: SiteMap,
) -> str:
    """The index: what the report is, the certificate summary of every divergence and
    proposition, and links to their pages."""
    steps = [s for d in divergences for s in d.steps]
    prop_steps = [s for p in propositions for s in p.steps]
    all_steps = steps + prop_steps
    passed = sum(bool(s.passed) for s in all_steps)
    numeric = sum(not s.symbolic for s in all_steps)
    body = [
        '<h1 id="title">Derivation report: f-divergences, f-GAN quantities and GAN theory</h1>',
        '<p class="lead">Every conjugate below was derived by the library\'s Legendre-Fenchel '
        "engine from the generator alone, over u &gt; 0; none was typed in. Each derivation "
        "carries a certificate: a step is <em>symbolic</em> when SymPy reached zero or decided "
        "the relation, <em>numeric</em> (with its precision and grid) when SymPy could not "
        "decide. Each proposition of GAN theory is derived step by step, with numeric "
        "witnesses checked against independent oracles.</p>",
        f'<p id="summary">Steps passed: {_verdict(passed, len(all_steps))} '
        f"({numeric} checked numerically) over {len(divergences)} divergences and "
        f"{len(propositions)} propositions.</p>",
    ]
    if divergences:
        rows = []
        for d in divergences:
            href = site.divergences[d.name]
            ok = sum(bool(s.passed) for s in d.steps)
            num = sum(not s.symbolic for s in d.steps)
            rows.append(
                f'<tr id="row-divergence-{escape.html(_stem(href))}" '
                f'class="divergence"><td><a href="{escape.html(href)}">'
                f"{escape.html(title(d))}</a></td>"
                f"<td>{to_mathml(d.generator(u))}</td><td>{to_mathml(d.conjugate(t))}</td>"
                f"<td>{to_mathml(d.conjugate_domain)}</td><td>{to_mathml(d.activation(v))}</td>"
                f'<td class="num">{_verdict(ok, len(d.steps))} ({num} numeric)</td></tr>'
            )
        body += [
            '<h2 id="divergences-heading">Divergences</h2>',
            '<table id="divergences-table"><thead><tr><th>divergence</th><th>f(u)</th>'
            "<th>f*(t)</th><th>dom f*</th><th>g_f(v)</th><th>certificate</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>",
            f'<p class="note" id="js-note">{escape.html(_JS_NOTE)}</p>',
        ]
        if site.discriminator:
            body.append(
                f'<p>The optimal discriminator of the GAN game, <a href="'
                f'{escape.html(site.discriminator)}">D* = p / (p + q)</a>, derived from the '
                "pointwise GAN integrand.</p>"
            )
    if propositions:
        from ..propositions import names

        order = {name: i for i, name in enumerate(names(), 1)}
        rows = []
        for p in propositions:
            ok = sum(bool(s.passed) for s in p.steps)
            href = site.propositions[p.name]
            rows.append(
                f'<tr id="row-proposition-{escape.html(_stem(href))}" class="proposition">'
                f'<td class="num">{order.get(p.name, "")}</td>'
                f'<td><a href="{escape.html(site.propositions[p.name])}">{escape.html(p.title)}'
                f"</a></td><td>{escape.html(p.source)}</td>"
                f'<td class="num">{_verdict(ok, len(p.steps))}</td></tr>'
            )
        body += [
            '<h2 id="propositions-heading">Propositions of GAN theory</h2>',
            '<table id="propositions-table"><thead><tr><th class="num">#</th>'
            "<th>proposition</th><th>source</th><th>steps</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>",
        ]
    if site.files:
        links = ", ".join(
            f'<a href="{escape.html(name)}">{escape.html(name)}</a>' for name in site.files
        )
        body.append(f'<p id="formats">The same report as {links}.</p>')
    return document("Derivation report", "\n".join(body), page_id="index")


def divergence_site_page(d: dv.FDivergence, site: SiteMap) -> str:
    """A divergence's page inside the site (links back to the index and across)."""
    related = []
    if "fgan_bound" in site.propositions:
        related.append(
            Link(
                "f-GAN variational bound, checked for this divergence",
                "../" + site.propositions["fgan_bound"],
            )
        )
    body = divergence_body(
        d,
        discriminator_href=("../" + site.discriminator) if site.discriminator else None,
        related=related,
    )
    return document(f"{title(d)}: derivation report", body, nav=_nav(1, site), page_id="divergence")


def discriminator_page(site: SiteMap) -> str:
    """The derivation of the optimal discriminator (:func:`divergences.optimal_discriminator`)."""
    d_star, derivation, steps = optimal_discriminator()
    a, b = sorted(d_star.variables, key=lambda s: s.name)
    body = "\n".join(
        [
            '<h1 id="title">The optimal discriminator</h1>',
            '<p class="lead">For fixed G the GAN value is the integral of p<sub>data</sub>(x) log '
            "D(x) + p<sub>g</sub>(x) log(1 - D(x)); it is maximised pointwise (Goodfellow et al. "
            "2014, Proposition 1) with a = p<sub>data</sub>(x), b = p<sub>g</sub>(x).</p>",
            f'<p id="result">{to_mathml(sp.Eq(sp.Symbol("D^{*}"), d_star(a, b)), display=True)}'
            "</p>",
            '<h2 id="derivation-heading">Derivation</h2>',
            f'<div id="derivation">{derivation_html(derivation)}</div>',
            '<h2 id="certificate-heading">Checked steps</h2>',
            f'<div id="certificate">{steps_table_html(steps)}</div>',
        ]
    )
    return document("The optimal discriminator", body, nav=_nav(0, site), page_id="discriminator")


def proposition_page(p: Proposition, number: int, site: SiteMap, plot_svg: str | None) -> str:
    """A proposition's page: claim, source, statement, checked steps and its plot if any."""
    from .plots import PLOTS

    parts = [
        f'<h1 id="title">{number}. {escape.html(p.title)}</h1>',
        f'<p class="lead">Source: {escape.html(p.source)}. Name: <code>{escape.html(p.name)}'
        "</code>.</p>",
        f'<div id="statement">{latex_to_mathml(p.statement, display=True)}</div>',
    ]
    ok = sum(bool(s.passed) for s in p.steps)
    parts.append(
        f'<p id="summary">Steps passed: {_verdict(ok, len(p.steps))} '
        f"({sum(not s.symbolic for s in p.steps)} numeric witnesses or checks).</p>"
    )
    if plot_svg is not None:
        caption = PLOTS[p.name][1]
        parts.append(
            f'<figure id="plot-proposition"><img src="{svg_data_uri(plot_svg)}" '
            f'alt="{escape.html(caption)}" width="750" height="320">'
            f"<figcaption>{escape.html(caption)}</figcaption></figure>"
        )
    parts += [
        '<h2 id="certificate-heading">Checked steps</h2>',
        f'<div id="certificate">{steps_table_html(p.steps)}</div>',
    ]
    if p.name == "fgan_bound" and site.divergences:
        links = "".join(
            f'<li><a href="../{escape.html(href)}">{escape.html(name)}</a></li>'
            for name, href in site.divergences.items()
        )
        parts += ['<h2 id="related-heading">Divergences</h2>', f'<ul id="related">{links}</ul>']
    return document(p.title, "\n".join(parts), nav=_nav(1, site), page_id="proposition")
