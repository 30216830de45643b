"""Regression tests of the hand-fused kernels (:mod:`divergences.numeric.kernels`) and of the
value checks of discrete distributions (:mod:`divergences.numeric._checks`).

* ``gan`` and ``js`` (:func:`~divergences.numeric.kernels.builtin._mixture_terms`) against
  mpmath at 50 digits where one probability is far below the other: the direct
  :math:`q \\log \\frac{q}{p + q}` rounds the ratio to 1 there and loses :math:`-p` (``gan`` at
  ``p = 1e-30, q = 1e-5`` was 1.7 % off); the ``log1p`` form keeps it, in float64 and float32,
  on both the autograd path and the in-place no-grad path, element-wise and summed.
* The in-place variants (no autograd) equal the plain terms bit for bit.
* Values and gradients stay finite at zero probabilities.
* Every kernel equals the emitted perspective ``q f(p/q)`` within the backward-stable bound of the
  exact value (mpmath, from the closed forms of :mod:`divergences.testing.oracles`) on the safe
  range; where ``u = p/q`` or ``f(u)`` overflows, both the kernel and the emitted perspective
  (which used to give ``inf`` there) stay finite and accurate.
* The value checks raise the same messages as before for the same inputs, and accept an empty
  batch.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp
import torch

import divergences as dv
from divergences.errors import InputError
from divergences.numeric import _checks
from divergences.numeric._checks import normalisation_tolerance
from divergences.testing.oracles import REGISTERED_FORMS, ClosedForms, exact_value
from divergences.testing.oracles import u as U
from tests._kernels import KERNELS
from tests.emit.cases import EPS64, _mp

F64, F32 = torch.float64, torch.float32
EPS = {F64: 2.0**-52, F32: 2.0**-23}
DPS = 50

# p << q, p >> q, p ~ q, subnormal and zero probabilities (all exact in float64; the float32
# cases round them first and take the rounded values as the exact inputs)
SMALL = [0.0, 5e-324, 1e-300, 1e-45, 1e-30, 1e-20, 1e-10, 1e-5, 1e-3, 0.1, 0.3, 0.5, 0.7, 1.0]
PAIRS = [(1e-30, 1e-5), (1e-5, 1e-30)] + [(a, b) for a in SMALL for b in SMALL]


def exact_gan_terms(p: float, q: float) -> mpmath.mpf:
    r""":math:`p \log \frac{p}{p + q} + q \log \frac{q}{p + q}` (``0 log 0 = 0``), 50 digits.

    Evaluated as written, so the working precision must hold ``p + q`` and the ratio of the
    larger probability to ``p + q`` (``1 - 1e-255`` for ``p = 1e-300, q = 1e-45``) without
    rounding: 50 digits plus the decimal orders between ``p`` and ``q``.
    """
    orders = 0
    if p > 0 and q > 0:
        orders = math.ceil(abs(math.log10(p) - math.log10(q)))
    with mpmath.workdps(DPS + orders + 10):
        p_, q_ = mpmath.mpf(p), mpmath.mpf(q)
        m = p_ + q_
        total = mpmath.mpf(0)
        for x in (p_, q_):
            if x > 0:
                total += x * mpmath.log(x / m)
        return +total


def exact(name: str, p: float, q: float) -> tuple[float, float]:
    """``(q f(p/q), scale)``: the exact value and the magnitude its rounding bound refers to.

    ``gan`` is the sum of two non-positive terms (no cancellation): the scale is the value.
    ``js`` is ``(gan terms + log 2 (p + q)) / 2``, which cancels near ``p = q``: the scale is
    the sum of the magnitudes of the two parts.
    """
    terms = exact_gan_terms(p, q)
    with mpmath.workdps(DPS):
        if name == "gan":
            return float(terms), float(abs(terms))
        linear = mpmath.log(2) * (mpmath.mpf(p) + mpmath.mpf(q))
        return float((terms + linear) / 2), float((abs(terms) + linear) / 2)


def subnormal_step(dtype: torch.dtype) -> float:
    """The spacing of the subnormal numbers of ``dtype`` (its smallest positive number)."""
    return torch.finfo(dtype).tiny * EPS[dtype]


def as_dtype(pairs: list[tuple[float, float]], dtype: torch.dtype) -> tuple[list, list]:
    """The pairs rounded to ``dtype`` (as exact Python floats)."""
    p = torch.tensor([a for a, _ in pairs], dtype=F64).to(dtype)
    q = torch.tensor([b for _, b in pairs], dtype=F64).to(dtype)
    return p.tolist(), q.tolist()


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("grad", [False, True], ids=["inplace", "autograd"])
@pytest.mark.parametrize("name", ["gan", "js"])
def test_mixture_kernels_against_mpmath(name: str, grad: bool, dtype: torch.dtype) -> None:
    # element-wise: within 8 eps of the scale (the rounding bound of the log1p form is ~6 eps)
    ps, qs = as_dtype(PAIRS, dtype)
    p = torch.tensor(ps, dtype=dtype, requires_grad=grad)
    q = torch.tensor(qs, dtype=dtype)
    got = KERNELS[name](p, q).tolist()
    for a, b, g in zip(ps, qs, got, strict=True):
        value, scale = exact(name, a, b)
        # plus a few subnormal steps: a result below the normal range (e.g. 5e-324 log 5e-324)
        # has an absolute rounding error of half a step per operation
        bound = 8 * EPS[dtype] * scale + 4 * subnormal_step(dtype)
        assert abs(g - value) <= bound, (name, dtype, a, b, g, value)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
def test_gan_at_p_far_below_q_keeps_the_minus_p_term(dtype: torch.dtype) -> None:
    # the case of the bug: q log(q / (p + q)) = -q log1p(p/q) ~ -p, 1.7 % of the value
    for p_value, q_value in [(1e-30, 1e-5), (1e-5, 1e-30)]:
        (a,), (b,) = as_dtype([(p_value, q_value)], dtype)
        value, _ = exact("gan", a, b)
        for grad in (False, True):
            p = torch.tensor([a], dtype=dtype, requires_grad=grad)
            got = KERNELS["gan"](p, torch.tensor([b], dtype=dtype)).item()
            assert got == pytest.approx(value, rel=8 * EPS[dtype], abs=0.0)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", ["gan", "js"])
def test_discrete_sum_against_mpmath(name: str, dtype: torch.dtype) -> None:
    # the summed divergence (Kernel.reduce, no-grad path) over rows of far-apart pairs
    rows = [
        [(1e-30, 1e-5), (1e-5, 1e-30), (1e-20, 1e-3), (0.0, 1e-5)],
        [(1e-10, 0.5), (0.5, 1e-10), (1e-30, 1e-30), (1e-5, 0.0)],
    ]
    p = torch.tensor([[a for a, _ in row] for row in rows], dtype=F64).to(dtype)
    q = torch.tensor([[b for _, b in row] for row in rows], dtype=F64).to(dtype)
    d = dv.get(name)
    got = d.divergence(p, q, validate=False).tolist()
    for i, g in enumerate(got):
        parts = [exact(name, a, b) for a, b in zip(p[i].tolist(), q[i].tolist(), strict=True)]
        with mpmath.workdps(DPS):
            value = float(mpmath.fsum(mpmath.mpf(v) for v, _ in parts))
        # element-wise bound plus the rounding of a sum of n terms
        n = len(parts)
        bound = (8 + n) * EPS[dtype] * sum(s for _, s in parts)
        assert abs(g - value) <= bound, (name, dtype, i, g, value)


@pytest.mark.parametrize("name", ["gan", "js"])
def test_mixture_gradients_are_the_closed_form(name: str) -> None:
    # d/dp [p log(p/m) + q log(q/m)] = log(p/m), d/dq = log(q/m), m = p + q (js: half of that
    # plus log(2)/2), for normal probabilities (a subnormal one overflows the 1/x of torch's
    # division backward); zeros: test_mixture_values_and_gradients_at_zeros
    tiny = torch.finfo(F64).tiny
    pairs = [(a, b) for a in SMALL for b in SMALL if a >= tiny and b >= tiny]
    p = torch.tensor([a for a, _ in pairs], dtype=F64, requires_grad=True)
    q = torch.tensor([b for _, b in pairs], dtype=F64, requires_grad=True)
    grad_p, grad_q = torch.autograd.grad(KERNELS[name](p, q).sum(), (p, q))
    scale, shift = (1.0, 0.0) if name == "gan" else (0.5, 0.5 * math.log(2.0))
    for (a, b), gp, gq in zip(pairs, grad_p.tolist(), grad_q.tolist(), strict=True):
        with mpmath.workdps(DPS):
            m = mpmath.mpf(a) + mpmath.mpf(b)
            expected_p = float(scale * mpmath.log(mpmath.mpf(a) / m) + shift)
            expected_q = float(scale * mpmath.log(mpmath.mpf(b) / m) + shift)
        # a few roundings of terms of the size of |log(x/m)| + 2 (the formula's partials)
        assert abs(gp - expected_p) <= 16 * gradient_scale(a, b), (name, a, b, gp, expected_p)
        assert abs(gq - expected_q) <= 16 * gradient_scale(b, a), (name, a, b, gq, expected_q)


def gradient_scale(x: float, other: float) -> float:
    """``eps * (|log(x / (x + other))| + 2)``: the scale of the gradient's rounding error."""
    with mpmath.workdps(DPS):
        log_ratio = abs(mpmath.log(mpmath.mpf(x) / (mpmath.mpf(x) + mpmath.mpf(other))))
    return EPS[F64] * (float(log_ratio) + 2.0)


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", ["gan", "js"])
def test_mixture_values_and_gradients_at_zeros(name: str, dtype: torch.dtype) -> None:
    p = torch.tensor([0.0, 0.5, 0.0, 1e-30, 0.0], dtype=dtype, requires_grad=True)
    q = torch.tensor([0.5, 0.0, 0.0, 0.0, 1e-30], dtype=dtype, requires_grad=True)
    value = KERNELS[name](p, q)
    grad_p, grad_q = torch.autograd.grad(value.sum(), (p, q))
    assert torch.isfinite(value).all()
    assert torch.isfinite(grad_p).all() and torch.isfinite(grad_q).all()
    # 0 log 0 = 0: one zero probability leaves the other's x log(x/x) = 0, both zero give 0
    gan = [0.0, 0.0, 0.0, 0.0, 0.0]
    expected = (
        gan
        if name == "gan"
        else [math.log(2.0) / 2 * (a + b) for a, b in zip(p.tolist(), q.tolist(), strict=True)]
    )
    # two roundings each, and js' gradient log(2)/2 - 1/2 cancels by a factor 2.3: 4 eps
    assert value.tolist() == pytest.approx(expected, rel=4 * EPS[dtype], abs=0.0)
    # the finite branch: -1 for the zero next to a positive probability, 0 for the positive
    # one (log(x/x) = 0) and at p = q = 0
    scale, shift = (1.0, 0.0) if name == "gan" else (0.5, 0.5 * math.log(2.0))
    assert grad_p.tolist() == pytest.approx(
        [shift - scale, shift, shift, shift, shift - scale], rel=4 * EPS[dtype], abs=0.0
    )
    assert grad_q.tolist() == pytest.approx(
        [shift, shift - scale, shift, shift - scale, shift], rel=4 * EPS[dtype], abs=0.0
    )


