r"""Divergences of nearly equal distributions keep their relative accuracy (issue 15, item 4).

The sums are formed from the non-negative centred terms
:math:`q \hat h(p/q) = q (f(p/q) - f(1) - f'(1)(p/q - 1))` plus :math:`f'(1) \sum (p - q)`
(:mod:`divergences.numeric.discrete`), with the near-class series of
:mod:`divergences.numeric.stable` in the hand kernels and the Taylor piece of the emitted ``h``.
Before: ``kl([x, 1-x], [y, 1-y])`` with ``x - y = 1e-14`` was ``0`` (true ``~1e-28``), the
element-wise ``p log(p/q)`` for nearly equal ``p, q`` was off by ``5e-4`` relative (SciPy's
``rel_entr`` is within ``1e-13``), and ``js(p, p)`` was ``2.2e-16`` for some ``p``.

Oracle: the closed forms typed from the literature (:func:`divergences.testing.oracles.
closed_forms`), evaluated by mpmath at 80 digits on the float inputs as given (the nearby pairs
differ in their last 12 digits at most, so 80 digits hold every difference exactly and leave 60 for
the value).

Tolerances. Every term of a centred sum is non-negative, so the sum's relative error is at most the
worst term's plus the summation's ``n eps``. A term in the near class (``|p - q| < (p + q)/8``) is
computed from ``p - q`` (exact, Sterbenz) by a series without cancellation: a few ulps; the
element-wise ``p log(p/q)`` likewise (``z (2 + y S(y))``). 16 eps covers both with margin; the
emitted path (Taylor piece of ``h``, searched and scored by the emitter: within 2 ulps on its probe
grid) gets the same.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp
import torch
from hypothesis import given

import divergences as dv
from divergences.numeric.discrete import perspective
from divergences.testing import oracles, probability_vectors
from divergences.testing.oracles import closed_forms
from tests._kernels import KERNELS

F64 = torch.float64
EPS = 2.0**-52
U = oracles.u
DPS = 80

#: every registered divergence, the parametrised ones at several parameters
EVERY = [
    *[(name, {}) for name in dv.names() if name not in ("alpha", "js_weighted")],
    # the parameters of tests/numeric/test_properties.py (their perspectives are built once)
    *[("alpha", {"alpha": a}) for a in (-1, sp.Rational(1, 2), 2, 3, sp.Rational(3, 10))],
    *[("js_weighted", {"pi": pi}) for pi in (sp.Rational(1, 2), sp.Rational(1, 4))],
]


def _label(name: str, params: dict[str, object]) -> str:
    return name + "".join(f"({k}={v})" for k, v in params.items())


def exact_divergence(expr: sp.Expr, p: list[float], q: list[float]) -> mpmath.mpf:
    """:math:`\\sum q f(p/q)` over positive pairs at :data:`DPS` digits (``p, q > 0``)."""
    f = oracles.mp_lambdify(expr, U)
    with mpmath.workdps(DPS):
        return mpmath.fsum(
            mpmath.mpf(b) * f(mpmath.mpf(a) / mpmath.mpf(b)) for a, b in zip(p, q, strict=True)
        )


# --------------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("x", [0.5, 0.6, 0.7, 0.9, 0.999])
@pytest.mark.parametrize("steps", [1, 7, 100])
def test_kl_of_nearly_equal_two_point_distributions(x: float, steps: int) -> None:
    # x - y = steps * 2^-47 (1e-14 to 1e-12); x, y >= 1/2, so 1 - x and 1 - y are exact and both
    # vectors sum to 1 exactly: the true KL is 1e-28 to 1e-24, which summing p log(p/q) (two
    # terms of size 1e-14 of opposite signs) cancelled to 0
    y = x - steps * 2.0**-47
    p = torch.tensor([x, 1 - x], dtype=F64)
    q = torch.tensor([y, 1 - y], dtype=F64)
    expected = exact_divergence(U * sp.log(U), p.tolist(), q.tolist())
    assert 0 < expected < 1e-21
    mine = dv.FDivergence.from_generator("u*log(u)", U, name="mykl")  # the emitted path
    for got in (dv.kl(p, q).item(), mine.divergence(p, q).item()):
        assert abs(got - expected) <= 16 * EPS * expected, (x, steps, got, float(expected))


@pytest.mark.parametrize("p0", [0.3, 1e-8, 1e-300])
def test_elementwise_kl_term_of_nearly_equal_probabilities(p0: float) -> None:
    # p log(p/q) for q = p (1 + delta): SciPy's rel_entr is within 1e-13 relative; log p - log q
    # lost |log p| / |delta| ulps (5e-4 relative at delta = 1e-12)
    deltas = [s * 10.0**-k for k in (1, 3, 6, 9, 12, 15) for s in (1, -1)]
    p = torch.full((len(deltas),), p0, dtype=F64)
    q = torch.tensor([p0 * (1 + d) for d in deltas], dtype=F64)
    kernel = perspective(dv.get("kl"))(p, q).tolist()
    emitted = dv.get("kl").torch.perspective(p, q).tolist()
    for got_kernel, got_emitted, b in zip(kernel, emitted, q.tolist(), strict=True):
        with mpmath.workdps(DPS):
            expected = mpmath.mpf(p0) * mpmath.log(mpmath.mpf(p0) / mpmath.mpf(b))
        # below the normal range (p0 = 1e-300: values ~1e-312) the result's spacing is 2^-1074
        bound = 16 * EPS * abs(expected) + 2.0**-1072
        for got in (got_kernel, got_emitted):
            assert abs(got - expected) <= bound, (p0, b, got, float(expected))


@pytest.mark.parametrize(("name", "params"), EVERY, ids=[_label(*c) for c in EVERY])
def test_self_divergence_is_exactly_the_offset(name: str, params: dict[str, object]) -> None:
    # D(P, P) = f(1) exactly (0, -log 4 for gan), zeros and a batch included: js(p, p) was 2.2e-16
    d = dv.get(name, **params)
    generator = torch.Generator().manual_seed(1)
    p = torch.rand(4, 9, generator=generator, dtype=F64)
    p[1, :3] = 0.0
    p[2, 4] = 1e-310
    p = p / p.sum(-1, keepdim=True)
    out = d.divergence(p, p)
    assert torch.equal(out, torch.full((4,), float(d.offset), dtype=F64)), (name, out)


@given(probability_vectors(batch_shape=(3,)))
def test_js_of_a_distribution_with_itself_is_zero(p: torch.Tensor) -> None:
    assert torch.equal(dv.js(p, p), torch.zeros(3, dtype=p.dtype))
    assert torch.equal(dv.kl(p, p), torch.zeros(3, dtype=p.dtype))


# --------------------------------------------------------------------------------------------
# Nearby distributions: relative accuracy against mpmath
# --------------------------------------------------------------------------------------------

NEARBY = [
    ("kl", {}),
    ("reverse_kl", {}),
    ("jeffrey", {}),
    ("js", {}),
    ("gan", {}),
    ("pearson", {}),
    ("neyman", {}),
    ("squared_hellinger", {}),
    ("alpha", {"alpha": sp.Rational(1, 2)}),
    ("alpha", {"alpha": 2}),
    ("alpha", {"alpha": sp.Rational(3, 10)}),
    ("js_weighted", {"pi": sp.Rational(1, 4)}),
]


def nearby_pair(step: float, seed: int, rows: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """``p`` on the grid ``k / 1024`` (``k >= 8``, summing to 1 exactly) and ``q = p +- m step``
    with integer ``m`` in pairs of opposite signs: every entry exact, ``sum q = sum p`` exactly,
    so the divergence is the nearby one and not the rounding of a normalisation."""
    generator = torch.Generator().manual_seed(seed)
    k = torch.randint(8, 60, (rows, 16), generator=generator).to(F64)
    k[:, -1] += 1024 - k.sum(-1)
    m = torch.randint(1, 64, (rows, 8), generator=generator).to(F64)
    delta = torch.stack([m, -m], dim=-1).reshape(rows, 16) * step
    p = k / 1024
    return p, p + delta


@pytest.mark.parametrize(("name", "params"), NEARBY, ids=[_label(*c) for c in NEARBY])
@pytest.mark.parametrize("step", [2.0**-14, 2.0**-27, 2.0**-40])
def test_nearby_distributions_keep_relative_accuracy(
    name: str, params: dict[str, object], step: float
) -> None:
    d = dv.get(name, **params)
    expr = closed_forms(name, **params).generator
    p, q = nearby_pair(step, seed=2)
    assert torch.equal(p.sum(-1), q.sum(-1)) and (p.sum(-1) == 1).all()
    got = d.divergence(p, q).tolist()
    for row, value in enumerate(got):
        expected = exact_divergence(expr, p[row].tolist(), q[row].tolist())
        # gan: D = 2 JS - log 4, relative to its size log 4 (the centred part is far below it)
        assert abs(value - expected) <= 16 * EPS * abs(expected), (name, step, value, expected)


@pytest.mark.parametrize("key", ["u*log(u) - u + 1", "(u - 1)**2/(u + 1)", "exp(Abs(log(u))) - 1"])
def test_nearby_distributions_of_user_generators(key: str) -> None:
    # the emitted path: centred terms q h(x) from the Taylor piece (or an exact form) near p = q
    d = dv.FDivergence.from_generator(key, U, name="user")
    expr = sp.sympify(key, locals={"u": U})
    for step in (2.0**-20, 2.0**-40):
        p, q = nearby_pair(step, seed=3, rows=2)
        for row, value in enumerate(d.divergence(p, q).tolist()):
            expected = exact_divergence(expr, p[row].tolist(), q[row].tolist())
            assert abs(value - expected) <= 16 * EPS * abs(expected), (key, step, value)


# --------------------------------------------------------------------------------------------
# The kernels' centred terms
# --------------------------------------------------------------------------------------------


def _grid() -> tuple[torch.Tensor, torch.Tensor]:
    values = torch.tensor(
        [0.0, 5e-324, 1e-310, 1e-300, 1e-30, 1e-5, 0.1, 0.3, 0.31, 0.5, 0.7, 1.0], dtype=F64
    )
    p, q = torch.meshgrid(values, values, indexing="ij")
    near = torch.tensor([0.3, 0.3 * (1 + 1e-12), 0.3 * (1 - 0.1), 0.3 * (1 + 0.13)], dtype=F64)
    a, b = torch.meshgrid(near, near, indexing="ij")
    return torch.cat([p.flatten(), a.flatten()]), torch.cat([q.flatten(), b.flatten()])


@pytest.mark.parametrize("name", sorted(n for n, k in KERNELS.items() if k.centred_inplace))
@pytest.mark.parametrize("dtype", [F64, torch.float32], ids=["float64", "float32"])
def test_inplace_centred_terms_equal_the_plain_ones(name: str, dtype: torch.dtype) -> None:
    kernel = KERNELS[name]
    p, q = (x.to(dtype) for x in _grid())
    plain, plain_diff = kernel.centred(p, q)
    inplace, inplace_diff = kernel.centred_inplace(p, q)
    assert torch.equal(plain, inplace), name  # -0.0 == 0.0
    assert torch.equal(plain_diff, inplace_diff)
    assert (plain >= 0).all() and not plain.isnan().any()


@pytest.mark.parametrize("name", ["kl", "reverse_kl", "js", "jeffrey"])
def test_gradients_next_to_equal_distributions(name: str) -> None:
    # d/dp of sum q f(p/q) is f'(p/q): at p = q it is f'(1) (kl 1, reverse_kl -1, js and
    # jeffrey 0) and -f'(1) + f(1) for q; finite and the closed form next to it
    d = dv.get(name)
    p = torch.tensor([[0.25, 0.25, 0.5], [0.2, 0.3, 0.5]], dtype=F64, requires_grad=True)
    q = torch.tensor(
        [[0.25, 0.25, 0.5], [0.2 * (1 + 1e-9), 0.3, 0.5 - 2e-10]], dtype=F64, requires_grad=True
    )
    grad_p, grad_q = torch.autograd.grad(d.divergence(p, q, validate=False).sum(), (p, q))
    slope = {"kl": 1.0, "reverse_kl": -1.0, "js": 0.0, "jeffrey": 0.0}[name]
    expected = torch.full_like(grad_p, slope)
    torch.testing.assert_close(grad_p, expected, rtol=0, atol=1e-8)
    torch.testing.assert_close(grad_q, -expected, rtol=0, atol=1e-8)
    assert math.isfinite(grad_p.sum().item())
