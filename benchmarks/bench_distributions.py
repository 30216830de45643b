"""Divergences between distributions: closed forms and quadrature vs a SciPy ``quad`` loop, and
Monte Carlo throughput vs a hand-written torch loop, at one thread.

Run: ``.venv/bin/python -m pytest benchmarks/bench_distributions.py --benchmark-only -q
-o python_files='bench_*.py'``; ratios: :mod:`benchmarks.ratios` (issue 13's targets:
closed form and quadrature at least 10x faster than the SciPy loop, ``<= 0.1x`` its time, at
the same accuracy; Monte Carlo at least 0.9x the throughput of the hand-written loop, ``<=
1.11x`` its time).

**Quadrature.** 1000 pairs of univariate normals (float64, means ~ N(0, 1), log-scales ~
N(0, 0.5^2)). The peer is what one writes by hand: a Python loop of
``scipy.integrate.quad(integrand, -inf, inf, epsabs=1e-13, epsrel=1e-10)`` with a log-space
integrand in ``math`` (``kl``: :math:`e^{\\log p}(\\log p - \\log q)`; ``js``: the two
mixture terms, scaled by the larger density). ``divergences`` integrates the same batch at its
default tolerances (``rtol=1e-10``, ``atol=1e-13``) in one batched call. Before timing, both are
compared with the exact values (``kl``: torch's closed form; ``js``: the mpmath quadrature of
``divergences.numeric.analytic``, on the first 25 pairs): the library's largest relative error
must be at most the SciPy loop's or below 1e-12 ("same accuracy"); the errors are recorded in
``extra_info``. The closed form (``kl``) is timed against the same loop.

**Monte Carlo.** 100 pairs of normals, 10 000 samples each (10^6 points), ``kl`` and ``js``.
The peers are the loop one writes with the library's emitted generator,
``x = Q.rsample((n,)); h = d.torch.generator(exp(P.log_prob(x) - Q.log_prob(x)))`` with the
mean and the standard error from ``torch.var_mean``, and for ``kl`` also the formula typed by
hand, :math:`h = r \\log r = e^{\\ell}\\ell` with :math:`\\ell = \\log(p/q)`. ``divergences``
runs ``divergence(d, P, Q, method="mc", num_samples=10_000)`` with its defaults
(``validate=True``: the check for NaN samples, one host synchronisation).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import torch
from torch import distributions as td

import divergences as dv
from benchmarks.ratios import Target, mark
from divergences.distributions import divergence
from divergences.numeric import analytic

AT_MOST_TENTH = Target(0.1, strict=False, text="<= 0.1x (10x faster)")
THROUGHPUT_0_9 = Target(1.0 / 0.9, strict=False, text="<= 1.11x (>= 0.9x throughput)")
PAIRS = 1000
ROUNDS_SCIPY = 3
ROUNDS = 10
MC_PAIRS, MC_SAMPLES = 100, 10_000
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@pytest.fixture(scope="module")
def normals() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    m1, m2 = rng.normal(size=PAIRS), rng.normal(size=PAIRS)
    s1, s2 = np.exp(0.5 * rng.normal(size=PAIRS)), np.exp(0.5 * rng.normal(size=PAIRS))
    return m1, s1, m2, s2


def _log_normal(x: float, m: float, log_s: float, s: float) -> float:
    z = (x - m) / s
    return -0.5 * z * z - log_s - _HALF_LOG_2PI


def scipy_loop(name: str, m1, s1, m2, s2) -> np.ndarray:
    """The hand-written peer: one ``scipy.integrate.quad`` per pair, log-space integrand."""
    out = np.empty(len(m1))
    for i, (a, sa, b, sb) in enumerate(zip(m1, s1, m2, s2, strict=True)):
        la, lb = math.log(sa), math.log(sb)
        if name == "kl":

            def integrand(x, a=a, sa=sa, la=la, b=b, sb=sb, lb=lb):
                lp, lq = _log_normal(x, a, la, sa), _log_normal(x, b, lb, sb)
                return math.exp(lp) * (lp - lq)

        else:  # js: (p log(2p/(p+q)) + q log(2q/(p+q)))/2 with the larger density factored out

            def integrand(x, a=a, sa=sa, la=la, b=b, sb=sb, lb=lb):
                lp, lq = _log_normal(x, a, la, sa), _log_normal(x, b, lb, sb)
                m = max(lp, lq)
                p, q = math.exp(lp - m), math.exp(lq - m)
                s = p + q
                terms = (p * math.log(2 * p / s) if p > 0 else 0.0) + (
                    q * math.log(2 * q / s) if q > 0 else 0.0
                )
                return 0.5 * math.exp(m) * terms

        out[i] = scipy.integrate.quad(
            integrand, -np.inf, np.inf, epsabs=1e-13, epsrel=1e-10, limit=200
        )[0]
    return out


def _exact(name: str, m1, s1, m2, s2) -> tuple[np.ndarray, slice]:
    if name == "kl":
        return analytic.kl_normal(m1, s1, m2, s2), slice(None)
    subset = slice(0, 25)  # the mpmath quadrature takes ~0.1 s a pair
    values = [
        analytic.f_divergence_normal_quad("js", *args).value
        for args in zip(m1[subset], s1[subset], m2[subset], s2[subset], strict=True)
    ]
    return np.array(values), subset


def _max_rel(values: np.ndarray, exact: np.ndarray) -> float:
    return float(np.max(np.abs(values - exact) / np.abs(exact)))


CASES = [
    pytest.param("kl", "closed", id="kl-closed"),
    pytest.param("kl", "quadrature", id="kl-quadrature"),
    pytest.param("kl", "scipy", id="kl-scipy"),
    pytest.param("js", "quadrature", id="js-quadrature"),
    pytest.param("js", "scipy", id="js-scipy"),
]


@pytest.mark.parametrize(("name", "side"), CASES)
def test_normal_pairs(benchmark, normals, name: str, side: str) -> None:
    m1, s1, m2, s2 = normals
    case = f"{name}, {PAIRS} normal pairs, float64, 1 thread"
    exact, subset = _exact(name, m1, s1, m2, s2)
    peer_error = _max_rel(scipy_loop(name, *(x[subset] for x in normals)), exact)
    if side == "scipy":
        mark(
            benchmark,
            case=case,
            side="peer",
            label="scipy.integrate.quad loop",
            target=AT_MOST_TENTH,
            group=case,
        )
        benchmark.extra_info["max_rel_error"] = peer_error
        benchmark.pedantic(
            scipy_loop, args=(name, *normals), rounds=ROUNDS_SCIPY, iterations=1, warmup_rounds=0
        )
        return
    p = td.Normal(torch.from_numpy(m1), torch.from_numpy(s1))
    q = td.Normal(torch.from_numpy(m2), torch.from_numpy(s2))
    result = divergence(name, p, q, method=side)
    ours = _max_rel(result.value.numpy()[subset], exact)
    assert ours <= max(peer_error, 1e-12), (ours, peer_error)  # the same accuracy
    mark(
        benchmark,
        case=case,
        side="library",
        label=f'divergence(method="{side}")',
        target=AT_MOST_TENTH,
        group=case,
    )
    benchmark.extra_info["max_rel_error"] = ours
    benchmark.extra_info["peer_max_rel_error"] = peer_error
    benchmark.pedantic(
        divergence,
        args=(name, p, q),
        kwargs={"method": side},
        rounds=ROUNDS,
        iterations=1,
        warmup_rounds=1,
    )


@pytest.fixture(scope="module")
def mc_pairs() -> tuple[td.Normal, td.Normal]:
    g = torch.Generator().manual_seed(0)
    dtype = torch.float64
    m1 = 0.3 * torch.randn(MC_PAIRS, generator=g, dtype=dtype)
    m2 = 0.3 * torch.randn(MC_PAIRS, generator=g, dtype=dtype)
    s1 = torch.exp(0.2 * torch.randn(MC_PAIRS, generator=g, dtype=dtype))
    s2 = torch.exp(0.2 * torch.randn(MC_PAIRS, generator=g, dtype=dtype))
    return td.Normal(m1, s1), td.Normal(m2, s2)


def generator_loop(d: dv.FDivergence, p: td.Normal, q: td.Normal) -> tuple[torch.Tensor, ...]:
    """The hand-written peer with the library's emitted generator."""
    x = q.rsample((MC_SAMPLES,))
    h = d.torch.generator(torch.exp(p.log_prob(x) - q.log_prob(x)))
    variance, mean = torch.var_mean(h, 0)
    return mean, (variance / MC_SAMPLES).sqrt()


