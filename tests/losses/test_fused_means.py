r"""Tests of the fused means of the f-GAN losses (:mod:`divergences.losses._plan` and the
Functions it picks).

Where expected values come from:

- the emitter's own means (:class:`divergences.numeric.kernels.AffineTerm`, the emitted torch
  functions differentiated by autograd), which ``tests/emit`` checks against mpmath: each fused
  mean must give the same value to a few ulps of :math:`|a| + |b \overline{G}|` (its documented
  accuracy) and the same gradient;
- mpmath at 50 digits for the core means :math:`\frac1N \sum_i G(v_i)` and the per-element
  derivatives, on batches spanning every order of magnitude up to :math:`|v| = 10^4` (the
  bound, ``16 eps (mean|G| + mean|v G'|)``, is the one of ``tests/losses/test_fgan_losses.py``:
  each term backward stable in its input, and the rounding of the sum);
- ``torch.autograd.gradcheck`` (finite differences in float64) for the closed-form backwards;
- the direct (eager CPU) and the general (compiled, ``torch.func``, accelerators) paths of the
  exponential means, which must agree with each other, also where the plain sum overflows.

The extreme scores of every case in every dtype (float16/bfloat16 upcast included) go through
the fused means in ``tests/losses/test_fgan_losses.py``; here each fused shape is checked on its
own, with large batches.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import torch

import divergences as dv
from divergences.losses import (
    _exp_mean,
    _plan,
    fgan_critic_loss,
    fgan_generator_loss,
    gan_discriminator_loss,
    gan_generator_loss,
)
from divergences.losses._clamped_quadratic_mean import clamped_quadratic_mean
from divergences.losses._log1mexp_mean import log1mexp_negexp_mean
from divergences.losses._omega_mean import omega_conjugate_mean
from divergences.losses._plan import FusedTerm, affine_argument, plan
from divergences.losses._softplus_mean import softplus_mean
from divergences.numeric import stable
from divergences.numeric.host import reads_on_host
from divergences.numeric.kernels import AffineTerm
from divergences.symbolic.symbols import v as V

F64 = torch.float64
F32 = torch.float32

#: (name, parameters) -> the quantities whose means are fused
FUSED = {
    ("kl", ()): {"conjugate_of_activation"},
    ("reverse_kl", ()): {"activation"},
    ("pearson", ()): {"conjugate_of_activation"},
    ("neyman", ()): {"activation", "conjugate_of_activation"},
    ("squared_hellinger", ()): {"activation", "conjugate_of_activation"},
    ("jeffrey", ()): {"conjugate_of_activation"},
    ("js", ()): set(),
    ("gan", ()): {"activation", "conjugate_of_activation"},
    ("total_variation", ()): set(),
    ("alpha", ()): {"activation", "conjugate_of_activation"},
    ("alpha", (("alpha", 2),)): {"conjugate_of_activation"},
    ("alpha", (("alpha", -1),)): {"activation", "conjugate_of_activation"},
    ("js_weighted", ()): {"activation", "conjugate_of_activation"},
    ("js_weighted", (("pi", 0.3),)): {"activation", "conjugate_of_activation"},
}
QUANTITIES = ("activation", "conjugate_of_activation")
FUSED_TERMS = [
    pytest.param(name, params, quantity, id=f"{name}{dict(params) or ''}-{quantity}")
    for (name, params), quantities in FUSED.items()
    for quantity in sorted(quantities)
]


@pytest.fixture(autouse=True)
def _always_fused(monkeypatch: pytest.MonkeyPatch) -> None:
    # the tests below use small batches: take the fused path at every size (the switch at
    # FUSED_MIN_NUMEL has its own test, test_small_batches_take_the_plain_means)
    monkeypatch.setattr(_plan, "FUSED_MIN_NUMEL", 0)


def _emitted(name: str, params: tuple) -> object:
    return dv.get(name, **dict(params)).torch


def _terms(name: str, params: tuple, quantity: str) -> tuple[FusedTerm, AffineTerm]:
    emitted = _emitted(name, params)
    reference = getattr(emitted, f"{quantity}_term")
    fused = plan(emitted, quantity)
    assert isinstance(fused, FusedTerm)
    return fused, reference


def _batch(seed: int, n: int, dtype: torch.dtype, scale: float) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(n, generator=generator, dtype=F64) * scale).to(dtype)


def _log_uniform_batch(seed: int, n: int, dtype: torch.dtype) -> torch.Tensor:
    """Signed magnitudes 1e-6 .. 1e4, log-uniform (every order of magnitude of a score)."""
    generator = torch.Generator().manual_seed(seed)
    magnitude = 10.0 ** (-6.0 + 10.0 * torch.rand(n, generator=generator, dtype=F64))
    sign = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0).to(F64)
    return (sign * magnitude).to(dtype)


# --------------------------------------------------------------------------------------------
# Which terms are fused
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "params"), list(FUSED))
def test_plan_fuses_exactly_the_known_shapes(name: str, params: tuple) -> None:
    emitted = _emitted(name, params)
    for quantity in QUANTITIES:
        term = plan(emitted, quantity)
        fused = quantity in FUSED[(name, params)]
        assert isinstance(term, FusedTerm) == fused, (name, params, quantity)
        if not fused:  # the emitter's own mean, unchanged
            assert term is getattr(emitted, f"{quantity}_term")


def test_a_user_generator_keeps_the_emitted_mean_where_no_shape_matches() -> None:
    import sympy as sp

    x = sp.Symbol("x", positive=True)
    le_cam = dv.FDivergence.from_generator((x - 1) ** 2 / (x + 1), x, name="le_cam_plan")
    for quantity in QUANTITIES:
        term = plan(le_cam.torch, quantity)
        reference = getattr(le_cam.torch, f"{quantity}_term")
        assert term is reference or isinstance(term, FusedTerm)
        scores = _batch(0, 200, F64, 3.0)
        torch.testing.assert_close(term.mean(scores), reference.mean(scores), rtol=1e-14, atol=0)


def test_affine_argument_reads_slope_and_intercept_exactly() -> None:
    import sympy as sp

    assert affine_argument(-V) == (-1.0, 0.0, 0.0)
    assert affine_argument(V - 1) == (1.0, -1.0, 0.0)
    assert affine_argument(-V / 2) == (-0.5, 0.0, 0.0)
    s, c, c_low = affine_argument(-V + sp.log(2))
    assert (s, c) == (-1.0, math.log(2.0))
    assert c_low == float(sp.N(sp.log(2) - sp.Rational(math.log(2.0)), 40)) != 0.0
    assert affine_argument(V**2) is None
    # a slope that no float represents: the emitter's mean is kept (its own rounding of 0.3 v)
    assert affine_argument(sp.Rational(3, 10) * V) is None
    assert affine_argument(sp.exp(V)) is None


def test_limits_agree_with_the_stable_primitives() -> None:
    for dtype in (F64, F32):
        cap = stable.log_max(dtype)
        assert cap == stable._exp_cap(dtype)
        assert math.isfinite(torch.exp(torch.tensor(cap, dtype=dtype)).item())
        assert stable.log_tiny(dtype) == math.log(torch.finfo(dtype).tiny)


# --------------------------------------------------------------------------------------------
# The fused means against the emitted ones
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
@pytest.mark.parametrize(("name", "params", "quantity"), FUSED_TERMS)
def test_fused_mean_matches_the_emitted_term(name, params, quantity, dtype) -> None:
    fused, reference = _terms(name, params, quantity)
    eps = torch.finfo(dtype).eps
    batches = [_batch(k, 4000, dtype, scale) for k, scale in enumerate((1e-3, 1.0, 3.0, 30.0))]
    batches.append(_log_uniform_batch(9, 4000, dtype))
    for scores in batches:
        ours_v = scores.clone().requires_grad_(True)
        theirs_v = scores.clone().requires_grad_(True)
        ours, theirs = fused.mean(ours_v), reference.mean(theirs_v)
        (grad_ours,) = torch.autograd.grad(ours, ours_v)
        (grad_theirs,) = torch.autograd.grad(theirs, theirs_v)
        assert ours.dtype == dtype and ours.shape == ()
        if not math.isfinite(theirs.item()):
            assert ours.item() == theirs.item()
        else:
            # a few ulps of |a| + |b mean(G)| (the documented accuracy of both)
            core = (theirs.double() - reference.constant) / reference.factor
            scale = abs(reference.constant) + abs(reference.factor * core.item())
            assert abs(ours.item() - theirs.item()) <= 8 * eps * scale + 1e-300
        assert torch.equal(torch.isnan(grad_ours), torch.isnan(grad_theirs))
        assert not torch.isnan(grad_ours).any()
        both = ~torch.isfinite(grad_ours)
        assert torch.equal(grad_ours[both], grad_theirs[both])
        # the emitted gradient overflows first where s * e^H / N is representable but e^H / N
        # is not (neyman's e^{-v/2} / N at v = -194 in float32): the fused one is finite there,
        # within a factor |s| of the largest number
        finite = torch.isfinite(grad_theirs)
        largest = torch.finfo(dtype).max
        assert (grad_ours[~finite].abs() >= largest / 4).all()
        # per element: the same derivative to 64 eps relative, with an absolute floor of 64 eps
        # of the largest (cancellations next to a clamp, e.g. pearson's (v + 2)/2)
        torch.testing.assert_close(
            grad_ours[finite],
            grad_theirs[finite],
            rtol=64 * eps,
            atol=64 * eps * float(grad_theirs[finite].abs().max()) + 1e-300,
        )


# --------------------------------------------------------------------------------------------
# Each fused core against mpmath
# --------------------------------------------------------------------------------------------


def _mp_log1mexp_negexp(y: mpmath.mpf) -> mpmath.mpf:
    # beyond |y| = 1000 (and beyond mpmath's integers): -e^{-z} with z > e^1000 is zero in every
    # dtype; y + log1p(-z/2 + ...) with z < e^-1000 is y
    if abs(y) > 1000:
        return mpmath.mpf(0) if y > 0 else y
    z = mpmath.exp(y)
    # log1p(-e^{-z}) for large z: -expm1(-z) = 1 - e^{-z} would round to 1 at any fixed precision
    return mpmath.log1p(-mpmath.exp(-z)) if z > 1 else mpmath.log(-mpmath.expm1(-z))


def _mp_omega_conjugate(h: mpmath.mpf) -> mpmath.mpf:
    # L with e^L - 1 + L = h: e^L = W(e^{h + 1}); G = expm1(-L) - L
    big = h + 1 > 700
    omega = (h + 1) - mpmath.log(h + 1) if big else mpmath.lambertw(mpmath.exp(h + 1)).real
    if big:  # Newton on omega + log(omega) = h + 1 at 50 digits
        for _ in range(60):
            omega -= (omega + mpmath.log(omega) - (h + 1)) / (1 + 1 / omega)
    lw = mpmath.log(omega)
    return mpmath.expm1(-lw) - lw


#: core -> (torch mean of G(s v + c), mpmath G, derivative dG/dH in mpmath, s, c)
CORES = {
    "exp": (
        lambda x: _exp_mean.exp_mean(x, -1.0, 0.0, False)[0],
        mpmath.exp,
        mpmath.exp,
        -1.0,
        0.0,
    ),
    "expm1": (
        lambda x: _exp_mean.exp_mean(x, -0.5, 0.0, True)[0],
        mpmath.expm1,
        mpmath.exp,
        -0.5,
        0.0,
    ),
    "softplus": (
        lambda x: softplus_mean(x, -1.0),
        lambda h: mpmath.log1p(mpmath.exp(h)),
        lambda h: 1 / (1 + mpmath.exp(-h)),
        -1.0,
        0.0,
    ),
    "log1mexp_negexp": (
        lambda x: log1mexp_negexp_mean(x, -1.0, math.log(2.0), 0.0),
        _mp_log1mexp_negexp,
        lambda y: (
            (1 if y < 0 else 0) if abs(y) > 1000 else mpmath.exp(y) / mpmath.expm1(mpmath.exp(y))
        ),
        -1.0,
        math.log(2.0),
    ),
    "omega_conjugate": (
        lambda x: omega_conjugate_mean(x, -1.0, 0.0),
        _mp_omega_conjugate,
        None,  # -e^{-L}, from mpmath.diff
        -1.0,
        0.0,
    ),
    "clamped_quadratic": (
        lambda x: clamped_quadratic_mean(x, (0.25, 1.0, 0.0), -2.0, True),
        lambda h: h * h / 4 + h if h > -2 else mpmath.mpf(-1),
        lambda h: h / 2 + 1 if h > -2 else mpmath.mpf(0),
        1.0,
        0.0,
    ),
}


def _special_scores(dtype: torch.dtype) -> list[float]:
    """Every order of magnitude of both signs up to 1e4, and the edges of the dtype's exp."""
    info = torch.finfo(dtype)
    magnitudes = [0.0, info.eps, 1e-6, 1e-3, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 100.0]
    magnitudes += [1e3, 1e4, math.log(info.max) * 0.999, -math.log(info.tiny)]
    values = torch.tensor([s * m for m in magnitudes for s in (1, -1)], dtype=F64).to(dtype)
    return sorted(set(values.double().tolist()))


