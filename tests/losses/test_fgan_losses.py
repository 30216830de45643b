r"""Tests of the f-GAN losses :func:`~divergences.losses.fgan_critic_loss` and
:func:`~divergences.losses.fgan_generator_loss`.

The objectives (Nowozin, Cseke and Tomioka, *f-GAN*, NeurIPS 2016): the critic maximises
``F = E_P[g_f(V)] - E_Q[f*(g_f(V))]`` (Eq. 6), so its loss is ``-F``; the generator minimises
``F`` (saddle point: ``-E_Q[f*(g_f(V))]``, the only term that depends on it) or, in the paper's
Section 3.2 alternative, maximises ``E_Q[g_f(V)]`` (loss ``-E_Q[g_f(V)]``).

Where expected values come from:

- the closed forms of :mod:`divergences.testing.oracles` (f-GAN paper Tables 2 and 6, the
  alpha and weighted-JS families, two user-defined generators), through the cases of
  ``tests/emit/cases.py``, evaluated by mpmath with the precision escalation described there:
  each loss is the exact mean of exact terms, so whether it is representable in a dtype is
  decided exactly;
- independent implementations: the GAN losses of :mod:`divergences.losses._gan` (for ``gan`` the
  critic loss is twice the discriminator loss, the saddle generator loss is the minimax one and
  the alternative the non-saturating one);
- ``D_f(P || Q) = sum_x q f(p/q)`` from the closed-form generator (mpmath) for the tightness of
  the variational bound at the optimal critic ``T* = f'(p/q)``.

Tolerances. A loss is a difference of two means of ``n <= 22`` terms: float64 results are within
``16 eps (mean|a_i| + mean|b_j| + mean|v h'(v)|)`` of the exact value (the rounding of each term,
backward stable in its input, and of the sums); float32/float16/bfloat16 results (computed in
float32, rounded once) within the same bound with the dtype's eps. Gradients are checked to be
free of NaN everywhere, finite wherever the exact gradient is representable, and within 1 % (the
exact per-element derivative, which tests/emit/test_emitted.py checks to 1e-8 in float64).
"""

from __future__ import annotations

import doctest
import functools
import math
from fractions import Fraction

import mpmath
import pytest
import sympy as sp
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import divergences as dv
from divergences.errors import InputError
from divergences.losses import (
    _fgan,
    fgan_critic_loss,
    fgan_generator_loss,
    gan_discriminator_loss,
    gan_generator_loss,
)
from divergences.testing.oracles import exact_value
from divergences.testing.oracles import u as U
from tests.emit.cases import (
    CASE_BY_ID,
    CASE_IDS,
    _mp,
    exact,
    oracle,
    to_dtype,
)

F64 = torch.float64
DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16]


def divergence_of(case_id: str) -> dv.FDivergence:
    return CASE_BY_ID[case_id].build()


# --------------------------------------------------------------------------------------------
# Exact losses
# --------------------------------------------------------------------------------------------


def _exact_mean(case_id: str, quantity: str, scores: list[float], sign: int):
    """``(mean of sign * h(v), mean |h(v)|, mean |v h'(v)|)`` exactly (h the quantity)."""
    values, sizes, conditioning = [], [], []
    for x in scores:
        value, cond = exact(case_id, quantity, x)
        values.append(sign * value)
        sizes.append(abs(value))
        conditioning.append(cond)
    with mpmath.workdps(60):
        n = len(scores)
        return mpmath.fsum(values) / n, mpmath.fsum(sizes) / n, mpmath.fsum(conditioning) / n


def exact_critic_loss(case_id: str, real: list[float], fake: list[float]):
    """``(loss, scale)``: ``-mean g(real) + mean f*(g(fake))`` and the size of its parts."""
    a, a_size, a_cond = _exact_mean(case_id, "activation", real, -1)
    b, b_size, b_cond = _exact_mean(case_id, "conjugate_of_activation", fake, 1)
    a_size += _affine_scale(case_id, "activation", real)
    b_size += _affine_scale(case_id, "conjugate_of_activation", fake)
    with mpmath.workdps(60):
        if mpmath.isinf(a) and mpmath.isinf(b) and a != b:
            raise AssertionError("inf - inf in an exact loss")
        return a + b, a_size + b_size + a_cond + b_cond


