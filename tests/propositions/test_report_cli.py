"""The propositions in the derivation report and the ``gan-theory propositions`` command."""

from __future__ import annotations

import json

import sympy as sp

import gan_theory.propositions.cli as cli_module
import gan_theory.report.markdown as markdown_module
from gan_theory import propositions
from gan_theory.cli import main
from gan_theory.propositions import Proposition, Recorder
from gan_theory.report import propositions_section, propositions_summary, write_report


def _broken(rec: Recorder) -> None:
    rec.check("a false claim", sp.Eq(sp.Integer(1), 2, evaluate=False), "symbolic", lambda: False)


BROKEN = Proposition("broken", "one equals two", "nowhere", "1 = 2", _broken)


def test_section_lists_every_proposition_and_step() -> None:
    text = "\n".join(propositions_section())
    total = sum(len(p.steps) for p in propositions.all_propositions())
    assert f"Steps passed: **{total} / {total}**" in text
    for i, prop in enumerate(propositions.all_propositions(), 1):
        assert f"## {i}. `{prop.name}`" in text
        assert f"(#{i}-{prop.name})" in text  # the summary links to the subsection
        assert prop.statement in text
    assert "**NO**" not in text


def test_section_shows_a_failed_step() -> None:
    text = "\n".join(propositions_section([BROKEN]))
    assert "Steps passed: **0 / 1**" in text
    assert "| 1 | a false claim | $1 = 2$ | symbolic | **NO** |" in text


def test_summary_is_json_and_true_to_the_steps() -> None:
    summary = json.loads(json.dumps(propositions_summary()))
    assert [entry["name"] for entry in summary] == list(propositions.names())
    for entry, prop in zip(summary, propositions.all_propositions(), strict=True):
        assert entry["passed"] is True
        assert [s["description"] for s in entry["steps"]] == [s.description for s in prop.steps]


def test_write_report_adds_the_propositions(tmp_path) -> None:
    # only propositions: no divergence is derived, which keeps this fast
    names = ["gibbs", "cross_entropy"]
    paths = write_report(tmp_path, only=names, formats=("md", "json"), progress=False)
    assert sorted(p.name for p in paths) == ["derivations.md", "report.json"]
    data = json.loads((tmp_path / "report.json").read_text())
    assert [p["name"] for p in data["propositions"]] == ["cross_entropy", "gibbs"]  # theory order
    assert "# Propositions of GAN theory" in (tmp_path / "derivations.md").read_text()


def test_report_includes_the_section(monkeypatch) -> None:
    monkeypatch.setattr(markdown_module, "_discriminator_section", lambda: [])
    text = markdown_module.registry_report([], [propositions.get("gibbs")])
    assert "# Propositions of GAN theory" in text and "## 1. `gibbs`" in text


def test_cli_passes_and_lists_steps(capsys) -> None:
    assert main(["propositions", "gibbs", "cross_entropy"]) == 0
    out = capsys.readouterr().out
    assert "PASS gibbs (5/5 steps)" in out and "PASS cross_entropy" in out
    assert "checked:" not in out  # only failures are detailed by default
    assert main(["propositions", "gibbs", "--steps"]) == 0
    out = capsys.readouterr().out
    assert out.count("  ok   ") == len(propositions.get("gibbs").steps)


def test_cli_reports_failure_with_status_1(capsys, monkeypatch) -> None:
    monkeypatch.setattr(cli_module, "names", lambda: ("broken",))
    monkeypatch.setattr(cli_module, "get", lambda name: BROKEN)
    monkeypatch.setattr(cli_module, "all_propositions", lambda: (BROKEN,))
    assert main(["propositions"]) == 1
    out = capsys.readouterr().out
    assert "FAIL broken (0/1 steps)" in out and "FAIL a false claim" in out


def test_cli_unknown_name_is_status_2(capsys) -> None:
    assert main(["propositions", "no_such"]) == 2
    assert "unknown no_such" in capsys.readouterr().err


def test_package_doctest() -> None:
    import doctest

    import gan_theory.propositions as package

    result = doctest.testmod(package, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2 and result.failed == 0
