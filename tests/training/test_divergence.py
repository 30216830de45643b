"""Exploding runs stop cleanly (issue 17, item 6).

Any non-finite value of a training step -- a loss, a generated sample, a parameter, an optimiser
step that overflows, an optimiser moment, a metric -- stops the run with
``TrainingDivergedError`` ("training diverged at step N: <what> is not finite"), exit status 1
from ``gan-theory train`` without a traceback, and the last good checkpoint kept as it was.

Before the fix, ``--lr-g 1e20`` ended in ``InputError: x contains NaN or infinite samples`` (the
metrics measured the exploded generator's samples) and ``--lr-g 1e39`` in ``RuntimeError: value
cannot be converted to type float without overflow`` (Adam's and RMSProp's step size is not a
float32), for every model.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from gan_theory.cli import main
from gan_theory.training import Trainer, TrainingDivergedError, train
from gan_theory.training.checkpoint import load_checkpoint
from gan_theory.training.loops import AdversarialLoop

from .conftest import TINY_CLI, tiny

MODELS = ["gan", "gan-ns", "fgan", "wgan", "wgan-gp", "cyclegan"]


def _cli(model: str, out: Path, *extra: str) -> list[str]:
    divergence = ["--divergence", "kl"] if model == "fgan" else []
    return ["train", "--model", model, *divergence, "--out", str(out), *TINY_CLI, *extra]


def _all_finite(payload: dict) -> bool:
    tensors = [t for net in payload["loop"]["nets"].values() for t in net.values()]
    for optimiser in payload["loop"]["optimisers"].values():
        for state in optimiser["state"].values():
            tensors.extend(v for v in state.values() if isinstance(v, torch.Tensor))
    return all(bool(torch.isfinite(t).all()) for t in tensors if t.is_floating_point())


@pytest.mark.parametrize("lr", ["1e20", "1e39"])
@pytest.mark.parametrize("model", MODELS)
def test_an_exploding_generator_exits_1_and_keeps_the_checkpoint(
    capsys, tmp_path, model: str, lr: str
) -> None:
    # a healthy run left its checkpoint in the folder
    assert main(_cli(model, tmp_path, "--steps", "1")) == 0
    checkpoint = tmp_path / "checkpoint.pt"
    before = checkpoint.read_bytes()
    capsys.readouterr()

    # the exploding run evaluates and would checkpoint right after its first step
    argv = _cli(model, tmp_path, "--lr-g", lr, "--steps", "3", "--overwrite")
    code = main([*argv, "--log-every", "1", "--checkpoint-every", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("gan-theory train: training diverged at step 1: "), err
    assert "is not finite" in err
    if lr == "1e39":  # Adam's / RMSProp's step size is infinite in float32
        assert "the loss_g update is not finite" in err and "overflows float32" in err
    else:  # the generator's samples, before any metric measures them
        assert re.search(r"(generator|g_xy|f_yx) output = (inf|-inf|nan) is not finite", err)
    assert "Traceback" not in err and "InputError" not in err and "RuntimeError" not in err
    # not this run's checkpoint: kept byte for byte, and not claimed as this run's
    assert checkpoint.read_bytes() == before
    assert "last good checkpoint" not in err


def test_an_explosion_after_a_checkpoint_keeps_that_checkpoint(capsys, tmp_path) -> None:
    argv = _cli("gan", tmp_path, "--lr-g", "1e20", "--steps", "5")
    assert main([*argv, "--log-every", "10", "--checkpoint-every", "1"]) == 1
    err = capsys.readouterr().err
    path = tmp_path / "checkpoint.pt"
    assert (
        "training diverged at step 2: loss_d = nan is not finite (generator output holds inf); "
        f"last good checkpoint kept at {path}"
    ) in err
    kept = load_checkpoint(path)
    assert kept["step"] == 1 and _all_finite(kept)
    assert (tmp_path / "metrics.csv").is_file()


def _run_with(config, out, at_step: int, action, when: str = "before"):
    """Train ``config`` with ``action(trainer, loop)`` run before (or after) step ``at_step``."""
    trainer = Trainer(config, out)
    loop = trainer.loop
    step_of_loop = loop.train_step

    def patched(ctx):
        if ctx.step == at_step and when == "before":
            action(trainer, loop)
        losses = step_of_loop(ctx)
        if ctx.step == at_step and when == "after":
            action(trainer, loop)
        return losses

    loop.train_step = patched
    with pytest.raises(TrainingDivergedError) as info:
        trainer.run()
    return info.value


def test_an_overflowing_learning_rate_mid_run_keeps_the_last_checkpoint(tmp_path) -> None:
    seen: dict[str, bytes] = {}

    def explode(trainer, loop) -> None:
        seen["before"] = (tmp_path / "checkpoint.pt").read_bytes()
        for group in loop.optimisers["generator"].param_groups:
            group["lr"] = 1e39

    error = _run_with(tiny("gan-ns", steps=6, checkpoint_every=2), tmp_path, 3, explode)
    assert error.step == 3 and error.what == "the loss_g update" and error.value is None
    assert str(error) == (
        "training diverged at step 3: the loss_g update is not finite (its optimiser step with "
        f"lr = 1e+39 overflows float32); last good checkpoint kept at {tmp_path / 'checkpoint.pt'}"
    )
    assert (tmp_path / "checkpoint.pt").read_bytes() == seen["before"]
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 2


def test_a_non_finite_metric_stops_before_the_checkpoint_of_its_step(tmp_path) -> None:
    def poison_metrics(trainer, loop) -> None:
        evaluate = loop.evaluate
        loop.evaluate = lambda generator, n: {**evaluate(generator, n), "sliced_w1": math.inf}

    config = tiny("wgan", steps=6, log_every=2, checkpoint_every=2)
    error = _run_with(config, tmp_path, 4, poison_metrics)
    assert "diverged at step 4: metric sliced_w1 = inf is not finite" in str(error)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 2  # step 4 never written


def test_an_overflowed_optimiser_moment_is_caught_before_the_checkpoint(tmp_path) -> None:
    # Adam's exp_avg_sq overflows for gradients beyond ~1.8e19 (float32): the parameter then
    # silently stops moving while every loss stays finite
    def overflow(trainer, loop) -> None:
        weight = loop.nets["critic"].net[0].weight
        loop.optimisers["critic"].state[weight]["exp_avg_sq"].fill_(math.inf)

    config = tiny("gan-ns", steps=6, log_every=100, checkpoint_every=2)
    error = _run_with(config, tmp_path, 3, overflow, when="after")
    assert str(error).startswith(
        "training diverged at step 4: optimiser state exp_avg_sq of critic.net.0.weight = inf "
        "is not finite (found before writing the checkpoint)"
    )
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 2


def test_a_nan_parameter_is_named_as_the_cause_of_the_next_loss(tmp_path) -> None:
    def poison(trainer, loop) -> None:
        with torch.no_grad():
            loop.nets["generator"].net[0].weight.fill_(math.nan)

    error = _run_with(tiny("gan-ns", steps=6, log_every=100), None, 2, poison, when="after")
    assert error.step == 3 and error.what == "loss_d"
    assert error.cause == "parameter generator.net.0.weight holds nan"
    assert error.checkpoint is None  # no output directory


def test_rank_0s_divergence_stops_every_rank() -> None:
    # under torchrun rank 0 alone evaluates and checks the state; its verdict is broadcast
    trainer = Trainer(tiny("gan-ns"))
    sent: list[object] = []

    def broadcast(obj):
        sent.append(obj)
        return (4, "metric w1", math.inf, None)  # what rank 0 found

    trainer.context = SimpleNamespace(active=True, broadcast=broadcast)
    with pytest.raises(TrainingDivergedError, match="step 4: metric w1 = inf is not finite"):
        trainer._agree(None)  # this rank found nothing itself
    assert sent == [None]

    trainer.context = SimpleNamespace(active=True, broadcast=lambda obj: obj)
    trainer._agree(None)  # nobody found anything: the run goes on


def test_the_loops_check_samples_before_the_metrics() -> None:
    loop = Trainer(tiny("gan-ns")).loop
    assert isinstance(loop, AdversarialLoop)
    with torch.no_grad():
        loop.nets["generator"].net[-1].bias.fill_(math.inf)
    with pytest.raises(ValueError, match="generator output = inf is not finite"):
        loop.evaluate(torch.Generator().manual_seed(0), 50)


def test_a_healthy_run_is_unchanged() -> None:
    result = train(tiny("gan-ns", steps=4, log_every=2))
    assert result.step == 4 and [row["step"] for row in result.history] == [0, 2, 4]
    assert all(math.isfinite(v) for row in result.history for v in row.values())


@pytest.mark.slow
def test_a_distributed_run_stops_on_every_rank(tmp_path) -> None:
    # rank 0 alone evaluates; without the broadcast rank 1 waited for it in the next collective
    from .test_distributed import torchrun_cli

    done = torchrun_cli(
        _cli("gan-ns", tmp_path, "--lr-g", "1e20", "--steps", "4", "--log-every", "1")
    )
    assert done.returncode != 0
    message = "training diverged at step 1: generator output = inf is not finite"
    assert done.stderr.count(message) == 1, done.stderr[-3000:]  # only rank 0 prints
    assert "InputError" not in done.stderr and "RuntimeError" not in done.stderr