@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
@pytest.mark.parametrize("core", list(CORES))
def test_fused_core_mean_and_gradient_against_mpmath(core: str, dtype: torch.dtype) -> None:
    mean_of, g_mp, dg_mp, s, c = CORES[core]
    eps = torch.finfo(dtype).eps
    points = _special_scores(dtype)
    scores = torch.tensor(points, dtype=dtype, requires_grad=True)
    got = mean_of(scores)
    (grad,) = torch.autograd.grad(got, scores)
    n = len(points)
    with mpmath.workdps(50):
        hs = [s * mpmath.mpf(x) + mpmath.mpf(c) for x in points]
        values = [g_mp(h) for h in hs]
        exact = mpmath.fsum(values) / n
        slopes = [mpmath.diff(g_mp, h) for h in hs] if dg_mp is None else [dg_mp(h) for h in hs]
        sizes = mpmath.fsum(abs(x) for x in values) / n
        conditioning = mpmath.fsum(abs(h * d) for h, d in zip(hs, slopes, strict=True)) / n
    expected = float(exact)
    if not math.isfinite(torch.tensor(expected, dtype=F64).to(dtype).item()):
        assert got.item() == torch.tensor(expected, dtype=F64).to(dtype).item()
    else:
        bound = 16 * eps * float(sizes + conditioning) + torch.finfo(dtype).tiny
        assert abs(got.item() - expected) <= bound, (core, got.item(), expected)
    for x, d, value in zip(points, slopes, grad.double().tolist(), strict=True):
        assert not math.isnan(value), (core, x)
        with mpmath.workdps(30):
            want = float(s * d / n)
        as_dtype = torch.tensor(want, dtype=F64).to(dtype).item()
        if math.isinf(as_dtype):
            assert value == as_dtype, (core, x, value, want)
            continue
        # the derivative of an exponential-like core is conditioned by |h| (the rounding of
        # the input h = s v + c): a relative error of a few eps (1 + |h|)
        h = abs(s * x + c)
        tolerance = 16 * eps * (1 + h) * abs(want) + 4 * eps / n + torch.finfo(dtype).tiny
        assert abs(value - want) <= tolerance, (core, x, value, want)


