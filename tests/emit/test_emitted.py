r"""Tests of the emitted torch functions (:mod:`divergences.numeric.emit.emitted`): the
:class:`~divergences.numeric.emit.Emitted` functions of a derivation.

Values against the closed forms in float64 and in low precision, the limits at zero, the
conjugate against a numeric supremum, no NaN in values or gradients, gradients against the
derivatives of the closed forms and at piece boundaries, ``torch.func``, ``torch.compile``,
dtype and device, immutability and sharing, the affine terms of the f-GAN losses, Fenchel-Young,
the docstring examples and the regression tests of emitted values. The expected values and the
tolerance are those of :mod:`tests.emit.cases` (see its docstring).
"""

from __future__ import annotations

import doctest
import importlib
import math
from collections.abc import Callable

import mpmath
import pytest
import scipy.optimize
import sympy as sp
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import divergences as dv
from divergences.numeric.emit import QUANTITIES, Emitted, emit
from divergences.testing.oracles import exact_value
from divergences.testing.oracles import u as U
from tests.emit.cases import (
    CASE_BY_ID,
    CASE_IDS,
    CASES,
    EPS64,
    F64,
    LOW_DTYPES,
    _mp,
    check_values,
    exact,
    grid,
    near,
    oracle,
    real_grid,
)


def test_every_registered_name_is_covered() -> None:
    covered = {case.id.split("=")[0] for case in CASES}
    assert set(dv.names()) <= covered


# --------------------------------------------------------------------------------------------
# Accuracy against the closed forms
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", list(QUANTITIES))
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_float64_matches_the_closed_form(case_id: str, quantity: str) -> None:
    check_values(case_id, quantity, grid(case_id, quantity), F64)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_limits_at_zero(case_id: str) -> None:
    # u = 0 and r = 0 are the limits f(0+) and f'(0+), with a zero (not NaN) gradient
    case = CASE_BY_ID[case_id]
    emitted = case.build().torch
    for fn, expected in (
        (emitted.generator, case.forms.f_at_zero),
        (emitted.optimal_critic, case.forms.critic_at_zero),
    ):
        x = torch.zeros(3, dtype=F64, requires_grad=True)
        value = fn(x)
        assert value.tolist() == [float(expected)] * 3
        if value.requires_grad:
            (gradient,) = torch.autograd.grad(value.sum(), x)
            assert not torch.isnan(gradient).any()
    assert emitted.limit_at_zero == float(case.forms.f_at_zero)


# g_f and f* o g_f make the f-GAN losses: always; the other quantities with the slow tests
LOSS_QUANTITIES = ("activation", "conjugate_of_activation")


@pytest.mark.parametrize("dtype", LOW_DTYPES, ids=str)
@pytest.mark.parametrize(
    "quantity",
    [q if q in LOSS_QUANTITIES else pytest.param(q, marks=pytest.mark.slow) for q in QUANTITIES],
)
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_low_precision_matches_the_closed_form(
    case_id: str, quantity: str, dtype: torch.dtype
) -> None:
    # computed in float32 (float16/bfloat16 upcast, rounded once); every 3rd grid point
    points = grid(case_id, quantity)[::3]
    check_values(case_id, quantity, points, dtype)


# --------------------------------------------------------------------------------------------
# The conjugate against a numeric supremum (no closed form involved)
# --------------------------------------------------------------------------------------------

SUPREMUM_POINTS = (-30.0, -5.0, -2.5, -1.2, -0.6, -0.2, 0.0, 0.1, 0.3, 0.45, 0.9, 1.0, 2.0, 5.0)


