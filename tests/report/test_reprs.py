"""Notebook cards (``_repr_html_``, ``_repr_latex_``, ``_repr_markdown_``) and ``d.report``.

Oracles: the cards show the library's own f, f*, domain and g_f (compared with the MathML and
LaTeX of ``dv.get(...)``'s objects) and its certificate count; a hostile name is text in every
format; ``d.report`` writes one page inside the chosen folder.
"""

from __future__ import annotations

import re

import sympy as sp

import divergences as dv
from divergences.render.mathml import to_mathml
from divergences.symbolic.symbols import t, u, v
from gan_theory import propositions

HOSTILE = "<script>alert(1)</script>_$x$}"


def test_html_card_shows_the_derived_quantities():
    d = dv.get("reverse_kl")
    card = d._repr_html_()
    for value in (d.generator(u), d.conjugate(t), d.conjugate_domain, d.activation(v)):
        assert to_mathml(value) in card
    assert f"certificate: {len(d.steps)}/{len(d.steps)} steps passed" in card


def test_latex_and_markdown_cards():
    d = dv.get("total_variation")
    latex = d._repr_latex_()
    assert latex.startswith("$") and latex.endswith("$")
    assert sp.latex(d.conjugate(t)) in latex and sp.latex(d.conjugate_domain) in latex
    markdown = d._repr_markdown_()
    assert markdown.startswith("**FDivergence** `total_variation`")
    assert f"$f^*(t) = {sp.latex(d.conjugate(t))}$" in markdown
    assert f"{len(d.steps)}/{len(d.steps)} steps passed" in markdown


def test_a_hostile_name_is_text_in_every_card():
    d = dv.FDivergence.from_generator((u - 1) ** 2, u, name=HOSTILE)
    assert "<script" not in d._repr_html_() and "&lt;script&gt;" in d._repr_html_()
    latex = d._repr_latex_()
    assert r"\textless{}script\textgreater{}" in latex and r"\_\$x\$\}" in latex
    markdown = d._repr_markdown_()
    assert "`" + HOSTILE + "`" in markdown  # a code span shows it verbatim


def test_parametrised_card_names_the_parameter():
    assert "<code>alpha(alpha=2)</code>" in dv.get("alpha", alpha=2)._repr_html_()


def test_report_writes_one_page_inside_the_folder(tmp_path):
    d = dv.FDivergence.from_generator((u - 1) ** 2, u, name="../../escape")
    path = d.report(tmp_path, plots=False)
    assert path.parent == tmp_path and path.suffix == ".html"
    assert re.fullmatch(r"escape-[0-9a-f]{8}\.html", path.name)
    text = path.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in text and "<math" in text and "../../escape" in text
    assert list(tmp_path.iterdir()) == [path]


def test_report_to_an_html_file(tmp_path):
    path = dv.get("reverse_kl").report(tmp_path / "rkl.html")
    assert path == tmp_path / "rkl.html"
    assert 'id="plot-divergence"' in path.read_text(encoding="utf-8")


def test_proposition_cards():
    p = propositions.get("gibbs")
    html = p._repr_html_()
    assert "<code>gibbs</code>" in html and "<math" in html
    assert f"{len(p.steps)}/{len(p.steps)} steps passed" in html
    assert p._repr_markdown_().startswith("**Proposition** `gibbs`")
    assert p.statement in p._repr_markdown_() and p.statement in p._repr_latex_()


def test_a_failed_proposition_step_is_named_in_its_card():
    from gan_theory.propositions import Proposition

    def broken(rec):
        rec.check("a <false> claim", sp.Eq(sp.Integer(1), 2, evaluate=False), "symbolic", lambda: 0)

    p = Proposition("broken", "one equals two", "nowhere", "1 = 2", broken)
    assert "0/1 steps passed" in p._repr_html_()
    assert "<li>a &lt;false&gt; claim</li>" in p._repr_html_()
    assert "FAILED: a &lt;false> claim" in p._repr_markdown_()