@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
@pytest.mark.parametrize("core", list(CORES))
def test_fused_core_of_each_score_alone_against_mpmath(core: str, dtype: torch.dtype) -> None:
    # a batch of one: the mean is the term itself, within 16 eps (|G| + |h G'|) of mpmath (the
    # batch test above would hide a wrong small term next to large ones)
    mean_of, g_mp, dg_mp, s, c = CORES[core]
    eps, tiny = torch.finfo(dtype).eps, torch.finfo(dtype).tiny
    huge = [1e30, 1e300] if dtype == F64 else [1e30, 3e38]
    grid = sorted({*_special_scores(dtype), *[k / 8 for k in range(-64, 65)]})
    grid += [s * x for x in huge for s in (1, -1)]
    for x in torch.tensor(grid, dtype=F64).to(dtype).double().tolist():
        got = mean_of(torch.tensor([x], dtype=dtype)).item()
        with mpmath.workdps(50):
            h = s * mpmath.mpf(x) + mpmath.mpf(c)
            exact = g_mp(h)
            slope = mpmath.diff(g_mp, h) if dg_mp is None else dg_mp(h)
            scale = abs(exact) + abs(h * slope)
        expected = torch.tensor(float(exact), dtype=F64).to(dtype).item()
        if math.isinf(expected):
            assert got == expected, (core, x, got)
            continue
        assert abs(got - float(exact)) <= 16 * eps * float(scale) + tiny, (core, x, got)