def numeric_supremum(f: Callable[[float], float], t: float) -> float:
    """``sup_{u > 0} t u - f(u)`` by bounded Brent on ``s = log u`` in ``[-40, 40]`` (the
    supremum at ``u -> 0`` or ``u -> oo`` is approached within ``e^-40`` there)."""
    objective = lambda s: -(t * math.exp(s) - f(math.exp(s)))  # noqa: E731
    best = min(
        (
            scipy.optimize.minimize_scalar(
                objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
            )
            for lo, hi in ((-40.0, 0.0), (0.0, 40.0), (-3.0, 3.0))
        ),
        key=lambda result: result.fun,
    )
    return -float(best.fun)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_conjugate_is_the_supremum(case_id: str) -> None:
    case = CASE_BY_ID[case_id]
    f_mp = _mp(case.forms.generator, U)

    def f(x: float) -> float:
        with mpmath.workdps(30):
            return float(f_mp(mpmath.mpf(x)))

    emitted = case.build().torch.conjugate(torch.tensor(SUPREMUM_POINTS, dtype=F64)).tolist()
    checked = 0
    for t, got in zip(SUPREMUM_POINTS, emitted, strict=True):
        value, _ = exact(case_id, "conjugate", t)
        if mpmath.isinf(value):
            assert got == math.inf, (t, got)
            # and the objective really is unbounded: it exceeds any level at large or tiny u
            assert max(t * u - f(u) for u in (1e-30, 1e30)) > 1e3 or math.isinf(got)
            continue
        assert got == pytest.approx(numeric_supremum(f, t), rel=1e-9, abs=1e-9), t
        checked += 1
    assert checked >= 4


# --------------------------------------------------------------------------------------------
# Gradients through the pieces
# --------------------------------------------------------------------------------------------


def finite_inputs(case_id: str, quantity: str) -> list[float]:
    """Finite inputs in the quantity's domain (u >= 0) including the branch boundaries."""
    points = set(grid(case_id, quantity))
    if quantity in ("conjugate_of_activation", "activation"):
        points |= set(real_grid(1e300))
    points |= {p for x in (-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0) for p in near(x)}
    points |= {-1.7e308, 1.7e308}
    if quantity in ("generator", "optimal_critic"):
        points = {p for p in points if p >= 0}
    return sorted(points)


@pytest.mark.parametrize("dtype", [F64, *LOW_DTYPES], ids=str)
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_no_nan_in_values_or_gradients(case_id: str, dtype: torch.dtype) -> None:
    emitted = CASE_BY_ID[case_id].build().torch
    for quantity in QUANTITIES:
        x = torch.tensor(finite_inputs(case_id, quantity), dtype=F64).to(dtype)
        x = x[torch.isfinite(x)].requires_grad_(True)
        value = getattr(emitted, quantity)(x)
        assert value.dtype == dtype
        assert not torch.isnan(value).any(), (quantity, x[torch.isnan(value)].tolist())
        if value.requires_grad:
            (gradient,) = torch.autograd.grad(value.sum(), x)
            bad = x[torch.isnan(gradient)].tolist()
            assert not bad, f"{quantity}: NaN gradient at {bad}"


SMOOTH_POINTS = [s * m for m in (0.013, 0.11, 0.37, 0.73, 1.6, 3.3, 7.1, 19.0) for s in (1, -1)]


@pytest.mark.parametrize("quantity", list(QUANTITIES))
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_gradient_matches_the_derivative(case_id: str, quantity: str) -> None:
    # at points away from kinks and domain ends, in float64: autograd through the emitted
    # forms (including the implicit-function gradients of omega_log and lambertw) against
    # the derivative of the closed form
    expr, var = oracle(case_id, quantity)
    derivative = sp.diff(expr, var).replace(sp.DiracDelta, lambda *_: sp.S.Zero)
    second = sp.diff(derivative, var).replace(sp.DiracDelta, lambda *_: sp.S.Zero)
    points = [
        p for p in SMOOTH_POINTS if not (quantity in ("generator", "optimal_critic") and p < 0)
    ]
    x = torch.tensor(points, dtype=F64, requires_grad=True)
    value = getattr(CASE_BY_ID[case_id].build().torch, quantity)(x)
    if not value.requires_grad:  # piecewise constant (total variation's critic)
        assert all(float(sp.diff(expr, var).subs(var, p)) == 0 for p in points if p != 1)
        return
    (gradient,) = torch.autograd.grad(value.sum(), x)
    checked = 0
    for p, got in zip(points, gradient.tolist(), strict=True):
        value_p, _ = exact(case_id, quantity, p)
        if mpmath.isinf(value_p):
            assert got == 0.0  # the constant inf piece outside the domain
            continue
        slope = exact_value(_mp(derivative, var), p, rtol=1e-20)
        curvature = exact_value(_mp(second, var), p, rtol=1e-3)
        # torch's own backward formulas round on the scale of their parts: expm1' is computed
        # as expm1(x) + 1 and tanh' as 1 - tanh(x)^2, an absolute error of a few eps
        bound = 1e-8 * float(abs(slope)) + 64 * EPS64 * float(1 + abs(p * curvature))
        assert abs(got - float(slope)) <= bound, (p, got, float(slope))
        checked += 1
    assert checked >= 4


