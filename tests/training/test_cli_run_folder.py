"""``gan-theory train``: the run-folder rules, the README's resume sequence, ``--help``,
``--device`` and ``--divergence`` messages (issue 15, items 5 and 6), with tiny budgets.

* A run is never replaced by accident: without ``--resume``, an ``--out`` that already holds a
  run is refused (exit 2, nothing changed) unless ``--overwrite`` is given; ``--overwrite``
  removes the old logs, summary and plots (nothing else in the folder) and replaces the old
  checkpoint with the new run's.
* The README's first command, then the same command with ``--resume`` and a larger ``--steps``,
  work (before, the README showed only the ``--resume`` command, which exits 2 on a new folder).
* ``--device`` that this torch cannot use is one error line after the short usage line, exit 2.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import torch

from gan_theory.cli import main

from .conftest import TINY_CLI

ROOT = Path(__file__).resolve().parents[2]
TINY = [*TINY_CLI, "--log-every", "1"]


def _train(out: Path, *extra: str) -> list[str]:
    return ["train", "--model", "gan-ns", "--out", str(out), *TINY, *extra]


def _refused(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_second_run_in_a_run_folder_is_refused_and_changes_nothing(capsys, tmp_path) -> None:
    assert main(_train(tmp_path, "--steps", "2")) == 0
    before = _snapshot(tmp_path)
    assert {"checkpoint.pt", "metrics.csv", "summary.json"} <= set(before)
    capsys.readouterr()
    err = _refused(capsys, _train(tmp_path, "--steps", "2", "--seed", "1"))
    assert f"{tmp_path} already holds a run (checkpoint.pt, metrics.csv" in err
    assert "--resume" in err and "--overwrite" in err
    assert "Traceback" not in err
    assert _snapshot(tmp_path) == before


def test_overwrite_replaces_the_run_and_only_its_files(capsys, tmp_path) -> None:
    assert main(_train(tmp_path, "--steps", "2")) == 0
    (tmp_path / "samples.png").write_bytes(b"an old plot")  # a file the new run does not write
    (tmp_path / "notes.txt").write_text("mine")  # not a run file
    old_checkpoint = (tmp_path / "checkpoint.pt").read_bytes()
    assert main(_train(tmp_path, "--steps", "3", "--seed", "1", "--overwrite")) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"]["seed"] == 1 and summary["steps"] == 3
    assert summary["resumed_from"] == 0
    assert (tmp_path / "checkpoint.pt").read_bytes() != old_checkpoint
    assert not (tmp_path / "samples.png").exists()  # --no-plots: the old plot is gone
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_new_or_empty_folder_needs_no_flag(tmp_path) -> None:
    assert main(_train(tmp_path, "--steps", "1")) == 0  # tmp_path exists and is empty
    assert main(_train(tmp_path / "new" / "run", "--steps", "1")) == 0
    assert main(_train(tmp_path / "other", "--steps", "1", "--overwrite")) == 0


def test_resume_and_overwrite_exclude_each_other(capsys, tmp_path) -> None:
    err = _refused(capsys, _train(tmp_path, "--resume", "--overwrite"))
    assert "not allowed with argument" in err


def test_resume_of_a_new_folder_says_to_start_without_it(capsys, tmp_path) -> None:
    err = _refused(capsys, _train(tmp_path / "new", "--resume"))
    assert "--resume: no checkpoint checkpoint.pt in" in err
    assert "start the run without --resume first" in err


def _readme_train_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("gan-theory train"):
                commands.append(shlex.split(line)[1:])
    return commands


def _budget(argv: list[str], out: Path, steps: str) -> list[str]:
    """The README's command with a tiny budget: its flags, our --steps, --out and sizes."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--steps", "--out", "--lr-decay-steps"):
            skip = True
            continue
        kept.append(arg)
    return [*kept, "--steps", steps, "--out", str(out), *TINY]


def test_the_readme_resume_sequence_works(capsys, tmp_path) -> None:
    commands = _readme_train_commands()
    resumes = [c for c in commands if "--resume" in c]
    assert resumes, "the README shows a --resume command"
    for resume in resumes:
        first = [a for a in resume if a != "--resume"]
        # the README shows the first command: the same, without --resume, with fewer steps
        starts = [
            c
            for c in commands
            if "--resume" not in c
            and _budget(c, tmp_path, "1") == _budget(first, tmp_path, "1")
            and c[c.index("--out") + 1] == first[first.index("--out") + 1]
            and int(c[c.index("--steps") + 1]) < int(first[first.index("--steps") + 1])
        ]
        assert starts, f"no first command for {shlex.join(resume)}"
        out = tmp_path / "run"
        assert main(_budget(starts[0], out, "2")) == 0
        assert main(_budget(resume, out, "4")) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["resumed_from"] == 2 and summary["steps"] == 4
        # and running the first command again is refused, not a silent restart
        _refused(capsys, _budget(starts[0], out, "2"))


def test_help_shows_the_defaults(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for shown in (
        "--steps STEPS generator steps in all (with --resume: the total to reach) (default: 1000)",
        "--seed SEED random seed (default: 0)",
        "--batch-size BATCH_SIZE samples per batch and process (default: 256)",
        "(default: 5 for wgan/wgan-gp, else 1)",
        "WGAN-GP lambda (default: 10.0)",
        "(default: cpu)",
        "(default: ring-8, ring-square for cyclegan)",
        "1e-4 Adam for wgan-gp",
    ):
        assert shown in text, shown
    assert "(default: None)" not in text and "(default: False)" not in text


def _device_error(capsys, device: str) -> str:
    err = _refused(capsys, ["train", "--model", "gan", "--device", device])
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("usage: gan-theory train --model MODEL"), err
    assert lines[1].startswith("gan-theory train: error: argument --device: ")
    return lines[1]


def test_cuda_without_cuda_is_one_error_line(capsys, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    line = _device_error(capsys, "cuda")
    assert "is a CPU build, without CUDA; use --device cpu" in line
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    assert "no CUDA device found" in _device_error(capsys, "cuda:0")


def test_a_cuda_index_beyond_the_devices_is_refused(capsys, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert "there are 1 CUDA device(s), numbered 0 to 0" in _device_error(capsys, "cuda:3")


def test_mps_without_mps_and_unknown_devices_are_refused(capsys, monkeypatch) -> None:
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert "MPS (Apple GPU) backend is not available" in _device_error(capsys, "mps")
    assert "unknown device 'tpu'" in _device_error(capsys, "tpu")
    assert "unknown device 'gpu:0'" in _device_error(capsys, "gpu:0")
    assert "unsupported device 'meta'" in _device_error(capsys, "meta")


def test_an_unknown_divergence_gets_the_closest_name(capsys) -> None:
    err = _refused(capsys, ["train", "--model", "fgan", "--divergence", "KL"])
    assert "unknown divergence 'KL'" in err and "did you mean 'kl'?" in err
    err = _refused(capsys, ["train", "--model", "fgan", "--divergence", "zzz"])
    assert "did you mean" not in err