@pytest.mark.parametrize("core", list(CORES))
def test_gradcheck_of_every_fused_core(core: str) -> None:
    mean_of = CORES[core][0]
    scores = (torch.linspace(-6.0, 6.0, 13, dtype=F64) + 0.137).requires_grad_(True)
    assert torch.autograd.gradcheck(mean_of, (scores,))


#: the cores whose backward is itself differentiable (as the emitted terms they replace were);
#: ``log1mexp_negexp`` and ``omega_log`` are first order, like their emitted functions
TWICE_DIFFERENTIABLE = ["exp", "expm1", "softplus", "clamped_quadratic"]


@pytest.mark.parametrize("core", TWICE_DIFFERENTIABLE)
def test_second_derivatives_of_the_fused_cores(core: str) -> None:
    # create_graph=True records the backward: gradgradcheck against finite differences, on
    # the direct (eager CPU) path and on the general one for the exponentials
    mean_of = CORES[core][0]
    scores = (torch.linspace(-3.0, 3.0, 7, dtype=F64) + 0.137).requires_grad_(True)
    assert torch.autograd.gradgradcheck(mean_of, (scores,))
    if core in ("exp", "expm1"):
        minus_one = core == "expm1"
        _, _, _, s, c = CORES[core]
        general = lambda x: _general(x, s, c, minus_one)[0]  # noqa: E731
        assert torch.autograd.gradgradcheck(general, (scores,))


