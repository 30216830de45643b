r"""The emitted perspective :math:`q f(p/q)` over the whole positive float range (issue 15, item 3).

``Emitted.perspective`` (:mod:`divergences.numeric.emit.perspective`) is what every divergence
without a hand kernel sums: users' generators, ``alpha``, ``js_weighted``. It used to form the
ratio ``p/q``, which overflows where ``q`` is subnormal and underflows where ``p`` is (SciPy
gh-20710): ``kl``'s emitted perspective at ``(4, 2.22e-308)`` was ``inf``, true
``2839.139983229607``.

Oracle: the generator's expression evaluated by mpmath at ``60 + k`` and ``120 + 2k`` digits,
``k`` the decimal orders between ``p`` and ``q`` (so that ``p/q`` and ``1 + p/q`` are held
exactly), accepted when the two agree to 30 digits. Registered generators come from the closed
forms typed from the literature (:func:`divergences.testing.oracles.closed_forms`), never from
the library's derivation; user generators from their own text.

Tolerance, in float64:

.. math::

    |y - q f(u)| \le 16\,\epsilon\,\big(|q f(u)| + (1 + \lambda_d)\,|p f'(u)|
        + |q f(u) - p f'(u)|\big) + 8 \cdot 2^{-1074}, \qquad u = p/q.

A relative perturbation :math:`\epsilon` of ``p`` and ``q`` (the inputs as given are exact, but
every algorithm rounds them once, e.g. in ``p - q`` or a ratio) moves the value by
:math:`\epsilon(|p f'(u)| + |q f(u) - p f'(u)|)`: the backward-stable bound of
``tests/kernels/test_kernels.py``. Where the ratio is subnormal the value is computed from the
log-ratio :math:`\lambda = \log p - \log q`, rounded to :math:`\epsilon |\lambda|` absolute, which
moves it by :math:`\epsilon |\lambda| |p f'(u)|` (:math:`\lambda_d = |\lambda|` there, ``0``
elsewhere); 16 covers the few roundings of each emitted form (each is within 8 ulps of its own
function on its probe grid) and of the assembly. The last term is the spacing of subnormal
results. Before the log-ratio class, 52 pairs of the grid below were ``inf`` or ``0`` where the
value is finite.
"""

from __future__ import annotations

import math
import sys

import mpmath
import pytest
import sympy as sp
import torch

import divergences as dv
from divergences.testing import oracles
from divergences.testing.oracles import closed_forms

F64, F32 = torch.float64, torch.float32
EPS = 2.0**-52
SMALLEST = 2.0**-1074
TINY = 2.0**-1022
U = oracles.u

#: registered generators, through their emitted perspective (not their kernels)
REGISTERED = [
    ("kl", {}),
    ("reverse_kl", {}),
    ("pearson", {}),
    ("neyman", {}),
    ("squared_hellinger", {}),
    ("jeffrey", {}),
    ("js", {}),
    ("gan", {}),
    ("total_variation", {}),
    # parameters also in tests/numeric/test_properties.py (their perspectives are built once)
    ("alpha", {"alpha": sp.Rational(1, 2)}),
    ("alpha", {"alpha": -1}),
    ("alpha", {"alpha": sp.Rational(3, 10)}),
    ("js_weighted", {"pi": sp.Rational(1, 4)}),
]
#: users' generators: x log x, a rational one (Le Cam's triangular discrimination over two) and
#: TFP's log1p-abs generator max(u, 1/u) - 1 written with Abs (a kink at u = 1)
USERS = {
    "xlogx": "u*log(u)",
    "rational": "(u - 1)**2/(u + 1)",
    "log1p_abs": "exp(Abs(log(u))) - 1",
}

#: every decade of the range, subnormals and the smallest normal included
GRID = [
    5e-324,
    1e-320,
    2e-310,
    TINY,
    1e-300,
    1e-200,
    1e-100,
    1e-30,
    1e-8,
    0.01,
    0.3,
    0.5,
    0.7,
    1.0,
]
#: nearly equal pairs: q = p (1 + delta)
NEAR = [
    (p, p * (1.0 + delta))
    for p in (1e-300, 1e-8, 0.3)
    for delta in (1e-15, -1e-15, 1e-9, -1e-9, 1e-4, -1e-4, 0.01, -0.01, 0.2, -0.2)
]
PAIRS = [(p, q) for p in GRID for q in GRID] + NEAR


def _user(key: str) -> dv.FDivergence:
    return dv.FDivergence.from_generator(USERS[key], U, name=key)


def _case(label: str) -> tuple[dv.FDivergence, sp.Expr]:
    """The divergence and its generator for the oracle (literature form or the user's text)."""
    if label.startswith("user:"):
        key = label.removeprefix("user:")
        return _user(key), sp.sympify(USERS[key], locals={"u": U})
    name, params = next((n, p) for n, p in REGISTERED if _label(n, p) == label)
    return dv.get(name, **params), closed_forms(name, **params).generator