@pytest.mark.parametrize(
    ("case_id", "quantity", "x", "expected_grad"),
    [
        # total variation: f*(t) = max(t, -1/2) on t <= 1/2: slope 0, then 1, 0 outside
        ("total_variation", "conjugate", [-3.0, -0.5, -0.25, 0.5, 0.75], [0, 0, 1, 1, 0]),
        # pearson: f*(t) = -1 for t < -2, t^2/4 + t after: both slopes are 0 at t = -2
        ("pearson", "conjugate", [-1e300, -3.0, -2.0, -1.0, 2.0], [0, 0, 0, 0.5, 2]),
        ("pearson", "conjugate_of_activation", [-1e300, -2.0, 0.0], [0, 0, 1]),
        # neyman: f*'(t) = 1/sqrt(1 - t), infinite at t = 1, and 0 where f* is the inf piece
        ("neyman", "conjugate", [0.0, 0.75, 1.0, 1.5], [1, 2, math.inf, 0]),
        # gan: f*(t) = -log(1 - e^t), f*'(t) = e^t/(1 - e^t) -> 1/|t| next to 0
        ("gan", "conjugate", [-1e-300, 0.0, 3.0], [1e300, 0, 0]),
        # gan: g_f(v) = -softplus(-v), g' = sigmoid(-v): 1 and 0 at the far ends, never NaN
        ("gan", "activation", [-1e300, -1e4, 1e4, 1e300], [1, 1, 0, 0]),
        # generators at u = 0: the limit piece, gradient 0 (not the NaN of 0 * log 0)
        ("kl", "generator", [0.0], [0]),
        ("neyman", "optimal_critic", [0.0, 1.7e308], [0, 0]),
    ],
)
def test_gradients_at_piece_boundaries(
    case_id: str, quantity: str, x: list[float], expected_grad: list[float]
) -> None:
    points = torch.tensor(x, dtype=F64, requires_grad=True)
    value = getattr(CASE_BY_ID[case_id].build().torch, quantity)(points)
    (gradient,) = torch.autograd.grad(value.sum(), points)
    assert gradient.tolist() == pytest.approx(expected_grad, rel=1e-12, abs=1e-300)


# --------------------------------------------------------------------------------------------
# torch.func, torch.compile, dtype and device
# --------------------------------------------------------------------------------------------

TRANSFORM_CASES = ["gan", "js", "jeffrey", "neyman", "total_variation", "user:paper_js"]


@pytest.mark.parametrize("case_id", TRANSFORM_CASES)
def test_vmap_and_grad_of_the_emitted_functions(case_id: str) -> None:
    emitted = CASE_BY_ID[case_id].build().torch
    v = torch.linspace(-4.0, 4.0, 12, dtype=F64).reshape(3, 4)
    for quantity in ("conjugate_of_activation", "activation", "conjugate"):
        fn = getattr(emitted, quantity)
        torch.testing.assert_close(torch.func.vmap(fn)(v), fn(v), rtol=0, atol=0)
        per_element = torch.func.vmap(torch.func.grad(lambda x, fn=fn: fn(x)))(v.reshape(-1))
        x = v.reshape(-1).clone().requires_grad_(True)
        (expected,) = torch.autograd.grad(fn(x).sum(), x)
        torch.testing.assert_close(per_element, expected, rtol=1e-15, atol=0)