def test_second_derivatives_of_the_gan_losses() -> None:
    real = (torch.linspace(-3.0, 3.0, 5, dtype=F64) + 0.1).requires_grad_(True)
    fake = (torch.linspace(-2.0, 4.0, 6, dtype=F64) - 0.2).requires_grad_(True)
    assert torch.autograd.gradgradcheck(gan_discriminator_loss, (real, fake))
    assert torch.autograd.gradgradcheck(gan_generator_loss, (fake,))


# --------------------------------------------------------------------------------------------
# The two paths of the exponential means
# --------------------------------------------------------------------------------------------


def _general(v: torch.Tensor, *line) -> tuple[torch.Tensor, torch.Tensor]:
    return _exp_mean._GeneralExpMean.apply(v.reshape(-1), *line)


@pytest.mark.parametrize("minus_one", [False, True])
@pytest.mark.parametrize("dtype", [F64, F32], ids=str)
def test_direct_and_general_exponential_means_agree(dtype, minus_one: bool) -> None:
    log_max = math.log(torch.finfo(dtype).max)
    batches = [
        _batch(1, 5000, dtype, 3.0),
        _log_uniform_batch(2, 5000, dtype),
        # the plain sum overflows, the mean does not (4 terms near the largest number)
        torch.full((4,), log_max - 0.5, dtype=dtype),
        # one term overflows, the mean of 22 does not; and a range of 1e4 (e^{h - shift}
        # underflows for the small ones: the gradient is recomputed, never 0 where it is not)
        torch.tensor([log_max + 1.0] + [0.0] * 21, dtype=dtype),
        torch.tensor([1e4, 0.0, -1e4, 50.0], dtype=dtype),
    ]
    for scores in batches:
        for slope, intercept in ((1.0, 0.0), (-0.5, 0.0), (1.0, -1.0)):
            a = scores.clone().requires_grad_(True)
            b = scores.clone().requires_grad_(True)
            assert reads_on_host(a)
            direct, log_direct = _exp_mean.exp_mean(a, slope, intercept, minus_one)
            general, log_general = _general(b, slope, intercept, minus_one)
            assert direct.item() == general.item() or (
                abs(direct.item() - general.item())
                <= 2 * torch.finfo(dtype).eps * abs(general.item())
            )
            assert log_direct.item() == pytest.approx(log_general.item(), rel=4e-7, abs=1e-300)
            (grad_direct,) = torch.autograd.grad(direct, a)
            (grad_general,) = torch.autograd.grad(general, b)
            assert torch.equal(torch.isfinite(grad_direct), torch.isfinite(grad_general))
            finite = torch.isfinite(grad_general)
            torch.testing.assert_close(
                grad_direct[finite],
                grad_general[finite],
                rtol=1e-5 if dtype == F32 else 1e-12,
                atol=torch.finfo(dtype).tiny,
            )


