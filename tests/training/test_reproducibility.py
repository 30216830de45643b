"""Determinism, resume-equals-uninterrupted (bitwise), atomic checkpoints, divergence stops."""

from __future__ import annotations

import os

import pytest
import torch

from gan_theory.training import (
    CheckpointError,
    Trainer,
    TrainingDivergedError,
    train,
)
from gan_theory.training import checkpoint as checkpoint_module
from gan_theory.training.checkpoint import load_checkpoint, save_atomic
from gan_theory.training.data import Dataset, ring_8
from gan_theory.training.loops import AdversarialLoop

from .conftest import tiny


class _Interrupted(Exception):
    pass


def _params(result) -> dict[str, torch.Tensor]:
    return {
        f"{name}.{key}": value
        for name, net in result.nets.items()
        for key, value in net.state_dict().items()
    }


def _bitwise_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("model", ["gan-ns", "wgan-gp"])
def test_same_seed_same_parameters(model: str) -> None:
    a, b = train(tiny(model, seed=5)), train(tiny(model, seed=5))
    assert _bitwise_equal(_params(a), _params(b))
    assert a.history == b.history
    c = train(tiny(model, seed=6))
    assert not _bitwise_equal(_params(a), _params(c))


def test_run_restores_global_torch_settings() -> None:
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    train(tiny("gan", steps=1))
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic


@pytest.mark.parametrize("model", ["gan-ns", "wgan-gp", "cyclegan", "fgan"])
def test_resume_after_a_crash_ends_bitwise_equal(tmp_path, monkeypatch, model: str) -> None:
    config = tiny(model, steps=12, log_every=4, checkpoint_every=5)
    uninterrupted = train(config)

    # Crash during step 8: the last checkpoint is from step 5, mid logging interval.
    step_of_loop = type(Trainer(config).loop).train_step

    def crashing(self, ctx):
        if ctx.step == 8:
            raise _Interrupted
        return step_of_loop(self, ctx)

    with monkeypatch.context() as patch:
        patch.setattr(type(Trainer(config).loop), "train_step", crashing)
        with pytest.raises(_Interrupted):
            train(config, out=tmp_path)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 5

    resumed = train(config, out=tmp_path, resume=True)
    assert resumed.resumed_from == 5 and resumed.step == 12
    assert _bitwise_equal(_params(resumed), _params(uninterrupted))
    assert resumed.history == uninterrupted.history


def test_resume_extends_a_finished_run(tmp_path) -> None:
    full = train(tiny("wgan", steps=10, log_every=5))
    train(tiny("wgan", steps=5, log_every=5), out=tmp_path)
    extended = train(tiny("wgan", steps=10, log_every=5), out=tmp_path, resume=True)
    assert _bitwise_equal(_params(extended), _params(full))
    assert extended.history == full.history


def test_resume_checks_the_configuration(tmp_path) -> None:
    train(tiny("gan-ns", steps=2), out=tmp_path)
    with pytest.raises(CheckpointError, match="seed"):
        train(tiny("gan-ns", steps=4, seed=1), out=tmp_path, resume=True)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(tiny("gan-ns", steps=4), out=tmp_path / "empty", resume=True)


@pytest.fixture(scope="module")
def payload(tmp_path_factory) -> dict:
    """A valid checkpoint payload (a one-step run's); tests relabel its step."""
    out = tmp_path_factory.mktemp("one-step")
    train(tiny("gan-ns", steps=1), out=out)
    return load_checkpoint(out / "checkpoint.pt")


def test_a_crash_while_writing_keeps_the_previous_checkpoint(
    tmp_path, monkeypatch, payload
) -> None:
    path = tmp_path / "checkpoint.pt"
    save_atomic({**payload, "step": 1}, path)

    real_replace = os.replace

    def torn_write(src, dst):
        # the new file is complete on disk but the process dies before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint_module.os, "replace", torn_write)
    with pytest.raises(KeyboardInterrupt):
        save_atomic({**payload, "step": 2}, path)
    monkeypatch.setattr(checkpoint_module.os, "replace", real_replace)
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # temp file removed


