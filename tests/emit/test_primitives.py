r"""Tests of the stable torch primitives (:mod:`divergences.numeric.stable`, the rows of
:mod:`divergences.numeric.emit.primitives`) against mpmath: values in every dtype, gradients,
the capped exponentials, NaN outside the domain. Tolerance: see :mod:`tests.emit.cases`.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp
import torch
from sympy.codegen import cfunctions

from divergences.numeric import stable
from divergences.testing.oracles import exact_value
from tests.emit.cases import (
    EPS64,
    F64,
    LOW_DTYPES,
    _mp,
    check_function,
    near,
    real_grid,
)

# --------------------------------------------------------------------------------------------
# The stable primitives (divergences.numeric.stable)
# --------------------------------------------------------------------------------------------

X = sp.Symbol("X", real=True)
PRIMITIVES = {
    # name: (function, definition, where it is defined); expm1 and log1p are mpmath's (exact
    # to the working precision), since 1 - exp(-exp(-3e4)) cancels beyond any precision
    "softplus": (stable.softplus, sp.log(1 + sp.exp(X)), "real"),
    "log1mexp": (stable.log1mexp, sp.log(-cfunctions.expm1(X)), "negative"),
    "log1mexp_negexp": (
        stable.log1mexp_negexp,
        sp.log(-cfunctions.expm1(-sp.exp(X))),
        "real",
    ),
    "omega_log": (stable.omega_log, sp.log(sp.LambertW(sp.exp(X + 1))), "real"),
    "lambertw": (stable.lambertw, sp.LambertW(X), "branch"),
    "exp_capped": (stable.exp_capped, sp.exp(X), "real"),
    "expm1_capped": (stable.expm1_capped, sp.exp(X) - 1, "real"),
}


def primitive_points(where: str) -> list[float]:
    points = set(real_grid(1e300)) | set(near(-math.log(2))) | set(near(-1.0))
    if where == "negative":
        return sorted(p for p in points if p < 0)
    if where == "branch":  # W is real from -1/e on (float(-1/e) is just below it)
        with mpmath.workdps(50):
            return sorted(
                p for p in points | set(near(-math.exp(-1.0))) if mpmath.mpf(p) >= -mpmath.exp(-1)
            )
    return sorted(points)


@pytest.mark.parametrize(
    "dtype",
    [F64, *(pytest.param(dtype, marks=pytest.mark.slow) for dtype in LOW_DTYPES)],
    ids=str,
)
@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_stable_primitive_matches_mpmath(name: str, dtype: torch.dtype) -> None:
    fn, expr, where = PRIMITIVES[name]
    points = primitive_points(where)
    if name.endswith("capped"):  # capped at the dtype's largest finite result by design
        points = [p for p in points if p < math.log(torch.finfo(dtype).max)]

    def outside(x: float, _: float) -> bool:  # rounded to the dtype below the branch point
        with mpmath.workdps(50):
            return where == "branch" and mpmath.mpf(x) < -mpmath.exp(-1)

    check_function(fn, expr, X, points if dtype == F64 else points[::3], dtype, skip=outside)


@pytest.mark.parametrize("dtype", [F64, *LOW_DTYPES], ids=str)
@pytest.mark.parametrize("name", list(PRIMITIVES))
def test_stable_primitive_gradients(name: str, dtype: torch.dtype) -> None:
    fn, expr, where = PRIMITIVES[name]
    x = torch.tensor(primitive_points(where), dtype=F64).to(dtype)
    x = x[torch.isfinite(x) & (x.double() >= -math.exp(-1.0))].requires_grad_(True)
    value = fn(x)
    (gradient,) = torch.autograd.grad(value.sum(), x)
    assert value.dtype == gradient.dtype == dtype
    assert not torch.isnan(gradient).any(), x[torch.isnan(gradient)].tolist()
    if dtype == F64:  # against the derivative, away from the ends of the float range
        derivative = sp.diff(expr, X)
        for xi, gi in zip(x.tolist(), gradient.tolist(), strict=True):
            if abs(xi) > 700 or abs(xi + math.exp(-1.0)) < 1e-6 or xi == 0.0:
                continue  # W' is infinite at the branch point -1/e
            slope = float(exact_value(_mp(derivative, X), xi, rtol=1e-20))
            if not math.isfinite(slope):
                continue
            assert gi == pytest.approx(slope, rel=1e-8, abs=64 * EPS64), (name, xi)


def test_capped_exponentials_stay_finite() -> None:
    for dtype in (F64, torch.float32):
        big = torch.tensor([1e4, 1e300 if dtype == F64 else 1e38], dtype=dtype)
        largest = torch.finfo(dtype).max  # the cap is 4 numbers below log(max)
        assert stable.exp_capped(big).tolist() == pytest.approx([largest] * 2, rel=1e-4)
        assert torch.isfinite(stable.expm1_capped(big)).all()
    # float32: log(max) rounds up to 88.7228394, whose exp is inf
    assert torch.exp(torch.tensor(math.log(torch.finfo(torch.float32).max))).isinf()


def test_primitives_outside_their_domain_are_nan() -> None:
    assert math.isnan(stable.log1mexp(torch.tensor([0.5], dtype=F64)).item())
    assert math.isnan(stable.lambertw(torch.tensor([-0.5], dtype=F64)).item())
    assert stable.log1mexp(torch.tensor([0.0], dtype=F64)).item() == -math.inf
