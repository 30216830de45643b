r"""The numeric conjugate: :math:`f^*` where :math:`f'` has no closed-form inverse.

On a smooth piece :math:`(a, b)` of a convex generator the conjugate is

.. math::
    f^*(t) = t\,u^*(t) - f(u^*(t)), \qquad f'(u^*(t)) = t, \quad u^* \in (a, b),

for :math:`t` between :math:`f'(a+)` and :math:`f'(b-)`. When SymPy cannot invert :math:`f'` in
closed form (the arithmetic-geometric generator :math:`(1 + u)\log\frac{1 + u}{2\sqrt u}`, most
generators a user writes), the engine keeps :math:`f^*` *exact as a definition* and evaluates it
numerically: :class:`ConjugateValue` is :math:`f^*(t)` and :class:`StationaryPoint` is
:math:`u^*(t)`, two SymPy functions of :math:`t` that carry the piece's :math:`f` (a ``Lambda``)
and its ends. They are ordinary SymPy expressions: they substitute, compose with the activation,
differentiate by the envelope theorem,

.. math::
    \frac{d f^*}{dt} = u^*(t), \qquad \frac{d u^*}{dt} = \frac{1}{f''(u^*(t))}

(Rockafellar, *Convex Analysis*, 1970, Thm. 26.3 and Cor. 23.5.1; :math:`f'` is increasing on
the piece), evaluate with :meth:`~sympy.core.evalf.EvalfMixin.evalf` and through
``lambdify(modules="mpmath")`` at any precision (a root of :math:`f'(u) = t` by safeguarded
Newton iteration in :math:`w = \log(u - a)`, :func:`mp_stationary_point`), serialise through the
cache's whitelist, and print as a batched torch solver (:mod:`divergences.numeric.emit.legendre`).
The certificate then checks them numerically (Fenchel-Young at 120 digits, convexity, the
biconjugate), and every such step is marked ``numeric``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

import mpmath
import sympy as sp
from sympy.core.function import ArgumentIndexError

from .serialize import register_sympy_class
from .simplify import simplified
from .symbols import u

__all__ = [
    "ConjugateValue",
    "StationaryPoint",
    "is_numeric",
    "mp_stationary_point",
    "numeric_key",
]


def _generator_callables(
    body: sp.Expr,
) -> tuple[Callable[[mpmath.mpf], mpmath.mpf], ...]:
    """``(f, f', f'')`` of ``body`` (in :data:`~.symbols.u`) as mpmath callables."""
    return _callables(sp.srepr(body), body)


@functools.lru_cache(maxsize=64)
def _callables(_key: str, body: sp.Expr) -> tuple[Callable[[mpmath.mpf], mpmath.mpf], ...]:
    first = sp.diff(body, u)
    second = sp.diff(first, u)
    return tuple(sp.lambdify(u, e, modules="mpmath") for e in (body, first, second))


#: Newton/bisection iterations of the mpmath solver (each halves the bracket at least every
#: second step; 10**-dps is reached long before)
_MP_ITERATIONS = 2000


def mp_stationary_point(t: mpmath.mpf, body: sp.Expr, left: sp.Expr, right: sp.Expr) -> mpmath.mpf:
    r"""The root :math:`u^*` of :math:`f'(u) = t` in :math:`(a, b)` at the working precision.

    ``f'`` is non-decreasing on the piece. The search runs in :math:`w = \log(u - a)` when
    :math:`b = \infty` (so any magnitude of :math:`u^*` is reached by doubling :math:`|w|`) and in
    :math:`u` itself when :math:`b` is finite; the bracket is kept and every Newton step that
    leaves it, or does not halve the step of two iterations ago, is replaced by bisection
    (``rtsafe``, Press et al., *Numerical Recipes*, 3rd ed., 2007, Sec. 9.4).

    Raises:
        ValueError: ``t`` is outside the range of ``f'`` on the piece (no root).
    """
    _, d1, d2 = _generator_callables(body)
    a = mpmath.mpf(sp.N(left, mpmath.mp.dps + 10))
    unbounded = right is sp.oo
    if unbounded:

        def to_u(w: mpmath.mpf) -> mpmath.mpf:
            return a + mpmath.exp(w)

        def g(w: mpmath.mpf) -> tuple[mpmath.mpf, mpmath.mpf]:
            x = to_u(w)
            return d1(x) - t, d2(x) * mpmath.exp(w)

        lo, hi = mpmath.mpf(-1), mpmath.mpf(1)
        for _ in range(64):
            if g(lo)[0] < 0:
                break
            lo *= 2
        else:
            raise ValueError(f"no root of f'(u) = {t} above u = {a}")
        for _ in range(64):
            if g(hi)[0] > 0:
                break
            hi *= 2
        else:
            raise ValueError(f"no root of f'(u) = {t}: f' stays below it")
    else:
        b = mpmath.mpf(sp.N(right, mpmath.mp.dps + 10))

        def to_u(w: mpmath.mpf) -> mpmath.mpf:
            return w

        def g(w: mpmath.mpf) -> tuple[mpmath.mpf, mpmath.mpf]:
            return d1(w) - t, d2(w)

        lo, hi = a, b
    tolerance = mpmath.mpf(2) ** (-mpmath.mp.prec + 4)
    w = mpmath.mpf(0) if lo < 0 < hi else (lo + hi) / 2
    step = step_old = hi - lo
    for _ in range(_MP_ITERATIONS):
        value, slope = g(w)
        if value == 0:
            break
        if value > 0:
            hi = w
        else:
            lo = w
        # rtsafe (Numerical Recipes, Sec. 9.4): bisect when Newton leaves the bracket or does
        # not halve the step of two iterations ago
        newton = w - value / slope if slope else hi + 1
        if abs(newton - w) <= tolerance * max(1, abs(w)):
            w = newton  # converged: the Newton correction is below the working precision
            break
        step_old, previous = step, w
        if lo < newton < hi and abs(2 * value) <= abs(step_old * slope):
            w = newton
        else:
            w = lo + (hi - lo) / 2
        step = abs(w - previous)
        if hi - lo <= tolerance * max(1, abs(w)):
            break
    return to_u(w)


class _NumericFunction(sp.Function):
    r"""Shared machinery: ``F(t, Lambda(u, f), a, b)``, a function of its first argument only."""

    nargs = 4

    @property
    def generator_body(self) -> sp.Expr:
        """:math:`f(u)` on the piece (in :data:`~.symbols.u`)."""
        return self.args[1](u)

    @property
    def piece(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[2], self.args[3]

    @property
    def free_symbols(self) -> set[sp.Basic]:
        return self.args[0].free_symbols

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _stationary(self, t: mpmath.mpf) -> mpmath.mpf:
        return mp_stationary_point(t, self.generator_body, *self.piece)

    def _mp(self, t: mpmath.mpf) -> mpmath.mpf:  # pragma: no cover - overridden
        raise NotImplementedError

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        arg = self.args[0].evalf(prec)
        if not arg.is_Number:
            return None
        with mpmath.workprec(prec + 20):
            value = self._mp(mpmath.mpf(arg._to_mpmath(prec + 20)))
        return sp.Float(value, precision=prec)

    def _mpmathcode(self, printer: sp.printing.printer.Printer) -> str:
        """``ConjugateValue(t, "key")``: ``lambdify`` binds the class name to
        :func:`_legendre_mp` (the class's ``_imp_``) and the key names this function in
        :data:`_MP_REGISTRY` (registered here, at print time), so the printed source holds no
        expression text of ``f``."""
        key = numeric_key(self)
        _MP_REGISTRY[key] = self._mp
        return f"{type(self).__name__}({printer._print(self.args[0])}, {key!r})"


#: key -> the mpmath callable of a :class:`ConjugateValue` / :class:`StationaryPoint`; filled
#: when an expression is printed for ``lambdify(modules="mpmath")``
_MP_REGISTRY: dict[str, Callable[[mpmath.mpf], mpmath.mpf]] = {}


def _legendre_mp(t: mpmath.mpf, key: str) -> mpmath.mpf:
    return _MP_REGISTRY[key](mpmath.mpf(t))


def numeric_key(expr: _NumericFunction) -> str:
    """A stable name for the function ``expr`` stands for (its class, ``f`` and the piece)."""
    text = "|".join((type(expr).__name__, *(sp.srepr(a) for a in expr.args[1:])))
    return type(expr).__name__ + "_" + hashlib.sha256(text.encode()).hexdigest()[:16]


@register_sympy_class
class StationaryPoint(_NumericFunction):
    r""":math:`u^*(t)`: the root of :math:`f'(u) = t` in the piece :math:`(a, b)`.

    ``StationaryPoint(t, Lambda(u, f), a, b)``; its derivative is :math:`1 / f''(u^*(t))`.
    """

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        second = sp.diff(self.generator_body, u, 2)
        return 1 / second.subs(u, self)

    def _mp(self, t: mpmath.mpf) -> mpmath.mpf:
        return self._stationary(t)

    def _latex(self, printer: sp.printing.printer.Printer) -> str:
        a, b = (printer._print(x) for x in self.piece)
        return (
            rf"u^*\!\left({printer._print(self.args[0])}\right)_{{f'(u^*) = "
            rf"{printer._print(self.args[0])},\ u^* \in ({a}, {b})}}"
        )


@register_sympy_class
class ConjugateValue(_NumericFunction):
    r""":math:`f^*(t) = t u^*(t) - f(u^*(t))` on the piece :math:`(a, b)`, evaluated numerically.

    ``ConjugateValue(t, Lambda(u, f), a, b)``; its derivative is :class:`StationaryPoint`
    (envelope theorem).
    """

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return StationaryPoint(*self.args)

    def _mp(self, t: mpmath.mpf) -> mpmath.mpf:
        x = self._stationary(t)
        f, _, _ = _generator_callables(self.generator_body)
        return t * x - f(x)

    def _latex(self, printer: sp.printing.printer.Printer) -> str:
        a, b = (printer._print(x) for x in self.piece)
        arg = printer._print(self.args[0])
        body = printer._print(self.generator_body)
        return rf"\sup_{{{a} < u < {b}}} \left( {arg}\, u - \left({body}\right) \right)"

    def end_value(self, end: str) -> sp.Expr:
        r"""The limit of :math:`f^*` at the ``"lo"`` (:math:`t \to f'(a+)`, :math:`u^* \to a`)
        or ``"hi"`` end (:math:`u^* \to b`):
        :math:`\lim (t u - f(u))` along :math:`t = f'(u)` as :math:`u` tends to that end."""
        body = self.generator_body
        a, b = self.piece
        at, direction = (a, "+") if end == "lo" else (b, "-")
        slope = sp.diff(body, u)
        return simplified(sp.limit(slope * u - body, u, at, direction))


def is_numeric(expr: sp.Basic) -> bool:
    """Whether ``expr`` contains a numeric conjugate or stationary point."""
    return isinstance(expr, sp.Basic) and expr.has(ConjugateValue, StationaryPoint)


# lambdify collects the ``_imp_`` of the function classes it meets into its namespace, under
# the class name, which is what :meth:`_NumericFunction._mpmathcode` prints
ConjugateValue._imp_ = staticmethod(_legendre_mp)
StationaryPoint._imp_ = staticmethod(_legendre_mp)
