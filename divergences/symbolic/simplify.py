"""Simplification helpers used by the engine.

SymPy's ``simplify`` does not know a few identities the conjugates need, and it cannot use the
fact that ``t`` lies in an interval. These helpers fill those gaps:

* :func:`lambert_rules` applies, on the principal branch of Lambert W (valid for positive
  arguments, which is where the engine meets it):

  .. math::
      e^{a + W(z)} = e^{a} \\frac{z}{W(z)}, \\qquad
      \\log W(z) = \\log z - W(z), \\qquad
      W(y e^{y}) = y \\quad (y \\ge 0).

* :func:`simplify_on_interval` rewrites ``t`` as ``hi - s`` or ``lo + s`` with ``s > 0`` so that
  the assumptions let SymPy combine logarithms and roots correctly, then substitutes back;
* :func:`radicals_normalised` splits and absorbs square roots of rational functions (valid where
  the expression is real; the engine checks the result numerically);
* :func:`nice` and :func:`is_zero` also try hyperbolic functions written with ``exp``
  (``cosh(asinh(t)) = sqrt(1 + t^2)``), which ``simplify`` alone does not find.

**Memoised.** One derivation simplifies the same expressions many times (the conjugate's second
pass from the parametrised form repeats :func:`simplify_on_interval`'s, every certificate step
re-simplifies the slopes and limits, the emitter simplifies the derived branches again).
:func:`simplified`, :func:`nice` and :func:`is_zero` are pure functions of their (immutable)
argument, so each keeps its results for the process (:func:`memoised`): a repeated call returns
the very object the first call returned, and nothing else changes. Expressions holding a
``Float`` are not memoised (SymPy before 1.13 compares two ``Float`` of different precisions
equal).

**Clearly nonzero.** :func:`is_zero` on an expression that is not zero used to run every
simplification before saying so (1.4 s for the registry's asymmetric generators).
:func:`clearly_nonzero` first evaluates it exactly at a point of its domain (every symbol
positive, as the engine's ``u``, ``r`` and ``s`` are) at 30 and 60 digits; a value that is a real
number away from zero, the same at both precisions, is a proof that no sound rewrite reaches
``0``, and ``is_zero`` answers ``False`` at once. Anything else (a zero, a complex or undefined
value, a symbol that may be negative, Lambert W with its branch rules) decides nothing and the
simplifications run as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import sympy as sp
from sympy.functions.elementary.hyperbolic import HyperbolicFunction

from .symbols import s, t

__all__ = [
    "clearly_nonzero",
    "is_zero",
    "lambert_rules",
    "memoised",
    "nice",
    "one_sided_limit",
    "radicals_normalised",
    "simplified",
    "simplifies_to_zero",
    "simplify_on_interval",
]

R = TypeVar("R")

#: results kept per memoised function (a registry report needs about 400 distinct simplifications)
MEMO_SIZE = 4096


def memoised(function: Callable[[sp.Basic], R]) -> Callable[[sp.Basic], R]:
    """``function`` of one SymPy expression, remembered per process for
    :data:`MEMO_SIZE` arguments (the least recently used go first). Arguments that hold a
    ``Float`` are computed every time: SymPy before 1.13 compares ``Float(0.5, 15)`` and
    ``Float(0.5, 30)`` equal, so the memo could answer for an argument of another precision."""
    remembered = functools.lru_cache(maxsize=MEMO_SIZE)(function)

    @functools.wraps(function)
    def wrapper(expr: sp.Basic) -> R:
        if isinstance(expr, sp.Basic) and not expr.has(sp.Float):
            return remembered(expr)
        return function(expr)

    wrapper.cache_clear = remembered.cache_clear  # type: ignore[attr-defined]
    return wrapper


@memoised
def simplified(expr: sp.Basic) -> sp.Basic:
    """``sympy.simplify(expr)``, memoised (:func:`memoised`)."""
    return sp.simplify(expr)


def one_sided_limit(expr: sp.Expr, var: sp.Symbol, at: sp.Expr, direction: str) -> sp.Expr:
    """``lim expr`` as ``var -> at`` from ``direction`` (``"+"``/``"-"``), simplified: the form
    in which the engine compares and prints limits (f(0+), slopes at the ends and junctions)."""
    return simplified(sp.limit(expr, var, at, direction))


def _is_exp_of_sum_with_w(x: sp.Basic) -> bool:
    if not isinstance(x, sp.exp):
        return False
    arg = sp.expand(x.args[0])
    return isinstance(arg, sp.Add) and any(isinstance(a, sp.LambertW) for a in arg.args)


def _split_exp_w(x: sp.exp) -> sp.Expr:
    factors = []
    for a in sp.expand(x.args[0]).args:
        if isinstance(a, sp.LambertW) and len(a.args) == 1:
            factors.append(a.args[0] / a)
        else:
            factors.append(sp.exp(a))
    return sp.Mul(*factors)


def _w_of_y_exp_y(w: sp.LambertW) -> sp.Expr:
    if len(w.args) != 1:
        return w
    z = sp.powsimp(w.args[0])
    for factor in sp.Mul.make_args(z):
        if isinstance(factor, sp.exp):
            y = factor.args[0]
            if y.is_nonnegative and simplified(z - y * sp.exp(y)) == 0:
                return y
    return w


def lambert_rules(expr: sp.Expr) -> sp.Expr:
    """Apply the principal-branch Lambert W identities listed in the module docstring."""
    if not expr.has(sp.LambertW):
        return expr
    e = expr.replace(_is_exp_of_sum_with_w, _split_exp_w)
    e = e.replace(
        lambda x: isinstance(x, sp.log) and isinstance(x.args[0], sp.LambertW),
        lambda x: sp.log(x.args[0].args[0]) - x.args[0],
    )
    e = e.replace(
        lambda x: (
            isinstance(x, sp.log)
            and isinstance(x.args[0], sp.Pow)
            and isinstance(x.args[0].base, sp.LambertW)
        ),
        lambda x: x.args[0].exp * (sp.log(x.args[0].base.args[0]) - x.args[0].base),
    )
    e = e.replace(lambda x: isinstance(x, sp.LambertW), _w_of_y_exp_y)
    return e


def _reciprocal_logs(expr: sp.Expr) -> sp.Expr:
    """``log(A) -> -log(1/A)`` where that is shorter.

    Valid wherever the expression is real: ``A > 0`` if and only if ``1/A > 0``.
    """

    def flip(x: sp.log) -> sp.Expr:
        inverse = simplified(1 / x.args[0])
        return -sp.log(inverse) if sp.count_ops(inverse) < sp.count_ops(x.args[0]) else x

    return expr.replace(lambda x: isinstance(x, sp.log), flip)


@memoised
def nice(expr: sp.Expr) -> sp.Expr:
    """A short equivalent form of ``expr`` (fewest operations among a few canonical rewrites);
    memoised (:func:`memoised`)."""
    e = lambert_rules(expr)
    if e.is_number and e.is_rational:
        return e
    candidates = [e]
    if e.has(HyperbolicFunction):
        candidates.append(_in_exponentials(e))
    for _ in range(2 if e.has(sp.LambertW) else 1):
        base = simplified(lambert_rules(sp.expand_log(e)))
        candidates.append(base)
        if base.has(sp.log):
            candidates += [simplified(sp.logcombine(base)), _reciprocal_logs(base)]
        if base.is_Add or base.is_Mul:
            candidates.append(sp.factor(base))
        e = min(candidates, key=sp.count_ops)
    return e


def _in_exponentials(expr: sp.Expr) -> sp.Expr:
    """``expr`` with hyperbolic functions written with ``exp``, simplified (twice at most:
    ``simplify`` may bring ``cosh`` back). ``cosh(log(x)/2) = (sqrt(x) + 1/sqrt(x))/2``, so
    logarithms then combine: the conjugates of ``log(cosh(u - 1))`` and ``cosh(u - 1) - 1`` lose
    their ``cosh(log(...))``."""
    for _ in range(2):
        exps = expr.replace(
            lambda x: isinstance(x, HyperbolicFunction), lambda x: x.rewrite(sp.exp)
        )
        # radsimp: 1/(t + sqrt(t**2 + 1)) = sqrt(t**2 + 1) - t, so cosh(asinh(t)) = sqrt(t**2 + 1)
        expr = simplified(sp.radsimp(exps))
        if not expr.has(HyperbolicFunction):
            break
    return expr


#: the point at which :func:`clearly_nonzero` evaluates (one value per positive symbol, sorted
#: by name; away from the special points 0, 1, 2 and e of the generators)
_SAMPLE = (sp.Rational(7, 3), sp.Rational(11, 5), sp.Rational(13, 4), sp.Rational(17, 6))
#: the precisions (digits) at which :func:`clearly_nonzero` evaluates, and the agreement and
#: size it asks of the two values
_DIGITS = (30, 60)
_AGREE = sp.Float("1e-25", 30)
_AWAY_FROM_ZERO = sp.Float("1e-20", 30)


def clearly_nonzero(expr: sp.Expr) -> bool:
    """True when ``expr`` is certainly not identically zero: its exact value at a point where
    every symbol is positive (all of them must be ``positive``) is a real number whose
    evaluations at 30 and 60 digits agree to 25 digits and exceed ``1e-20`` in size. False
    decides nothing (a zero, an undefined, complex or unevaluated value, a symbol that may be
    negative, Lambert W).

    A real number away from zero at a point of the domain cannot be rewritten to ``0`` by a
    rewrite that holds on the domain, so :func:`is_zero` may answer ``False`` without trying.
    """
    if not isinstance(expr, sp.Expr) or expr.has(sp.LambertW):
        return False
    symbols = sorted(expr.free_symbols, key=lambda x: x.name)
    if len(symbols) > len(_SAMPLE) or not all(x.is_positive is True for x in symbols):
        return False
    try:
        value = expr.xreplace(dict(zip(symbols, _SAMPLE, strict=False)))
        low, high = (value.evalf(digits) for digits in _DIGITS)
    except (ArithmeticError, ValueError, TypeError, RecursionError, NotImplementedError):
        return False
    if not (isinstance(low, sp.Float) and isinstance(high, sp.Float)):
        return False
    return bool(abs(high) > _AWAY_FROM_ZERO and abs(low - high) <= _AGREE * abs(high))


def simplifies_to_zero(expr: sp.Expr) -> bool:
    """``simplified(expr) == 0``, answered ``False`` at once when ``expr`` is
    :func:`clearly_nonzero` (``simplify`` would run in vain: f'' of a convex generator)."""
    return not clearly_nonzero(expr) and simplified(expr) == 0


@memoised
def is_zero(expr: sp.Expr) -> bool:
    """True when SymPy can show ``expr == 0`` (cheap rewrites first, then :func:`nice`); an
    expression that is :func:`clearly_nonzero` is answered ``False`` at once. Memoised
    (:func:`memoised`)."""
    if clearly_nonzero(expr):
        return False
    quick = sp.expand(lambert_rules(expr))
    if quick == 0:
        return True
    if quick.has(HyperbolicFunction) and _in_exponentials(quick) == 0:
        return True
    if simplified(quick) == 0:
        return True
    return nice(expr) == 0


def interval_parametrisation(lo: sp.Expr, hi: sp.Expr) -> sp.Expr | None:
    """``t`` written with a positive symbol ``s`` so that ``t`` is inside ``(lo, hi)``."""
    if hi.is_finite:
        return hi - s
    if lo.is_finite:
        return lo + s
    return None


def simplify_on_interval(expr: sp.Expr, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    """Simplify an expression in ``t`` using ``lo < t < hi``."""
    param = interval_parametrisation(lo, hi)
    if param is None:
        return nice(expr)
    inner = nice(expr.subs(t, param))
    back = sp.solve(sp.Eq(param, t), s)[0]
    return nice(inner.subs(s, back))


def _is_root(x: sp.Basic, var: sp.Symbol) -> bool:
    """``X**(k/2)``, ``k`` odd, with ``X`` depending on ``var``."""
    return isinstance(x, sp.Pow) and x.exp.is_Rational and x.exp.q == 2 and x.base.has(var)


def radicals_normalised(expr: sp.Expr, var: sp.Symbol, point: sp.Expr) -> sp.Expr:
    r"""``expr`` with its square roots split and absorbed, for ``var`` in a region containing
    ``point`` where ``expr`` is real:

    .. math::
        \Big(\frac{N}{D}\Big)^{k/2} = \frac{N^{k/2}}{D^{k/2}} \quad (D > 0 \text{ at point}),
        \qquad c\, X^{q} = \frac{c}{X}\, X^{q + 1} \quad (\text{when } c/X
        \text{ is shorter}).

    The first holds wherever its left side is real and ``D > 0`` (the sign of ``N/D`` is
    flipped into the numerator otherwise); the second everywhere ``X != 0``. Pseudo-Huber's
    ``t u^* - f(u^*)`` with ``u^* = 1 + t/\sqrt{1 - t^2}`` becomes ``t + 1 - \sqrt{1 - t^2}``.
    Callers check the result numerically against ``expr`` on the region.
    """

    def split(root: sp.Pow) -> sp.Expr:
        num, den = sp.fraction(sp.factor(sp.cancel(root.base)))
        if den == 1:
            return root
        if den.subs(var, point).is_negative:
            num, den = -num, -den
        return sp.expand(num) ** root.exp / sp.expand(den) ** root.exp

    e = sp.expand(nice(expr.replace(lambda x: _is_root(x, var), split)))
    for root in sorted(e.atoms(sp.Pow), key=sp.count_ops):
        if not _is_root(root, var):
            continue
        parts = sp.collect(e, root, evaluate=False)
        coeff = parts.pop(root, None)
        if coeff is None:
            continue
        absorbed = sp.cancel(coeff / root.base)
        if sp.count_ops(absorbed) < sp.count_ops(coeff):
            rest = sp.Add(*[key * c for key, c in parts.items()])
            e = sp.expand(rest + absorbed * root.base ** (root.exp + 1))
    return nice(e)
