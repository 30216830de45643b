"""The ``gan-theory report`` command: a user's generator, refusals, ``--only``, ``--format``.

Oracles: the page of a user's generator shows the conjugate that the library derives for the same
generator (its MathML); refusals exit non-zero with the library's own error message and leave no
folder (nor a temporary one) behind; a string that would run code if evaluated is refused and
its side effect (creating a file) does not happen.
"""

from __future__ import annotations

import json
import os
import stat

import pytest
import sympy as sp

import divergences as dv
from divergences.render.mathml import to_mathml
from divergences.symbolic.symbols import t, u
from gan_theory.cli import main

TRIANGULAR = "(u-1)**2/(u+1)"


@pytest.fixture(scope="module")
def triangular(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "triangular-report"
    assert (
        main(["report", "--generator", TRIANGULAR, "--name", "triangular", "--out", str(out)]) == 0
    )
    return out


def test_a_user_generator_gets_the_same_pages(triangular) -> None:
    assert (triangular / "index.html").is_file()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(triangular.stat().st_mode) == 0o777 & ~umask  # not mkdtemp's 0700
    assert (triangular / "derivations.md").is_file() and (triangular / "report.json").is_file()
    page = (triangular / "divergences" / "triangular.html").read_text(encoding="utf-8")
    d = dv.FDivergence.from_generator(TRIANGULAR, u, name="triangular")
    conjugate = sp.Eq(sp.Function("f^{*}")(t), d.conjugate(t), evaluate=False)
    assert to_mathml(conjugate, display=True) in page
    assert 'id="plot-divergence"' in page
    index = (triangular / "index.html").read_text(encoding="utf-8")
    assert 'href="divergences/triangular.html"' in index
    assert to_mathml(d.conjugate(t)) in index
    data = json.loads((triangular / "report.json").read_text(encoding="utf-8"))
    assert [r["name"] for r in data["divergences"]] == ["triangular"]
    assert data["divergences"][0]["conjugate"]["text"] == str(d.conjugate(t))
    assert data["propositions"] == []


def test_a_non_convex_generator_is_refused_and_nothing_is_written(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["report", "--generator", "-log(u)**2", "--name", "bad", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    with pytest.raises(dv.NotConvexError) as refused:
        dv.FDivergence.from_generator("-log(u)**2", u, name="bad")
    assert f"NotConvexError: {refused.value}" in err and "is not convex on (0, oo)" in err
    assert list(tmp_path.iterdir()) == []  # no output folder, no temporary folder


def test_a_malicious_string_is_refused_and_not_run(tmp_path, capsys) -> None:
    sentinel = tmp_path / "ran"
    text = f"__import__('os').system('touch {sentinel}')"
    out = tmp_path / "out"
    assert main(["report", "--generator", text, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "InvalidGeneratorError" in err
    assert not sentinel.exists() and not out.exists()


def test_offset_generators_need_allow_offset(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["report", "--generator", "(u-1)**2 + 1", "--out", str(out)]) == 1
    assert "f(1)" in capsys.readouterr().err and not out.exists()
    args = ["report", "--generator", "(u-1)**2 + 1", "--allow-offset", "--format", "json"]
    assert main([*args, "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["divergences"][0]["offset"]["text"] == "1"


def test_a_hostile_name_is_escaped_and_cannot_choose_the_path(tmp_path) -> None:
    name = "<script>alert(1)</script>/../../x"
    out = tmp_path / "out"
    args = ["report", "--generator", TRIANGULAR, "--name", name, "--format", "html"]
    assert main([*args, "--out", str(out)]) == 0
    (page,) = (out / "divergences").iterdir()
    assert page.parent == out / "divergences" and page.name.startswith("script-alert-1-script-x-")
    for path in (page, out / "index.html"):
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_only_limits_the_report(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["report", "--only", "gibbs", "--format", "md,json", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["derivations.md", "report.json"]
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert [p["name"] for p in data["propositions"]] == ["gibbs"] and data["divergences"] == []
    captured = capsys.readouterr()
    assert "wrote 2 files" in captured.out
    assert captured.err == ""  # no progress bar when stderr is not a terminal


def test_the_progress_bar_names_the_stage(tmp_path, capsys) -> None:
    from gan_theory.report import write_report

    write_report(tmp_path, only=["gibbs"], formats=["md"], progress=True)
    err = capsys.readouterr().err
    assert "checking propositions" in err and "gibbs" in err and "1/1" in err


def test_an_unknown_only_name_is_refused(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["report", "--only", "kll", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown name(s) 'kll'" in err and "did you mean 'kl'" in err
    assert not out.exists()


def test_an_unknown_format_is_a_usage_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["report", "--format", "html,pdf", "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    assert "unknown format pdf" in capsys.readouterr().err


def test_unwritable_output_is_a_clear_error(tmp_path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["report", "--only", "gibbs", "--format", "md", "--out", str(blocker / "s")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_an_existing_folder_keeps_its_other_files(tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "derivations.md").write_text("old")
    assert main(["report", "--only", "gibbs", "--format", "md", "--out", str(out)]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "derivations.md").read_text().startswith("# Derivation report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_unknown_command_exits_with_usage(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.slow
def test_the_full_report_covers_every_divergence_and_proposition(tmp_path) -> None:
    from gan_theory import propositions
    from gan_theory.report import REPORTED, schema

    out = tmp_path / "report"
    assert main(["report", "--out", str(out)]) == 0
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    import jsonschema

    jsonschema.validate(data, schema(), cls=jsonschema.Draft202012Validator)
    assert len(data["divergences"]) == len(REPORTED)
    assert {r["entry"] for r in data["divergences"]} >= set(dv.names())
    assert [p["name"] for p in data["propositions"]] == list(propositions.names())
    assert data["summary"]["passed"] == data["summary"]["steps"]
    pages = list(out.rglob("*.html"))
    assert len(pages) == 1 + 1 + len(REPORTED) + len(propositions.names())
