"""Tests of the printer (:mod:`divergences.numeric.emit.printer`).

* The clamp form for a constant piece joined continuously to a branch. Oracle: the piecewise
  definition evaluated branch by branch in float64 (and its derivative by hand), independent of
  the printed source.
* The comparison with an irrational domain end (``_comparison``), rounded to the side that keeps
  every float of the dtype on the right side of the end (exact rational comparison).
"""

from __future__ import annotations

import math

import pytest
import sympy as sp
import torch

from divergences.numeric.emit.printer import _clamped, _comparison, compile_pieces
from tests.emit.cases import CASE_BY_ID

T = sp.Symbol("t", real=True)
F64 = torch.float64


def _pearson_pieces() -> list[tuple[sp.Expr, sp.Set]]:
    # pearson's f*(t): -1 for t <= -2, t^2/4 + t above (continuous at -2)
    return [
        (sp.Integer(-1), sp.Interval(-sp.oo, -2)),
        (T**2 / 4 + T, sp.Interval.open(-2, sp.oo)),
    ]


def test_continuous_constant_piece_prints_as_a_clamp() -> None:
    source, fn = compile_pieces(_pearson_pieces(), T, "pearson_conjugate")
    assert "clamp_min(-2)" in source and "torch.where" not in source
    t = torch.tensor([-1e300, -5.0, -2.0, -1.999, 0.0, 3.0, 1e10], dtype=F64, requires_grad=True)
    value = fn(t)
    expected = [-1.0, -1.0, -1.0, 0.25 * 1.999**2 - 1.999, 0.0, 5.25, 0.25e20 + 1e10]
    torch.testing.assert_close(value, torch.tensor(expected, dtype=F64), rtol=1e-15, atol=0)
    (grad,) = torch.autograd.grad(value.sum(), t)
    # f*'(t) = t/2 + 1 above -2, 0 below; at -2 both sides give 0
    slope = [0.0, 0.0, 0.0, -1.999 / 2 + 1, 1.0, 2.5, 5e9 + 1]
    torch.testing.assert_close(grad, torch.tensor(slope, dtype=F64), rtol=1e-12, atol=1e-15)


def test_clamp_needs_a_continuous_join_and_the_whole_line() -> None:
    jump = [(sp.Integer(0), sp.Interval(-sp.oo, -2)), (T**2 / 4 + T, sp.Interval.open(-2, sp.oo))]
    assert _clamped(jump, T) is None  # h(-2) = -1 != 0
    assert _clamped(_pearson_pieces(), T) == (T**2 / 4 + T, "clamp_min", -2)
    mirrored = [(T**2, sp.Interval(-sp.oo, 1)), (sp.Integer(1), sp.Interval.open(1, sp.oo))]
    assert _clamped(mirrored, T) == (T**2, "clamp_max", 1)
    half_line = [(sp.Integer(-1), sp.Interval(0, 2)), (T - 3, sp.Interval.open(2, sp.oo))]
    assert _clamped(half_line, T) is None  # does not cover the real line
    source, fn = compile_pieces(jump, T, "jump")
    assert "clamp" not in source
    assert fn(torch.tensor([-3.0], dtype=F64)).item() == 0.0


def test_regression_irrational_domain_end_in_every_dtype() -> None:
    # t < log(2)/2 was printed as t < 0.34657359027997264, which rounded *down*: f* at that
    # float was inf instead of -log(2 - e^{2t})/2 = 18.8; in float32 the end rounds up, and
    # the float32 number above log(2)/2 must be outside the domain
    js = CASE_BY_ID["js"].build().torch
    end64 = float(sp.log(2) / 2)
    assert js.conjugate(torch.tensor([end64], dtype=F64)).item() == pytest.approx(
        18.804821577592918, rel=1e-6
    )
    end32 = torch.tensor(end64, dtype=torch.float32)
    assert end32.item() > end64  # rounded up: outside the domain
    assert js.conjugate(end32.reshape(1)).item() == math.inf
    below = torch.nextafter(end32, torch.tensor(0.0)).reshape(1)
    assert math.isfinite(js.conjugate(below).item())
    for end, lower, strict in ((sp.log(2) / 2, False, True), (sp.Rational(1, 3), True, False)):
        for dtype in (F64, torch.float32):
            op, literal = _comparison(end, lower=lower, strict=strict, dtype=dtype)
            x = torch.tensor(float(literal.strip("()")), dtype=dtype)
            inside = {"<": x < float(literal.strip("()")), "<=": True, ">": False, ">=": True}[op]
            exact_inside = sp.Rational(x.item()) > end if lower else sp.Rational(x.item()) < end
            assert bool(inside) == bool(exact_inside), (end, dtype, op, literal)