def test_a_killed_writer_leaves_only_a_stray_temp_file(tmp_path, payload) -> None:
    path = tmp_path / "checkpoint.pt"
    save_atomic({**payload, "step": 1}, path)
    stray = tmp_path / ".checkpoint.pt.tmp-99999"
    stray.write_bytes(b"half a checkpoint")  # what SIGKILL mid-write leaves behind
    assert load_checkpoint(path)["step"] == 1
    save_atomic({**payload, "step": 2}, path)
    assert load_checkpoint(path)["step"] == 2
    assert not stray.exists()


def test_a_crash_inside_training_keeps_the_last_checkpoint(tmp_path, monkeypatch) -> None:
    config = tiny("gan-ns", steps=10, checkpoint_every=4)
    train(tiny("gan-ns", steps=4, checkpoint_every=4), out=tmp_path)
    before = load_checkpoint(tmp_path / "checkpoint.pt")

    def failing_save(payload, path):
        with open(path.parent / f".{path.name}.tmp-1", "wb") as handle:
            handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr("gan_theory.training.trainer.save_atomic", failing_save)
    with pytest.raises(OSError, match="disk full"):
        train(config, out=tmp_path, resume=True)
    after = load_checkpoint(tmp_path / "checkpoint.pt")
    assert after["step"] == before["step"] == 4


class _PoisonedRing(Dataset):
    """The 8-Gaussian ring whose samples become infinite after ``healthy`` draws."""

    def __init__(self, healthy: int) -> None:
        self.inner = ring_8()
        self.name, self.shape, self.modes = "poisoned", self.inner.shape, self.inner.modes
        self.healthy = healthy
        self.calls = 0

    def sample(self, n, generator):
        x = self.inner.sample(n, generator)
        self.calls += 1
        return x if self.calls <= self.healthy else torch.full_like(x, float("inf"))


def test_non_finite_loss_stops_with_a_clear_error(tmp_path) -> None:
    # gan-ns: one data draw per step (evaluations use the data set too: 1 at step 0)
    config = tiny(
        "gan-ns", data=_PoisonedRing(healthy=1 + 6), steps=20, checkpoint_every=3, log_every=100
    )
    with pytest.raises(TrainingDivergedError) as info:
        train(config, out=tmp_path)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.step == 7 and error.loss_name == error.what == "loss_d"
    assert error.cause == "real batch holds inf"  # the loss's non-finite input, named
    assert "step 7" in str(error) and "loss_d" in str(error) and "not finite" in str(error)
    assert error.checkpoint == str(tmp_path / "checkpoint.pt")
    kept = load_checkpoint(tmp_path / "checkpoint.pt")
    assert kept["step"] == 6
    for state in kept["loop"]["nets"].values():
        assert all(torch.isfinite(t).all() for t in state.values())
    assert (tmp_path / "metrics.csv").is_file()


def test_non_finite_check_runs_before_the_update(monkeypatch) -> None:
    config = tiny("wgan-gp", steps=3)
    trainer = Trainer(config)
    before = {k: v.clone() for k, v in trainer.loop.nets["critic"].state_dict().items()}
    monkeypatch.setattr(
        trainer.loop.game,
        "critic_loss",
        lambda real, fake: (real.mean() - fake.mean()) * float("nan"),
    )
    # the metric of step 0 would be NaN too (and stop the run there): keep it finite
    monkeypatch.setattr(trainer.loop.game, "estimate", lambda real, fake: real.mean())
    with pytest.raises(TrainingDivergedError, match="step 1: loss_d = nan"):
        trainer.run()
    after = trainer.loop.nets["critic"].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert isinstance(trainer.loop, AdversarialLoop)
