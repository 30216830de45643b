"""Every public numeric function on every device (issue 18, item 6).

Each case runs on the CPU always and on CUDA when a device is present (marked ``cuda``, skipped
with the reason otherwise): discrete divergences (hand kernels and the emitted perspective of a
user's generator), exact 1-D W1, sliced W1, every loss, the gradient penalty, and one training
step of each model. Oracle: the same function on the CPU in float64 (an independent reference is
each function's own test module; here the claim is that the device and dtype change nothing but
rounding). On CUDA the cases also run in float16 and bfloat16, and under
``torch.cuda.set_sync_debug_mode("error")``, which raises on any host-device synchronisation.

On every machine the functions are traced with ``torch.compile(fullgraph=True,
backend="eager")``: a graph break (a host sync such as ``.item()``, data-dependent Python
control flow) fails the trace, without paying for code generation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import sympy as sp
import torch

import divergences as dv
from divergences import losses
from divergences.numeric import sliced_wasserstein, wasserstein_1d

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, CUDA])]

U = sp.Symbol("u", positive=True)

#: relative tolerance against the float64 CPU reference, per dtype (a few hundred ulps of the
#: dtype: the functions are sums and means over 64-256 terms)
RTOL = {
    torch.float64: 1e-12,
    torch.float32: 2e-5,
    torch.float16: 2e-2,
    torch.bfloat16: 5e-2,
}


def _probabilities(n: int, k: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(n, k, generator=g, dtype=torch.float64), dim=-1)


def _logits(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 4 * torch.randn(n, generator=g, dtype=torch.float64)


def _user_divergence() -> dv.FDivergence:
    return dv.FDivergence.from_generator("(u - 1)**2/(u + 1)", U, name="triangular_devices")


def _discrete(d: dv.FDivergence) -> Callable[..., torch.Tensor]:
    return lambda p, q: d.divergence(p, q, validate=False)


def _fgan_critic(d: dv.FDivergence) -> Callable[..., torch.Tensor]:
    return lambda a, b: losses.fgan_critic_loss(d, a, b)


def _fgan_generator(d: dv.FDivergence) -> Callable[..., torch.Tensor]:
    return lambda a: losses.fgan_generator_loss(d, a)


Function = Callable[..., torch.Tensor]
#: name -> (a factory of the function under test, a factory of its float64 CPU inputs); the
#: divergences are looked up by the factory, outside any traced code, as a user would
CASES: dict[str, tuple[Callable[[], Function], Callable[[], tuple[torch.Tensor, ...]]]] = {
    "kl": (lambda: _discrete(dv.get("kl")), lambda: (
        _probabilities(8, 32, 0), _probabilities(8, 32, 1))),
    "js": (lambda: _discrete(dv.get("js")), lambda: (
        _probabilities(8, 32, 2), _probabilities(8, 32, 3))),
    "squared_hellinger": (lambda: _discrete(dv.get("squared_hellinger")), lambda: (
        _probabilities(8, 32, 4), _probabilities(8, 32, 5))),
    "user_generator": (lambda: _discrete(_user_divergence()), lambda: (
        _probabilities(8, 32, 6), _probabilities(8, 32, 7))),
    "wasserstein_1d": (lambda: lambda x, y: wasserstein_1d(x, y, validate=False), lambda: (
        _logits(200, 8), _logits(200, 9) + 1)),
    "sliced_wasserstein": (
        lambda: lambda x, y, d: sliced_wasserstein(x, y, projections=d, validate=False),
        lambda: (_logits(300, 10).reshape(100, 3), _logits(300, 11).reshape(100, 3),
                 _logits(24, 12).reshape(8, 3)),
    ),
    "gan_discriminator_loss": (lambda: losses.gan_discriminator_loss, lambda: (
        _logits(64, 13), _logits(64, 14))),
    "gan_generator_loss": (lambda: losses.gan_generator_loss, lambda: (_logits(64, 15),)),
    "fgan_critic_loss": (lambda: _fgan_critic(dv.get("kl")), lambda: (
        _logits(64, 16), _logits(64, 17))),
    "fgan_generator_loss": (lambda: _fgan_generator(dv.get("js")), lambda: (_logits(64, 18),)),
    "wgan_critic_loss": (lambda: losses.wgan_critic_loss, lambda: (
        _logits(64, 19), _logits(64, 20))),
    "wgan_generator_loss": (lambda: losses.wgan_generator_loss, lambda: (_logits(64, 21),)),
    "cycle_consistency_loss": (lambda: losses.cycle_consistency_loss, lambda: (
        _logits(64, 22).reshape(16, 4), _logits(64, 23).reshape(16, 4))),
}  # fmt: skip


def _on(device: str, dtype: torch.dtype, inputs: tuple[torch.Tensor, ...]):
    return tuple(x.to(device=device, dtype=dtype).requires_grad_() for x in inputs)


def _dtypes(device: str) -> list[torch.dtype]:
    small = [torch.float16, torch.bfloat16] if device == "cuda" else []
    return [torch.float64, torch.float32, *small]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "case",
    sorted(CASES),
)
def test_values_gradients_device_and_dtype(device: str, case: str) -> None:
    make_function, make_inputs = CASES[case]
    function = make_function()
    reference_inputs = _on("cpu", torch.float64, make_inputs())
    reference = function(*reference_inputs)
    reference_grads = torch.autograd.grad(reference.sum(), reference_inputs, allow_unused=True)
    for dtype in _dtypes(device):
        inputs = _on(device, dtype, make_inputs())
        out = function(*inputs)
        assert out.device.type == device and out.dtype == dtype, (case, dtype)
        grads = torch.autograd.grad(out.sum(), inputs, allow_unused=True)
        tol = RTOL[dtype]
        scale = reference.abs().max().item() + 1e-300
        assert torch.allclose(out.double().cpu(), reference, rtol=tol, atol=tol * scale), dtype
        for got, want in zip(grads, reference_grads, strict=True):
            if want is None:
                continue
            assert got is not None and bool(torch.isfinite(got).all()), (case, dtype)
            g_scale = want.abs().max().item() + 1e-300
            assert torch.allclose(got.double().cpu(), want, rtol=tol, atol=tol * g_scale)


def _critic(device: str, dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    return net.to(device=device, dtype=dtype)


@pytest.mark.parametrize("device", DEVICES)
def test_gradient_penalty_on_the_device(device: str) -> None:
    real, fake = (_logits(48, s).reshape(16, 3) for s in (30, 31))
    values = {}
    for dtype in (torch.float64, torch.float32):
        g = torch.Generator(device=device).manual_seed(5)
        critic = _critic(device, dtype)
        gp = losses.gradient_penalty(
            critic, real.to(device, dtype), fake.to(device, dtype), generator=g
        )
        gp.backward()
        assert gp.device.type == device and gp.dtype == dtype
        first_layer = critic[0].weight.grad
        assert first_layer is not None and bool(torch.isfinite(first_layer).all())
        values[dtype] = gp.item()
    assert math.isclose(values[torch.float32], values[torch.float64], rel_tol=1e-4)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("model", ["gan", "fgan", "wgan", "wgan-gp", "cyclegan"])
def test_one_training_step_of_each_model(device: str, model: str, tmp_path) -> None:
    from gan_theory.training import train

    from .training.conftest import tiny

    result = train(tiny(model, steps=1, device=device))
    assert result.step == 1
    assert all(math.isfinite(v) for v in result.final_metrics.values() if isinstance(v, float))


@pytest.mark.cuda
@CUDA
@pytest.mark.parametrize("case", sorted(CASES))
def test_no_host_synchronisation_on_cuda(case: str) -> None:
    make_function, make_inputs = CASES[case]
    function = make_function()
    inputs = _on("cuda", torch.float32, make_inputs())
    function(*inputs)  # warm-up: lazy initialisation (emission, kernel choice) may sync once
    torch.cuda.synchronize()
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("error")
    try:
        out = function(*inputs)
        torch.autograd.grad(out.sum(), inputs, allow_unused=True)
    finally:
        torch.cuda.set_sync_debug_mode(previous)


@pytest.mark.parametrize("case", sorted(CASES))
def test_traces_into_one_graph(case: str) -> None:
    make_function, make_inputs = CASES[case]
    function = make_function()
    inputs = make_inputs()
    function(*inputs)  # emission and kernel choice happen outside the trace
    torch._dynamo.reset()
    compiled = torch.compile(function, fullgraph=True, backend="eager")
    assert torch.allclose(compiled(*inputs), function(*inputs), rtol=1e-12, atol=0)
