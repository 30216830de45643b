"""``gan-theory train``: a run, a resume, and an argparse error (exit 2) for each bad argument."""

from __future__ import annotations

import json

import pytest

from gan_theory.cli import main

from .conftest import TINY_CLI

TINY = [*TINY_CLI, "--log-every", "2"]


def _error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "nope"], "argument --model: invalid choice: 'nope'"),
        (["--model", "gan", "--data", "nope"], "argument --data: invalid choice: 'nope'"),
        (["--model", "fgan", "--divergence", "nope"], "unknown divergence 'nope'"),
        (["--model", "fgan"], "--model fgan needs --divergence"),
        (["--model", "gan", "--divergence", "kl"], "only used by --model fgan"),
        (["--model", "wgan", "--divergence-param", "alpha=0.5"], "only used by --model fgan"),
        (
            ["--model", "fgan", "--divergence", "alpha", "--divergence-param", "alpha=1"],
            "alpha must not be 0 or 1",
        ),
        (["--model", "gan", "--steps", "0"], "argument --steps: must be > 0, got 0"),
        (["--model", "gan", "--steps", "-3"], "argument --steps: must be > 0"),
        (["--model", "gan", "--steps", "many"], "argument --steps: expected an integer"),
        (["--model", "cyclegan", "--data", "ring-8"], "'cyclegan' needs a paired data set"),
        (["--model", "gan-ns", "--data", "digits-inverted"], "for model 'cyclegan' only"),
        (["--model", "gan", "--generator", "conv"], "generator 'conv' needs image data"),
        (["--model", "wgan", "--lr-d", "-1"], "lr_d must be a finite number > 0"),
        (
            [
                "--model",
                "fgan",
                "--divergence",
                "kl",
                "--data",
                "bimodal-1d",
                "--generator",
                "gaussian",
                "--gaussian-init",
                "0",
                "-1",
            ],
            "gaussian_init must be (mean, scale)",
        ),
    ],
)
def test_bad_arguments_exit_2_with_a_message(capsys, argv: list[str], message: str) -> None:
    assert message in _error(capsys, ["train", *argv])


def test_resume_without_a_checkpoint(capsys, tmp_path) -> None:
    err = _error(capsys, ["train", "--model", "gan", "--out", str(tmp_path), "--resume"])
    assert "--resume: no checkpoint checkpoint.pt in" in err


def test_run_then_resume(capsys, tmp_path) -> None:
    base = ["train", "--model", "wgan-gp", "--out", str(tmp_path), *TINY]
    assert main([*base, "--steps", "2"]) == 0
    assert "wgan-gp on ring-8: 2 steps" in capsys.readouterr().out
    assert main([*base, "--steps", "4", "--resume"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["resumed_from"] == 2 and summary["steps"] == 4
    # a different seed is a different run: refused
    err = _error(capsys, [*base, "--steps", "6", "--resume", "--seed", "1"])
    assert "different configuration (differs in: seed)" in err


def test_fgan_with_a_parameter(capsys, tmp_path) -> None:
    argv = [
        "train",
        "--model",
        "fgan",
        "--divergence",
        "alpha",
        "--divergence-param",
        "alpha=0.5",
        "--data",
        "bimodal-1d",
        "--generator",
        "gaussian",
        "--steps",
        "2",
        "--out",
        str(tmp_path),
        *TINY,
    ]
    assert main(argv) == 0
    assert "alpha_estimate" in (tmp_path / "metrics.csv").read_text().splitlines()[0] or (
        "alpha(alpha=1/2)_estimate" in (tmp_path / "metrics.csv").read_text()
    )


def test_divergence_exits_1(capsys, tmp_path) -> None:
    argv = [
        "train",
        "--model",
        "gan-ns",
        "--lr-d",
        "1e38",
        "--lr-g",
        "1e38",
        "--steps",
        "50",
        "--out",
        str(tmp_path),
        *TINY,
    ]
    assert main(argv) == 1
    assert "training diverged at step" in capsys.readouterr().err
