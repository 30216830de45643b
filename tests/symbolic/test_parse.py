"""Text is data: the whitelisted parser of mathematics given as strings.

Oracle for accepted texts: the same expression built directly with SymPy objects (exact equality
after ``expand``). For refused texts: nothing runs (a marker file and an environment variable that
each payload would create stay absent, no output is printed) and a ValueError subclass names the
construct.
"""

from __future__ import annotations

import os

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import divergences as dv
from divergences import InvalidGeneratorError
from divergences.symbolic.parse import (
    MAX_DEPTH,
    MAX_LENGTH,
    as_expression,
    parse_expression,
    simplest_fraction,
)

u = sp.Symbol("u", positive=True)
v = sp.Symbol("v", real=True)
MARKER = "divergences-parse-marker"
ENV = "DIVERGENCES_PARSE_MARKER"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(u - 1)**2 / (u + 1)", (u - 1) ** 2 / (u + 1)),
        ("u*log(u)", u * sp.log(u)),
        ("0.3*u*log(u) - 0.7", sp.Rational(3, 10) * u * sp.log(u) - sp.Rational(7, 10)),
        ("abs(u - 1)/2", sp.Abs(u - 1) / 2),
        ("Max(u, 1/u) - 1", sp.Max(u, 1 / u) - 1),
        ("-log(u) + +u - u", -sp.log(u)),
        ("sqrt(u) - 2*exp(-u) + pi*E", sp.sqrt(u) - 2 * sp.exp(-u) + sp.pi * sp.E),
        ("log(cosh(u - 1))", sp.log(sp.cosh(u - 1))),
        (
            "Piecewise((1 - u, u < 1), (2*(u - 1), True))",
            sp.Piecewise((1 - u, u < 1), (2 * u - 2, True)),
        ),
        ("u**-2 + 2**10", u**-2 + 1024),
        ("(1 + u)*log((1 + u)/(2*sqrt(u)))", (1 + u) * sp.log((1 + u) / (2 * sp.sqrt(u)))),
    ],
)
def test_accepted_texts_build_the_expression(text: str, expected: sp.Expr) -> None:
    got = parse_expression(text, {"u": u})
    assert sp.expand(got - expected) == 0


PAYLOADS = [
    f"__import__('os').system('touch {MARKER}') or (u-1)**2",
    f"__import__('pathlib').Path('{MARKER}').touch()",
    f"open('{MARKER}', 'w')",
    f"exec(\"open('{MARKER}', 'w')\")",
    f"eval(\"__import__('os').putenv('{ENV}', '1')\")",
    "().__class__.__bases__[0].__subclasses__()",
    "u.__class__.__mro__",
    "getattr(u, '__class__')",
    "globals()",
    "__builtins__",
    "lambda: 1",
    "[x for x in (1, 2)]",
    "{u for u in ()}",
    "f'{u}'",
    "9**9**9",
    "2**(10**9 + 0.5)",
    "1" * 400 + "*u",
    "exp(" * 200 + "u" + ")" * 200,
    "-" * 500 + "u",
    "u + " * 600 + "u",
    "(u := 1)",
    "u if u else 1",
    "u[0]",
    "u and 1",
    "not u",
    "u == 1",
    "b'1' * u",
    "1j * u",
    "... * u",
    "log(u, base=2)",
    "exp(*[u])",
    "Function('f')(u)",
    "Symbol('x') + u",
    "sympify('1') + u",
    "x + u",
    "exp(u).func",
    "Piecewise((u, u.__class__), (1, True))",
    "u; import os",
    "'u'",
    "breakpoint()",
]


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV, raising=False)
    yield tmp_path
    assert not (tmp_path / MARKER).exists()
    assert ENV not in os.environ


def test_there_are_enough_payloads() -> None:
    assert len(PAYLOADS) >= 20


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_refused_by_the_parser(payload: str, sandbox, capfd) -> None:
    with pytest.raises(InvalidGeneratorError):
        parse_expression(payload, {"u": u}, what="generator")
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_refused_as_a_generator(payload: str, sandbox, capfd) -> None:
    with pytest.raises(ValueError):
        dv.FDivergence.from_generator(payload, u, name="attack")
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize("payload", PAYLOADS[:12])
def test_payload_is_refused_as_an_activation(payload: str, sandbox, capfd) -> None:
    with pytest.raises(ValueError):
        dv.FDivergence.from_generator(
            (u - 1) ** 2, u, name="attack", activation=payload.replace("u", "v")
        )
    assert capfd.readouterr().out == ""


