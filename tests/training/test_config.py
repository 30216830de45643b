"""Configuration: validation messages, a frozen generator (``lr_g=0``), the Gaussian's start."""

from __future__ import annotations

import pytest
import torch

from gan_theory.training import ConfigError, TrainConfig, Trainer, train

from .conftest import tiny


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lr_g": -1e-3}, "lr_g must be a finite number >= 0"),
        ({"lr_d": 0.0}, "lr_d must be a finite number > 0"),
        ({"lr_decay_steps": 0}, "lr_decay_steps must be an integer > 0"),
        (
            {"lr_decay_steps": 0, "generator": "gaussian", "data": "bimodal-1d"},
            "lr_decay_steps must be an integer > 0",
        ),
        (
            {"gaussian_init": (0.0, 0.0), "generator": "gaussian", "data": "bimodal-1d"},
            "gaussian_init must be (mean, scale)",
        ),
        (
            {"gaussian_init": (float("nan"), 1.0), "generator": "gaussian", "data": "bimodal-1d"},
            "gaussian_init must be (mean, scale)",
        ),
        ({"gaussian_init": (1.0, 1.0)}, "gaussian_init is only used by generator 'gaussian'"),
    ],
)
def test_invalid_values_are_named(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(model="gan-ns", **overrides).validate()


def test_gaussian_generator_starts_where_asked() -> None:
    config = tiny("fgan", generator="gaussian", data="bimodal-1d", gaussian_init=(1.5, 0.25))
    generator = Trainer(config).loop.nets["generator"]
    assert torch.allclose(generator.mean, torch.tensor([1.5]))
    assert torch.allclose(generator.scale, torch.tensor([0.25]))


@pytest.mark.parametrize("model", ["fgan", "cyclegan"])
def test_lr_g_zero_freezes_the_generator(model: str) -> None:
    overrides = {"generator": "gaussian", "data": "bimodal-1d"} if model == "fgan" else {}
    config = tiny(model, lr_g=0.0, steps=4, log_every=2, **overrides)
    assert not config.trains_generator
    torch.manual_seed(config.seed)
    initial = {
        name: {k: v.clone() for k, v in net.state_dict().items()}
        for name, net in Trainer(config).loop.nets.items()
    }
    result = train(config)
    for name, net in result.nets.items():
        changed = any(not torch.equal(v, initial[name][k]) for k, v in net.state_dict().items())
        # the critic(s) learn, the generator (translators) do not
        assert changed == (name in ("critic", "d_x", "d_y")), name
    assert "loss_g" not in result.final_metrics and "loss_d" in result.final_metrics