@pytest.mark.parametrize(
    "case_id",
    # jeffrey: omega_log's fixed Halley loop and detached gradient; total variation: constant
    # pieces; the others (about 2 s each) run with the slow tests
    [
        c if c in ("jeffrey", "total_variation") else pytest.param(c, marks=pytest.mark.slow)
        for c in TRANSFORM_CASES
    ],
)
def test_emitted_functions_trace_into_one_graph(case_id: str) -> None:
    # fullgraph=True fails on any graph break (host sync, data-dependent Python control flow)
    emitted = CASE_BY_ID[case_id].build().torch

    def everything(v: torch.Tensor) -> torch.Tensor:
        u = v.abs()
        return (
            emitted.conjugate_of_activation(v).sum()
            + emitted.activation(v).sum()
            + emitted.conjugate(emitted.activation(v)).sum()
            + emitted.generator(u).sum()
            + emitted.optimal_critic(u + 1).sum()
        )

    torch._dynamo.reset()  # `everything` is one code object for all parameters
    compiled = torch.compile(everything, fullgraph=True, backend="aot_eager")
    for dtype in (F64, torch.float32):
        v = torch.linspace(-3.0, 3.0, 7, dtype=dtype, requires_grad=True)
        (expected,) = torch.autograd.grad(everything(v), v)
        (got,) = torch.autograd.grad(compiled(v), v)
        torch.testing.assert_close(got, expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.cuda
@pytest.mark.parametrize("case_id", CASE_IDS)
def test_emitted_functions_on_cuda(case_id: str) -> None:
    emitted = CASE_BY_ID[case_id].build().torch
    for quantity in QUANTITIES:
        fn = getattr(emitted, quantity)
        x = torch.tensor(grid(case_id, quantity), dtype=F64)
        for dtype in (F64, torch.float32, torch.float16, torch.bfloat16):
            on_gpu = fn(x.to(dtype).cuda())
            assert on_gpu.device.type == "cuda" and on_gpu.dtype == dtype
            torch.testing.assert_close(on_gpu.cpu(), fn(x.to(dtype)), equal_nan=True)


def test_meta_device_and_dtype_are_kept() -> None:
    # no host sync and no device-specific code: the functions run on the meta device
    emitted = CASE_BY_ID["js"].build().torch
    for quantity in QUANTITIES:
        for dtype in (F64, torch.float32, torch.float16, torch.bfloat16):
            out = getattr(emitted, quantity)(torch.zeros(5, dtype=dtype, device="meta"))
            assert out.device.type == "meta" and out.dtype == dtype and out.shape == (5,)
    out = emitted.perspective(torch.zeros(4, device="meta"), torch.zeros(4, device="meta"))
    assert out.device.type == "meta"


def test_emitted_object_is_immutable_and_shared() -> None:
    d = CASE_BY_ID["kl"].build()
    emitted = emit(d.derived)
    assert emit(d.derived) is emitted is d.torch
    assert isinstance(emitted, Emitted) and repr(emitted) == "Emitted('kl')"
    with pytest.raises(AttributeError, match="immutable"):
        emitted.generator = None  # type: ignore[misc]


def test_affine_terms() -> None:
    # g_f and f* o g_f as a + b G(v): the same values as the element-wise functions
    v = torch.linspace(-30.0, 30.0, 41, dtype=F64)
    for case in CASES:
        emitted = case.build().torch
        for term, fn in (
            (emitted.activation_term, emitted.activation),
            (emitted.conjugate_of_activation_term, emitted.conjugate_of_activation),
        ):
            torch.testing.assert_close(term(v), fn(v), rtol=1e-12, atol=1e-14)
            torch.testing.assert_close(term.mean(v), fn(v).mean(), rtol=1e-12, atol=1e-14)
    kl = CASE_BY_ID["kl"].build().torch.conjugate_of_activation_term  # exp(v - 1)
    assert kl.log_core is not None
    big = torch.tensor([1000.0, 1001.0], dtype=F64)
    expected = math.log((math.exp(0.0) + math.exp(1.0)) / 2) + 999.0
    assert kl.log_magnitude(big).item() == pytest.approx(expected, rel=1e-14)
    with pytest.raises(ValueError, match="log_magnitude needs"):
        CASE_BY_ID["total_variation"].build().torch.activation_term.log_magnitude(big)


# --------------------------------------------------------------------------------------------
# Regression tests of emitted values: the bugs these tests found, one case each
# --------------------------------------------------------------------------------------------


def test_regression_accuracy_next_to_u_equals_1() -> None:
    # u + 1/u - 2 (neyman) and 2u - 4 sqrt(u) + 2 (alpha = 1/2) lost every digit next to u = 1
    u = torch.tensor([1 - 2.0**-30, 1 + 2.0**-26], dtype=F64)
    for case_id in ("neyman", "alpha=1/2", "alpha=-1", "squared_hellinger"):
        got = CASE_BY_ID[case_id].build().torch.generator(u).tolist()
        for x, y in zip(u.tolist(), got, strict=True):
            value, conditioning = exact(case_id, "generator", x)
            assert abs(y - float(value)) <= 4 * EPS64 * float(abs(value) + conditioning)
            assert y == pytest.approx(float(value), rel=1e-6)


def test_regression_weighted_js_composition() -> None:
    # 3/4 log(-3/(4 exp(-4 exp(-v)) - 4)) was NaN from v = 37 on and inf from 745 on; the
    # value is about 3/4 (v - log 4 + log 3/4)
    emitted = CASE_BY_ID["js_weighted=1/4"].build().torch
    v = torch.tensor([37.0, 88.0, 1e3, 1e4], dtype=F64)
    got = emitted.conjugate_of_activation(v)
    expected = 0.75 * (v - math.log(4) + math.log(0.75))
    torch.testing.assert_close(got, expected, rtol=1e-15, atol=0)


def test_regression_overflow_inside_finite_values() -> None:
    # (u - 1)^2/(u + 1) overflowed in the square from u = 1e154; log(2r/(r + 1)) in 2r at r = max
    le_cam = CASE_BY_ID["user:le_cam"].build().torch
    assert le_cam.generator(torch.tensor([1e300], dtype=F64)).item() == pytest.approx(1e300)
    paper = CASE_BY_ID["user:paper_js"].build().torch
    assert paper.optimal_critic(torch.tensor([1.7e308], dtype=F64)).item() == pytest.approx(
        math.log(2), rel=1e-15
    )
    # and the cancellation of exp(-v) - 4 exp(-v/2) + 3 next to its zero at v = 0
    v = torch.tensor([1e-8], dtype=F64)
    # (e^{-v/2} - 1)(e^{-v/2} - 3) = v - v^3/12 + ...
    assert le_cam.conjugate_of_activation(v).item() == pytest.approx(1e-8, rel=1e-15)


def test_regression_generator_outside_its_domain_is_nan() -> None:
    # u < 0 is outside every piece: NaN, not the value of the last piece at its safe point
    for case in CASES:
        emitted = case.build().torch
        assert math.isnan(emitted.generator(torch.tensor([-1.0], dtype=F64)).item())
        assert math.isnan(emitted.optimal_critic(torch.tensor([-1.0], dtype=F64)).item())


# --------------------------------------------------------------------------------------------
# Fenchel-Young, with the emitted functions only
# --------------------------------------------------------------------------------------------


@given(
    st.sampled_from(CASE_IDS),
    st.floats(-12, 12, allow_nan=False).map(lambda e: math.exp(e)),
    st.floats(-20, 20, allow_nan=False),
)
@example("total_variation", 1.0, 0.25)
@example("pearson", 0.5, -3.0)
def test_fenchel_young(case_id: str, u: float, t: float) -> None:
    # f(u) + f*(t) >= u t, with equality at t = T*(u) = f'(u)
    emitted = CASE_BY_ID[case_id].build().torch
    ut = torch.tensor([u], dtype=F64)
    f_u = emitted.generator(ut).item()
    f_star = emitted.conjugate(torch.tensor([t], dtype=F64)).item()
    scale = abs(f_u) + abs(f_star) + abs(u * t)
    assert f_u + f_star >= u * t - 16 * EPS64 * scale
    critic = emitted.optimal_critic(ut)
    attained = emitted.conjugate(critic).item()
    t_star = critic.item()
    if math.isfinite(attained):
        scale = abs(f_u) + abs(attained) + abs(u * t_star)
        assert attained == pytest.approx(u * t_star - f_u, abs=64 * EPS64 * scale)


def test_docstring_examples() -> None:
    module = importlib.import_module("divergences.numeric.emit.emitted")
    results = doctest.testmod(module, raise_on_error=False)
    assert results.attempted > 0
    assert results.failed == 0


def test_regression_first_emission_under_inference_mode() -> None:
    # the emitter probes candidate forms for NaN gradients; inside torch.inference_mode() (an
    # evaluation loop) enable_grad alone does not help: every candidate was refused
    x = sp.Symbol("x", positive=True)
    d = dv.FDivergence.from_generator(2 * x * sp.log(x) - 2 * x + 2, x, name="inference_mode")
    v = torch.tensor([-1.0, 0.0, 2.0], dtype=F64)
    with torch.inference_mode():
        value = d.torch.conjugate_of_activation(v)  # f*(t) = 2 (e^{t/2} - 1), g_f(v) = v
    torch.testing.assert_close(value, 2 * torch.expm1(v / 2), rtol=1e-15, atol=0)
