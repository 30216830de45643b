"""Tiny end-to-end runs of every model: they complete, log what they should, write outputs."""

from __future__ import annotations

import json
import math

import pytest
import sympy as sp
import torch

import divergences as dv
from gan_theory.training import TrainConfig, train

from .conftest import tiny

ADVERSARIAL = ["gan", "gan-ns", "fgan", "wgan", "wgan-gp"]


def _finite(row: dict) -> bool:
    return all(math.isfinite(v) for k, v in row.items() if isinstance(v, float))


@pytest.mark.parametrize("model", ADVERSARIAL)
def test_adversarial_models_run_on_the_ring(model: str) -> None:
    result = train(tiny(model, data="ring-8"))
    assert result.step == 6
    assert [row["step"] for row in result.history] == [0, 3, 6]
    final = result.final_metrics
    assert _finite(final)
    assert {"loss_d", "loss_g", "sliced_w1", "modes_covered", "high_quality"} <= set(final)
    assert final["modes_total"] == 8


def test_fgan_estimate_is_named_after_the_divergence() -> None:
    final = train(tiny("fgan", divergence="js", data="mixture-1d")).final_metrics
    assert "js_estimate" in final and "w1" in final


def test_fgan_accepts_a_user_defined_divergence() -> None:
    u = sp.Symbol("u", positive=True)
    mine = dv.FDivergence.from_generator((u - 1) ** 2 / 2, u, name="half_pearson")
    final = train(tiny("fgan", divergence=mine, data="bimodal-1d")).final_metrics
    assert _finite(final) and "half_pearson_estimate" in final


def test_fgan_with_a_parametrised_divergence() -> None:
    config = tiny("fgan", divergence="alpha", divergence_params={"alpha": 0.5}, data="two-moons")
    assert _finite(train(config).final_metrics)


def test_gaussian_generator_reports_mean_and_scale() -> None:
    final = train(tiny("fgan", generator="gaussian", data="bimodal-1d")).final_metrics
    assert {"gen_mean", "gen_scale"} <= set(final) and final["gen_scale"] > 0


def test_cyclegan_runs_on_ring_square() -> None:
    final = train(tiny("cyclegan")).final_metrics
    assert _finite(final)
    assert {"cycle_error", "cycle_error_x", "cycle_error_y", "sliced_w1_xy"} <= set(final)


def test_image_models_run_on_digits() -> None:
    for model in ("gan-ns", "wgan-gp"):
        final = train(tiny(model, data="digits", steps=2, log_every=2)).final_metrics
        assert _finite(final) and "sliced_w1" in final
    final = train(tiny("cyclegan", data="digits-inverted", steps=2, log_every=2)).final_metrics
    assert _finite(final) and "cycle_error" in final


def test_wgan_clips_the_critic() -> None:
    result = train(tiny("wgan", clip=0.005))
    for parameter in result.nets["critic"].parameters():
        assert parameter.abs().max() <= 0.005


@pytest.mark.parametrize(("model", "k"), [("gan-ns", 3), ("wgan-gp", None)])
def test_k_critic_steps_per_generator_step(model: str, k: int | None) -> None:
    result = train(tiny(model, d_steps=k, steps=4))
    expected = (k or 5) * 4
    critic_state = result.loop.optimisers["critic"].state
    generator_state = result.loop.optimisers["generator"].state
    assert all(int(s["step"]) == expected for s in critic_state.values())
    assert all(int(s["step"]) == 4 for s in generator_state.values())


def test_paper_defaults_for_wgan_and_wgan_gp() -> None:
    wgan = train(tiny("wgan", steps=1)).loop.optimisers["critic"]
    assert isinstance(wgan, torch.optim.RMSprop) and wgan.defaults["lr"] == 5e-5
    gp = train(tiny("wgan-gp", steps=1)).loop.optimisers["critic"]
    assert isinstance(gp, torch.optim.Adam)
    assert gp.defaults["lr"] == 1e-4 and gp.defaults["betas"] == (0.0, 0.9)
    assert TrainConfig(model="wgan").critic_steps == 5


def test_outputs_written(tmp_path) -> None:
    train(tiny("gan-ns", plots=True), out=tmp_path)
    for name in (
        "checkpoint.pt",
        "metrics.csv",
        "metrics.json",
        "summary.json",
        "samples.png",
        "losses.png",
        "metrics.png",
    ):
        assert (tmp_path / name).is_file(), name
    csv_lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert csv_lines[0].startswith("step,") and len(csv_lines) == 4
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert [row["step"] for row in history] == [0, 3, 6]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["steps"] == 6 and summary["ranks_identical"]


@pytest.mark.parametrize("data", ["mixture-1d", "digits-inverted"])
def test_plots_for_1d_and_paired_images(tmp_path, data: str) -> None:
    model = "cyclegan" if data == "digits-inverted" else "gan-ns"
    train(tiny(model, data=data, steps=1, log_every=1, plots=True), out=tmp_path)
    assert (tmp_path / "samples.png").stat().st_size > 1000
