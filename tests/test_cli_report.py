"""The ``gan-theory report`` command: files written, content true to the derivations, bad output."""

from __future__ import annotations

import json

import pytest

import divergences as dv
from gan_theory.cli import main


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert main(["report", "--out", str(out)]) == 0
    return out


def test_report_writes_markdown_and_json(report_dir) -> None:
    assert (report_dir / "derivations.md").is_file()
    assert (report_dir / "derivations.json").is_file()


def test_markdown_names_every_divergence(report_dir) -> None:
    text = (report_dir / "derivations.md").read_text()
    for name in dv.names():
        assert name in text


def test_json_agrees_with_the_library(report_dir) -> None:
    data = json.loads((report_dir / "derivations.json").read_text())
    entries = data
    by_name = {entry["name"]: entry for entry in entries}
    kl = by_name["kl"]
    assert kl["conjugate"] == str(dv.get("kl").conjugate.expr)
    for entry in entries:
        assert all(step["passed"] for step in entry["steps"]), entry["name"]


def test_unwritable_output_is_a_clear_error(tmp_path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert main(["report", "--out", str(blocker / "sub")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_unknown_command_exits_with_usage(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
