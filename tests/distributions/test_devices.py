"""Device, dtype and tracing: the closed forms and the log-space integrand have no host
synchronisation (they trace under ``torch.compile(fullgraph=True)``; on CUDA they also run
under ``torch.cuda.set_sync_debug_mode("error")``), and every method keeps the device.

Oracle: the same computation eagerly on the CPU (the claim is that tracing and the device
change nothing but rounding; each function's accuracy is tested in its own module).
"""

from __future__ import annotations

import pytest
import torch
from torch import distributions as td

import divergences as dv
from divergences.distributions import divergence
from divergences.distributions._logspace import log_perspective
from divergences.distributions._registry import find_closed_form

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
F64 = torch.float64
NORMALS = (
    torch.tensor([0.1, 0.2, -3.0], dtype=F64),
    torch.tensor([1.0, 2.0, 0.3], dtype=F64),
    torch.tensor([0.0, 1.0, 2.0], dtype=F64),
    torch.tensor([1.5, 1.0, 0.2], dtype=F64),
)


def _normal_form(name: str, **parameters: object):
    probe = td.Normal(torch.zeros(()), torch.ones(()))
    form = find_closed_form(dv.get(name, **parameters), probe, probe)
    assert form is not None

    def evaluate(m1, s1, m2, s2):
        p = td.Normal(m1, s1, validate_args=False)
        return form(p, td.Normal(m2, s2, validate_args=False))

    return evaluate


@pytest.mark.slow  # tracing costs seconds
def test_closed_forms_trace_without_graph_breaks() -> None:
    # (kl delegates to torch.distributions.kl_divergence, whose dispatch does not trace)
    forms = [_normal_form(name) for name in ("pearson", "squared_hellinger", "total_variation")]
    forms.append(_normal_form("alpha", alpha=3))

    def evaluate(*args):
        return [form(*args) for form in forms]

    compiled = torch.compile(evaluate, fullgraph=True, backend="eager")
    for got, expected in zip(compiled(*NORMALS), evaluate(*NORMALS), strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)


@pytest.mark.slow  # tracing costs seconds
def test_multivariate_form_traces_without_graph_breaks() -> None:
    d = dv.get("alpha", alpha=0.3)
    probe = td.MultivariateNormal(torch.zeros(2), torch.eye(2))
    form = find_closed_form(d, probe, probe)

    def evaluate(m1, c1, m2, c2):
        p = td.MultivariateNormal(m1, c1, validate_args=False)
        return form(p, td.MultivariateNormal(m2, c2, validate_args=False))

    args = (torch.zeros(2), torch.eye(2), torch.ones(2), torch.tensor([[2.0, 0.3], [0.3, 1.0]]))
    compiled = torch.compile(evaluate, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(*args), evaluate(*args), rtol=0, atol=0)


@pytest.mark.slow  # tracing costs seconds
def test_log_space_integrand_traces_without_graph_breaks() -> None:
    perspectives = [log_perspective(dv.get(n)) for n in ("kl", "js", "pearson", "total_variation")]
    a = torch.tensor([0.0, -500.0, 400.0, -float("inf"), 3.0], dtype=F64)
    b = torch.tensor([1.0, 0.0, -3.0, 0.0, -float("inf")], dtype=F64)

    def evaluate(x, y):
        return [perspective(x, y) for perspective in perspectives]

    compiled = torch.compile(evaluate, fullgraph=True, backend="eager")
    for got, expected in zip(compiled(a, b), evaluate(a, b), strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)


@CUDA
@pytest.mark.cuda
@pytest.mark.parametrize("method", ["closed", "quadrature", "mc"])
def test_every_method_on_cuda(method: str) -> None:
    cpu_p, cpu_q = td.Normal(NORMALS[0], NORMALS[1]), td.Normal(NORMALS[2], NORMALS[3])
    gpu_p = td.Normal(NORMALS[0].cuda(), NORMALS[1].cuda())
    gpu_q = td.Normal(NORMALS[2].cuda(), NORMALS[3].cuda())
    on_gpu = divergence("squared_hellinger", gpu_p, gpu_q, method=method, generator=0)
    on_cpu = divergence("squared_hellinger", cpu_p, cpu_q, method="closed")
    assert on_gpu.value.device.type == "cuda" and on_gpu.value.dtype == F64
    tolerance = 5 * on_gpu.standard_error.cpu() + 1e-12
    assert ((on_gpu.value.cpu() - on_cpu.value).abs() <= tolerance).all()


@CUDA
@pytest.mark.cuda
def test_closed_forms_and_integrand_do_not_synchronise_on_cuda() -> None:
    args = [x.cuda() for x in NORMALS]
    evaluate = _normal_form("pearson")
    perspective = log_perspective(dv.get("js"))
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        value = evaluate(*args)
        integrand = perspective(args[0], args[2])
    finally:
        torch.cuda.set_sync_debug_mode(0)
    torch.testing.assert_close(value.cpu(), evaluate(*NORMALS))
    torch.testing.assert_close(integrand.cpu(), perspective(NORMALS[0], NORMALS[2]))
