"""Every string entry point refuses every injection payload, and none of them runs.

The payloads (imports, attribute chains, lambdas, ``getattr``, f-strings, huge powers, deep
nesting, ...) are the ones of ``tests/symbolic/test_parse.py``. Each goes through the Python API
(generator and activation text, registered names, parameter values, proposition overrides), the
command line (``gan-theory train --divergence``, ``--divergence-param``, ``propositions NAME``) and
the training configuration. Oracle: a marker file and an environment variable that the payloads
would create stay absent, and each entry point ends in its documented refusal (a ValueError
subclass, or ``KeyError`` for an unknown registered name as the public contract says, or exit
status 2 from the command line).
"""

from __future__ import annotations

import os

import pytest
import sympy as sp

import divergences as dv
from gan_theory import propositions
from gan_theory.cli import main
from gan_theory.training.config import TrainConfig
from gan_theory.training.errors import ConfigError
from tests.symbolic.test_parse import ENV, MARKER, PAYLOADS

u = sp.Symbol("u", positive=True)


@pytest.fixture
def sandbox(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV, raising=False)
    yield tmp_path
    assert not (tmp_path / MARKER).exists(), "a payload ran"
    assert ENV not in os.environ, "a payload ran"
    assert "INJECTED" not in capfd.readouterr().out


def _cli_refuses(argv: list[str], capfd) -> str:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    return capfd.readouterr().err


def test_there_are_enough_payloads():
    assert len(PAYLOADS) >= 20


@pytest.mark.parametrize("payload", PAYLOADS)
def test_python_api(payload, sandbox):
    with pytest.raises(ValueError):
        dv.FDivergence.from_generator(payload, u, name="attack")
    with pytest.raises(ValueError):
        dv.FDivergence.from_generator((u - 1) ** 2, u, activation=payload.replace("u", "v"))
    with pytest.raises(KeyError):
        dv.get(payload)
    with pytest.raises(ValueError):
        dv.get("alpha", alpha=payload)
    (step,) = propositions.get("global_optimum").check(constant=payload)
    assert not step.passed and "InvalidGeneratorError" in step.detail


@pytest.mark.parametrize("payload", PAYLOADS)
def test_command_line(payload, sandbox, capfd):
    base = ["train", "--model", "fgan", "--out", "run"]
    error = _cli_refuses(
        [*base, "--divergence", "alpha", "--divergence-param", f"alpha={payload}"], capfd
    )
    assert "--divergence-param" in error
    error = _cli_refuses([*base, "--divergence", payload], capfd)
    assert "--divergence" in error
    try:  # a payload that looks like an option stops in argparse, the others in the lookup
        status = main(["propositions", payload])
    except SystemExit as stop:
        status = stop.code
    assert status == 2
    assert not (sandbox / "run").exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_training_configuration(payload, sandbox):
    with pytest.raises(ConfigError):
        TrainConfig(model="fgan", divergence=payload).validate()
    with pytest.raises(ConfigError):
        TrainConfig(
            model="fgan", divergence="alpha", divergence_params={"alpha": payload}
        ).validate()
