r"""The emitter's search is bounded in time and its sign decisions never guess (issue 17, item 5).

The pseudo-Huber generator :math:`f(u) = \sqrt{1 + (u-1)^2} - 1` used to hang the f-GAN loss
(``solveset`` on 1000-operation radicands in the sign queries of the stability rewrites). Its
emitted functions are compared here with mpmath on closed forms derived by hand:
:math:`f'(u) = (u-1)/\sqrt{1 + (u-1)^2}` increases from :math:`a = f'(0^+) = -1/\sqrt 2` to
:math:`b = 1`; for :math:`a < t < 1`, :math:`u^* = 1 + t/\sqrt{1 - t^2}` and

.. math::
    f^*(t) = t u^* - f(u^*) = t + 1 - \sqrt{1 - t^2},

:math:`f^*(1) = \lim_{u\to\infty} (u - f(u)) = 2` (closed end),
:math:`f^*(t) = -f(0^+) = 1 - \sqrt 2` for :math:`t \le a`, and :math:`+\infty` for :math:`t > 1`.
With the derived activation
:math:`g(v) = 1 - e^{-v}`, :math:`f^*(g(v))` is :math:`1 - \sqrt 2` for
:math:`v \le -\log(1 + 1/\sqrt 2)` and :math:`2 - e^{-v} - \sqrt{e^{-v}(2 - e^{-v})}` above.

Tolerance: ``16 eps (max(1, |h(x)|) + |x h'(x)|)`` in float64 for ``h = f*`` or ``f* o g``:
the bound of :mod:`tests.emit.cases` (the second term is what rounding ``x`` itself costs: ``f*``
is steep next to ``t = 1``), with ``max(1, .)`` because next to ``v = 0`` (``t = 0``) the emitted
form is a difference of two terms of size 1, accurate to a few ulps of 1 (about ``5e-17`` at
``v = 1e-8``), not of the value.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import mpmath
import pytest
import sympy as sp
import torch

import divergences as dv
from divergences import DerivationError
from divergences.losses import fgan_critic_loss
from divergences.numeric.emit import emitted as emitted_module
from divergences.numeric.emit import rewrite
from divergences.numeric.emit.rewrite import _sign_on_region, check_budget, time_budget
from divergences.symbolic.symbols import t, v

U = sp.Symbol("u", positive=True)
EPS = torch.finfo(torch.float64).eps
V_GRID = [
    -1e4, -100.0, -10.0, -1.0, -0.6, -0.5348, -0.5, -0.1, -1e-3, -1e-8, 0.0, 1e-8, 1e-3, 0.1,
    0.5, 1.0, 5.0, 20.0, 40.0, 100.0, 700.0, 1e4,
]  # fmt: skip
T_GRID = [-1e4, -1.0, -0.75, -0.7, -0.5, -1e-8, 0.0, 1e-8, 0.5, 0.9, 1 - 1e-8, 1 - 2**-52, 1.0]
KINKS = (1.0,)  # t = 1, the closed end: one-sided, no slope to take


@pytest.fixture(scope="module")
def huber() -> dv.FDivergence:
    return dv.FDivergence.from_generator("sqrt(1 + (u - 1)**2) - 1", U, name="pseudo_huber")


def fstar(tv: mpmath.mpf) -> mpmath.mpf:
    if tv <= -1 / mpmath.sqrt(2):
        return 1 - mpmath.sqrt(2)
    if tv > 1:
        return mpmath.inf
    return tv + 1 - mpmath.sqrt(1 - tv**2)


def activation(x: float) -> mpmath.mpf:
    return -mpmath.expm1(-mpmath.mpf(x))


def assert_float64_close(
    got: list[float], h: Callable[[mpmath.mpf], mpmath.mpf], where: list[float]
) -> None:
    """``|got - h(x)| <= 16 eps (max(1, |h(x)|) + |x h'(x)|)`` at every point (see the module
    docstring; ``|x h'(x)|`` is the part a rounding of ``x`` itself contributes, as in
    :mod:`tests.emit.cases`)."""
    with mpmath.workdps(50):
        for x, g in zip(where, got, strict=True):
            exact = h(mpmath.mpf(x))
            if mpmath.isinf(exact):
                assert g == math.inf, (x, g)
                continue
            step = mpmath.mpf(10) ** -20 * max(1, abs(x))
            slope = (h(x + step) - h(x - step)) / (2 * step) if x not in KINKS else 0
            bound = 16 * EPS * (max(1, abs(exact)) + abs(x * slope))
            assert abs(g - exact) <= bound, (x, g, exact)


def test_pseudo_huber_conjugate_is_the_closed_form(huber):
    with mpmath.workdps(50):
        for x in (-3, "-0.7", 0, "0.5", "0.999", 1):
            tv = sp.Rational(x)
            got = mpmath.mpf(sp.N(huber.conjugate(tv), 50))
            assert abs(got - fstar(mpmath.mpf(sp.N(tv, 60)))) < 1e-40, x
    assert huber.conjugate_domain == sp.Interval(-sp.oo, 1)


def test_pseudo_huber_emitted_functions_match_mpmath(huber):
    e = huber.torch
    got = e.conjugate_of_activation(torch.tensor(V_GRID, dtype=torch.float64)).tolist()
    assert_float64_close(got, lambda x: fstar(activation(x)), V_GRID)
    got = e.conjugate(torch.tensor(T_GRID, dtype=torch.float64)).tolist()
    assert_float64_close(got, fstar, T_GRID)
    assert e.conjugate(torch.tensor([1.5], dtype=torch.float64)).item() == math.inf


def test_pseudo_huber_fgan_critic_loss_matches_mpmath(huber):
    real = torch.tensor(V_GRID, dtype=torch.float64)
    fake = torch.tensor(V_GRID[::-1], dtype=torch.float64) * 0.5
    with mpmath.workdps(50):
        mean_real = mpmath.fsum(activation(x) for x in real.tolist()) / len(V_GRID)
        mean_fake = mpmath.fsum(fstar(activation(x)) for x in fake.tolist()) / len(V_GRID)
        exact = mean_fake - mean_real  # E_Q[f*(g(v))] - E_P[g(v)], to be minimised
    loss = fgan_critic_loss(huber, real, fake)
    # g(-1e4) = 1 - e^{1e4} overflows to -inf in float64, and so does its mean: exact too
    assert exact > 1e300 and loss.item() == math.inf
    small = torch.tensor(V_GRID[3:], dtype=torch.float64)
    with mpmath.workdps(50):
        mean_real = mpmath.fsum(activation(x) for x in small.tolist()) / len(small)
        mean_fake = mpmath.fsum(fstar(activation(x)) for x in small.tolist()) / len(small)
        exact = mean_fake - mean_real
    loss = fgan_critic_loss(huber, small, small).item()
    assert abs(loss - float(exact)) <= 16 * EPS * max(1, abs(float(exact))), (loss, exact)


# --------------------------------------------------------------------------------------------
# The time budget
# --------------------------------------------------------------------------------------------


def test_search_stops_with_derivation_error_once_the_budget_is_spent(huber, monkeypatch):
    monkeypatch.setattr(emitted_module, "SEARCH_BUDGET_S", 0.0)
    with pytest.raises(DerivationError) as info:
        emitted_module._search(huber.derived, "conjugate")
    message = str(info.value)
    assert "generator 'pseudo_huber', conjugate" in message
    assert "time budget of 0 s" in message


def test_budget_is_scoped():
    check_budget()  # no budget outside a search: nothing to spend
    with time_budget(0.0, "outer"):
        with pytest.raises(DerivationError, match="outer"):
            check_budget()
        with time_budget(60.0, "inner"):
            check_budget()
        with pytest.raises(DerivationError, match="outer"):
            check_budget()
    check_budget()


# --------------------------------------------------------------------------------------------
# Sign decisions: proved or unknown, and cheap
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "region", "sign"),
    [
        (1 - t, sp.Interval.open(-sp.oo, 1), 1),
        (t - 2, sp.Interval.open(-sp.oo, 2), -1),
        # solveset's end log(4)/4 compared with the region's log(2)/2 (once undecidable)
        (sp.exp(4 * t) - 4, sp.Interval.open(-sp.oo, sp.log(2) / 2), -1),
        (2 * v + 1, sp.Interval.open(-sp.Rational(1, 2), sp.oo), 1),
        (t, sp.Interval.open(-1, 1), None),  # changes sign: seen at the sample points
        # positive at every sample point, negative next to t = 0.1234: never a guess
        (
            (t - sp.Rational(1234, 10000)) ** 2 * (t**2 + 1) ** 3 - sp.Rational(1, 10**20),
            sp.Interval.open(-1, 1),
            None,
        ),
    ],
)
def test_sign_is_proved_or_unknown(expr, region, sign):
    assert _sign_on_region.__wrapped__(expr, expr.free_symbols.pop(), region) == sign


def test_sign_of_a_large_expression_does_not_call_solveset(monkeypatch):
    # a radicand of the old, unsimplified pseudo-Huber conjugate composed with 1 - exp(-v): one
    # solveset call on it ran for many minutes
    inner = ((1 - sp.exp(-v)) ** 2 - (1 - sp.exp(-v)) * sp.sqrt(1 - (1 - sp.exp(-v)) ** 2) - 1) / (
        (1 - sp.exp(-v)) ** 2 - 1
    )
    radicand = (inner - 1) ** 2 + 1 + sp.sqrt(inner**2 + 3) / (inner + 5)
    assert sp.count_ops(radicand) > rewrite.SOLVESET_MAX_OPS
    calls = []
    monkeypatch.setattr(sp, "solveset", lambda *a, **k: calls.append(a) or sp.S.EmptySet)
    region = sp.Interval.open(-sp.log(sp.sqrt(2) / 2 + 1), sp.oo)
    _sign_on_region.__wrapped__(radicand, v, region)
    assert not calls


def test_internal_error_in_the_search_becomes_a_derivation_error(huber, monkeypatch):
    def broken(*args):
        raise NameError("name 'cosh' is not defined")

    monkeypatch.setattr(emitted_module, "_choose_pieces", broken)
    with pytest.raises(DerivationError) as info:
        emitted_module._search(huber.derived, "activation")
    message = str(info.value)
    assert "generator 'pseudo_huber', activation: internal error in emitted." in message
    assert "NameError: name 'cosh' is not defined" in message
    assert isinstance(info.value.__cause__, NameError)
