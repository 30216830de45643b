"""The memos of the candidate search (``divergences/numeric/emit/rewrite.py``) change nothing.

``stabilise`` and ``sympy.simplify`` are remembered per process, and ``_symbolic_forms`` skips
the second base when ``simplify`` returns its input. Each test compares with a computation from
empty memos, or with the forms the definition lists (every rewrite of both bases).
"""

from __future__ import annotations

import sympy as sp

from divergences.numeric.emit import rewrite
from divergences.symbolic.simplify import nice, simplified
from divergences.symbolic.symbols import t, u, v

EXPRESSIONS = (
    (u * sp.log(u) - (u + 1) * sp.log(u + 1), u, sp.Interval.open(0, sp.oo)),
    (
        sp.Rational(7, 10) * sp.log(-7 / (3 * sp.exp(10 * t / 3) - 10)),
        t,
        sp.Interval.open(-sp.oo, 1),
    ),
    (sp.log(1 + sp.exp(v)), v, sp.Reals),
    ((u - 1) ** 2 / u, u, sp.Interval.open(0, sp.oo)),
)


def _clear_memos() -> None:
    for memo in (rewrite._stabilised, rewrite._symbolic_forms, simplified, nice):
        memo.cache_clear()


def _sreprs(forms: list[sp.Expr]) -> list[str]:
    return [sp.srepr(form) for form in forms]


def test_candidates_from_empty_memos_and_from_full_ones_are_the_same():
    fresh = []
    for expr, var, region in EXPRESSIONS:
        _clear_memos()
        fresh.append(_sreprs(rewrite.candidate_forms(expr, var, region)))
    remembered = [
        _sreprs(rewrite.candidate_forms(expr, var, region)) for expr, var, region in EXPRESSIONS
    ]
    assert remembered == fresh


def test_stabilise_returns_the_remembered_result():
    expr = sp.log(1 + sp.exp(-v)) - sp.exp(v) + 1
    first = rewrite.stabilise(expr, shift=True)
    assert rewrite.stabilise(expr, shift=True) is first
    assert rewrite.stabilise(expr, shift=False) == rewrite._bottom_up(
        expr, rewrite._Rules(False, False, None, None)
    )


def test_an_expression_with_floats_is_stabilised_every_time():
    expr = sp.log(1 + sp.Float("0.5", 30) * u)
    before = rewrite._stabilised.cache_info().currsize
    assert rewrite.stabilise(expr) == rewrite._bottom_up(
        expr, rewrite._Rules(False, False, None, None)
    )
    assert rewrite._stabilised.cache_info().currsize == before


def _definition(expr: sp.Expr) -> list[sp.Expr]:
    """The forms as the definition lists them: every rewrite of both bases."""
    simple = sp.simplify(expr)
    forms = [expr, simple]
    for base in (expr, simple):
        if base.has(sp.log):
            combined = sp.logcombine(base)
            forms += [sp.expand_log(base), combined, rewrite._log1p_form(combined)]
        if base.is_Add or base.is_Mul:
            forms += [sp.factor(base), sp.expand(base)]
    return forms


def test_the_symbolic_forms_are_those_of_both_bases_in_the_same_first_order():
    for expr in (
        u * sp.log(u),
        (u - 1) ** 2,
        sp.log(u) + sp.log(u + 1),
        *(e for e, *_ in EXPRESSIONS),
    ):
        got = list(rewrite._symbolic_forms_uncached(expr))
        assert list(dict.fromkeys(_sreprs(got))) == list(dict.fromkeys(_sreprs(_definition(expr))))