def _affine_scale(case_id: str, quantity: str, scores: list[float]) -> mpmath.mpf:
    """``|a| + |b mean G|`` for the emitted ``h = a + b G``: the mean is formed as
    ``a + b mean(G)`` (the constant added once), accurate to a few ulps of these parts
    (``divergences.numeric.kernels.AffineTerm``): next to a zero of ``h`` this is the scale."""
    emitted = divergence_of(case_id).torch
    term = (
        emitted.activation_term
        if quantity == "activation"
        else (emitted.conjugate_of_activation_term)
    )
    with mpmath.workdps(60):
        values = [exact(case_id, quantity, x)[0] for x in scores]
        shifted = mpmath.fsum(v - term.constant for v in values) / len(values)
        return abs(mpmath.mpf(term.constant)) + abs(shifted)


@functools.cache
def _derivative(case_id: str, quantity: str) -> tuple[sp.Expr, sp.Symbol]:
    expr, var = oracle(case_id, quantity)
    return sp.diff(expr, var).replace(sp.DiracDelta, lambda *_: sp.S.Zero), var


@functools.cache
def exact_derivative(case_id: str, quantity: str, x: float) -> mpmath.mpf:
    derivative, var = _derivative(case_id, quantity)
    return exact_value(_mp(derivative, var), x, rtol=1e-6)


def assert_close_to_exact(got: float, exact_value_: mpmath.mpf, scale: mpmath.mpf, dtype) -> None:
    expected = to_dtype(exact_value_, dtype)
    if math.isinf(expected):  # the exact loss overflows the dtype: inf of the right sign
        assert got == expected, (got, float(exact_value_))
        return
    info = torch.finfo(dtype)
    with mpmath.workdps(30):
        bound = 16 * info.eps * scale + info.tiny
        assert abs(mpmath.mpf(got) - exact_value_) <= bound, (got, float(exact_value_))


# --------------------------------------------------------------------------------------------
# Values against the paper's formulas
# --------------------------------------------------------------------------------------------

