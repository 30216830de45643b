r"""The numeric conjugate (issue 15, item 2): a generator whose f' SymPy cannot invert.

The arithmetic-geometric generator (Taneja's arithmetic-geometric mean divergence; TFP's
``csiszar_divergence`` has no conjugate for it)

.. math:: f(u) = (1 + u) \log\frac{1 + u}{2 \sqrt u}, \qquad
          f'(u) = \log\frac{1 + u}{2\sqrt u} + \frac12 - \frac{1}{2u}

(derivative typed by hand: :math:`\frac{d}{du}(1 + u) L = L + (1 + u)(\frac{1}{1 + u} -
\frac{1}{2u})`) has :math:`f'(0+) = -\infty`, :math:`f'(\infty) = \infty`, so
:math:`\operatorname{dom} f^* = \mathbb R`, and no closed-form inverse of :math:`f'`.

Oracles, none derived the way the library derives:

* :func:`tests.symbolic.test_honest_refusals.numeric_sup`: the supremum of :math:`t u - f(u)` by
  bisection on the hand-typed :math:`f'` in mpmath (50 digits);
* the torch functions against that supremum and its maximiser (float64: relative ``1e-12``, the
  root is found to the last bits and :math:`t u - f(u)` is insensitive to its error to first order;
  the bound is a few ulps of the largest term);
* the f-GAN bound :math:`E_P[T^*] - E_Q[f^*(T^*)]` between two normals against
  :math:`D_f = \int q f(p/q)` by ``scipy.integrate.quad`` with ``f`` typed in numpy (1e-8).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import scipy.integrate
import sympy as sp
import torch
from scipy.special import roots_legendre

import divergences as dv
import divergences.symbolic.conjugate as conjugate_module
from divergences.symbolic.cache import cached  # noqa: F401  (the cache is exercised below)
from divergences.symbolic.legendre import ConjugateValue, StationaryPoint
from divergences.symbolic.serialize import dumps, loads
from gan_theory.training import train

from ..symbolic.test_honest_refusals import numeric_sup
from ..training.conftest import tiny

U = sp.Symbol("u", positive=True)
AG_TEXT = "(1 + u)*log((1 + u)/(2*sqrt(u)))"


def ag_mp(x: mpmath.mpf) -> mpmath.mpf:
    return (1 + x) * mpmath.log((1 + x) / (2 * mpmath.sqrt(x)))


def ag_prime_mp(x: mpmath.mpf) -> mpmath.mpf:
    return mpmath.log((1 + x) / (2 * mpmath.sqrt(x))) + mpmath.mpf(1) / 2 - 1 / (2 * x)


def ag_np(x: np.ndarray) -> np.ndarray:
    return (1 + x) * np.log((1 + x) / (2 * np.sqrt(x)))


@pytest.fixture(scope="module")
def ag() -> dv.FDivergence:
    # SymPy's solve gives up on this f' (RecursionError after 15-40 s): a 1 s budget falls back
    # to the numeric conjugate as the default 5 s one does, sooner
    previous = conjugate_module.SOLVE_BUDGET_S
    conjugate_module.SOLVE_BUDGET_S = 1.0
    try:
        return dv.FDivergence.from_generator(AG_TEXT, U, name="arithmetic_geometric")
    finally:
        conjugate_module.SOLVE_BUDGET_S = previous


def test_the_conjugate_is_numeric_and_certified_numerically(ag: dv.FDivergence) -> None:
    assert isinstance(ag.conjugate.expr, ConjugateValue)
    assert ag.conjugate_domain == sp.Reals
    assert ag.derived.verified
    methods = {step.description.split(",")[0]: step.method for step in ag.derived.steps}
    for claim in ("Fenchel-Young equality", "f* is convex on its domain (midpoint convexity)"):
        assert methods[claim].startswith("numeric"), (claim, methods[claim])
    assert any(m.startswith("numeric") for d, m in methods.items() if d.startswith("biconjugate"))
    assert any("numerically" in step.description for step in ag.derivation)


def test_the_derivation_survives_the_cache_text_format(ag: dv.FDivergence) -> None:
    again = loads(dumps(ag.derived))
    assert again == ag.derived
    assert again.conjugate.expr.args == ag.conjugate.expr.args


# maximisers up to u* = e^{22} (t = 10): numeric_sup brackets log u in [-60, 40]
@pytest.mark.parametrize("t", ["-1e6", "-100", "-3", "-1/10", "0", "3/10", "1", "3", "10"])
def test_symbolic_value_and_derivative_equal_the_numeric_supremum(ag, t) -> None:
    tv = sp.Rational(t) if "e" not in t else sp.Integer(int(float(t)))
    with mpmath.workdps(50):
        want = numeric_sup(ag_mp, ag_prime_mp, mpmath.inf, mpmath.mpf(sp.N(tv, 60)))
        got = mpmath.mpf(sp.N(ag.conjugate(tv), 50))
        assert abs(got - want) <= mpmath.mpf(10) ** -40 * max(1, abs(want))
        # envelope theorem: f*'(t) = u*(t), the root of the hand-typed f'(u) = t
        slope = sp.diff(ag.conjugate.expr, ag.conjugate.variables[0])
        assert isinstance(slope, StationaryPoint)
        root = mpmath.mpf(sp.N(slope.subs(slope.args[0], tv), 50))
        assert abs(ag_prime_mp(root) - mpmath.mpf(sp.N(tv, 50))) <= mpmath.mpf(10) ** -35


T_GRID = [-1e8, -1e4, -100.0, -3.0, -0.5, -1e-9, 0.0, 1e-9, 0.3, 1.0, 3.0, 10.0, 100.0, 300.0]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_torch_conjugate_and_gradient_equal_mpmath(ag, dtype) -> None:
    t = torch.tensor(T_GRID, dtype=dtype, requires_grad=True)
    value = ag.torch.conjugate(t)
    (grad,) = torch.autograd.grad(value.sum(), t)
    rtol = 1e-12 if dtype == torch.float64 else 2e-5
    for x, got, slope in zip(t.detach().tolist(), value.tolist(), grad.tolist(), strict=True):
        u_star = _root(mpmath.mpf(x))
        with mpmath.workdps(50):
            want = x * u_star - ag_mp(u_star)
        if float(want) > torch.finfo(dtype).max:
            assert got == math.inf, (x, got)
            continue
        assert abs(got - float(want)) <= rtol * max(1.0, abs(float(want))), (x, got, want)
        assert abs(slope - float(u_star)) <= rtol * float(u_star), (x, slope, u_star)


def _root(t: mpmath.mpf) -> mpmath.mpf:
    """u* from the hand-typed f' by bisection in log u (independent of the library; the same
    method as ``numeric_sup``, on a bracket that reaches u* = e^{800})."""
    with mpmath.workdps(50):
        lo, hi = mpmath.mpf(-800), mpmath.mpf(800)
        while hi - lo > mpmath.mpf(10) ** -40:
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if ag_prime_mp(mpmath.exp(mid)) < t else (lo, mid)
        return mpmath.exp(lo)


def test_beyond_the_largest_root_the_conjugate_is_inf_not_nan(ag) -> None:
    # u* = e^{2 (t + log 2 - 1/2)} exceeds float64 above t ~ 354.7: f*(t) > 1e308
    out = ag.torch.conjugate(torch.tensor([400.0, 1e6], dtype=torch.float64))
    assert out.tolist() == [math.inf, math.inf]
    half = ag.torch.conjugate(torch.tensor([1.0, 200.0], dtype=torch.float16))
    assert half.dtype == torch.float16 and math.isfinite(half[0].item())
    assert half[1].item() == math.inf


def test_gradcheck_compile_and_vmap(ag) -> None:
    t = torch.tensor([-3.0, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ag.torch.conjugate, (t,))
    plain = ag.torch.conjugate(t.detach())
    # float32 (64 iterations unrolled, half the tracing time of float64's 128)
    compiled = torch.compile(ag.torch.conjugate, fullgraph=True, backend="eager")
    assert torch.equal(compiled(t.detach().float()), ag.torch.conjugate(t.detach().float()))
    batched = torch.func.vmap(ag.torch.conjugate)(t.detach().reshape(3, 1))
    assert torch.equal(batched.reshape(3), plain)
    grads = torch.func.grad(lambda x: ag.torch.conjugate(x).sum())(t.detach())
    assert torch.allclose(
        grads,
        torch.tensor([float(_root(mpmath.mpf(x))) for x in t.tolist()], dtype=torch.float64),
        rtol=1e-12,
    )


def test_fgan_bound_at_the_optimal_critic_equals_the_divergence_by_quadrature(ag) -> None:
    # P = N(1, 1), Q = N(0, 1): p/q = exp(x - 1/2); the bound is attained at T* = f'(p/q)
    def p(x):
        return np.exp(-((x - 1) ** 2) / 2) / math.sqrt(2 * math.pi)

    def q(x):
        return np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)

    # beyond |x| = 30 the integrand is below 1e-190 (q f(p/q) ~ q |x|)
    divergence, _ = scipy.integrate.quad(
        lambda x: q(x) * ag_np(np.exp(x - 0.5)), -30, 30, epsabs=1e-14, epsrel=1e-13, limit=200
    )
    nodes, weights = roots_legendre(600)
    lo, hi = -16.0, 17.0  # the Gaussian tails beyond carry < 1e-50
    x = (hi - lo) / 2 * nodes + (hi + lo) / 2
    w = (hi - lo) / 2 * weights
    ratio = torch.tensor(np.exp(x - 0.5), dtype=torch.float64)
    critic = ag.torch.optimal_critic(ratio)
    integrand = torch.tensor(p(x)) * critic - torch.tensor(q(x)) * ag.torch.conjugate(critic)
    bound = float((torch.tensor(w) * integrand).sum())
    assert abs(bound - divergence) <= 1e-8, (bound, divergence)


def test_fgan_trains_with_the_numeric_conjugate(ag) -> None:
    result = train(tiny("fgan", divergence=ag, data="bimodal-1d"))
    final = result.final_metrics
    assert all(math.isfinite(v) for v in final.values() if isinstance(v, float))
    assert "arithmetic_geometric_estimate" in final
