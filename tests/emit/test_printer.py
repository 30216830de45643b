"""The printer's clamp form for a constant piece joined continuously to a branch.

Oracle: the piecewise definition evaluated branch by branch in float64 (and its derivative by
hand), independent of the printed source.
"""

from __future__ import annotations

import sympy as sp
import torch

from divergences.numeric.emit.printer import _clamped, compile_pieces

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
