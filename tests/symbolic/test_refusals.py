"""Generators the engine must refuse, each with its exception type and a message naming why."""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp

import divergences as dv
from divergences import DerivationError, InvalidGeneratorError, NotConvexError

x = sp.Symbol("x")
y = sp.Symbol("y")


def make(expr, var=x, **kwargs):
    return dv.FDivergence.from_generator(expr, var, name="mine", **kwargs)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        pytest.param(x * sp.log(x) + 1, r"f\(1\) = 1 != 0", id="offset"),
        pytest.param(
            x * sp.log(x) * y, r"one positive variable x: it also depends on y", id="two-vars"
        ),
        pytest.param(sp.Integer(0) * x + 3, r"does not depend on x", id="constant"),
        pytest.param((x - 1) ** 2 / (x - 2), r"singularity in \(0, oo\)", id="pole"),
        pytest.param(
            (x - 1) * sp.log(x - sp.Rational(1, 2)), r"singularity in \(0, oo\)", id="log-neg"
        ),
        pytest.param(2 * (x - 1), r"affine: the divergence would be identically zero", id="affine"),
        pytest.param(sp.I * (x - 1) ** 2, r"must be real", id="complex"),
    ],
)
def test_invalid_generators_are_refused(expr, message):
    with pytest.raises(InvalidGeneratorError, match=message) as info:
        make(expr)
    assert "'mine'" in str(info.value)  # the message names the generator
    assert not isinstance(info.value, NotConvexError)
    assert isinstance(info.value, ValueError)


def test_variable_must_be_a_symbol():
    with pytest.raises(InvalidGeneratorError, match="must be a SymPy Symbol"):
        make(x * sp.log(x), var="x")


def test_non_expression_is_refused():
    with pytest.raises(InvalidGeneratorError, match="not a SymPy expression"):
        make(sp.Interval(0, 1))


def test_offset_is_accepted_when_allowed():
    d = make(x * sp.log(x) + 1, allow_offset=True)
    assert d.offset == 1
    assert d.has_offset
    # f*(t) = sup_u (u t - u log u - 1) = e^{t-1} - 1
    assert sp.simplify(d.conjugate(sp.Symbol("t")) - (sp.exp(sp.Symbol("t") - 1) - 1)) == 0


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        pytest.param(
            -x * sp.log(x), r"f''\(u\) = -1/u < 0 for u in Interval.open\(0, oo\)", id="concave"
        ),
        pytest.param(x**3 - 3 * x**2 + 2, r"< 0 for u in Interval.open\(0, 1\)", id="cubic"),
        pytest.param(-sp.Abs(x - 1), r"slope drops at the junction u = 1", id="kink-down"),
        pytest.param(
            x**2 + 3 * sp.sin(x) - 1 - 3 * sp.sin(1), r"not convex on \(0, oo\)", id="trig"
        ),
    ],
)
def test_non_convex_generators_are_refused(expr, message):
    with pytest.raises(NotConvexError, match=message) as info:
        make(expr)
    assert "generator 'mine' is not convex" in str(info.value)
    assert isinstance(info.value, InvalidGeneratorError)


def test_no_closed_form_falls_back_to_the_numeric_conjugate():
    # convex (f'' = 2 - sin u > 0) but f'(u) = 2u + cos u = t has no closed-form inverse: it used
    # to be a DerivationError; now f* is the numeric conjugate for t > f'(0+) = 1 and the limit
    # -f(0+) = 1 + sin 1 below (oracle: the root of the hand-typed f' by mpmath.findroot)
    from divergences.symbolic.legendre import ConjugateValue

    expr = x**2 + sp.sin(x) - 1 - sp.sin(1)
    d = make(expr)
    assert d.derived.verified
    assert d.conjugate.expr.has(ConjugateValue)
    t = d.conjugate.variables[0]
    with mpmath.workdps(40):
        assert abs(mpmath.mpf(sp.N(d.conjugate(0), 40)) - (1 + mpmath.sin(1))) < 1e-35
        root = mpmath.findroot(lambda y: 2 * y + mpmath.cos(y) - 5, 2)
        want = 5 * root - (root**2 + mpmath.sin(root) - 1 - mpmath.sin(1))
        assert abs(mpmath.mpf(sp.N(d.conjugate.expr.subs(t, 5), 40)) - want) < 1e-30


def test_invalid_activation_is_refused():
    # reverse KL's domain is (-oo, 0); the identity maps R outside it
    v = sp.Symbol("v")
    with pytest.raises(DerivationError, match="g_f is increasing and maps R onto"):
        make(-sp.log(x), activation=v, activation_var=v)


def test_unknown_name_lists_the_registry():
    with pytest.raises(KeyError, match="unknown divergence 'kll'; registered: kl, reverse_kl"):
        dv.get("kll")


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("alpha", {"alpha": 1}, "alpha must not be 0 or 1"),
        ("alpha", {"alpha": 0.0}, "alpha must not be 0 or 1"),
        ("alpha", {"alpha": math.nan}, "parameter alpha must be finite"),
        ("alpha", {"alpha": "two"}, "parameter alpha must be a finite real number"),
        ("alpha", {"beta": 2}, "'alpha' takes alpha; got beta"),
        ("js_weighted", {"pi": 1.5}, r"pi must lie in \(0, 1\)"),
        ("kl", {"alpha": 2}, "'kl' takes no parameters; got alpha"),
    ],
)
def test_bad_parameters_are_refused(name, params, message):
    with pytest.raises(InvalidGeneratorError, match=message):
        dv.get(name, **params)
