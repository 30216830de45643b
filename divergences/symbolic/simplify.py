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
"""

from __future__ import annotations

import sympy as sp
from sympy.functions.elementary.hyperbolic import HyperbolicFunction

from .symbols import s, t

__all__ = [
    "is_zero",
    "lambert_rules",
    "nice",
    "one_sided_limit",
    "radicals_normalised",
    "simplify_on_interval",
]


def one_sided_limit(expr: sp.Expr, var: sp.Symbol, at: sp.Expr, direction: str) -> sp.Expr:
    """``lim expr`` as ``var -> at`` from ``direction`` (``"+"``/``"-"``), simplified: the form
    in which the engine compares and prints limits (f(0+), slopes at the ends and junctions)."""
    return sp.simplify(sp.limit(expr, var, at, direction))


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
            if y.is_nonnegative and sp.simplify(z - y * sp.exp(y)) == 0:
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
        inverse = sp.simplify(1 / x.args[0])
        return -sp.log(inverse) if sp.count_ops(inverse) < sp.count_ops(x.args[0]) else x

    return expr.replace(lambda x: isinstance(x, sp.log), flip)


def nice(expr: sp.Expr) -> sp.Expr:
    """A short equivalent form of ``expr`` (fewest operations among a few canonical rewrites)."""
    e = lambert_rules(expr)
    if e.is_number and e.is_rational:
        return e
    candidates = [e]
    if e.has(HyperbolicFunction):
        candidates.append(_in_exponentials(e))
    for _ in range(2 if e.has(sp.LambertW) else 1):
        base = sp.simplify(lambert_rules(sp.expand_log(e)))
        candidates.append(base)
        if base.has(sp.log):
            candidates += [sp.simplify(sp.logcombine(base)), _reciprocal_logs(base)]
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
        expr = sp.simplify(sp.radsimp(exps))
        if not expr.has(HyperbolicFunction):
            break
    return expr


def is_zero(expr: sp.Expr) -> bool:
    """True when SymPy can show ``expr == 0`` (cheap rewrites first, then :func:`nice`)."""
    quick = sp.expand(lambert_rules(expr))
    if quick == 0:
        return True
    if quick.has(HyperbolicFunction) and _in_exponentials(quick) == 0:
        return True
    if sp.simplify(quick) == 0:
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
