"""SymPy objects are data too: names inside an expression never reach executed code.

A generator built in Python can hold an undefined function or a symbol whose *name* is Python
source. SymPy's ``lambdify`` and the emitter print names into source they execute, so such
expressions are refused before anything is derived (:func:`check_expression`), and the printer
refuses to print any name that is not a plain identifier. Oracle for "nothing ran": a marker file
each payload would create stays absent and nothing is printed.
"""

from __future__ import annotations

import pytest
import sympy as sp

import divergences as dv
from divergences import DerivationError, InvalidGeneratorError
from divergences.numeric.emit.printer import pieces_source
from divergences.symbolic.parse import check_expression

u = sp.Symbol("u", positive=True)
v = sp.Symbol("v", real=True)
MARKER = "divergences-sympy-marker"
CODE = f"__import__('pathlib').Path('{MARKER}').touch() or exp"


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    assert not (tmp_path / MARKER).exists(), "a name from an expression was executed"


REFUSED_GENERATORS = {
    "undefined function named by code": sp.Function(CODE)(u - 1) - u,
    "undefined function f": sp.Function("f")(u) + (u - 1) ** 2,
    "integral with a bound variable": sp.Integral(u * sp.Symbol("w"), (sp.Symbol("w"), 0, 1))
    * (u - 1) ** 2,
    "sum with a bound variable": sp.Sum(sp.Symbol("k") * u, (sp.Symbol("k"), 1, 2)) - 3 * u,
    "derivative object": sp.Derivative(sp.Function("g")(u), u) + u**2,
    "non-whitelisted function": sp.erf(u) * u,
}


@pytest.mark.parametrize("case", list(REFUSED_GENERATORS))
def test_generators_with_foreign_objects_are_refused(case, sandbox, capfd):
    with pytest.raises(InvalidGeneratorError, match="not allowed"):
        dv.FDivergence.from_generator(REFUSED_GENERATORS[case], u, name="attack")
    assert capfd.readouterr().out == ""


def test_a_symbol_named_by_code_is_refused(sandbox, capfd):
    foreign = sp.Symbol(CODE)
    with pytest.raises(InvalidGeneratorError, match="also depends on"):
        dv.FDivergence.from_generator((u - 1) ** 2 + foreign * 0 + foreign, u, name="attack")
    assert capfd.readouterr().out == ""


def test_a_variable_named_by_code_is_refused(sandbox):
    evil = sp.Symbol(CODE, positive=True)
    with pytest.raises(InvalidGeneratorError, match="plain name"):
        dv.FDivergence.from_generator((evil - 1) ** 2, evil, name="attack")


def test_an_activation_object_with_a_foreign_function_is_refused(sandbox):
    with pytest.raises(InvalidGeneratorError, match="undefined function"):
        dv.FDivergence.from_generator(
            (u - 1) ** 2, u, name="attack", activation=sp.Function(CODE)(v)
        )


def test_proposition_overrides_are_checked(sandbox):
    from gan_theory import propositions

    # a proposition records an exception as its final failed step instead of raising it
    (step,) = propositions.get("global_optimum").check(constant=sp.Function(CODE)(1))
    assert not step.passed
    assert "InvalidGeneratorError" in step.detail and "undefined function" in step.detail


@pytest.mark.parametrize(
    "expression",
    [
        (u - 1) ** 2 / (u + 1),
        sp.Piecewise((1 - u, sp.And(u > 0, u < 1)), (u - 1, True)),
        sp.Max(u, 1 / u) - 1 + sp.pi * sp.E * 0,
        sp.sqrt(u) * sp.log(u) + sp.Abs(u - 1) + sp.tanh(u) + sp.LambertW(u),
    ],
)
def test_whitelisted_objects_pass_unchanged(expression):
    assert check_expression(expression, (u,)) is expression


def test_the_printer_refuses_names_that_are_not_identifiers():
    evil = sp.Symbol(CODE, real=True)
    with pytest.raises(DerivationError, match="not a plain identifier"):
        pieces_source([(evil + 1, sp.Reals)], evil, "f")
    t = sp.Symbol("t", real=True)
    with pytest.raises(DerivationError, match="not a plain identifier"):
        pieces_source([(t + evil, sp.Reals)], t, "f")
    with pytest.raises(DerivationError, match="not a plain identifier"):
        pieces_source([(t + 1, sp.Reals)], t, "f(); import os; def g")
    assert pieces_source([(t + 1, sp.Reals)], t, "f").startswith("def f(t):")