def test_the_issue_payload_prints_nothing(capfd) -> None:
    # issue 17: this string used to print INJECTED (sympify evaluates Python) and be accepted
    with pytest.raises(InvalidGeneratorError, match=r"refused: a boolean operator"):
        dv.FDivergence.from_generator(
            "__import__('os').system('echo INJECTED') or (u-1)**2", u, name="attack"
        )
    assert "INJECTED" not in capfd.readouterr().out


def test_messages_name_the_construct() -> None:
    cases = {
        "u.__class__": "attribute access .__class__",
        "x + u": "unknown name 'x'",
        "foo(u)": "unknown function 'foo'",
        "lambda: u": "a lambda",
        "9**9**9": "too large to compute",
        "log(u, base=2)": "keyword arguments",
        "u ==": "is not an expression",
    }
    for text, fragment in cases.items():
        with pytest.raises(InvalidGeneratorError, match=fragment.replace("(", r"\(")):
            parse_expression(text, {"u": u})


def test_limits_on_length_and_depth() -> None:
    with pytest.raises(InvalidGeneratorError, match=f"longer than {MAX_LENGTH}"):
        parse_expression("u" + " + u" * MAX_LENGTH, {"u": u})
    deep = "exp(" * (MAX_DEPTH + 5) + "u" + ")" * (MAX_DEPTH + 5)
    with pytest.raises(InvalidGeneratorError, match="nested deeper"):
        parse_expression(deep, {"u": u})
    shallow = "exp(" * 10 + "u" + ")" * 10
    assert parse_expression(shallow, {"u": u}).has(sp.exp)


def test_a_text_generator_derives_like_the_expression() -> None:
    by_text = dv.FDivergence.from_generator("(u - 1)**2", u, name="pearson_text")
    assert by_text.conjugate == dv.get("pearson").conjugate
    assert by_text.conjugate_domain == dv.get("pearson").conjugate_domain


def test_a_text_activation_is_parsed_in_its_variable() -> None:
    s = sp.Symbol("s", real=True)
    d = dv.FDivergence.from_generator(
        (u - 1) ** 2, u, name="pearson_act", activation="2*s", activation_var=s
    )
    assert d.activation(v) == 2 * v


def test_as_expression_accepts_numbers_and_sympy_and_refuses_other_objects() -> None:
    assert as_expression(2) == 2
    assert as_expression(sp.log(4)) == sp.log(4)
    assert as_expression("log(4)") == sp.log(4)

    class Shady:
        def __str__(self) -> str:
            return f"__import__('os').putenv('{ENV}', '1')"

    with pytest.raises(InvalidGeneratorError, match="not a number or SymPy"):
        as_expression(Shady())
    assert ENV not in os.environ


def test_variable_names_must_be_plain_identifiers() -> None:
    with pytest.raises(InvalidGeneratorError, match="plain identifier"):
        parse_expression("u", {"__u": u})


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_simplest_fraction_rounds_back_and_is_never_longer_than_the_decimal(value: float) -> None:
    exact = simplest_fraction(value)
    assert float(exact) == value
    assert exact.q <= sp.Rational(repr(value)).q


@pytest.mark.parametrize(
    ("value", "exact"),
    [
        (1 / 3, sp.Rational(1, 3)),
        (2 / 7, sp.Rational(2, 7)),
        (0.35, sp.Rational(7, 20)),
        (0.1, sp.Rational(1, 10)),
        (1e-300, sp.Rational(1, 10**300)),
        (1.5e300, 15 * sp.Integer(10) ** 299),
        (0.333, sp.Rational(333, 1000)),  # 1/3 does not round to 0.333
    ],
)
def test_simplest_fraction_examples(value: float, exact: sp.Expr) -> None:
    assert simplest_fraction(value) == exact
    assert parse_expression(repr(value), {}) == exact
