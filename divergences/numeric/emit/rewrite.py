r"""Stability rewrites of SymPy expressions, and the candidate forms the emitter chooses from.

:func:`stabilise` applies, bottom-up, the identities below (valid on the real line wherever the
left-hand side is real; ``c, k`` are numbers, ``x, y`` expressions):

==========================================  ================================================
pattern                                     stable form
==========================================  ================================================
``log(1 + y)``                              ``log1p(y)``
``log(c + k exp(x))``, c, k > 0             ``log(c) + softplus(x + log(k/c))``
``log(c - k exp(x))``, c, k > 0             ``log(c) + log1mexp(x + log(k/c))``
``log(k exp(x) - c)``, c, k > 0             ``log(k) + x + log1mexp(log(c/k) - x)``
``log(-k expm1(x))``, k > 0                 ``log(k) + log1mexp(x)``
``log1p(k exp(x))``, ``log1p(-k exp(x))``     ``softplus(x + log k)``, ``log1mexp(x + log k)``
``log1mexp(-k exp(x))``, k > 0              ``log1mexp_negexp(x + log k)`` (no underflow)
``log1p(expm1(x))``                         ``x``
``k exp(x) - k``, ``k b^a - k`` (b > 0)     ``k expm1(x)``, ``k expm1(a log b)``
``c softplus(y) - c y``                     ``c softplus(-y)``
``y log(y)``                                ``xlogy(y, y)`` (``0 log 0 = 0``)
``LambertW(exp(z))``                        ``exp(omega_log(z - 1))`` (no overflow of ``exp``)
``LambertW(x)``, x > 0                      ``exp(omega_log(log(x) - 1))``
==========================================  ================================================

Two further identities are options, because they help some expressions and hurt others; the
emitter generates both variants and keeps the more accurate one (:mod:`.select`):

* ``omega``: :math:`e^{L} = y + 1 - L` for :math:`L = \omega_{\log}(y)` (removes the
  cancellation in ``t + W(e^{1-t})`` for ``jeffrey``, but creates one where ``W`` is tiny);
* ``shift``: :math:`k e^{x} + c = -c \operatorname{expm1}(x - \log(-c/k))` for ``c/k < 0``
  (accurate near the zero crossing, up to the rounding of the constant).
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar

import mpmath
import sympy as sp

from divergences.errors import DerivationError
from divergences.symbolic.simplify import simplified

from .primitives import (
    MPMATH,
    elementary,
    expm1,
    log1mexp,
    log1mexp_negexp,
    log1p,
    omega_log,
    softplus,
    xlogy,
)

__all__ = ["candidate_forms", "check_budget", "stabilise", "time_budget"]


#: ``(deadline on time.monotonic(), seconds, what)`` of the search running in this context
_BUDGET: ContextVar[tuple[float, float, str] | None] = ContextVar("emit_budget", default=None)


@contextlib.contextmanager
def time_budget(seconds: float, what: str) -> Iterator[None]:
    """Run a search for ``what`` (e.g. ``"generator 'x', conjugate"``) under a wall-clock budget.

    The budget is checked between steps (each rewrite of a node, each candidate form, each scored
    candidate, :func:`check_budget`), so a search stops at most one SymPy call after it is spent.
    """
    token = _BUDGET.set((time.monotonic() + seconds, seconds, what))
    try:
        yield
    finally:
        _BUDGET.reset(token)


def check_budget() -> None:
    """Raise :class:`DerivationError` once the budget of the enclosing :func:`time_budget` is
    spent."""
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget[0]:
        _, seconds, what = budget
        raise DerivationError(
            f"{what}: the emitter's search for stable forms did not finish within its time "
            f"budget of {seconds:g} s"
        )


def _bottom_up(expr: sp.Basic, rule: Callable[[sp.Basic], sp.Basic]) -> sp.Basic:
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*[(_bottom_up(e, rule), c) for e, c in expr.args])
    if expr.is_Atom or not isinstance(expr, sp.Expr):
        return expr
    args = [_bottom_up(a, rule) for a in expr.args]
    rebuilt = expr.func(*args) if args != list(expr.args) else expr
    return rule(rebuilt)


def _is_number(x: sp.Expr) -> bool:
    return bool(x.is_number) and bool(x.is_real)


def _is_zero(x: sp.Expr) -> bool:
    """Whether the number ``x`` is zero (numerically first: ``simplify`` only when it might be)."""
    if x == 0:
        return True
    if abs(sp.N(x, 30)) > 1e-20:
        return False
    return bool(_simplify(x) == 0)


def _split_term(term: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """``term = coeff * rest`` with ``coeff`` a number (free of symbols)."""
    coeff, rest = term.as_independent(*term.free_symbols, as_Add=False)
    return coeff, rest


def _positive(x: sp.Expr) -> bool:
    return bool(_is_number(x) and x.is_positive)


def _sample(region: sp.Set) -> list[mpmath.mpf]:
    """About 50 points inside an interval, spread over all scales and close to its ends."""
    if not isinstance(region, sp.Interval):
        return []
    lo, hi = region.start, region.end
    offsets = [mpmath.mpf(10) ** k for k in range(-12, 13)]
    with mpmath.workdps(40):
        if lo.is_infinite and hi.is_infinite:
            return [mpmath.mpf(0)] + [s * o for o in offsets for s in (-1, 1)]
        if lo.is_infinite:
            end = mpmath.mpf(sp.N(hi, 40))
            return [end - o for o in offsets]
        start = mpmath.mpf(sp.N(lo, 40))
        if hi.is_infinite:
            return [start + o for o in offsets]
        width = mpmath.mpf(sp.N(hi - lo, 40))
        return [start + width * k / 40 for k in range(1, 40)] + [
            p for o in offsets if o < width for p in (start + o, start + width - o)
        ]


#: ``solveset`` is asked to prove a sign only for expressions of at most this many operations:
#: on larger ones (pseudo-Huber's conjugate, nested roots of rational functions) a single call
#: can run for many minutes
SOLVESET_MAX_OPS = 12


def _sampled_sign(x: sp.Expr, var: sp.Symbol, region: sp.Set) -> int | None:
    """The sign of ``x`` at the points of :func:`_sample` (30 digits): ``+1``/``-1`` when all
    agree, ``0`` when they show both signs or a zero, ``None`` when a value is not a finite real
    number (no evidence)."""
    fn = sp.lambdify(var, x, modules=[MPMATH, "mpmath"])
    signs = set()
    with mpmath.workdps(30):
        for point in _sample(region):
            try:
                value = mpmath.mpmathify(fn(point))
            except (ZeroDivisionError, ValueError, OverflowError, TypeError):
                return None
            if isinstance(value, mpmath.mpc) or not mpmath.isfinite(value):
                return None
            if value == 0:
                return 0
            signs.add(1 if value > 0 else -1)
    return signs.pop() if len(signs) == 1 else (0 if signs else None)


def _inside(var: sp.Symbol, region: sp.Set) -> sp.Expr | None:
    """``var`` written with ``s > 0`` so that it ranges over the open interval ``region``."""
    if not isinstance(region, sp.Interval):
        return None
    lo, hi = region.start, region.end
    s = sp.Symbol("_s", positive=True)
    if lo.is_finite and hi.is_finite:
        return lo + (hi - lo) / (1 + s)
    if hi.is_finite:
        return hi - s
    if lo.is_finite:
        return lo + s
    return var


def _proved(x: sp.Expr, var: sp.Symbol, region: sp.Set, sign: int) -> bool:
    """Whether SymPy proves ``sign * x > 0`` on the open ``region``, by its assumptions on ``x``
    at a parametrised point of the region, else (small ``x`` only) by ``solveset``."""
    inside = _inside(var, region)
    if inside is not None and (sign * x.subs(var, inside)).is_positive:
        return True
    if sp.count_ops(x) > SOLVESET_MAX_OPS:
        return False
    try:
        bad = sp.solveset(sign * elementary(x) <= 0, var, sp.Reals)
        # the ends in one form (log(4)/4 -> log(2)/2), so that they compare with the region's
        return _log_expanded(bad).intersect(_log_expanded(region)) is sp.S.EmptySet
    except (NotImplementedError, ValueError, TypeError):
        return False


def _log_expanded(x: sp.Basic) -> sp.Basic:
    """``x`` with the logarithms of numbers expanded (``log(4) -> 2 log(2)``)."""
    return x.replace(
        lambda a: isinstance(a, sp.log) and a.args[0].is_number,
        lambda a: sp.expand_log(a, force=True),
    )


@functools.lru_cache(maxsize=4096)
def _sign_on_region(x: sp.Expr, var: sp.Symbol, region: sp.Set) -> int | None:
    """``+1``/``-1`` if ``x`` is proved positive/negative on the open ``region``, else ``None``.

    Sample points first (cheap): values of both signs, or a zero, settle ``None`` at once;
    otherwise the sign they agree on (both signs when they give no evidence) must be proved by
    :func:`_proved`, whose SymPy work is bounded (``solveset`` only up to
    :data:`SOLVESET_MAX_OPS` operations). ``None`` only means that the rewrites needing the sign
    are not applied, so an undecided sign costs accuracy at most, never correctness. Cached
    across rule sets: every candidate form and rewrite option asks about the same
    subexpressions.
    """
    if isinstance(region, sp.Interval):
        region = sp.Interval.open(region.start, region.end)
    sampled = _sampled_sign(x, var, region)
    if sampled == 0:
        return None
    for sign in (1, -1) if sampled is None else (sampled,):
        if _proved(x, var, region, sign):
            return sign
    return None


class _Rules:
    def __init__(
        self, omega: bool, shift: bool, var: sp.Symbol | None, region: sp.Set | None
    ) -> None:
        self.omega = omega
        self.shift = shift
        self.var = var
        self.region = region
        self._signs: dict[sp.Expr, int | None] = {}

    def sign(self, x: sp.Expr) -> int | None:
        """``+1``/``-1`` if ``x`` is positive/negative on the open region, else ``None``."""
        if x.is_positive:
            return 1
        if x.is_negative:
            return -1
        if self.var is None or self.region is None or self.var not in x.free_symbols:
            return None
        if x not in self._signs:
            self._signs[x] = _sign_on_region(x, self.var, self.region)
        return self._signs[x]

    def __call__(self, e: sp.Basic) -> sp.Basic:
        check_budget()
        if isinstance(e, sp.LambertW) and len(e.args) == 1:
            return self._lambertw(e.args[0], e)
        if isinstance(e, sp.Pow) and isinstance(e.base, sp.exp) and e.exp.is_number:
            return sp.exp(sp.expand(e.base.args[0] * e.exp))
        if isinstance(e, sp.log):
            return self._log(e.args[0], e)
        if isinstance(e, log1p):
            return self._log1p(e.args[0], e)
        if isinstance(e, log1mexp):
            return self._log1mexp(e.args[0])
        if isinstance(e, sp.Add):
            return self._add(e)
        if isinstance(e, sp.Mul):
            return self._mul(e)
        return e

    # -- individual rules -----------------------------------------------------------------------
    def _again(self, e: sp.Expr) -> sp.Expr:
        return _bottom_up(e, self)

    def _lambertw(self, arg: sp.Expr, original: sp.Expr) -> sp.Expr:
        if isinstance(arg, sp.exp):
            return self._again(sp.exp(omega_log(sp.expand(arg.args[0] - 1))))
        if arg.is_positive:
            return self._again(sp.exp(omega_log(sp.expand_log(sp.log(arg)) - 1)))
        return original

    def _log(self, arg: sp.Expr, original: sp.Expr) -> sp.Expr:
        if isinstance(arg, sp.exp) and arg.args[0].is_real:
            return arg.args[0]
        if isinstance(arg, sp.Mul):
            k, rest = _split_term(arg)
            if isinstance(rest, expm1) and _is_number(k) and k.is_negative:
                return sp.log(-k) + self._log1mexp(rest.args[0])
            return self._log_of_product(arg, original)
        if isinstance(arg, sp.Pow) and arg.base.free_symbols and self.sign(arg.base) == 1:
            inner = sp.log(arg.base)
            if isinstance(arg.base, sp.Add):
                inner = self._log(arg.base, inner)
            return arg.exp * inner
        if not isinstance(arg, sp.Add):
            return original
        c, rest = arg.as_independent(*arg.free_symbols, as_Add=True)
        if c == 0 or not _is_number(c):
            return original
        k, core = _split_term(rest)
        if isinstance(core, sp.exp) and _is_number(k) and k != 0:
            x = core.args[0]
            if c.is_positive and k.is_positive:
                return sp.log(c) + softplus(sp.expand(x + sp.log(k / c)))
            if c.is_positive and k.is_negative:
                return sp.log(c) + self._log1mexp(sp.expand(x + sp.log(-k / c)))
            if c.is_negative and k.is_positive:
                return sp.log(k) + x + self._log1mexp(sp.expand(sp.log(-c / k) - x))
        if c == 1:
            return log1p(rest)
        return original

    def _log_of_product(self, arg: sp.Mul, original: sp.Expr) -> sp.Expr:
        """``log(prod f_i^k_i) = sum k_i log(+-f_i)`` when every factor has a known sign."""
        factors = [f.as_base_exp() for f in sp.Mul.make_args(arg)]
        symbolic = [(b, k) for b, k in factors if b.free_symbols]
        numeric = [b**k for b, k in factors if not b.free_symbols]
        if len(symbolic) == 1 and symbolic[0][1] == 1 and sp.Mul(*numeric) in (1, -1):
            return original  # log(+-x): nothing to separate
        terms, negative = [], 0
        for base, k in factors:
            sign = self.sign(base)
            if sign is None or (sign < 0 and not (_is_number(k) and k.is_integer)):
                return original
            if sign < 0:
                negative += int(k)
                base = -base
            # the logarithm of each factor gets the rewrites too (log(-expm1(x)) -> log1mexp(x))
            inner = self._log(base, sp.log(base))
            terms.append(k * inner)
        if negative % 2:
            return original
        return sp.Add(*terms)

    def _log1p(self, arg: sp.Expr, original: sp.Expr) -> sp.Expr:
        if isinstance(arg, expm1):
            return arg.args[0]
        k, core = _split_term(arg)
        if isinstance(core, sp.exp) and _is_number(k) and k != 0:
            x = core.args[0]
            if k.is_positive:
                return softplus(sp.expand(x + sp.log(k)))
            return self._log1mexp(sp.expand(x + sp.log(-k)))
        return original

    def _log1mexp(self, arg: sp.Expr) -> sp.Expr:
        """``log1mexp(arg)``, or ``log1mexp_negexp(x + log k)`` for ``arg = -k exp(x)``: there
        ``exp(x)`` underflows long before the value (about ``x + log k``) does."""
        k, core = _split_term(arg)
        if isinstance(core, sp.exp) and _is_number(k) and k.is_negative:
            return log1mexp_negexp(sp.expand(core.args[0] + sp.log(-k)))
        return log1mexp(arg)

    def _add(self, e: sp.Add) -> sp.Expr:
        if self.omega:
            e = self._omega_identity(e)
            if not isinstance(e, sp.Add):
                return self._again(e)
        e = self._expm1(e)
        if isinstance(e, sp.Add):
            e = self._softplus_reflection(e)
        return e

    def _omega_identity(self, e: sp.Add) -> sp.Expr:
        """``c exp(L) -> c (y + 1 - L)`` for the terms ``c exp(omega_log(y))`` of a sum."""
        changed = False
        terms = []
        for term in e.args:
            c, core = _split_term(term)
            if isinstance(core, sp.exp) and isinstance(core.args[0], omega_log):
                lw = core.args[0]
                terms.append(c * (lw.args[0] + 1 - lw))
                changed = True
            else:
                terms.append(term)
        return sp.expand(sp.Add(*terms)) if changed else e

    def _expm1(self, e: sp.Add) -> sp.Expr:
        c, rest = e.as_independent(*e.free_symbols, as_Add=True)
        if c == 0 or not _is_number(c):
            return e
        for term in sp.Add.make_args(rest):
            k, core = _split_term(term)
            if not _is_number(k) or k == 0:
                continue
            if isinstance(core, sp.exp):
                x = core.args[0]
            elif (
                isinstance(core, sp.Pow)
                and self.sign(core.base) == 1
                and _is_number(core.exp)
                and not core.exp.is_integer
            ):
                x = core.exp * sp.log(core.base)
            else:
                continue
            x = self._again(x)
            others = rest - term
            if _is_zero(c + k):
                return others + k * expm1(x)
            if self.shift and bool((-c / k).is_positive):
                return others - c * expm1(sp.expand(x - sp.log(-c / k)))
        return e

    def _softplus_reflection(self, e: sp.Add) -> sp.Expr:
        for term in e.args:
            c, core = _split_term(term)
            if isinstance(core, softplus):
                y = core.args[0]
                candidate = c * softplus(sp.expand(-y)) + sp.expand(e - term + c * y)
                if sp.count_ops(candidate) < sp.count_ops(e):
                    return candidate
        return e

    def _mul(self, e: sp.Mul) -> sp.Expr:
        logs = [f for f in e.args if isinstance(f, sp.log)]
        for lg in logs:
            y = lg.args[0]
            if not y.free_symbols:
                continue
            rest = e / (lg * y)
            if not (rest.free_symbols & y.free_symbols) and rest.is_number:
                return rest * xlogy(y, y)
        return e


def stabilise(
    expr: sp.Expr,
    *,
    omega: bool = False,
    shift: bool = False,
    var: sp.Symbol | None = None,
    region: sp.Set | None = None,
) -> sp.Expr:
    """Apply the stability rewrites of the module docstring (see there for the options).

    With ``var`` and ``region``, a factor's sign may also be decided on the region (``1 - 2t > 0``
    for ``t < 1/2``), which lets ``log`` of products expand and ``b^a - 1`` become ``expm1``.
    A sign is only used when it is proved (:func:`_sign_on_region`); otherwise the rewrite that
    needs it is not applied.

    Memoised per process (:func:`_stabilised`): the candidate search asks for the same form
    with the same options many times (three in four calls for the registry), and the result is a
    pure function of them.
    """
    expr = sp.sympify(expr, strict=True)
    if expr.has(sp.Float):  # equal across precisions before SymPy 1.13: a memo could mix them
        return _bottom_up(expr, _Rules(omega, shift, var, region))
    return _stabilised(expr, omega, shift, var, region)


@functools.lru_cache(maxsize=4096)
def _stabilised(
    expr: sp.Expr, omega: bool, shift: bool, var: sp.Symbol | None, region: sp.Set | None
) -> sp.Expr:
    """:func:`stabilise` of an expression without ``Float``, remembered."""
    return _bottom_up(expr, _Rules(omega, shift, var, region))


def _log1p_form(expr: sp.Expr) -> sp.Expr:
    r"""The logarithms sharing a multiplier combined into one, written ``log1p``.

    For the terms :math:`k_i\, m \log a_i` of a sum with the same symbolic multiplier ``m``
    (``1`` for constant coefficients) and numbers :math:`k_i`,

    .. math::
        \sum_i k_i\, m \log a_i = g\, m \operatorname{log1p}\Big(\prod_i a_i^{k_i/g} - 1\Big),
        \qquad g = k_1,

    with the difference simplified; this is accurate where the product is near 1 (e.g.
    ``u log u - u log(u + 1) = u log1p(-1/(u + 1))`` for large ``u``). Valid because every
    ``a_i > 0`` where the expression is real.
    """
    groups: dict[sp.Expr, list[tuple[sp.Expr, sp.Expr]]] = {}
    others = []
    for term in sp.Add.make_args(sp.expand(sp.expand_log(expr))):
        k, rest = term.as_coeff_Mul()
        logs = [f for f in sp.Mul.make_args(rest) if isinstance(f, sp.log)]
        if len(logs) != 1:
            others.append(term)
            continue
        multiplier = rest / logs[0]
        groups.setdefault(multiplier, []).append((k, logs[0].args[0]))
    if not groups:
        return expr
    out = sp.Add(*others)
    for multiplier, items in groups.items():
        if not any(a.free_symbols for _, a in items):
            out += multiplier * sp.Add(*[k * sp.log(a) for k, a in items])
            continue
        g = items[0][0]
        product = sp.Mul(*[a ** sp.nsimplify(k / g) for k, a in items])
        inner = sp.factor(_simplify(product - 1))
        out += g * multiplier * log1p(inner)
    return out


def _simplify(expr: sp.Expr) -> sp.Expr:
    """``sympy.simplify``, memoised: the same expressions come back for every branch option,
    and the symbolic layer has simplified many of them already (one memo for both,
    :func:`divergences.symbolic.simplify.simplified`)."""
    return simplified(expr)


@functools.lru_cache(maxsize=256)
def _symbolic_forms(expr: sp.Expr) -> tuple[sp.Expr, ...]:
    return tuple(_symbolic_forms_uncached(expr))


def _symbolic_forms_uncached(expr: sp.Expr) -> Iterable[sp.Expr]:
    yield expr
    simple = _simplify(expr)
    yield simple
    # when simplify changes nothing, the second base would repeat the first one's forms, which
    # the candidate search drops as duplicates anyway
    same = simple == expr and not expr.has(sp.Float)
    for base in (expr,) if same else (expr, simple):
        if base.has(sp.log):
            yield sp.expand_log(base)
            combined = sp.logcombine(base)
            yield combined
            yield _log1p_form(combined)
        if base.is_Add or base.is_Mul:
            yield sp.factor(base)
            yield sp.expand(base)


def _parametrised(expr: sp.Expr, var: sp.Symbol, region: sp.Set) -> tuple[sp.Expr, sp.Expr] | None:
    """``expr`` with ``var = end -+ s`` (``s > 0``) for a finite end of the interval ``region``.

    SymPy's assumptions then know the sign of ``end - var`` (e.g. that ``1 - t > 0``), so the
    rewrites that need a positive base or argument apply. Returns ``(expr in s, s as var)``.
    """
    if not isinstance(region, sp.Interval):
        return None
    s = sp.Symbol("_s", positive=True)
    if region.end.is_finite:
        return expr.subs(var, region.end - s), region.end - var
    if region.start.is_finite:
        return expr.subs(var, region.start + s), var - region.start
    return None


def _root_factored(expr: sp.Expr, var: sp.Symbol | None, region: sp.Set | None) -> sp.Expr | None:
    r"""``expr`` factored as a polynomial in :math:`w = x^{1/L}` (``L`` the common denominator of
    the fractional exponents of ``x``), for ``x >= 0`` on the region.

    ``factor`` does not see that :math:`2u - 4\sqrt u + 2 = 2(\sqrt u - 1)^2`; in ``w`` it is a
    polynomial, and the factored form becomes :math:`2 \operatorname{expm1}(\log(u)/2)^2`,
    accurate next to the zero at ``u = 1`` where the expanded form cancels.
    """
    if var is None or not (
        var.is_nonnegative or (region is not None and region.is_subset(sp.Interval(0, sp.oo)))
    ):
        return None
    exponents = [p.exp for p in expr.atoms(sp.Pow) if p.base == var]
    if not exponents or not all(e.is_Rational for e in exponents):
        return None
    common = math.lcm(*[int(e.q) for e in exponents])
    if common == 1:
        return None
    w = sp.Symbol("_w", positive=True)
    factored = sp.factor(sp.expand(expr.subs(var, w**common)))
    return factored.subs(w, var ** sp.Rational(1, common))


def _exponential_rates(expr: sp.Expr, var: sp.Symbol | None) -> dict[sp.Expr, sp.Rational]:
    """``{exp(c var): c}`` for the exponentials of ``expr`` in ``var``; empty unless every one
    has a nonzero rational rate ``c``."""
    if var is None:
        return {}
    rates = {}
    for e in expr.atoms(sp.exp):
        if var not in e.free_symbols:
            continue
        rate = _simplify(e.args[0] / var)
        if not rate.is_Rational or rate == 0:
            return {}
        rates[e] = rate
    return rates


def _exp_factored(expr: sp.Expr, var: sp.Symbol | None) -> list[sp.Expr]:
    r"""``expr`` factored as a rational function of :math:`w = e^{\pm x/L}` when every
    exponential in it is :math:`e^{c x}` with a rational ``c`` (``L`` their common denominator).

    ``factor`` does not see that :math:`e^{-v} - 4e^{-v/2} + 3 = (e^{-v/2} - 1)(e^{-v/2} - 3)`;
    in ``w`` it is a polynomial, and the factored form becomes
    :math:`\operatorname{expm1}(-v/2)(e^{-v/2} - 3)`, accurate next to its zero at ``v = 0``.
    Both signs of the exponent are tried (the one matching the exponentials' signs does not
    overflow).
    """
    rates = _exponential_rates(expr, var)
    if not rates:
        return []
    common = math.lcm(*[int(c.q) for c in rates.values()])
    w = sp.Symbol("_w", positive=True)
    out = []
    for sign in (1, -1):
        replaced = expr.xreplace({e: w ** (sign * c * common) for e, c in rates.items()})
        if var in replaced.free_symbols:
            return []
        factored = sp.factor(replaced)
        if factored != replaced:
            out.append(factored.subs(w, sp.exp(sign * var / common)))
    return out


def _centred_logs(expr: sp.Expr, var: sp.Symbol | None) -> list[sp.Expr]:
    r"""``expr`` with each :math:`\log R(w)`, ``R`` a rational function of :math:`w = e^{\pm g x}`
    (``g`` the greatest common divisor of the exponentials' rates), written centred at ``x = 0``:

    .. math::

        \log R(w) = \log R(1) + \operatorname{log1p}\Big(\frac{R(w) - R(1)}{R(1)}\Big),
        \qquad R(1) > 0,

    with the difference factored (it has the factor :math:`w - 1`, which the stabiliser prints as
    :math:`\operatorname{expm1}(\pm g x)`). The value is then exact to rounding next to
    ``x = 0``, where :math:`\log R(w)` is the logarithm of a number close to :math:`R(1)`.
    ``js_weighted(3/10)``'s conjugate :math:`\tfrac{7}{10}\log\frac{-7}{3 e^{10t/3} - 10}`
    becomes :math:`\tfrac{7}{10}\operatorname{log1p}\big(\frac{-3 (e^{10t/3} - 1)}{3 e^{10t/3} -
    10}\big)`; with the rate's denominator as the unit instead (:func:`_exp_factored`),
    ``factor`` splits :math:`w^{10} - 1` into five factors and their rounding errors.
    """
    rates = _exponential_rates(expr, var)
    if not rates or not any(var in g.free_symbols for g in expr.atoms(sp.log)):
        return []
    unit = functools.reduce(sp.gcd, [abs(c) for c in rates.values()])
    w = sp.Symbol("_w", positive=True)
    out = []
    for sign in (1, -1):
        replaced = expr.xreplace({e: w ** (sign * c / unit) for e, c in rates.items()})
        if var in replaced.free_symbols:
            return []
        centred = {}
        for lg in replaced.atoms(sp.log):
            arg = lg.args[0]
            if w not in arg.free_symbols or not arg.is_rational_function(w):
                continue
            at_one = _simplify(arg.subs(w, 1))
            if not (at_one.is_number and at_one.is_positive):
                continue
            centred[lg] = sp.log(at_one) + log1p(sp.factor(sp.cancel((arg - at_one) / at_one)))
        if centred:
            form = replaced.xreplace(centred)
            out.append(form.xreplace({w: sp.exp(sign * unit * var)}))
    return out


def _is_proper_rational(expr: sp.Expr, var: sp.Symbol) -> bool:
    """A ratio of polynomials in ``var`` (not a polynomial)."""
    try:
        return bool(expr.is_rational_function(var)) and not expr.is_polynomial(var)
    except (TypeError, NotImplementedError):
        return False


def candidate_forms(
    expr: sp.Expr, var: sp.Symbol | None = None, region: sp.Set | None = None
) -> list[sp.Expr]:
    """Distinct stabilised variants of ``expr`` on ``region`` (forms x rewrite options)."""
    seen: dict[str, sp.Expr] = {}
    has_w = expr.has(sp.LambertW)
    sources = [(expr, None)]
    root_factored = _root_factored(expr, var, region)
    if root_factored is not None:
        sources.append((root_factored, None))
    sources += [(form, None) for form in _exp_factored(expr, var)]
    sources += [(form, None) for form in _centred_logs(expr, var)]
    if var is not None and _is_proper_rational(expr, var):
        # polynomial part + partial fractions: (u - 1)^2/(u + 1) = u - 3 + 4/(u + 1) does not
        # overflow in the square for u > 1e154
        sources.append((sp.apart(expr, var), None))
    if var is not None and region is not None:
        param = _parametrised(expr, var, region)
        if param is not None:
            sources.append(param)
    for form in _symbolic_forms(expr):
        # the plain forms compete too: a rewrite that helps near one end may hurt at the other
        seen.setdefault(sp.srepr(form), form)
    for source, back in sources:
        for form in _symbolic_forms(source):
            check_budget()
            for omega in (False, True) if has_w else (False,):
                for shift in (False, True):
                    options = {"omega": omega, "shift": shift, "var": var, "region": region}
                    if back is None:
                        candidate = stabilise(form, **options)
                    else:
                        candidate = stabilise(form, omega=omega, shift=shift)
                        s = next(iter(candidate.free_symbols), None)
                        if s is not None:
                            candidate = stabilise(candidate.subs(s, back), **options)
                    seen.setdefault(sp.srepr(candidate), candidate)
    return list(seen.values())
