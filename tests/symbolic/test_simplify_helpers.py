"""The memo and the nonzero shortcut of ``divergences/symbolic/simplify.py``.

Expected values are decided by hand: ``u log u + log u - 2 log 2 (u - 1)`` (the symmetry residual
of ``kl``) is ``7/3 log(7/3) + log(7/3) - 8/3 log 2 = 0.9759...`` at ``u = 7/3``; the zero
identities are the logarithm laws for positive arguments.
"""

from __future__ import annotations

import sympy as sp

import divergences as dv
from divergences.symbolic.certificates import symmetry_step
from divergences.symbolic.simplify import clearly_nonzero, is_zero, memoised, nice, simplified
from divergences.symbolic.symbols import s, t, u

KL_SYMMETRY_RESIDUAL = u * sp.log(u) + sp.log(u) - 2 * sp.log(2) * (u - 1)
ZERO_IDENTITIES = (
    sp.log(2 * u) - sp.log(u) - sp.log(2),
    sp.log(u * s) - sp.log(u) - sp.log(s),
    sp.exp(sp.log(u)) - u,
    (u**2 - 1) / (u + 1) - u + 1,
    sp.log(6) - sp.log(2) - sp.log(3),
)


def test_a_memoised_function_returns_the_first_result_for_an_equal_argument():
    calls: list[sp.Basic] = []

    @memoised
    def record(expr: sp.Basic) -> sp.Basic:
        calls.append(expr)
        return sp.expand(expr)

    first = record((u + 1) ** 2)
    assert record((u + 1) ** 2) is first
    assert calls == [(u + 1) ** 2]


def test_arguments_with_floats_are_computed_every_time():
    # SymPy before 1.13 compares Float(0.5, 15) and Float(0.5, 30) equal: a memo could answer
    # for the other precision
    calls: list[sp.Basic] = []

    @memoised
    def record(expr: sp.Basic) -> sp.Basic:
        calls.append(expr)
        return expr

    record(sp.Float("0.1", 15) * u)
    record(sp.Float("0.1", 15) * u)
    assert len(calls) == 2


def test_simplified_and_nice_are_simplify_and_remembered():
    expr = sp.sin(u) ** 2 + sp.cos(u) ** 2 + sp.log(u)
    assert simplified(expr) == sp.simplify(expr)
    assert simplified(expr) is simplified(expr)
    assert nice(expr) is nice(expr)


def test_a_real_value_away_from_zero_is_clearly_nonzero():
    assert clearly_nonzero(KL_SYMMETRY_RESIDUAL)
    assert clearly_nonzero(KL_SYMMETRY_RESIDUAL.subs(u, 3))
    assert clearly_nonzero(sp.log(u) + s)


def test_zeros_decide_nothing():
    for expr in ZERO_IDENTITIES:
        assert not clearly_nonzero(expr), expr


def test_what_cannot_be_evaluated_safely_decides_nothing():
    assert not clearly_nonzero(t - 1)  # t is real, not positive: the sample may leave the domain
    assert not clearly_nonzero(sp.LambertW(u) - u)  # Lambert W: the engine's branch rules
    assert not clearly_nonzero(sp.log(1 - u))  # complex at the sample point
    assert not clearly_nonzero(1 / (3 * u - 7))  # undefined at the sample point u = 7/3
    assert not clearly_nonzero(sp.exp(-100 * u))  # real but tiny: not away from zero
    assert not clearly_nonzero(sp.Function("f")(u))  # no value


def test_is_zero_decides_as_before():
    for expr in ZERO_IDENTITIES:
        assert is_zero(expr), expr
    assert not is_zero(KL_SYMMETRY_RESIDUAL)
    assert not is_zero(t - 1)
    assert is_zero(sp.cosh(sp.asinh(t)) - sp.sqrt(1 + t**2))


def test_the_symmetry_step_names_the_same_witness():
    step = symmetry_step(dv.get("kl").derived.generator, False)
    assert step.passed and step.method == "symbolic"
    assert step.detail == "f(u) - u f(1/u) - c (u - 1) is nonzero at u = 3"
    symmetric = symmetry_step(dv.get("js").derived.generator, True)
    assert symmetric.passed and symmetric.method == "symbolic"
