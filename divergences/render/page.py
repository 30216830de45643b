r"""The page of one divergence: everything derived from its generator, each step with how it was
checked, and the plots; plus the JSON record of the same content.

:func:`divergence_page` returns a complete HTML document; :func:`divergence_body` the part that
the report of :mod:`gan_theory.report` puts into its site (with links to the index, the optimal
discriminator and the propositions). :func:`write_divergence_page` is
``FDivergence.report(path)``. Stable ``id`` attributes name each part (``generator``,
``conjugate``, ``domain``, ``activation``, ``critic``, ``discriminator``, ``derivation``,
``certificate``, ``plots``; ``derivation-step-N`` and ``certificate-step-N`` for the rows).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sympy as sp

from .._atomic import write_text_atomic
from ..symbolic.steps import DerivationStep, Step
from ..symbolic.symbols import r, t, u, v
from . import escape
from .document import document
from .mathml import latex_to_mathml, to_mathml

if TYPE_CHECKING:
    from ..fdivergence import FDivergence

__all__ = [
    "Link",
    "derivation_html",
    "divergence_body",
    "divergence_page",
    "divergence_record",
    "domain_ends",
    "expression_record",
    "method_parts",
    "step_record",
    "steps_table_html",
    "title",
    "write_divergence_page",
]

_NUMERIC = re.compile(r"numeric:\s*(?:(\d+)\s*digits?,?\s*)?(.*)", re.DOTALL)


@dataclass(frozen=True)
class Link:
    """A navigation link: its text and a relative ``href`` (both escaped when written)."""

    label: str
    href: str


def method_parts(method: str) -> dict[str, Any]:
    """How a step was checked, split for display and JSON.

    ``"symbolic"`` gives ``{"kind": "symbolic", "digits": None, "grid": None}``;
    ``"numeric: 120 digits, u in {...}"`` gives ``kind="numeric"``, ``digits=120`` and the grid
    (with whatever the method adds, e.g. skipped points); other text is ``kind="other"``.
    """
    if method == "symbolic":
        return {"kind": "symbolic", "digits": None, "grid": None, "text": method}
    match = _NUMERIC.fullmatch(method.strip())
    if match:
        digits = int(match.group(1)) if match.group(1) else None
        return {"kind": "numeric", "digits": digits, "grid": match.group(2) or None, "text": method}
    return {"kind": "other", "digits": None, "grid": None, "text": method}


def expression_record(obj: sp.Basic) -> dict[str, str]:
    """``{"text": str(obj), "latex": latex(obj)}``, the JSON form of an expression."""
    return {"text": str(obj), "latex": sp.latex(obj)}


def step_record(step: Step) -> dict[str, Any]:
    """The JSON record of a certificate step (see the report's JSON Schema)."""
    parts = method_parts(step.method)
    return {
        "description": step.description,
        "relation": expression_record(step.relation),
        "method": step.method,
        "kind": parts["kind"],
        "digits": parts["digits"],
        "grid": parts["grid"],
        "passed": bool(step.passed),
        "detail": step.detail,
    }


def domain_ends(domain: sp.Set) -> dict[str, Any]:
    """The ends of ``dom f^*``: values (as text and LaTeX) and whether each is open."""
    if not isinstance(domain, sp.Interval):
        return {"start": None, "end": None, "left_open": None, "right_open": None}
    return {
        "start": expression_record(domain.start),
        "end": expression_record(domain.end),
        "left_open": bool(domain.left_open),
        "right_open": bool(domain.right_open),
    }


def _critic_of_discriminator(d: FDivergence) -> sp.Expr:
    """``T^*`` as a function of the optimal discriminator ``D^* = r/(1 + r)``:
    ``f'(D/(1 - D))`` (substituted, not simplified)."""
    disc = sp.Symbol("D^*", positive=True)
    return d.optimal_critic(disc / (1 - disc))


def divergence_record(d: FDivergence, page: str | None = None) -> dict[str, Any]:
    """The JSON record of ``d`` (one item of the report's ``divergences``)."""
    steps = d.steps
    return {
        "name": d.name,
        "entry": d.entry.name,
        "parameters": {k: str(x) for k, x in d.parameters.items()},
        "page": page,
        "description": d.description,
        "reference": d.reference,
        "generator": expression_record(d.generator(u)),
        "offset": expression_record(d.offset),
        "conjugate": expression_record(d.conjugate(t)),
        "conjugate_domain": {
            **expression_record(d.conjugate_domain),
            **domain_ends(d.conjugate_domain),
        },
        "activation": expression_record(d.activation(v)),
        "activation_source": d.activation_source,
        "optimal_critic": expression_record(d.optimal_critic(r)),
        "optimal_discriminator": expression_record(r / (1 + r)),
        "derivation": [
            {"description": s.description, "result": expression_record(s.result)}
            for s in d.derivation
        ],
        "certificate": [step_record(s) for s in steps],
        "passed": sum(bool(s.passed) for s in steps),
        "total": len(steps),
        "numeric": sum(not s.symbolic for s in steps),
    }


def title(d: FDivergence) -> str:
    """The divergence's display name: ``kl``, ``alpha (alpha = 2)``."""
    params = ", ".join(f"{k} = {x}" for k, x in d.parameters.items())
    return f"{d.entry.name} ({params})" if params else d.name


def _method_html(method: str) -> str:
    parts = method_parts(method)
    if parts["kind"] == "symbolic":
        return '<span class="method symbolic">symbolic</span>'
    if parts["kind"] == "numeric":
        digits = (
            f' <span class="digits">{parts["digits"]} digits</span>'
            if parts["digits"] is not None
            else ""
        )
        grid = (
            f'<br><span class="grid">{escape.html(parts["grid"])}</span>' if parts["grid"] else ""
        )
        return f'<span class="method numeric">numeric</span>{digits}{grid}'
    return f'<span class="method other">{escape.html(method)}</span>'


def steps_table_html(steps: Iterable[Step], id_prefix: str = "certificate") -> str:
    """A table of checked steps: claim, relation (MathML), method, result and detail."""
    rows = []
    for i, step in enumerate(steps, 1):
        verdict = (
            '<span class="passed">passed</span>'
            if step.passed
            else '<span class="failed">FAILED</span>'
        )
        detail = (
            f'<br><span class="detail">{escape.html(step.detail)}</span>' if step.detail else ""
        )
        rows.append(
            f'<tr id="{id_prefix}-step-{i}" class="step">'
            f'<td class="num">{i}</td><td>{escape.html(step.description)}</td>'
            f'<td class="relation">{to_mathml(step.relation)}</td>'
            f"<td>{_method_html(step.method)}</td><td>{verdict}{detail}</td></tr>"
        )
    return (
        f'<table class="steps" id="{id_prefix}-table"><thead><tr><th class="num">#</th>'
        "<th>claim</th><th>relation checked</th><th>method</th><th>result</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def derivation_html(steps: Iterable[DerivationStep], id_prefix: str = "derivation") -> str:
    """An ordered list of derivation steps: what was done, and the result as display math."""
    items = [
        f'<li id="{id_prefix}-step-{i}">{escape.html(step.description)}'
        f"{to_mathml(step.result, display=True)}</li>"
        for i, step in enumerate(steps, 1)
    ]
    return f'<ol class="derivation">{"".join(items)}</ol>'


def _domain_html(d: FDivergence) -> str:
    _TENDS = latex_to_mathml(r"f^*(t) \to \infty")
    domain = d.conjugate_domain
    parts = [to_mathml(sp.Eq(sp.Symbol(r"\operatorname{dom} f^{*}"), domain, evaluate=False))]
    if isinstance(domain, sp.Interval):
        words = []
        for end, is_open, side in (
            (domain.start, domain.left_open, "left"),
            (domain.end, domain.right_open, "right"),
        ):
            if end in (sp.oo, -sp.oo):
                words.append(f"the {side} end is {to_mathml(end)} (unbounded)")
            elif is_open:
                words.append(
                    f'the {side} end {to_mathml(end)} is <strong class="open-end">open</strong>:'
                    f" {_TENDS} there"
                )
            else:
                value = d.conjugate(end)
                words.append(
                    f'the {side} end {to_mathml(end)} is <strong class="closed-end">closed'
                    f"</strong>: {to_mathml(sp.Eq(sp.Symbol('f^{*}(b)'), value, evaluate=False))}"
                )
        parts.append("; ".join(words) + ".")
    return " ".join(parts)


def _dl(items: Sequence[tuple[str, str, str]]) -> str:
    body = "".join(f'<dt>{label}</dt><dd id="{key}">{value}</dd>' for key, label, value in items)
    return f'<dl class="quantities">{body}</dl>'


def _plots_html(d: FDivergence) -> str:
    from .plots import divergence_svg, svg_data_uri

    try:
        image = svg_data_uri(divergence_svg(d))
    except Exception as exc:  # the page is still written; it says why the plots are missing
        return (
            '<p class="note" id="plots-unavailable">No plots: emitting the torch functions '
            f"failed ({escape.html(type(exc).__name__)}: {escape.html(exc)}).</p>"
        )
    alt = (
        f"Plots of {title(d)}: f(u) on (0, 4], f*(t) on its domain with the domain's end "
        "marked, g_f(v), f*(g_f(v)), the Fenchel-Young gap and the optimal critic f'(r)."
    )
    return (
        f'<figure id="plot-divergence"><img src="{image}" alt="{escape.html(alt)}" '
        'width="1050" height="600">'
        "<figcaption>Computed with the emitted torch functions (<code>d.torch</code>) in float64. "
        "Top: the generator with f(1) marked; the conjugate on its domain (a dashed red line at "
        "an open end, where f* tends to infinity; a dot at a closed end); the output activation "
        "with the domain's end. Bottom: f*(g_f(v)), the f-GAN loss term; the Fenchel-Young gap "
        "f(u) + f*(t) - ut for t = f'(u0), zero exactly at u = u0; the optimal critic."
        "</figcaption></figure>"
    )


def divergence_body(
    d: FDivergence,
    *,
    discriminator_href: str | None = None,
    related: Sequence[Link] = (),
    plots: bool = True,
) -> str:
    """The page's content (HTML, everything escaped).

    Args:
        d: the divergence.
        discriminator_href: link to the derivation of the optimal discriminator, if written.
        related: further links shown under "See also" (e.g. the f-GAN bound proposition).
        plots: include the plots (they need the emitted torch functions and matplotlib).
    """
    steps = d.steps
    passed = sum(bool(s.passed) for s in steps)
    numeric = sum(not s.symbolic for s in steps)
    params = ", ".join(f"{k} = {x}" for k, x in d.parameters.items())
    head = [
        f'<h1 id="title">{escape.html(d.entry.name if params else d.name)}'
        + (f' <small class="parameters">({escape.html(params)})</small>' if params else "")
        + "</h1>",
        f'<p class="lead">{escape.html(d.description)}'
        + (f". Reference: {escape.html(d.reference)}" if d.reference else "")
        + ".</p>",
    ]
    if d.formula:
        head.append(f'<p id="formula">Divergence: {latex_to_mathml(d.formula, display=True)}</p>')
    facts = []
    if d.value_range is not None:
        facts.append(f"range {to_mathml(d.value_range)}")
    if d.symmetric is not None:
        facts.append("symmetric" if d.symmetric else "not symmetric")
    if facts:
        head.append(f'<p id="facts">{"; ".join(facts)} (re-checked by the certificate).</p>')
    verdict = "passed" if passed == len(steps) else "failed"
    head.append(
        f'<p id="summary">Certificate: <span class="{verdict}">{passed} / {len(steps)} steps '
        f"passed</span> ({numeric} checked numerically).</p>"
    )
    offset = ""
    if d.has_offset:
        offset = f" (offset {to_mathml(sp.Eq(sp.Symbol('f(1)'), d.offset, evaluate=False))})"
    disc = (
        f' (<a href="{escape.html(discriminator_href)}">derivation of D*</a>)'
        if discriminator_href
        else ""
    )

    def eq(lhs: sp.Basic, rhs: sp.Basic) -> str:
        return to_mathml(sp.Eq(lhs, rhs, evaluate=False), display=True)

    quantities = _dl(
        [
            (
                "generator",
                "generator",
                eq(sp.Function("f")(u), d.generator(u)) + f"for {latex_to_mathml('u > 0')}{offset}",
            ),
            (
                "conjugate",
                "conjugate",
                eq(sp.Function("f^{*}")(t), d.conjugate(t))
                + latex_to_mathml(r"f^*(t) = \sup_{u > 0}\, \big(u t - f(u)\big)"),
            ),
            ("domain", "domain of f*", _domain_html(d)),
            (
                "activation",
                "output activation",
                eq(sp.Function("g_f")(v), d.activation(v)) + escape.html(d.activation_source),
            ),
            (
                "critic",
                "optimal critic",
                eq(sp.Function("T^{*}")(r), d.optimal_critic(r))
                + latex_to_mathml(r"T^*(r) = f'(r)")
                + " at the density ratio "
                + latex_to_mathml("r = p/q"),
            ),
            (
                "discriminator",
                "optimal discriminator",
                eq(sp.Function("D^{*}")(r), r / (1 + r))
                + "the GAN discriminator at the same ratio"
                + disc
                + "; the critic in terms of it: "
                + to_mathml(sp.Eq(sp.Symbol("T^{*}"), _critic_of_discriminator(d), evaluate=False)),
            ),
        ]
    )
    sections = [
        *head,
        '<h2 id="quantities-heading">Derived quantities</h2>',
        quantities,
        '<h2 id="derivation-heading">Derivation of the conjugate</h2>',
        f'<div id="derivation">{derivation_html(d.derivation)}</div>',
        '<h2 id="certificate-heading">Certificate</h2>',
        "<p>Each claim is first tried symbolically (a SymPy simplification reaching zero, or a "
        "decided sign or limit); when SymPy cannot decide, it is checked numerically at the "
        "stated precision on the stated grid.</p>",
        f'<div id="certificate">{steps_table_html(steps)}</div>',
    ]
    if plots:
        sections += ['<h2 id="plots-heading">Plots</h2>', f'<div id="plots">{_plots_html(d)}</div>']
    if related:
        links = "".join(
            f'<li><a href="{escape.html(link.href)}">{escape.html(link.label)}</a></li>'
            for link in related
        )
        sections += ['<h2 id="related-heading">See also</h2>', f'<ul id="related">{links}</ul>']
    return "\n".join(sections)


def divergence_page(
    d: FDivergence,
    *,
    nav: Sequence[Link] = (),
    discriminator_href: str | None = None,
    related: Sequence[Link] = (),
    plots: bool = True,
) -> str:
    """The complete HTML document of ``d`` (see :func:`divergence_body`)."""
    nav_html = "".join(
        f'<a href="{escape.html(link.href)}">{escape.html(link.label)}</a>' for link in nav
    )
    body = divergence_body(d, discriminator_href=discriminator_href, related=related, plots=plots)
    return document(f"{title(d)}: derivation report", body, nav=nav_html, page_id="divergence")


def write_divergence_page(
    d: FDivergence, path: str | os.PathLike[str], *, plots: bool = True
) -> Path:
    """Write the page of ``d`` (``FDivergence.report``).

    Args:
        d: the divergence.
        path: a file ending in ``.html``, or a directory, which then receives ``<slug>.html``
            (the name made a plain file name: ``../x`` cannot leave the directory).
        plots: include the plots.

    Returns:
        The path written. The file is written whole or not at all (temporary file, then
        renamed).
    """
    from .names import slug

    target = Path(path)
    if target.suffix.lower() != ".html":
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"{slug(d.name)}.html"
    write_text_atomic(target, divergence_page(d, plots=plots))
    return target
