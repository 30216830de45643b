r"""Tests of the selection stage (:mod:`divergences.numeric.emit.select`): the region cuts
(``_cuts``), the fast membership test (``_contains``) and the mpmath reference values
(``reference_values``) the candidate forms are scored against.
"""

from __future__ import annotations

import time

import sympy as sp
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sympy.codegen import cfunctions

from divergences.numeric.emit.select import _contains, _cuts, reference_values
from tests.emit.cases import CASE_BY_ID, F64


def test_regression_closed_domain_end_is_kept() -> None:
    # the region split at t = 1 dropped the closed end {1} of neyman's domain: f*(1) was inf
    neyman = CASE_BY_ID["neyman"].build().torch
    assert neyman.conjugate(torch.tensor([1.0], dtype=F64)).item() == 2.0
    parts = _cuts(sp.Interval(-sp.oo, 1))
    assert sp.Union(*parts) == sp.Interval(-sp.oo, 1)


def test_regression_reference_of_a_double_exponential_returns() -> None:
    # mpmath's expm1(-4 exp(-v)) at v = -1e20 never returned (exp of a 1.4e20-bit argument)
    v = sp.Symbol("v", real=True)
    start = time.perf_counter()
    refs = reference_values(sp.log(-cfunctions.expm1(-4 * sp.exp(-v))), v, [-1e20, -800.0, 1.0])
    assert time.perf_counter() - start < 20
    assert refs[-1] is not None


@settings(max_examples=3 * settings.default.max_examples)  # cheap: 180 in the ci profile
@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from(
        [
            sp.Interval(0, sp.oo),
            sp.Interval.open(0, sp.oo),
            sp.Interval(-sp.oo, sp.log(2) / 2, right_open=True),
            sp.Interval(sp.Rational(1, 3), 2, left_open=True),
            sp.Interval(-1, 1),
            sp.Union(sp.Interval(-3, -1), sp.Interval.Lopen(1, 2)),
            sp.FiniteSet(0, sp.Rational(1, 2)),
            sp.Reals,
        ]
    ),
)
@example(float(sp.log(2) / 2), sp.Interval(-sp.oo, sp.log(2) / 2, right_open=True))
@example(1 / 3, sp.Interval(sp.Rational(1, 3), 2, left_open=True))
@example(0.0, sp.Interval.open(0, sp.oo))
def test_fast_membership_agrees_with_sympy(x: float, region: sp.Set) -> None:
    assert _contains(region, x) == bool(region.contains(sp.Float(x, 50)))