moderate_scores = hnp.arrays("float64", st.integers(1, 12), elements=st.floats(-8, 8))


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_losses_match_the_paper_formulas(case_id: str) -> None:
    d = divergence_of(case_id)

    @settings(max_examples=max(1, settings.default.max_examples // 4))  # per divergence
    @given(moderate_scores, moderate_scores)
    @example([0.0], [0.0])
    def inner(real, fake) -> None:
        real, fake = list(map(float, real)), list(map(float, fake))
        vr, vf = torch.tensor(real, dtype=F64), torch.tensor(fake, dtype=F64)
        loss, scale = exact_critic_loss(case_id, real, fake)
        assert_close_to_exact(fgan_critic_loss(d, vr, vf).item(), loss, scale, F64)
        # generator: saddle -E_Q[f*(g(v))] and the alternative -E_Q[g(v)]
        for alternative, quantity in ((False, "conjugate_of_activation"), (True, "activation")):
            value, size, cond = _exact_mean(case_id, quantity, fake, -1)
            scale = size + cond + _affine_scale(case_id, quantity, fake)
            got = fgan_generator_loss(d, vf, alternative=alternative).item()
            assert_close_to_exact(got, value, scale, F64)

    inner()


def test_registered_names_and_objects_give_the_same_losses() -> None:
    v = torch.linspace(-3, 3, 7, dtype=F64)
    for name in ("kl", "js", "gan", "neyman"):
        assert fgan_critic_loss(name, v, v.flip(0)) == fgan_critic_loss(dv.get(name), v, v.flip(0))
        assert fgan_generator_loss(name, v) == fgan_generator_loss(dv.get(name), v)


@given(
    hnp.arrays("float64", st.integers(1, 20), elements=st.floats(-1e4, 1e4)),
    hnp.arrays("float64", st.integers(1, 20), elements=st.floats(-1e4, 1e4)),
)
def test_gan_entry_is_the_original_gan(real, fake) -> None:
    # Goodfellow et al. 2014 through divergences.losses._gan: the f-GAN critic loss of "gan" is
    # twice the discriminator loss; the saddle generator loss is the minimax loss and the
    # alternative is the non-saturating loss
    vr, vf = torch.from_numpy(real), torch.from_numpy(fake)
    torch.testing.assert_close(
        fgan_critic_loss("gan", vr, vf), 2 * gan_discriminator_loss(vr, vf), rtol=1e-13, atol=0
    )
    torch.testing.assert_close(
        fgan_generator_loss("gan", vf), gan_generator_loss(vf, saturating=True), rtol=1e-13, atol=0
    )
    torch.testing.assert_close(
        fgan_generator_loss("gan", vf, alternative=True), gan_generator_loss(vf), rtol=1e-13, atol=0
    )


def test_critic_loss_at_the_uninformed_critic_of_kl() -> None:
    # kl: g(v) = v, f*(g(v)) = e^{v - 1}; at v = 1 everywhere: -(1 - 1) = 0; a constant shift
    # of the fake scores by c multiplies the second mean by e^c
    ones = torch.ones(4, dtype=F64)
    assert fgan_critic_loss("kl", ones, ones).item() == 0.0
    assert fgan_critic_loss("kl", ones, ones + 2).item() == pytest.approx(math.exp(2) - 1)


# --------------------------------------------------------------------------------------------
# Stability: raw scores up to |v| = 1e4 in every dtype
# --------------------------------------------------------------------------------------------


def special_scores(dtype: torch.dtype) -> list[float]:
    """0, +-eps, +-1, +-10, around the exp overflow threshold of the dtype, its underflow
    threshold, +-100, +-1e3, +-1e4 (rounded to the dtype)."""
    info = torch.finfo(dtype)
    overflow, underflow = math.log(info.max), -math.log(info.tiny)
    magnitudes = [0.0, info.eps, 1.0, 10.0, overflow * (1 - 1e-3), overflow * (1 + 1e-3)]
    magnitudes += [underflow, 100.0, 1e3, 1e4]
    values = torch.tensor([s * m for m in magnitudes for s in (1, -1)], dtype=F64).to(dtype)
    return sorted(set(values.double().tolist()))


def _batches(scores: list[float]) -> list[tuple[list[float], list[float]]]:
    """All specials in one batch (real and fake in different orders), then one by one."""
    out = [(scores, scores[::-1]), (scores, scores[3:] + scores[:3])]
    out += [([s], [s]) for s in scores]
    out += [([s], [-s]) for s in scores]
    return out


def _check_gradient(case_id, quantity, scores, gradient, sign, dtype) -> None:
    assert gradient.dtype == dtype
    n = len(scores)
    # computed in float32 for the 16-bit dtypes; torch's backward formulas (tanh' = 1 - tanh^2,
    # expm1' = expm1 + 1) round on the scale of their parts, an absolute error of a few eps
    work = torch.finfo(torch.float64 if dtype == F64 else torch.float32).eps
    for x, got in zip(scores, gradient.double().tolist(), strict=True):
        assert not math.isnan(got), (quantity, x)
        with mpmath.workdps(30):
            exact_grad = sign * exact_derivative(case_id, quantity, x) / n
        expected = to_dtype(exact_grad, dtype)
        if math.isinf(expected):
            assert got == expected, (quantity, x, got)
            continue
        tolerance = 1e-2 * abs(expected) + 4 * work / n + torch.finfo(dtype).tiny
        assert abs(got - float(exact_grad)) <= tolerance, (quantity, x, got, float(exact_grad))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_losses_and_gradients_at_extreme_scores(case_id: str, dtype: torch.dtype) -> None:
    d = divergence_of(case_id)
    for real, fake in _batches(special_scores(dtype)):
        vr = torch.tensor(real, dtype=F64).to(dtype).requires_grad_(True)
        vf = torch.tensor(fake, dtype=F64).to(dtype).requires_grad_(True)
        loss = fgan_critic_loss(d, vr, vf)
        assert loss.dtype == dtype and loss.shape == ()
        exact_loss, scale = exact_critic_loss(case_id, real, fake)
        assert_close_to_exact(loss.item(), exact_loss, scale, dtype)
        grad_real, grad_fake = torch.autograd.grad(loss, (vr, vf))
        _check_gradient(case_id, "activation", real, grad_real, -1, dtype)
        _check_gradient(case_id, "conjugate_of_activation", fake, grad_fake, 1, dtype)
        for alternative, quantity in ((False, "conjugate_of_activation"), (True, "activation")):
            generator = fgan_generator_loss(d, vf, alternative=alternative)
            value, size, cond = _exact_mean(case_id, quantity, fake, -1)
            scale = size + cond + _affine_scale(case_id, quantity, fake)
            assert generator.dtype == dtype
            assert_close_to_exact(generator.item(), value, scale, dtype)
            (grad,) = torch.autograd.grad(generator, vf)
            _check_gradient(case_id, quantity, fake, grad, -1, dtype)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_large_batches_do_not_overflow_the_mean(dtype: torch.dtype) -> None:
    # 4096 * 1e4 overflows float16 if the means were accumulated in the input dtype
    v = torch.full((4096,), 1e4, dtype=dtype, requires_grad=True)
    loss = fgan_critic_loss("gan", -v, v)  # softplus(1e4) twice: 2e4 (bfloat16: 2 * 9984)
    loss.backward()
    assert loss.item() == 2 * v[0].item()
    assert torch.isfinite(v.grad).all()
    assert v.grad[0].item() == pytest.approx(2 / 4096, rel=1e-2)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("case_id", ["reverse_kl", "neyman", "squared_hellinger", "alpha=-1"])
def test_a_mean_is_finite_where_only_one_term_overflows(case_id: str, dtype) -> None:
    # regression: e^{-v} at v = -(log(max) + 1) overflows the dtype, its mean over 22 scores
    # does not; the terms exp(H) are now averaged in log space (loss and gradient)
    v0 = -(math.log(torch.finfo(dtype).max) + 1.0)
    real = [v0] + [0.0] * 21
    vr = torch.tensor(real, dtype=F64).to(dtype).requires_grad_(True)
    vf = torch.zeros(3, dtype=dtype)
    real = vr.double().tolist()
    loss = fgan_critic_loss(divergence_of(case_id), vr, vf)
    exact_loss, scale = exact_critic_loss(case_id, real, [0.0] * 3)
    assert math.isfinite(to_dtype(exact_loss, dtype))
    assert_close_to_exact(loss.item(), exact_loss, scale, dtype)
    (gradient,) = torch.autograd.grad(loss, vr)
    _check_gradient(case_id, "activation", real, gradient, -1, dtype)


def test_both_means_overflowing_to_the_same_infinity() -> None:
    # neyman: -mean(1 - e^{-v_r}) + mean(2 - 2 e^{-v_f/2}) at v_r = v_f = -1e4 is
    # (e^{1e4} - 1) + (2 - 2 e^{5e3}) = +inf: the larger exponential decides, not inf - inf = NaN
    for dtype in DTYPES:
        v = torch.full((3,), -1e4, dtype=dtype, requires_grad=True)
        w = torch.full((2,), -1e4, dtype=dtype, requires_grad=True)
        loss = fgan_critic_loss("neyman", v, w)
        assert loss.item() == math.inf
        grad_v, grad_w = torch.autograd.grad(loss, (v, w))
        assert not torch.isnan(grad_v).any() and not torch.isnan(grad_w).any()
        # and the other way round: the fake mean is the larger one when v_f << v_r
        loss = fgan_critic_loss("neyman", v.detach() / 4, w.detach())
        assert loss.item() == -math.inf


# --------------------------------------------------------------------------------------------
# The variational bound is tight at the optimal critic
# --------------------------------------------------------------------------------------------


def exact_divergence(case_id: str, p: list[Fraction], q: list[Fraction]) -> float:
    f = _mp(CASE_BY_ID[case_id].forms.generator, U)
    with mpmath.workdps(50):
        terms = [
            mpmath.mpf(b.numerator)
            / b.denominator
            * f(mpmath.mpf((a / b).numerator) / (a / b).denominator)
            for a, b in zip(p, q, strict=True)
        ]
        return float(mpmath.fsum(terms))


def inverse_activation(emitted, target: torch.Tensor) -> torch.Tensor:
    """``v`` with ``g_f(v) = target`` by bisection on the increasing emitted ``g_f``."""
    lo = torch.full_like(target, -800.0)
    hi = torch.full_like(target, 800.0)
    for _ in range(120):
        mid = (lo + hi) / 2
        below = emitted.activation(mid) < target
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    return (lo + hi) / 2


counts = st.lists(st.integers(1, 9), min_size=2, max_size=5)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_bound_is_attained_at_the_optimal_critic(case_id: str) -> None:
    d = divergence_of(case_id)
    emitted = d.torch

    @settings(max_examples=max(1, settings.default.max_examples // 5))  # per divergence
    @given(counts, counts, st.lists(st.floats(-20, 20), min_size=5, max_size=5))
    @example([1, 1], [1, 1], [0.0] * 5)
    @example([9, 1], [1, 9], [3.0, -3.0, 0.0, 0.0, 0.0])
    def inner(counts_p, counts_q, scores) -> None:
        n = min(len(counts_p), len(counts_q))
        counts_p, counts_q = counts_p[:n], counts_q[:n]
        p = [Fraction(c, sum(counts_p)) for c in counts_p]
        q = [Fraction(c, sum(counts_q)) for c in counts_q]
        divergence = exact_divergence(case_id, p, q)
        # the empirical distributions: outcome i repeated counts[i] times in each sample
        idx_p = torch.repeat_interleave(torch.arange(n), torch.tensor(counts_p))
        idx_q = torch.repeat_interleave(torch.arange(n), torch.tensor(counts_q))
        # any critic: -L_critic <= D_f(P || Q)
        v = torch.tensor(scores[:n], dtype=F64)
        bound = -fgan_critic_loss(d, v[idx_p], v[idx_q]).item()
        assert bound <= divergence + 1e-12 * (1 + abs(divergence))
        # the optimal critic T* = f'(p/q), all through the emitted functions
        ratio = torch.tensor([float(a / b) for a, b in zip(p, q, strict=True)], dtype=F64)
        v_star = inverse_activation(emitted, emitted.optimal_critic(ratio))
        attained = -fgan_critic_loss(d, v_star[idx_p], v_star[idx_q]).item()
        assert attained == pytest.approx(divergence, rel=1e-9, abs=1e-12)

    inner()


# --------------------------------------------------------------------------------------------
# torch.func, torch.compile, devices
# --------------------------------------------------------------------------------------------

TRANSFORM_CASES = ["kl", "reverse_kl", "neyman", "js", "gan", "jeffrey", "total_variation"]


def _scores(seed: int, *shape: int, scale: float = 3.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=F64) * scale


@pytest.mark.parametrize("case_id", TRANSFORM_CASES)
def test_func_grad_matches_the_analytic_gradient(case_id: str) -> None:
    d = divergence_of(case_id)
    real, fake = _scores(1, 6), _scores(2, 5)
    grad_real, grad_fake = torch.func.grad(lambda r, f: fgan_critic_loss(d, r, f), (0, 1))(
        real, fake
    )
    for x, got in zip(real.tolist(), grad_real.tolist(), strict=True):
        expected = -float(exact_derivative(case_id, "activation", x)) / 6
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-15)
    for x, got in zip(fake.tolist(), grad_fake.tolist(), strict=True):
        expected = float(exact_derivative(case_id, "conjugate_of_activation", x)) / 5
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-15)
    generator_grad = torch.func.grad(lambda f: fgan_generator_loss(d, f, alternative=True))(fake)
    for x, got in zip(fake.tolist(), generator_grad.tolist(), strict=True):
        expected = -float(exact_derivative(case_id, "activation", x)) / 5
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("case_id", TRANSFORM_CASES)
def test_vmap_over_independent_batches(case_id: str) -> None:
    d = divergence_of(case_id)
    real, fake = _scores(3, 4, 8), _scores(4, 4, 7)
    # include a batch where both means overflow (neyman's inf - inf resolution under vmap)
    real[0], fake[0] = -1e4, -1e4
    batched = torch.func.vmap(lambda r, f: fgan_critic_loss(d, r, f))(real, fake)
    looped = torch.stack([fgan_critic_loss(d, r, f) for r, f in zip(real, fake, strict=True)])
    torch.testing.assert_close(batched, looped, equal_nan=False)
    batched = torch.func.vmap(lambda f: fgan_generator_loss(d, f))(fake)
    looped = torch.stack([fgan_generator_loss(d, f) for f in fake])
    torch.testing.assert_close(batched, looped)
    per_sample = torch.func.vmap(torch.func.grad(lambda r, f: fgan_critic_loss(d, r, f)))(
        real[1:], fake[1:]
    )
    for k in range(1, 4):
        r = real[k].clone().requires_grad_(True)
        (expected,) = torch.autograd.grad(fgan_critic_loss(d, r, fake[k]), r)
        torch.testing.assert_close(per_sample[k - 1], expected)


def _all_losses(d: dv.FDivergence, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return (
        fgan_critic_loss(d, real, fake)
        + fgan_generator_loss(d, fake)
        + fgan_generator_loss(d, fake, alternative=True)
    )


@pytest.mark.parametrize(
    "case_id",
    # neyman: the inf - inf resolution (autograd.Function); js: two pieces; the others (about
    # 1.5 s each) run with the slow tests
    [
        c if c in ("neyman", "js") else pytest.param(c, marks=pytest.mark.slow)
        for c in TRANSFORM_CASES
    ],
)
def test_losses_trace_into_one_graph(case_id: str) -> None:
    # fullgraph=True fails on any graph break: a host sync (.item(), .cpu()) or data-dependent
    # Python control flow; aot_eager also traces the backward
    d = divergence_of(case_id)
    torch._dynamo.reset()
    compiled = torch.compile(_all_losses, fullgraph=True, backend="aot_eager")
    for dtype in (F64, torch.float32, torch.bfloat16):
        real = _scores(5, 9).to(dtype).requires_grad_(True)
        fake = _scores(6, 7).to(dtype).requires_grad_(True)
        eager = _all_losses(d, real, fake)
        expected = torch.autograd.grad(eager, (real, fake))
        traced = compiled(d, real, fake)
        assert traced.dtype == dtype
        torch.testing.assert_close(traced, eager)
        for got, want in zip(torch.autograd.grad(traced, (real, fake)), expected, strict=True):
            torch.testing.assert_close(got, want)


def test_compiled_before_any_eager_call() -> None:
    # regression: the first call emitted the terms inside the traced region, and Dynamo cannot
    # enter the lock of functools.cached_property (nor trace SymPy): fullgraph=True failed
    x = sp.Symbol("x", positive=True)
    fresh = dv.FDivergence.from_generator(3 * x * sp.log(x) - 3 * x + 3, x, name="fresh")
    torch._dynamo.reset()
    compiled = torch.compile(_all_losses, fullgraph=True, backend="aot_eager")
    real, fake = _scores(9, 6), _scores(10, 5)
    # 3 u log u - 3 u + 3: f*(t) = 3 (e^{t/3} - 1), g_f(v) = v (its domain is the real line)
    traced = compiled(fresh, real, fake)
    expected = (
        -real.mean()
        + 3 * torch.expm1(fake / 3).mean()
        - 3 * torch.expm1(fake / 3).mean()
        - fake.mean()
    )
    torch.testing.assert_close(traced, expected)
    other = compiled(divergence_of("js"), real, fake)  # another divergence: guarded, retraced
    torch.testing.assert_close(other, _all_losses(divergence_of("js"), real, fake))


def test_prepare_is_marked_as_dynamo_would_mark_it() -> None:
    # _fgan marks _prepare by hand (importing Dynamo for its decorator costs 0.8 s per process):
    # the hand mark must be exactly what torch.compiler.assume_constant_result sets
    from divergences.losses import _fgan

    def probe() -> None: ...

    before = set(vars(probe))
    marked = torch.compiler.assume_constant_result(probe)
    assert marked is probe
    added = {k: v for k, v in vars(probe).items() if k not in before}
    assert added == {k: getattr(_fgan._prepare, k) for k in added}
    assert added  # the decorator does mark something


@pytest.mark.slow
def test_losses_compile_with_inductor() -> None:
    d = divergence_of("js")
    torch._dynamo.reset()
    compiled = torch.compile(_all_losses, fullgraph=True)
    real, fake = _scores(7, 16).float(), _scores(8, 16).float()
    torch.testing.assert_close(compiled(d, real, fake), _all_losses(d, real, fake))


def test_device_and_dtype_are_kept_without_host_sync() -> None:
    # the meta device has no data: any host sync or data-dependent branch would raise
    for name in ("kl", "neyman", "js", "jeffrey"):
        for dtype in DTYPES:
            real = torch.zeros(5, dtype=dtype, device="meta")
            fake = torch.zeros(3, dtype=dtype, device="meta")
            for loss in (
                fgan_critic_loss(name, real, fake),
                fgan_generator_loss(name, fake),
                fgan_generator_loss(name, fake, alternative=True),
            ):
                assert loss.device.type == "meta" and loss.dtype == dtype and loss.shape == ()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.cuda
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_losses_on_cuda(case_id: str) -> None:
    d = divergence_of(case_id)
    scores = special_scores(torch.float32)
    for dtype in DTYPES:
        real = torch.tensor(scores, dtype=dtype, device="cuda", requires_grad=True)
        fake = torch.tensor(scores[::-1], dtype=dtype, device="cuda", requires_grad=True)
        loss = fgan_critic_loss(d, real, fake)
        assert loss.device.type == "cuda" and loss.dtype == dtype
        cpu = fgan_critic_loss(d, real.detach().cpu(), fake.detach().cpu())
        torch.testing.assert_close(loss.detach().cpu(), cpu, equal_nan=False)
        grads = torch.autograd.grad(loss, (real, fake))
        assert all(not torch.isnan(g).any() for g in grads)


# --------------------------------------------------------------------------------------------
# Invalid inputs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: fgan_critic_loss("kl", [0.5], torch.zeros(2)), InputError, "v_real must be a"),
        (lambda: fgan_critic_loss("kl", torch.zeros(2), torch.zeros(0)), InputError, "v_fake is"),
        (
            lambda: fgan_critic_loss("kl", torch.zeros(2), torch.zeros(2, dtype=F64)),
            InputError,
            "same dtype",
        ),
        (
            lambda: fgan_critic_loss("kl", torch.zeros(2), torch.zeros(2, device="meta")),
            InputError,
            "same device",
        ),
        (
            lambda: fgan_critic_loss("kl", torch.tensor([1, 2]), torch.zeros(2)),
            InputError,
            "floating-point",
        ),
        (lambda: fgan_generator_loss("kl", torch.zeros(0)), InputError, "v_fake is empty"),
        (lambda: fgan_generator_loss(3, torch.zeros(2)), InputError, "FDivergence or a"),
        (
            lambda: fgan_critic_loss("kullback", torch.zeros(2), torch.zeros(2)),
            KeyError,
            "registered: kl",
        ),
    ],
)
def test_invalid_inputs(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()
    if error is InputError:
        assert issubclass(error, ValueError)


def test_docstring_examples() -> None:
    results = doctest.testmod(_fgan, raise_on_error=False)
    assert results.attempted > 0
    assert results.failed == 0