def _label(name: str, params: dict[str, object]) -> str:
    return name + "".join(f"({k}={v})" for k, v in params.items())


LABELS = [_label(n, p) for n, p in REGISTERED] + [f"user:{k}" for k in USERS]
#: swept in every run: one generator per kind of class function (xlogy; a log form where K
#: overflows; the atanh form near p = q; a power; the mixtures; a rational user generator; a
#: kink at u = 1); the others (symmetric or of the same kinds) run with the slow tests
FAST = {"kl", "neyman", "js", "alpha(alpha=3/10)", "js_weighted(pi=1/4)", "user:rational"}
FAST |= {"user:log1p_abs"}
SWEEP = [
    label if label in FAST else pytest.param(label, marks=pytest.mark.slow) for label in LABELS
]


def exact_perspective(f: oracles.Fn, p: float, q: float) -> mpmath.mpf:
    """``q f(p/q)`` for ``p, q > 0`` by mpmath (see the module docstring); ``p = q`` gives
    ``q f(1)`` (rounding residues of the closed form at ``u = 1`` below ``1e-50 q`` dropped)."""
    orders = abs(math.log10(p) - math.log10(q))
    close = -math.log10(abs(p - q) / max(p, q)) if p != q else 0.0
    values = []
    for digits in (60 + int(orders + close), 120 + 2 * int(orders + close)):
        with mpmath.workdps(digits):
            values.append(mpmath.mpf(q) * f(mpmath.mpf(p) / mpmath.mpf(q)))
    a, b = values
    scale = max(abs(a), abs(b))
    assert abs(a - b) <= mpmath.mpf(10) ** -30 * scale + mpmath.mpf(10) ** -50 * q, (p, q, a, b)
    if p == q and abs(b) <= mpmath.mpf(10) ** -50 * q:
        return mpmath.mpf(0)
    return b


def allowance(df: oracles.Fn, value: mpmath.mpf, p: float, q: float) -> float:
    """The bracket of the module docstring's tolerance."""
    with mpmath.workdps(60 + int(abs(math.log10(p) - math.log10(q)))):
        slope = mpmath.mpf(p) * df(mpmath.mpf(p) / mpmath.mpf(q))
        lam = 0.0
        if min(p, q) / max(p, q) < TINY:
            lam = abs(math.log(p) - math.log(q))
        return float(abs(value) + (1 + lam) * abs(slope) + abs(value - slope))


@pytest.mark.parametrize("label", SWEEP)
def test_perspective_over_the_whole_range(label: str) -> None:
    d, expr = _case(label)
    f = oracles.mp_lambdify(expr, U)
    df = oracles.mp_lambdify(sp.diff(expr, U).replace(sp.DiracDelta, lambda *_: sp.S.Zero), U)
    p = torch.tensor([a for a, _ in PAIRS], dtype=F64)
    q = torch.tensor([b for _, b in PAIRS], dtype=F64)
    got = d.torch.perspective(p, q).tolist()
    for (a, b), y in zip(PAIRS, got, strict=True):
        value = exact_perspective(f, a, b)
        if abs(value) > sys.float_info.max:  # pearson at (0.01, 5e-324): 2e319
            assert y == math.copysign(math.inf, value), (label, a, b, y)
            continue
        bound = 16 * EPS * allowance(df, value, a, b) + 8 * SMALLEST
        assert math.isfinite(y), (label, a, b, y, float(value))
        assert abs(y - value) <= bound, (label, a, b, y, float(value), bound)


@pytest.mark.parametrize("label", LABELS)
def test_perspective_gradients_are_never_nan(label: str) -> None:
    # values and gradients at every pair of the grid and at zeros: never NaN (inf only where
    # the partial derivative itself overflows, e.g. -p/q at q = 1e-310)
    d, _ = _case(label)
    extra = [(0.0, 0.5), (0.5, 0.0), (0.0, 0.0), (0.0, 5e-324), (5e-324, 0.0)]
    p = torch.tensor([a for a, _ in PAIRS + extra], dtype=F64, requires_grad=True)
    q = torch.tensor([b for _, b in PAIRS + extra], dtype=F64, requires_grad=True)
    value = d.torch.perspective(p, q)
    grad_p, grad_q = torch.autograd.grad(value.sum(), (p, q))
    assert not value.isnan().any(), label
    assert not grad_p.isnan().any() and not grad_q.isnan().any(), label