def kl_formula_loop(d: dv.FDivergence, p: td.Normal, q: td.Normal) -> tuple[torch.Tensor, ...]:
    """The hand-written peer for kl with the formula typed in: r log r = e^l l."""
    x = q.rsample((MC_SAMPLES,))
    log_ratio = p.log_prob(x) - q.log_prob(x)
    h = torch.exp(log_ratio) * log_ratio
    variance, mean = torch.var_mean(h, 0)
    return mean, (variance / MC_SAMPLES).sqrt()


MC_CASES = [
    pytest.param("kl", "library", id="kl-library"),
    pytest.param("kl", "generator-loop", id="kl-generator-loop"),
    pytest.param("kl", "formula-loop", id="kl-formula-loop"),
    pytest.param("js", "library", id="js-library"),
    pytest.param("js", "generator-loop", id="js-generator-loop"),
]


@pytest.mark.parametrize(("name", "side"), MC_CASES)
def test_monte_carlo_throughput(benchmark, mc_pairs, name: str, side: str) -> None:
    p, q = mc_pairs
    d = dv.get(name)
    case = f"mc {name}, {MC_PAIRS} normal pairs x {MC_SAMPLES} samples, float64, 1 thread"
    if side == "library":
        torch.manual_seed(0)
        result = divergence(d, p, q, method="mc", num_samples=MC_SAMPLES)
        torch.manual_seed(0)
        mean, se = generator_loop(d, p, q)  # the same draws: the same estimate
        torch.testing.assert_close(result.value, mean, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(result.standard_error, se, rtol=1e-6, atol=1e-12)
        mark(
            benchmark,
            case=case,
            side="library",
            label='divergence(method="mc")',
            target=THROUGHPUT_0_9,
            group=case,
        )
        benchmark.pedantic(
            divergence,
            args=(d, p, q),
            kwargs={"method": "mc", "num_samples": MC_SAMPLES},
            rounds=ROUNDS,
            iterations=1,
            warmup_rounds=1,
        )
        return
    loop = generator_loop if side == "generator-loop" else kl_formula_loop
    label = (
        "hand loop, d.torch.generator(exp(log p - log q))"
        if side == "generator-loop"
        else "hand loop, exp(l) * l typed in"
    )
    mark(benchmark, case=case, side="peer", label=label, target=THROUGHPUT_0_9, group=case)
    benchmark.pedantic(loop, args=(d, p, q), rounds=ROUNDS, iterations=1, warmup_rounds=1)
