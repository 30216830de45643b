r"""The f-GAN paper's Table 2 as printed, its errata, and its mapping to this library's conventions.

Source: S. Nowozin, B. Cseke, R. Tomioka, "f-GAN: Training Generative Neural Samplers using
Variational Divergence Minimization", NeurIPS 2016 (arXiv:1606.00709). Table 2 ("Recommended
final layer activation functions and critical variational function level defined by f'(1)";
columns: output activation g_f, dom f*, conjugate f*(t), f'(1)); the generators ``f(u)`` are the
paper's Table 1. The rows are typed in by hand from the paper; nothing is taken from the library
(only its canonical SymPy symbols ``u``, ``t``, ``v``).

The paper takes ``f*(t)`` as the supremum over the whole domain of ``f``, and for Pearson and total
variation its formulas are the conjugates of ``f`` extended to all real ``u``. The library takes
the supremum over ``u > 0`` only (the ratio of two densities). The differences, as errata of the
table under the library's conventions (:data:`ERRATA`):

(a) Jensen-Shannon: the paper's generator ``u log u - (u+1) log((u+1)/2)`` lacks the 1/2 and gives
    2 JS; its conjugate ``-log(2 - e^t)`` on ``t < log 2`` and its activation belong to 2 JS. For
    JS = (that generator)/2, ``f*_JS(t) = f*_table(2t)/2`` on ``t < log(2)/2`` and the library's
    activation is half of the table's (the table's maps into ``(-oo, log 2)``, outside the domain).
(b) Pearson chi^2: ``t^2/4 + t`` on all of R is the conjugate of ``(u-1)^2`` over all real ``u``;
    over ``u > 0`` the supremum for ``t < -2`` is at ``u -> 0+``: ``f*(t) = -f(0) = -1``. The two
    agree for ``t >= -2``.
(c) Total variation (``f = |u-1|/2``): ``f*(t) = t`` on ``|t| <= 1/2`` is the conjugate over all
    real ``u``; over ``u > 0`` the domain is ``(-oo, 1/2]`` with ``f*(t) = -1/2`` for ``t < -1/2``.
    They agree on ``[-1/2, 1/2]``.
(d) GAN, KL, reverse KL, squared Hellinger, Jeffrey: the table is right under the library's
    conventions.
(e) Neyman chi^2: the table's dom f* is ``t < 1``, but over ``u > 0`` the supremum at ``t = 1`` is
    ``lim (2 - 1/u) = 2``, finite (not attained): the domain is ``(-oo, 1]``, and ``f*(1) = 2`` is
    the table's formula ``2 - 2 sqrt(1 - t)`` at ``t = 1``.

:func:`library_row` applies exactly these conversions (and nothing else) to a row: it is the
single place where the paper's conventions become the library's. The conjugate it returns is
written for every real ``t`` (``oo`` outside the domain; the constant branch ``-f(0+)`` below
``f'(0+)`` where the paper's stationary point leaves ``u > 0``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import sympy as sp

from divergences.symbolic.symbols import t, u, v

__all__ = [
    "AGREEING_CONJUGATES",
    "AGREEING_DOMAINS",
    "ERRATA",
    "TABLE_2",
    "FganRow",
    "LibraryRow",
    "library_row",
]

half = sp.Rational(1, 2)
log2 = sp.log(2)


@dataclass(frozen=True)
class FganRow:
    """One row of Table 2 as printed (with the row's generator from Table 1)."""

    paper: str  # the row's name in the paper
    name: str  # the registry name it corresponds to
    generator: sp.Expr  # f(u), Table 1
    conjugate: sp.Expr  # f*(t) on dom f*, in t
    domain: sp.Interval  # dom f*
    activation: sp.Expr  # g_f(v), in v
    fprime_at_1: sp.Expr  # the f'(1) column
    erratum: str  # the letter of the erratum in the module docstring


TABLE_2: Mapping[str, FganRow] = MappingProxyType({
    row.name: row
    for row in (
        FganRow(
            "Kullback-Leibler (KL)", "kl", u * sp.log(u), sp.exp(t - 1),
            sp.Interval(-sp.oo, sp.oo), v, sp.Integer(1), "d",
        ),
        FganRow(
            "Reverse KL", "reverse_kl", -sp.log(u), -1 - sp.log(-t), sp.Interval.open(-sp.oo, 0),
            -sp.exp(-v), sp.Integer(-1), "d",
        ),
        FganRow(
            "Pearson chi^2", "pearson", (u - 1) ** 2, t**2 / 4 + t, sp.Interval(-sp.oo, sp.oo),
            v, sp.Integer(0), "b",
        ),
        FganRow(
            "Neyman chi^2", "neyman", (1 - u) ** 2 / u, 2 - 2 * sp.sqrt(1 - t),
            sp.Interval.open(-sp.oo, 1), 1 - sp.exp(-v), sp.Integer(0), "e",
        ),
        FganRow(
            "Squared Hellinger", "squared_hellinger", (sp.sqrt(u) - 1) ** 2, t / (1 - t),
            sp.Interval.open(-sp.oo, 1), 1 - sp.exp(-v), sp.Integer(0), "d",
        ),
        FganRow(
            "Jeffrey", "jeffrey", (u - 1) * sp.log(u),
            sp.LambertW(sp.exp(1 - t)) + 1 / sp.LambertW(sp.exp(1 - t)) + t - 2,
            sp.Interval(-sp.oo, sp.oo), v, sp.Integer(0), "d",
        ),
        FganRow(
            "Jensen-Shannon", "js", u * sp.log(u) - (u + 1) * sp.log((u + 1) / 2),
            -sp.log(2 - sp.exp(t)), sp.Interval.open(-sp.oo, log2),
            log2 - sp.log(1 + sp.exp(-v)), sp.Integer(0), "a",
        ),
        FganRow(
            "GAN", "gan", u * sp.log(u) - (u + 1) * sp.log(u + 1), -sp.log(1 - sp.exp(t)),
            sp.Interval.open(-sp.oo, 0), -sp.log(1 + sp.exp(-v)), -log2, "d",
        ),
        FganRow(
            "Total variation", "total_variation", sp.Abs(u - 1) / 2, t, sp.Interval(-half, half),
            sp.tanh(v) / 2, sp.Integer(0), "c",
        ),
    )
})  # fmt: skip

#: the errata of the module docstring, by letter
ERRATA: Mapping[str, str] = MappingProxyType({
    "a": "Jensen-Shannon: the row is 2 JS; JS's conjugate is f*_table(2t)/2 on t < log(2)/2 "
    "and its activation half the table's",
    "b": "Pearson: over u > 0, f*(t) = -1 for t < -2 (the table's t^2/4 + t is the conjugate "
    "over all real u)",
    "c": "total variation: over u > 0 the domain is (-oo, 1/2], f*(t) = -1/2 for t < -1/2",
    "d": "right as printed under the library's conventions",
    "e": "Neyman: the domain is (-oo, 1], closed: f*(1) = lim (2 - 1/u) = 2",
})  # fmt: skip

#: rows whose printed conjugate formula is right on its domain under f* = sup over u > 0
AGREEING_CONJUGATES = ("kl", "reverse_kl", "neyman", "squared_hellinger", "jeffrey", "gan")
#: ... and whose printed domain too (Neyman's is erratum (e))
AGREEING_DOMAINS = ("kl", "reverse_kl", "squared_hellinger", "jeffrey", "gan")


@dataclass(frozen=True)
class LibraryRow:
    """A row in the library's conventions: ``conjugate`` is ``f*(t)`` for every real ``t``
    (``oo`` outside ``domain``)."""

    name: str
    generator: sp.Expr
    conjugate: sp.Expr
    domain: sp.Interval
    activation: sp.Expr


def _over_all_reals(expr: sp.Expr, domain: sp.Interval) -> sp.Expr:
    """``expr`` on ``domain`` (left-unbounded), ``oo`` beyond its right end."""
    if domain.right is sp.oo:
        return expr
    inside = t < domain.right if domain.right_open else t <= domain.right
    return sp.Piecewise((expr, inside), (sp.oo, True))


def library_row(name: str) -> LibraryRow:
    """Table 2's row ``name`` converted to the library's conventions (errata (a)-(e))."""
    row = TABLE_2[name]
    if name == "js":  # (a): f_JS = f_table/2
        generator = row.generator / 2
        conjugate = row.conjugate.subs(t, 2 * t) / 2
        domain = sp.Interval.open(-sp.oo, row.domain.right / 2)
        return LibraryRow(
            name, generator, _over_all_reals(conjugate, domain), domain, row.activation / 2
        )
    if name == "pearson":  # (b): -f(0) = -1 below f'(0+) = -2
        conjugate = sp.Piecewise((-1, t < -2), (row.conjugate, True))
        return LibraryRow(name, row.generator, conjugate, row.domain, row.activation)
    if name == "total_variation":  # (c): -f(0) = -1/2 below f'(0+) = -1/2
        domain = sp.Interval(-sp.oo, half)
        conjugate = sp.Piecewise((-half, t < -half), (row.conjugate, t <= half), (sp.oo, True))
        return LibraryRow(name, row.generator, conjugate, domain, row.activation)
    if name == "neyman":  # (e): closed at 1
        domain = sp.Interval(-sp.oo, 1)
        return LibraryRow(
            name, row.generator, _over_all_reals(row.conjugate, domain), domain, row.activation
        )
    return LibraryRow(  # (d)
        name,
        row.generator,
        _over_all_reals(row.conjugate, row.domain),
        row.domain,
        row.activation,
    )