def test_overflowing_plain_sum_still_gives_the_finite_mean_and_gradient() -> None:
    # kl: mean e^{v - 1} of four scores at log(max) + 0.5: e^{v-1} = max * e^{-0.5} each, the
    # plain sum is 2.4 max = inf in float32, the mean 0.61 max is not
    v = torch.full((4,), math.log(torch.finfo(F32).max) + 0.5, dtype=F32, requires_grad=True)
    loss = fgan_generator_loss("kl", v)
    exact = -math.exp(v[0].item() - 1.0)
    assert loss.item() == pytest.approx(exact, rel=1e-6)
    (grad,) = torch.autograd.grad(loss, v)
    # e^{v - 1 - log 4}: the exponent is rounded to float32 (ulp(88) = 7.6e-6)
    expected = torch.full((4,), exact / 4, dtype=F64)
    assert torch.allclose(grad.double(), expected, rtol=16 * 2.0**-23 * 89, atol=0)


# --------------------------------------------------------------------------------------------
# Transforms, compile, memory
# --------------------------------------------------------------------------------------------

NEW_SHAPES = ["js_weighted", "pearson", "squared_hellinger", "alpha"]


@pytest.mark.parametrize("name", NEW_SHAPES)
def test_vmap_and_func_grad_of_the_fused_losses(name: str) -> None:
    d = dv.get(name)
    real, fake = _batch(3, 32, F64, 3.0).reshape(4, 8), _batch(4, 28, F64, 3.0).reshape(4, 7)
    batched = torch.func.vmap(lambda r, f: fgan_critic_loss(d, r, f))(real, fake)
    looped = torch.stack([fgan_critic_loss(d, r, f) for r, f in zip(real, fake, strict=True)])
    torch.testing.assert_close(batched, looped, rtol=1e-14, atol=0)
    per_sample = torch.func.vmap(torch.func.grad(lambda f: fgan_generator_loss(d, f)))(fake)
    for k in range(4):
        f = fake[k].clone().requires_grad_(True)
        (expected,) = torch.autograd.grad(fgan_generator_loss(d, f), f)
        torch.testing.assert_close(per_sample[k], expected, rtol=1e-13, atol=0)