def test_the_issue_cases() -> None:
    # SciPy gh-20710: 4 log(4 / 2.22e-308) = 2839.139983229607 (mpmath, 50 digits)
    p = torch.tensor(4.0, dtype=F64)
    q = torch.tensor(2.22e-308, dtype=F64)
    with mpmath.workdps(50):
        expected = float(4 * mpmath.log(4 / mpmath.mpf(2.22e-308)))
    assert expected == 2839.139983229607
    got = dv.get("kl").torch.perspective(p, q).item()
    assert abs(got - expected) <= 4 * EPS * expected
    # a user's generator: the divergence of [1, 0] from [1e-309, 1 - 1e-309] is
    # 1 log(1/1e-309) + 0 = 711.4987937351601 (q = 1e-309 is subnormal: p/q overflows)
    mine = dv.FDivergence.from_generator("u*log(u)", U, name="mykl")
    p = torch.tensor([1.0, 0.0], dtype=F64)
    q = torch.tensor([1e-309, 1 - 1e-309], dtype=F64)
    with mpmath.workdps(50):
        expected = float(-mpmath.log(mpmath.mpf(1e-309)))
    assert expected == 711.4987937351601
    got = mine.divergence(p, q).item()
    assert abs(got - expected) <= 4 * EPS * expected


def test_float32_over_its_range() -> None:
    # the class boundaries follow the dtype (float32's smallest normal is 2^-126): the same
    # bound with float32's eps on a float32 grid, subnormals included
    d, expr = _case("user:rational")
    f = oracles.mp_lambdify(expr, U)
    df = oracles.mp_lambdify(sp.diff(expr, U), U)
    grid = [1e-45, 1e-40, 2**-126, 1e-30, 1e-8, 0.01, 0.5, 1.0]
    pairs = [(a, b) for a in grid for b in grid]
    p = torch.tensor([a for a, _ in pairs], dtype=F32)
    q = torch.tensor([b for _, b in pairs], dtype=F32)
    got = d.torch.perspective(p, q)
    assert got.dtype == F32
    for a, b, y in zip(p.tolist(), q.tolist(), got.tolist(), strict=True):
        value = exact_perspective(f, a, b)
        lam = abs(math.log(a) - math.log(b)) if min(a, b) / max(a, b) < 2.0**-126 else 0.0
        slope = float(mpmath.mpf(a) * df(mpmath.mpf(a) / mpmath.mpf(b)))
        scale = abs(float(value)) + (1 + lam) * abs(slope) + abs(float(value) - slope)
        assert abs(y - float(value)) <= 16 * 2.0**-23 * scale + 8 * 2.0**-149, (a, b, y, value)


def test_zero_conventions() -> None:
    # 0 f(0/0) = 0, q f(0+), p f'(oo); +inf where the limit is, never NaN
    p = torch.tensor([0.0, 0.0, 0.5, 0.5], dtype=F64)
    q = torch.tensor([0.0, 0.5, 0.0, 0.5], dtype=F64)
    # kl: f(0+) = 0, f'(oo) = oo; reverse_kl: oo, 0; log1p_abs: f(0+) = oo, f'(oo) = 1
    expected = {
        "kl": [0.0, 0.0, math.inf, 0.0],
        "reverse_kl": [0.0, math.inf, 0.0, 0.0],
        "user:log1p_abs": [0.0, math.inf, 0.5, 0.0],
        "user:rational": [0.0, 0.5, 0.5, 0.0],
    }
    for label, values in expected.items():
        d, _ = _case(label)
        assert d.torch.perspective(p, q).tolist() == values, label


def test_dtype_device_and_transforms_are_kept() -> None:
    d = _user("rational")
    perspective = d.torch.perspective
    p = torch.tensor([[0.2, 0.8, 0.0], [1e-310, 0.5, 0.5]], dtype=F64)
    q = torch.tensor([[0.5, 0.5, 0.0], [0.5, 1e-320, 0.5]], dtype=F64)
    out = perspective(p, q)
    for dtype in (torch.float16, torch.bfloat16):
        assert perspective(p.to(dtype), q.to(dtype)).dtype == dtype
    meta = perspective(torch.zeros(3, device="meta"), torch.zeros(3, device="meta"))
    assert meta.device.type == "meta" and meta.shape == (3,)
    # torch.func: vmap over rows, grad of one element
    torch.testing.assert_close(torch.func.vmap(perspective)(p, q), out, rtol=0, atol=0)
    grad = torch.func.grad(lambda a: perspective(a, q[0, 0]))(p[0, 0])
    x = p[0, 0].clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(perspective(x, q[0, 0]), x)
    torch.testing.assert_close(grad, expected, rtol=1e-15, atol=0)


@pytest.mark.slow
def test_perspective_traces_into_one_graph() -> None:
    # fullgraph=True fails on any graph break (host sync, data-dependent Python control flow)
    d = _user("log1p_abs")
    torch._dynamo.reset()
    compiled = torch.compile(d.torch.perspective_parts.divergence, fullgraph=True)
    p = torch.tensor([[0.2, 0.8, 0.0], [1e-310, 0.5, 0.5]], dtype=F64, requires_grad=True)
    q = torch.tensor([[0.5, 0.5, 0.0], [0.5, 1e-320, 0.5]], dtype=F64)
    expected = d.torch.perspective_parts.divergence(p, q)
    torch.testing.assert_close(compiled(p, q), expected)