def _grid(dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    values = torch.tensor(SMALL, dtype=F64).to(dtype)
    p, q = torch.meshgrid(values, values, indexing="ij")
    generator = torch.Generator().manual_seed(0)
    rp = torch.rand(64, 7, generator=generator, dtype=F64).to(dtype)
    rq = torch.rand(64, 7, generator=generator, dtype=F64).to(dtype)
    rp, rq = rp / rp.sum(-1, keepdim=True), rq / rq.sum(-1, keepdim=True)
    return torch.cat([p.flatten(), rp.flatten()]), torch.cat([q.flatten(), rq.flatten()])


@pytest.mark.parametrize("dtype", [F64, F32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(n for n, k in KERNELS.items() if k.inplace_terms))
def test_inplace_terms_equal_the_plain_terms_bit_for_bit(name: str, dtype: torch.dtype) -> None:
    kernel = KERNELS[name]
    p, q = _grid(dtype)
    plain = kernel.terms(p, q)
    inplace = kernel.inplace_terms(p, q) * kernel.inplace_sign
    assert torch.equal(plain, inplace)
    # and the Kernel picks either path with the same result
    with_grad = kernel(p.clone().requires_grad_(True), q).detach()
    assert torch.equal(kernel(p, q), with_grad)
    assert torch.equal(
        kernel.reduce(p.view(-1, 7), q.view(-1, 7)),
        kernel.reduce(p.view(-1, 7).clone().requires_grad_(True), q.view(-1, 7)).detach(),
    )
    # the inputs are never written to
    p2, q2 = _grid(dtype)
    assert torch.equal(p, p2) and torch.equal(q, q2)
    # NaN propagates on both paths
    nan = torch.tensor([math.nan, 0.5, math.nan], dtype=dtype)
    other = torch.tensor([0.5, math.nan, math.nan], dtype=dtype)
    assert kernel.terms(nan, other).isnan().all()
    assert kernel.inplace_terms(nan, other).isnan().all()


# --------------------------------------------------------------------------------------------
# The value checks of discrete distributions (validate=True)
# --------------------------------------------------------------------------------------------

UNIFORM = [0.25, 0.25, 0.25, 0.25]


@pytest.fixture(params=["numpy", "torch"])
def check_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a value-check test through NumPy's checks (small plain CPU tensors) and torch's."""
    if request.param == "torch":
        monkeypatch.setattr(_checks, "HOST_CHECK_NUMEL", -1)
    return request.param


def _flag_cases() -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    rows = torch.rand(5, 7, generator=generator, dtype=F64)
    cases = [rows / rows.sum(-1, keepdim=True), rows, -rows, rows.T]  # .T: not contiguous
    for value in (math.nan, math.inf, -math.inf, -1e-300, 1e308):
        bad = (rows / rows.sum(-1, keepdim=True)).clone()
        bad[2, 3] = value
        cases.append(bad)
    cases.append(torch.full((3, 4), 1e308, dtype=F64))  # finite entries, sums overflow
    cases.append(torch.empty(0, 4, dtype=F64))
    return cases + [c.float() for c in cases]


def test_numpy_and_torch_value_flags_agree() -> None:
    for x in _flag_cases():
        on_host = _checks._value_flags_on_host(x)
        in_torch = _checks._value_flags(x).tolist()
        assert on_host[:2] == in_torch[:2], x
        # the row sums may be rounded differently (pairwise orders): within a few ulps of 1
        assert on_host[2] == pytest.approx(in_torch[2], rel=1e-5, abs=4e-7), x


@pytest.mark.parametrize("dtype", [F64, F32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("side", ["p", "q"])
@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ([0.5, math.nan, 0.25, 0.25], "contains NaN or infinite entries"),
        ([0.5, math.inf, 0.25, 0.25], "contains NaN or infinite entries"),
        ([0.5, -math.inf, 0.25, 0.25], "contains NaN or infinite entries"),
        ([math.nan, -1.0, 0.25, 0.25], "contains NaN or infinite entries"),  # NaN first
        ([0.5, -0.25, 0.5, 0.25], "has negative entries: probabilities must be >= 0"),
        ([-1e-4, 0.5, 0.25, 0.25], "has negative entries: probabilities must be >= 0"),
        ([0.5, 0.5, 0.25, 0.25], "is not normalised: a vector's sum over the last dimension"),
        ([1.0, 2.0, 3.0, 4.0], "is not normalised: a vector's sum over the last dimension"),
    ],
)
def test_value_checks_name_the_argument_and_condition(
    bad: list[float], message: str, side: str, dtype: torch.dtype, check_path: str
) -> None:
    good = torch.tensor([UNIFORM, UNIFORM], dtype=dtype)
    wrong = torch.tensor([UNIFORM, bad], dtype=dtype)  # the second row of a batch
    p, q = (wrong, good) if side == "p" else (good, wrong)
    with pytest.raises(InputError, match=f"^{side} {message}"):
        dv.kl(p, q)
    dv.kl(p, q, validate=False)  # metadata checks only


def test_value_checks_report_p_before_q_and_the_deviation() -> None:
    p = torch.tensor([0.5, math.nan], dtype=F64)
    q = torch.tensor([-0.5, 1.5], dtype=F64)
    with pytest.raises(InputError, match=r"^p contains NaN"):
        dv.kl(p, q)
    with pytest.raises(InputError, match=r"^q has negative entries"):
        dv.kl(q.abs() / 2, q)
    tol = normalisation_tolerance(F64)
    with pytest.raises(InputError) as error:
        dv.kl(torch.tensor([0.5, 0.5], dtype=F64), torch.tensor([[0.5, 0.5], [0.5, 0.6]]).double())
    assert str(error.value) == (
        f"q is not normalised: a vector's sum over the last dimension differs from 1 by "
        f"{0.1:.3g} > {tol:.3g} (the tolerance for torch.float64); normalise it or pass "
        f"validate=False"
    )


def test_value_checks_accept_normalised_input_within_the_tolerance(check_path: str) -> None:
    tol = normalisation_tolerance(F32)
    p = torch.tensor([0.5, 0.5 + tol / 2], dtype=F32)
    q = torch.tensor([0.5, 0.5], dtype=F32)
    assert dv.kl(p, q).shape == ()
    with pytest.raises(InputError, match=r"^p is not normalised"):
        dv.kl(torch.tensor([0.5, 0.5 + 2 * tol], dtype=F32), q)


@pytest.mark.parametrize(
    ("p_shape", "q_shape", "out_shape"),
    [((0, 5), (0, 5), (0,)), ((0, 5), (1, 5), (0,)), ((3, 0, 5), (5,), (3, 0))],
)
def test_value_checks_accept_an_empty_batch(p_shape, q_shape, out_shape, check_path) -> None:
    p = torch.full(p_shape, 0.2, dtype=F64)
    q = torch.full(q_shape, 0.2, dtype=F64)
    for name in ("kl", "js"):
        assert dv.get(name).divergence(p, q).shape == out_shape
    with pytest.raises(InputError, match=r"^q is not normalised"):
        dv.kl(p, torch.full(q_shape if q_shape != (0, 5) else (1, 5), 0.3, dtype=F64))


#: case -> (pairs of tiny probabilities, relative tolerance of the gradients). float32
#: subnormals (below 1.2e-38) carry only 8-22 significant bits, and the backward of the rescaled
#: kernel multiplies its upstream gradient 2^-100 with values near 2^-49 in float32's subnormal
#: range: measured 6.4e-5 at (1e-40, 3e-41), so those pairs are checked to 2e-4 (the float64
#: pairs and float32's normal range to 1e-12 and 1e-5).
TINY_PAIRS = {
    "float64": ([(1e-310, 1e-310), (1e-310, 3e-310), (2e-320, 5e-321), (1e-200, 4e-201)], 1e-12),
    "float32": ([(1e-30, 2e-30), (3e-36, 1e-37), (1e-30, 1e-30)], 1e-5),
    "float32 subnormal": ([(1e-40, 1e-40), (1e-40, 3e-41), (2e-44, 5e-45)], 2e-4),
}


@pytest.mark.parametrize("case", list(TINY_PAIRS))
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_gradients_of_tiny_probabilities_are_the_closed_form(name: str, case: str) -> None:
    # regression: the backward of (p - q)^2 / q, of (sqrt p - sqrt q)^2 and of s / l squares a
    # probability, which underflows: at p = q = 1e-310 (1e-40 in float32) pearson, neyman,
    # squared_hellinger, js and gan gave NaN. Oracle: the perspective's partial derivatives
    # f'(p/q) and f(p/q) - (p/q) f'(p/q) from the registered generator, in mpmath at the inputs
    import sympy as sp

    f = dv.get(name).generator.expr
    (u,) = f.free_symbols
    f_mp = sp.lambdify(u, f, "mpmath")
    df_mp = sp.lambdify(u, sp.diff(f, u), "mpmath")
    pairs, rtol = TINY_PAIRS[case]
    dtype = F64 if case == "float64" else F32
    p = torch.tensor([a for a, _ in pairs], dtype=dtype, requires_grad=True)
    q = torch.tensor([b for _, b in pairs], dtype=dtype, requires_grad=True)
    grad_p, grad_q = torch.autograd.grad(KERNELS[name](p, q).sum(), (p, q))
    with mpmath.workdps(50):
        for i, (gp, gq) in enumerate(zip(grad_p.tolist(), grad_q.tolist(), strict=True)):
            ratio = mpmath.mpf(p[i].item()) / mpmath.mpf(q[i].item())
            # |u - 1|/2 has no derivative at 1: the kernel takes the subgradient 0 there
            slope = mpmath.mpf(0) if ratio == 1 and name == "total_variation" else df_mp(ratio)
            for got, expected in ((gp, slope), (gq, f_mp(ratio) - ratio * slope)):
                assert math.isfinite(got), (name, pairs[i], grad_p, grad_q)
                assert abs(got - expected) <= rtol * (1 + abs(expected)), (name, pairs[i], got)


# --------------------------------------------------------------------------------------------
# The hand-fused kernels against the emitted perspective
# --------------------------------------------------------------------------------------------

PROBABILITIES = [1e-300, 1e-30, 1e-5, 0.1, 0.3, 0.5, 0.9, 1.0]


def exact_perspective(forms: ClosedForms, p: float, q: float) -> tuple[float, float]:
    """``(q f(p/q), allowance)`` with ``allowance = |p f'(u)| + |q f(u) - p f'(u)|``: how much
    a relative perturbation of ``p`` and ``q`` moves the value (mpmath, escalated)."""
    f = _mp(forms.generator, U)
    df = _mp(sp.diff(forms.generator, U).replace(sp.DiracDelta, lambda *_: sp.S.Zero), U)
    value = exact_value(lambda _: mpmath.mpf(q) * f(mpmath.mpf(p) / mpmath.mpf(q)), 0.0)
    slope = exact_value(lambda _: df(mpmath.mpf(p) / mpmath.mpf(q)), 0.0, rtol=1e-3)
    with mpmath.workdps(30):
        allowance = abs(p * slope) + abs(value - p * slope)
    return float(value), float(allowance)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_equals_the_emitted_perspective(name: str) -> None:
    # on the safe range, where u = p/q and f(u) are far from overflow and underflow: both within
    # the backward-stable bound of q f(p/q), hence of each other
    d = dv.get(name)
    forms = REGISTERED_FORMS[name]
    pairs = [(p, q) for p in PROBABILITIES for q in PROBABILITIES if 1e-100 <= p / q <= 1e100]
    p = torch.tensor([a for a, _ in pairs], dtype=F64)
    q = torch.tensor([b for _, b in pairs], dtype=F64)
    kernel = KERNELS[name](p, q).tolist()
    emitted = d.torch.perspective(p, q).tolist()
    for (a, b), k, e in zip(pairs, kernel, emitted, strict=True):
        value, allowance = exact_perspective(forms, a, b)
        bound = 8 * EPS64 * (abs(value) + allowance) + 1e-300
        assert abs(k - value) <= bound, ("kernel", a, b, k, value)
        assert abs(e - value) <= bound, ("emitted", a, b, e, value)


OVERFLOWING = [
    # (name, p, q): u = p/q or f(u) overflows (or u underflows to 0), q f(p/q) is finite
    ("kl", 1.0, 5e-324),  # u = inf: the emitted form takes the limit p lim f(u)/u = inf
    ("kl", 0.5, 1e-310),
    ("jeffrey", 1.0, 5e-324),
    ("reverse_kl", 5e-324, 2.0),  # u = 0: the limit q f(0+) = inf
    ("pearson", 1e-30, 1e-300),  # f(1e270) = 1e540 overflows, q f(u) = 1e240 does not
    ("neyman", 5e-324, 1e-10),  # 1/u overflows, q^2/p = 2e303 does not
]


@pytest.mark.parametrize(("name", "p", "q"), OVERFLOWING)
def test_kernel_is_finite_where_the_naive_form_overflows(name: str, p: float, q: float) -> None:
    forms = REGISTERED_FORMS[name]
    value, allowance = exact_perspective(forms, p, q)
    assert math.isfinite(value)
    pt, qt = torch.tensor([p], dtype=F64), torch.tensor([q], dtype=F64)
    got = KERNELS[name](pt, qt).item()
    assert abs(got - value) <= 8 * EPS64 * (abs(value) + allowance)
    # the emitted perspective works in the log-ratio there instead of forming q f(p/q) through
    # the ratio (which gave inf: SciPy gh-20710); lambda = log p - log q is rounded to
    # eps |lambda| absolute, which moves the value by eps |lambda| |p f'(u)| at most
    emitted = dv.get(name).torch.perspective(pt, qt).item()
    with mpmath.workdps(30):
        lam = abs(float(mpmath.log(mpmath.mpf(p)) - mpmath.log(mpmath.mpf(q))))
    assert abs(emitted - value) <= 8 * EPS64 * (abs(value) + (1 + lam) * allowance)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_gradients_at_zero_probabilities(name: str) -> None:
    p = torch.tensor([0.0, 0.5, 0.0, 0.5, 1e-300], dtype=F64, requires_grad=True)
    q = torch.tensor([0.5, 0.0, 0.0, 0.5, 1e-300], dtype=F64, requires_grad=True)
    value = KERNELS[name](p, q)
    grad_p, grad_q = torch.autograd.grad(value.sum(), (p, q))
    assert not torch.isnan(value).any()
    assert not torch.isnan(grad_p).any() and not torch.isnan(grad_q).any()
