"""The log-space perspective e^b f(e^(a - b)) against mpmath, at log-ratios far outside the
float range, with its gradients.

Oracle: mpmath with 350 digits, evaluating the registered SymPy generator
(``divergences.numeric.analytic.generator_mpmath``) at :math:`e^{a - b}` formed in mpmath,
times :math:`e^{b}`: enough digits to resolve :math:`e^{\\pm 1200}` next to 1 (the cancellation
in ``gan``'s :math:`u \\log u - (u + 1)\\log(u + 1)` at :math:`u = e^{1200}`). Tolerance:
relative 1e-12 in float64 (a few ulps of the value times the conditioning :math:`|\\lambda|`
of :math:`e^{\\lambda}` for the rounded inputs), 2e-5 in float32; values beyond the float
range must be the infinity of the right sign. Next to :math:`\\lambda = 0` the rounding of
:math:`e^{\\lambda}` costs an absolute :math:`\\epsilon |f'(1)|` (documented), so there the
comparison is absolute.
"""

from __future__ import annotations

import functools
import math

import mpmath
import pytest
import sympy as sp
import torch

import divergences as dv
from divergences.distributions._logspace import log_perspective, ratio_limit
from divergences.numeric.analytic import generator_mpmath

LAMBDAS = [-700.0, -352.0, -349.0, -45.0, -3.0, -1e-3, 0.0, 2e-3, 39.0, 41.0, 351.0, 700.0]
WEIGHTS = [-900.0, 0.0, 3.0]
NAMES = [
    "kl",
    "reverse_kl",
    "pearson",
    "neyman",
    "squared_hellinger",
    "js",
    "gan",
    "total_variation",
]


@functools.lru_cache(maxsize=4096)
def _reference(d: dv.FDivergence, a: float, b: float) -> mpmath.mpf:
    f = generator_mpmath(d)
    with mpmath.workdps(350):
        return mpmath.exp(mpmath.mpf(b)) * f(mpmath.exp(mpmath.mpf(a) - mpmath.mpf(b)))


def _check(d: dv.FDivergence, dtype: torch.dtype, sync: bool) -> None:
    perspective = log_perspective(d)
    assert perspective.exact_tails, d.name
    a = torch.tensor([b + lam for b in WEIGHTS for lam in LAMBDAS], dtype=dtype)
    b = torch.tensor([b for b in WEIGHTS for _ in LAMBDAS], dtype=dtype)
    got = perspective(a, b, sync=sync)
    finfo = torch.finfo(dtype)
    for ai, bi, gi in zip(a.tolist(), b.tolist(), got.tolist(), strict=True):
        ref = _reference(d, ai, bi)
        if abs(ref) > finfo.max:
            assert gi == math.copysign(math.inf, float(ref)), (d.name, ai, bi, gi)
            continue
        scale = abs(float(ref))
        lam = abs(ai - bi)
        tol = (1e-12 if dtype == torch.float64 else 2e-5) * (1 + lam) * scale
        tol += 4 * finfo.eps * math.exp(bi) if lam < 1 else 0.0  # rounding of e^lambda near 1
        tol += finfo.tiny  # values below the normal range
        assert abs(gi - float(ref)) <= tol, (d.name, dtype, ai, bi, gi, float(ref))


@pytest.mark.parametrize("name", NAMES)
def test_registered_generators_against_mpmath(name: str) -> None:
    d = dv.get(name)
    for dtype in (torch.float64, torch.float32):
        for sync in (False, True):
            _check(d, dtype, sync)


def test_a_user_generator_against_mpmath() -> None:
    # no hand kernel: the emitted perspective in the middle, the expansions outside
    u = sp.Symbol("u", positive=True)
    user = dv.FDivergence.from_generator("(u - 1)**2 / (u + 1)", u, name="triangle")
    _check(user, torch.float64, sync=True)


def test_log_ratios_of_a_hundred_thousand() -> None:
    # asymptotics (exact to e^-1e5): kl (a - b) e^a; reverse_kl -(a - b) e^b; gan at
    # lambda -> oo: q f(p/q) = -q (lambda + 1 + O(e^-lambda)); js: f(0+) = f'(oo) = log(2)/2
    lam = 1e5
    a = torch.tensor([lam - 2.0, -lam, -lam - 1.0], dtype=torch.float64)
    b = torch.tensor([-2.0, 0.0, -1.0], dtype=torch.float64)
    kl = log_perspective(dv.get("kl"))(a, b)
    assert kl[0].item() == math.inf and kl[1].item() == 0.0  # -1e5 e^-1e5 underflows
    reverse = log_perspective(dv.get("reverse_kl"))(a, b, sync=True)
    assert reverse.tolist() == pytest.approx(
        [-lam * math.exp(-2.0), lam, lam * math.exp(-1.0)], rel=1e-15
    )
    gan = log_perspective(dv.get("gan"))(a[:1], b[:1])
    assert gan.item() == pytest.approx(-(lam + 1.0) * math.exp(-2.0), rel=1e-15)
    js = log_perspective(dv.get("js"))(a[1:], b[1:])
    assert js.tolist() == pytest.approx(
        [math.log(2) / 2, math.log(2) / 2 * math.exp(-1.0)], rel=1e-15
    )


def test_zero_densities_follow_the_perspective_conventions() -> None:
    inf = math.inf
    a = torch.tensor([-inf, -inf, 0.0, 1.0, -inf], dtype=torch.float64)
    b = torch.tensor([0.0, -inf, -inf, -inf, 2.0], dtype=torch.float64)
    kl = log_perspective(dv.get("kl"))(a, b)
    # q f(0+) = 0 for kl; 0 f(0/0) = 0; p f'(oo) = inf where p > 0 = q
    assert kl.tolist() == [0.0, 0.0, inf, inf, 0.0]
    js = log_perspective(dv.get("js"))(a, b)
    half_log2 = math.log(2.0) / 2  # js: f(0+) = f'(oo) = log(2)/2
    assert js.tolist() == pytest.approx(
        [half_log2, 0.0, half_log2, math.e * half_log2, math.exp(2.0) * half_log2], rel=1e-15
    )
    nan = log_perspective(dv.get("kl"))(torch.tensor([math.nan, inf]), torch.tensor([0.0, 0.0]))
    assert torch.isnan(nan).all()


def test_gradients_are_finite_far_out() -> None:
    # finite values at log-ratios of +-5000, +-361, 0.5 and -1e4
    a = torch.tensor([0.0, -5000.0, 0.5, 360.0, -1e4], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([-5000.0, 0.0, 0.0, -1.0, 3.0], dtype=torch.float64, requires_grad=True)
    for name in ("kl", "reverse_kl", "js", "squared_hellinger"):
        value = log_perspective(dv.get(name))(a, b)
        ga, gb = torch.autograd.grad(value.sum(), (a, b))
        assert torch.isfinite(ga).all() and torch.isfinite(gb).all(), name
    # kl: e^b f(e^(a-b)) = (a - b) e^a: d/da = (1 + a - b) e^a at a = -5000 underflows to 0
    value = log_perspective(dv.get("kl"))(a[2:3], b[2:3])
    (grad,) = torch.autograd.grad(value, a)
    assert grad[2].item() == pytest.approx(1.5 * math.exp(0.5), rel=1e-12)


def test_ratio_limit_keeps_densities_and_squared_ratios_normal() -> None:
    for dtype in (torch.float32, torch.float64):
        limit = ratio_limit(dtype)
        assert math.exp(-2 * limit) > torch.finfo(dtype).tiny
        assert math.exp(2 * limit) < torch.finfo(dtype).max