@pytest.mark.parametrize("name", ["js_weighted", "pearson"])
def test_fused_losses_trace_into_one_graph(name: str) -> None:
    d = dv.get(name)
    torch._dynamo.reset()

    def losses(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return fgan_critic_loss(d, real, fake) + fgan_generator_loss(d, fake)

    compiled = torch.compile(losses, fullgraph=True, backend="aot_eager")
    for dtype in (F64, F32, torch.bfloat16):
        real = _batch(5, 9, F64, 3.0).to(dtype).requires_grad_(True)
        fake = _batch(6, 7, F64, 3.0).to(dtype).requires_grad_(True)
        eager = losses(real, fake)
        traced = compiled(real, fake)
        assert traced.dtype == dtype
        torch.testing.assert_close(traced, eager)
        for got, want in zip(
            torch.autograd.grad(traced, (real, fake)),
            torch.autograd.grad(eager, (real, fake)),
            strict=True,
        ):
            torch.testing.assert_close(got, want)


def _saved_bytes(loss, *scores: torch.Tensor) -> int:
    """Bytes of the tensors autograd keeps for the backward of ``loss(*scores)``."""
    total = [0]
    inputs = {s.untyped_storage().data_ptr() for s in scores}

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.untyped_storage().data_ptr() not in inputs:  # an input (or a view of one) is free
            total[0] += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss(*scores)
    return total[0]


@pytest.mark.parametrize(("name", "params"), list(FUSED))
def test_fused_losses_keep_at_most_one_batch_for_the_backward(name: str, params: tuple) -> None:
    # the emitted terms keep up to four tensors of the batch (e.g. pearson's clamp, square,
    # product and sum); a fused term keeps at most one (the exponentials, or the derivative)
    d = dv.get(name, **dict(params))
    n = 10_000
    real, fake = (_batch(k, n, F32, 2.0).requires_grad_(True) for k in (7, 8))
    one_batch = n * 4
    for quantity, loss in (
        ("conjugate_of_activation", lambda f: fgan_generator_loss(d, f)),
        ("activation", lambda f: fgan_generator_loss(d, f, alternative=True)),
    ):
        if quantity in FUSED[(name, params)]:
            assert _saved_bytes(loss, fake) <= one_batch, (name, quantity)
    if FUSED[(name, params)] == set(QUANTITIES):
        saved = _saved_bytes(lambda r, f: fgan_critic_loss(d, r, f), real, fake)
        assert saved <= 2 * one_batch


# --------------------------------------------------------------------------------------------
# The switch by size
# --------------------------------------------------------------------------------------------


class _Counting:
    """Counts the calls of a fused mean."""

    def __init__(self, fused) -> None:
        self.fused, self.calls = fused, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fused(*args)


@pytest.mark.parametrize(
    ("name", "quantity"), [("kl", "conjugate_of_activation"), ("gan", "activation")]
)
def test_small_batches_take_the_plain_means(monkeypatch: pytest.MonkeyPatch, name, quantity):
    monkeypatch.setattr(_plan, "FUSED_MIN_NUMEL", 1000)
    fused, reference = _terms(name, (), quantity)
    counting = _Counting(fused.core_mean)
    fused = FusedTerm(fused.constant, fused.factor, counting, fused.exponential, reference)
    small, large = _batch(1, 999, F64, 2.0), _batch(2, 1000, F64, 2.0)
    assert torch.equal(fused.mean(small), reference.mean(small))  # the emitter's, bit for bit
    assert counting.calls == 0
    got = fused.mean(large)
    assert counting.calls == 1
    torch.testing.assert_close(got, reference.mean(large), rtol=1e-14, atol=1e-300)


def test_small_gan_batches_take_the_plain_softplus(monkeypatch: pytest.MonkeyPatch) -> None:
    from divergences.losses import _gan

    monkeypatch.setattr(_plan, "FUSED_MIN_NUMEL", 1000)
    counting = _Counting(softplus_mean)
    monkeypatch.setattr(_gan, "softplus_mean", counting)
    for n, fused_calls in ((999, 0), (1000, 2)):
        counting.calls = 0
        real = _batch(3, n, F64, 3.0).requires_grad_(True)
        fake = _batch(4, n, F64, 3.0).requires_grad_(True)
        loss = gan_discriminator_loss(real, fake)
        assert counting.calls == fused_calls
        plain = 0.5 * stable.softplus(-real).mean() + 0.5 * stable.softplus(fake).mean()
        torch.testing.assert_close(loss, plain, rtol=1e-15, atol=0)
        grads = torch.autograd.grad(loss, (real, fake))
        for got, want in zip(grads, torch.autograd.grad(plain, (real, fake)), strict=True):
            torch.testing.assert_close(got, want, rtol=1e-14, atol=0)
