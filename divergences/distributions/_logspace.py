r"""The perspective :math:`q f(p/q)` from log-densities: :math:`e^{b} f(e^{a - b})`.

Every numeric method integrates this one function: quadrature with :math:`a = \log p(x)`,
:math:`b = \log q(x)`; Monte Carlo with :math:`a = \log p - \log r`, :math:`b = \log q - \log r`
at samples of a proposal :math:`R` (:math:`R = Q` gives :math:`f(p/q)`). Densities and their
ratio leave the floating-point range long before the integrand does (``kl`` between
:math:`N(0, 1)` and :math:`N(0, 10^{-4})` has :math:`\lambda = \log(p/q) \approx 5000` at
:math:`x = 1`, where :math:`p \lambda` is an ordinary number), so nothing is exponentiated
that need not be. With :math:`\lambda = a - b` and :math:`\Lambda = (-\log(\text{tiny}) - 7)/2`
(350.7 in float64, 40.1 in float32; :func:`ratio_limit`):

.. math::

    e^{b} f(e^{\lambda}) =
    \begin{cases}
    e^{m}\, K(e^{a - m}, e^{b - m}), \quad m = \max(a, b) & |\lambda| \le \Lambda\\
    \sum_i c_i(\lambda)\, e^{b + k_i \lambda} & \lambda < -\Lambda\\
    \sum_i c'_i(-\lambda)\, e^{a - k'_i \lambda} & \lambda > \Lambda
    \end{cases}

* In the middle, :math:`K` is the library's element-wise perspective of ``d``
  (:func:`divergences.numeric.discrete.perspective`: the entry's hand kernel or the emitted
  perspective), which is positively homogeneous, :math:`K(sp, sq) = s K(p, q)`: its arguments
  are the pair scaled so that the larger is 1 and the smaller a normal number.
* In the tails the generator is expanded symbolically once per divergence (:func:`_expand`):
  :math:`f(e^{\nu}) = \sum_i c_i(\nu) e^{k_i \nu}\,(1 + O(e^{\nu}))` as
  :math:`\nu = \lambda \to -\infty`, and the same for the dual generator
  :math:`g(w) = w f(1/w)` on the other side, since :math:`q f(p/q) = p\, g(q/p)`. The
  coefficients are free of exponentials (so they never underflow) and the dropped terms are
  :math:`e^{-\Lambda}` times smaller, below rounding. Each term is a tame factor times the
  exponential of a sum of logarithms, e.g. ``kl``: :math:`p \lambda`; ``reverse_kl``:
  :math:`-q \lambda`; ``neyman``: :math:`e^{2b - a} - 2 e^{b} + e^{a}`; ``gan`` for
  :math:`\lambda \to \infty`: :math:`-q (\lambda + 1)`. The coefficients are printed to torch
  by the emitter's printer (:func:`divergences.numeric.emit.printer.compile_pieces`).

  Each expansion is checked against mpmath (800 digits) at :math:`\nu = -40.1, -350.7, -1500` when
  it is built (``log|value|`` to ``1e-9``). A generator whose expansion fails the check (or
  does not separate into such terms) uses the middle formula with :math:`\lambda` clamped to
  :math:`[-\Lambda, \Lambda]` instead, which is exact where :math:`f` is constant to rounding
  beyond :math:`e^{\pm\Lambda}` and approximate otherwise (``exact_tails`` says which; every
  registered generator passes).

Zero densities follow the perspective's conventions: :math:`a = -\infty` gives
:math:`e^{b} f(0^+)`, :math:`b = -\infty` gives :math:`e^{a} f'(\infty)`, both give ``0``
(``+inf`` where the limit is infinite, never ``NaN``); ``NaN`` or ``+inf`` log-densities give
``NaN``, which the callers report. Every branch is evaluated on masked arguments ("double
where"), so no branch's overflow reaches another's value or gradient. No host
synchronisation; the symbolic work runs once per divergence (memoised).

Accuracy: next to :math:`\lambda = 0` the scaled pair is rounded once, so each value carries an
absolute error of about :math:`\epsilon |f'(1)| e^{b}` (``eps`` of the dtype); elsewhere the
perspective's own accuracy (a few ulps) and the rounding of ``a`` and ``b``.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mpmath
import sympy as sp
import torch
from torch import Tensor

from divergences.numeric.discrete import perspective as discrete_perspective
from divergences.numeric.emit.primitives import softplus
from divergences.numeric.emit.printer import compile_pieces
from divergences.numeric.precision import upcast
from divergences.symbolic.symbols import u

if TYPE_CHECKING:
    from divergences.fdivergence import FDivergence

__all__ = ["LogPerspective", "log_perspective", "ratio_limit"]

_NU = sp.Symbol("nu", real=True)
_X = sp.Symbol("x", positive=True)
_Fn = Callable[[Tensor], Tensor]
#: beyond this |m| the factor e^m is applied in log space
_FAR = 600.0


def ratio_limit(dtype: torch.dtype) -> float:
    r""":math:`\Lambda = (-\log(\text{tiny}) - 7)/2` (350.7 in float64, 40.1 in float32):
    densities :math:`e^{\pm\Lambda}` and ratios :math:`e^{\pm 2\Lambda}` are normal numbers,
    so the perspective's intermediate results (a squared ratio) do not overflow."""
    return (-math.log(torch.finfo(dtype).tiny) - 7.0) / 2.0


def _expand(h: sp.Expr, *, leading: bool = True) -> list[tuple[sp.Expr, sp.Expr]]:
    r"""The leading terms of :math:`h(e^{\nu})` as :math:`\nu \to -\infty`:
    ``[(k_i, c_i(nu))]`` with :math:`h(e^{\nu}) = \sum_i c_i(\nu) e^{k_i \nu}` up to terms
    smaller by a factor :math:`O(e^{\nu})`.

    ``expand_log`` and ``expand`` write :math:`h(e^{\nu})` as a sum of products; factors
    :math:`e^{k \nu}` are collected, and every other factor, a function of :math:`x = e^{\nu}`
    and :math:`\nu`, is replaced by its leading term as :math:`x \to 0` (``as_leading_term``,
    :math:`\nu` held fixed): e.g. :math:`-\log(1 + e^{\nu}) \to -e^{\nu}`.

    With ``leading=False`` nothing is dropped: the exact expansion, for generators whose
    :math:`f(e^{\nu})` is a finite sum of such terms (``kl``: :math:`\nu e^{\nu}`).

    Raises:
        ValueError: a factor mixes :math:`\nu` and :math:`e^{\nu}` in a way not separated here.
    """
    expr = h.subs(u, sp.exp(_NU))
    expr = _factor_dominant(expr) if leading else _softplus_logs(expr)
    expr = sp.expand(sp.expand_log(expr, force=True))
    grouped: dict[sp.Expr, sp.Expr] = {}
    for term in sp.Add.make_args(expr):
        k, rest = sp.S.Zero, sp.S.One
        for factor in sp.Mul.make_args(term):
            if isinstance(factor, sp.exp):
                constant, linear = sp.expand(factor.args[0]).as_independent(_NU, as_Add=True)
                slope = sp.simplify(linear / _NU)
                if not slope.free_symbols and slope.is_real:
                    k, rest = k + slope, rest * sp.exp(constant)
                    continue
            rest = rest * factor
        in_x = rest.subs(sp.exp(_NU), _X)
        if any(_NU in e.free_symbols for e in in_x.atoms(sp.exp)):
            raise ValueError(f"cannot separate the exponentials of {rest}")
        if not leading:
            if in_x.has(_X):
                raise ValueError(f"{rest} is not free of exp(nu)")
            grouped[k] = grouped.get(k, sp.S.Zero) + rest
            continue
        lead = in_x.as_leading_term(_X) if in_x.has(_X) else in_x
        coefficient, power = lead.as_coeff_exponent(_X)
        if coefficient.has(_X) or not power.is_real:
            raise ValueError(f"no leading term of {rest} as nu -> -oo")
        grouped[k + power] = grouped.get(k + power, sp.S.Zero) + coefficient
    return [(k, sp.simplify(c)) for k, c in grouped.items()]


def _softplus_logs(expr: sp.Expr) -> sp.Expr:
    r""":math:`\log(c_0 + c_1 e^{k\nu}) = \log c_0 + \operatorname{softplus}(k\nu +
    \log(c_1/c_0))` (:math:`c_0, c_1 > 0`): no overflow for large :math:`\nu` and no lost
    digits for very negative ones (``js``, ``gan``, ``js_weighted``)."""

    def fix(node: sp.Expr) -> sp.Expr:
        terms = sp.Add.make_args(sp.expand(node.args[0]))
        constants = [t for t in terms if not t.has(_NU)]
        exponentials = [t for t in terms if t.has(_NU)]
        if len(terms) != 2 or len(constants) != 1 or len(exponentials) != 1:
            return node
        c1, rest = exponentials[0].as_independent(_NU, as_Add=False)
        c0 = constants[0]
        if not (isinstance(rest, sp.exp) and c0.is_positive and c1.is_positive):
            return node
        k = sp.simplify(rest.args[0] / _NU)
        if k.free_symbols:
            return node
        return sp.log(c0) + softplus(k * _NU + sp.log(c1 / c0))

    return expr.replace(lambda e: isinstance(e, sp.log) and e.has(_NU), fix)


def _factor_dominant(expr: sp.Expr) -> sp.Expr:
    r"""Logarithms and fractional powers of sums with their dominant factor taken out.

    For :math:`A(\nu)` with leading term :math:`c\, e^{j\nu}` as :math:`\nu \to -\infty`:
    :math:`\log A = \log c + j\nu + \log(A e^{-j\nu}/c)` and
    :math:`A^{s} = c^{s} e^{s j \nu} (A e^{-j\nu}/c)^{s}`, whose last factors tend to 1 (the
    dual of ``js_weighted`` has :math:`\log(\tfrac34 + \tfrac14 e^{-\nu})`).
    """

    def split(base: sp.Expr) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
        in_x = sp.powsimp(base.subs(sp.exp(_NU), _X))
        if not in_x.has(_X):
            return None
        c, j = in_x.as_leading_term(_X).as_coeff_exponent(_X)
        if c.has(_X) or c.has(_NU) or not j.is_real or (j == 0 and c == 1):
            return None
        return c, j, sp.simplify(base * sp.exp(-j * _NU) / c)

    def fix_log(node: sp.Expr) -> sp.Expr:
        parts = split(node.args[0])
        if parts is None:
            return node
        c, j, rest = parts
        return sp.log(c) + j * _NU + sp.log(rest)

    def fix_pow(node: sp.Expr) -> sp.Expr:
        base, exponent = node.args
        parts = split(base)
        if parts is None:
            return node
        c, j, rest = parts
        return c**exponent * sp.exp(exponent * j * _NU) * rest**exponent

    expr = expr.replace(lambda e: isinstance(e, sp.log) and e.has(_NU), fix_log)
    return expr.replace(
        lambda e: (
            isinstance(e, sp.Pow)
            and e.base.has(_NU)
            and not e.exp.is_Integer
            and not e.exp.has(_NU)
        ),
        fix_pow,
    )


@dataclass(frozen=True)
class _Tail:
    r""":math:`(\ell, \nu) \mapsto \sum_i c_i(\nu) e^{\ell + k_i \nu}` for
    :math:`\nu \le -\Lambda`.

    Evaluated as :math:`\pm\exp(\ell + k_0 \nu + \log|S|)` with
    :math:`S = \sum_i c_i(\nu) e^{(k_i - k_0)\nu}` and :math:`k_0 = \min_i k_i` (the
    dominant rate as :math:`\nu \to -\infty`), so that terms of opposite signs that overflow
    separately never meet as ``inf - inf``: the value overflows only where it does.
    """

    terms: tuple[tuple[float, _Fn], ...]

    def log_abs(self, log_weight: Tensor, nu: Tensor) -> tuple[Tensor, Tensor]:
        """``(sign, log|value|)`` (``-inf`` for a zero value)."""
        k0 = min(k for k, _ in self.terms)
        inner = torch.zeros_like(nu)
        for k, c in self.terms:
            factor = c(nu)
            if k == k0:
                inner = inner + factor
            else:  # (k - k0) nu <= 0: bounded
                inner = inner + torch.where(factor == 0, 0.0, factor * torch.exp((k - k0) * nu))
        nonzero = inner != 0
        log_abs = torch.log(torch.where(nonzero, inner.abs(), 1.0))
        log_value = torch.where(nonzero, log_weight + k0 * nu + log_abs, -math.inf)
        return torch.sign(inner), log_value

    def __call__(self, log_weight: Tensor, nu: Tensor) -> Tensor:
        sign, log_value = self.log_abs(log_weight, nu)
        finite = torch.isfinite(log_value)
        return torch.where(finite, sign * torch.exp(torch.where(finite, log_value, 0.0)), 0.0)


def _compile_tail(h: sp.Expr, name: str) -> _Tail:
    terms = []
    for index, (k, c) in enumerate(_expand(h)):
        if c == 0:
            continue
        _, fn = compile_pieces(((c, sp.Reals),), _NU, f"{name}_tail{index}")
        terms.append((float(k), fn))
    if not terms:  # h vanishes to leading order: nothing to add
        terms.append((0.0, torch.zeros_like))
    return _Tail(tuple(terms))


#: where the tail expansions are checked against mpmath: the float32 and float64 switch points
#: and one deeper (mpmath works with enough digits to resolve e^nu at each)
_CHECK_AT = (-ratio_limit(torch.float32), -ratio_limit(torch.float64), -1500.0)


def _agrees_with_mpmath(tail: _Tail, h: sp.Expr) -> bool:
    """The tail's sign and ``log|h(e^nu)|`` equal mpmath's at :data:`_CHECK_AT` (to 1e-9)."""
    nu = torch.tensor(_CHECK_AT, dtype=torch.float64)
    sign, log_abs = tail.log_abs(torch.zeros_like(nu), nu)
    function = sp.lambdify(u, h, modules="mpmath")
    with mpmath.workdps(800):
        for index, point in enumerate(_CHECK_AT):
            ref = function(mpmath.exp(mpmath.mpf(point)))
            if ref == 0:
                if bool(torch.isfinite(log_abs[index])):
                    return False
                continue
            if float(mpmath.sign(ref)) != float(sign[index]):
                return False
            if abs(float(mpmath.log(abs(ref))) - float(log_abs[index])) > 1e-9:
                return False
    return True


class LogPerspective:
    r"""``(a, b) -> e^{b} f(e^{a - b})`` element-wise for one divergence (module docstring).

    Attributes:
        exact_tails: whether the symbolic tail expansions passed their check (else the
            log-ratio is clamped to :math:`\pm\Lambda`, see the module docstring).
    """

    def __init__(self, d: FDivergence) -> None:
        self.name = d.name
        self._pair = discrete_perspective(d)
        limits = d.derived.generator.limits
        at_zero, at_infinity = _number(limits.value_at_zero), _number(limits.slope_at_infinity)
        self._at_zero = (at_zero, math.isinf(at_zero))
        self._at_infinity = (at_infinity, math.isinf(at_infinity))
        self._low: _Tail | None = None
        self._high: _Tail | None = None
        try:
            pieces = d.derived.generator.pieces
            low_expr = pieces[0].expr
            high_expr = sp.expand(u * pieces[-1].expr.subs(u, 1 / u))
            low, high = _compile_tail(low_expr, "low"), _compile_tail(high_expr, "high")
            if _agrees_with_mpmath(low, low_expr) and _agrees_with_mpmath(high, high_expr):
                self._low, self._high = low, high
        except Exception:  # no expansion (SymPy failed on it): the clamped tails below
            pass
        self.exact_tails = self._low is not None
        self._terms: tuple[tuple[float, _Fn], ...] | None = None
        try:  # f(e^nu) = sum_k c_k(nu) e^{k nu} exactly, where that form is accurate
            pieces = d.derived.generator.pieces
            if len(pieces) == 1:
                self._terms = _exact_terms(pieces[0].expr)
        except Exception:
            self._terms = None

    def __repr__(self) -> str:
        return f"LogPerspective({self.name!r}, exact_tails={self.exact_tails})"

    def __call__(self, a: Tensor, b: Tensor, *, sync: bool = False) -> Tensor:
        """:math:`e^{b} f(e^{a - b})` element-wise (``a``, ``b`` broadcast; same dtype).

        ``sync=True`` lets the function look at the data on the host once (one
        synchronisation): where every density is a normal number, ``e^a`` and ``e^b`` are
        passed to the perspective as they are (two ``exp`` and the kernel, the common case),
        and only the other elements take the branches above. ``sync=False`` evaluates every
        element through the branches, with no synchronisation.
        """
        return _evaluate(a, b, self, sync)

    def single(self, a: Tensor) -> Tensor | None:
        """:math:`f(e^{a}) = c(a) e^{k a}` with no check and no synchronisation, for generators
        whose :math:`f(e^{\nu})` is one such term (``kl``: :math:`a e^{a}`), exact for every
        finite ``a``; ``None`` for the others. A ``NaN`` in the result means a ``NaN`` or
        infinite ``a`` (the caller then uses :meth:`checked`)."""
        terms = self._terms
        if terms is None or len(terms) != 1 or a.dtype in (torch.float16, torch.bfloat16):
            return None
        k, c = terms[0]
        return c(a) * (torch.exp(a) if k == 1 else torch.exp(k * a))

    def checked(self, a: Tensor, b: Tensor | None = None) -> tuple[Tensor, bool]:
        """The ``sync=True`` evaluation and whether some ``a`` or ``b`` was ``NaN`` or
        ``+inf`` (found on the way, at no extra synchronisation); ``b=None`` is ``b = 0``."""
        if a.dtype in (torch.float16, torch.bfloat16):
            value, bad = _fast(a.float(), None if b is None else b.float(), self)
            return value.to(a.dtype), bad
        return _fast(a, b, self)

    def _middle(self, a: Tensor, b: Tensor, mask: Tensor) -> Tensor:
        """``e^m K(e^{a-m}, e^{b-m})`` where ``mask`` holds (``a``, ``b`` finite there)."""
        am, bm = torch.where(mask, a, 0.0), torch.where(mask, b, 0.0)
        m = torch.maximum(am, bm)
        k = self._pair(torch.exp(am - m), torch.exp(bm - m))
        far = m.abs() >= _FAR  # e^m would over- or underflow: multiply in log space
        direct = torch.exp(torch.where(far, 0.0, m)) * k
        use_log = far & (k != 0)
        log_abs = torch.log(torch.where(use_log, k.abs(), 1.0))
        scaled = torch.sign(k) * torch.exp(torch.where(use_log, m, 0.0) + log_abs)
        return torch.where(far, torch.where(use_log, scaled, 0.0), direct)

    def evaluate(self, a: Tensor, b: Tensor) -> Tensor:
        a, b = torch.broadcast_tensors(a, b)
        limit = ratio_limit(a.dtype)
        finite_a, finite_b = torch.isfinite(a), torch.isfinite(b)
        both = finite_a & finite_b
        lam = torch.where(both, a - b, 0.0)
        if self._low is None or self._high is None:
            b_safe = torch.where(both, b, 0.0)
            value = self._middle(b_safe + lam.clamp(-limit, limit), b_safe, both)
        else:
            middle = both & (lam.abs() <= limit)
            low = both & (lam < -limit)
            high = both & (lam > limit)
            value = self._middle(a, b, middle)
            fill = -limit - 1.0
            low_value = self._low(torch.where(low, b, 0.0), torch.where(low, lam, fill))
            high_value = self._high(torch.where(high, a, 0.0), torch.where(high, -lam, fill))
            value = torch.where(low, low_value, torch.where(high, high_value, value))
        # zero densities: e^b f(0+), e^a f'(oo), 0 f(0/0) = 0
        p_zero = (a == -math.inf) & finite_b
        q_zero = (b == -math.inf) & finite_a
        value = torch.where(p_zero, _times_exp(torch.where(p_zero, b, 0.0), self._at_zero), value)
        value = torch.where(
            q_zero, _times_exp(torch.where(q_zero, a, 0.0), self._at_infinity), value
        )
        value = torch.where((a == -math.inf) & (b == -math.inf), 0.0, value)
        bad = torch.isnan(a) | torch.isnan(b) | (a == math.inf) | (b == math.inf)
        return torch.where(bad, math.nan, value)


@upcast
def _evaluate(a: Tensor, b: Tensor, self: LogPerspective, sync: bool) -> Tensor:
    if not sync:
        return self.evaluate(a, b)
    return _fast(a, b, self)[0]


def _fast(a: Tensor, b: Tensor | None, self: LogPerspective) -> tuple[Tensor, bool]:
    """The synchronising evaluation and whether any input was ``NaN`` or ``+inf``
    (``b=None`` means ``b = 0``, the plain Monte Carlo estimator)."""
    limit = ratio_limit(a.dtype)
    if self._terms is not None:  # sum_k c_k(lambda) e^{b + k lambda} for |lambda| <= Lambda
        if b is None:
            if bool((a.abs() <= limit).all()):  # host synchronisation (NaN compares False)
                return _sum_terms(self._terms, a, None), False
            b = a.new_zeros(())
        else:
            lam = a - b
            if bool(((lam.abs() <= limit) & torch.isfinite(b)).all()):  # host synchronisation
                return _sum_terms(self._terms, lam, b), False
        lam = a - b
        other = ~((lam.abs() <= limit) & torch.isfinite(b))
        lam, base = torch.where(other, 0.0, lam), torch.where(other, 0.0, b)
        return _fast_general(a, b, self, other, _sum_terms(self._terms, lam, base))
    # densities and their ratio within e^{+-Lambda}: the perspective of (e^a, e^b) directly
    if b is None:
        if bool((a.abs() <= limit).all()):  # host synchronisation (NaN compares False)
            return self._pair(torch.exp(a), a.new_ones(())), False
        b = a.new_zeros(())
    elif bool(((a.abs() <= limit) & (b.abs() <= limit) & ((a - b).abs() <= limit)).all()):
        return self._pair(torch.exp(a), torch.exp(b)), False
    ac, bc = a.clamp(-limit, limit), b.clamp(-limit, limit)
    value = self._pair(torch.exp(ac), torch.exp(bc))
    other = (ac != a) | (bc != b) | ((a - b).abs() > limit)  # out of range, infinite or NaN
    return _fast_general(a, b, self, other, value)


def _sum_terms(terms: tuple[tuple[float, _Fn], ...], lam: Tensor, b: Tensor | None) -> Tensor:
    r""":math:`\sum_k c_k(\lambda) e^{b + k\lambda}` (``b=None``: ``b = 0``)."""
    total: Tensor | None = None
    for k, c in terms:
        coefficient = c(lam)
        if b is None:
            term = coefficient if k == 0 else coefficient * torch.exp(lam if k == 1 else k * lam)
        else:
            term = coefficient * torch.exp(b if k == 0 else b + k * lam)
        total = term if total is None else total + term
    assert total is not None
    return total


#: where an exact form's accuracy is checked against mpmath (both signs), and how: the error
#: may be a few ulps of the value, plus a few ulps of the first-order terms next to 0
_EXACT_PROBES = (1e-3, 0.05, 0.7, 3.0, 12.0, 39.0, 120.0, 340.0)


def _fewest_terms(c: sp.Expr) -> sp.Expr:
    r"""``c`` or ``c`` with :math:`\operatorname{softplus}(x) = x + \operatorname{softplus}(-x)`,
    whichever is a sum of fewer terms: ``js``'s :math:`\nu/2 - \operatorname{softplus}(\nu)/2`
    becomes :math:`-\operatorname{softplus}(-\nu)/2`, which does not cancel for large
    :math:`\nu`."""
    flipped = c.replace(
        lambda e: isinstance(e, softplus), lambda e: e.args[0] + softplus(-e.args[0])
    )
    options = [sp.expand(c), sp.expand(flipped)]
    return min(options, key=lambda e: len(sp.Add.make_args(e)))


def _exact_terms(expr: sp.Expr) -> tuple[tuple[float, _Fn], ...] | None:
    r"""The exact form :math:`f(e^{\nu}) = \sum_k c_k(\nu) e^{k\nu}` of a one-piece generator,
    compiled, if it is accurate: within :math:`8\epsilon (1 + 1/|\nu|)` of the value at
    :data:`_EXACT_PROBES` (the kernel's own accuracy next to :math:`\nu = 0`, where the
    rounding of :math:`e^{\nu}` costs :math:`\epsilon/|\nu|`). ``pearson``'s
    :math:`e^{2\nu} - 2e^{\nu} + 1` fails it (terms of size 1 cancel to :math:`\nu^2`),
    ``kl``'s :math:`\nu e^{\nu}` and ``js``'s softplus form pass."""
    terms = [(k, _fewest_terms(c)) for k, c in _expand(expr, leading=False) if c != 0]
    if not terms:
        return None
    compiled = tuple(
        (float(k), compile_pieces(((c, sp.Reals),), _NU, f"exact{index}")[1])
        for index, (k, c) in enumerate(terms)
    )
    points = [sign * x for x in _EXACT_PROBES for sign in (-1.0, 1.0)]
    lam = torch.tensor(points, dtype=torch.float64)
    got = _sum_terms(compiled, lam, None)
    function = sp.lambdify(u, expr, modules="mpmath")
    eps = torch.finfo(torch.float64).eps
    with mpmath.workdps(60):
        for index, point in enumerate(points):
            ref = float(function(mpmath.exp(mpmath.mpf(point))))
            tolerance = 8 * eps * (1 + 1 / abs(point)) * abs(ref) + 1e-300
            if not abs(float(got[index]) - ref) <= tolerance:
                return None
    return compiled


def _fast_general(
    a: Tensor, b: Tensor, self: LogPerspective, other: Tensor, value: Tensor
) -> tuple[Tensor, bool]:
    """``value`` with the elements ``other`` evaluated by the branches, each branch on its own
    elements only (compacted: the synchronising path may look at the data)."""
    a, b = torch.broadcast_tensors(a, b)
    a, b = a[other], b[other]
    bad = bool((torch.isnan(a) | torch.isnan(b) | (a == math.inf) | (b == math.inf)).any())
    value = value.expand(other.shape)
    if bad or self._low is None or self._high is None:
        return value.masked_scatter(other, self.evaluate(a, b)), bad
    limit = ratio_limit(a.dtype)
    finite = torch.isfinite(a) & torch.isfinite(b)
    lam = torch.where(finite, a - b, 0.0)
    parts = torch.empty_like(a)
    middle = finite & (lam.abs() <= limit)
    low, high = finite & (lam < -limit), finite & (lam > limit)
    zeros = ~finite
    if bool(middle.any()):
        am, bm = a[middle], b[middle]
        parts = parts.masked_scatter(
            middle, self._middle(am, bm, torch.ones_like(am, dtype=torch.bool))
        )
    if bool(low.any()):
        parts = parts.masked_scatter(low, self._low(b[low], lam[low]))
    if bool(high.any()):
        parts = parts.masked_scatter(high, self._high(a[high], -lam[high]))
    if bool(zeros.any()):
        parts = parts.masked_scatter(zeros, self.evaluate(a[zeros], b[zeros]))
    return value.masked_scatter(other, parts), bad


def _number(x: sp.Expr) -> float:
    if x is sp.oo:
        return math.inf
    if x is sp.S.NegativeInfinity:
        return -math.inf
    return float(x)


def _times_exp(log_weight: Tensor, constant: tuple[float, bool]) -> Tensor:
    """``exp(log_weight) * value`` for ``constant = (value, infinite)``, with ``inf`` (not
    ``0 * inf``) for an infinite one (the flag is decided once, not while tracing)."""
    value, infinite = constant
    if infinite:
        return torch.full_like(log_weight, value)
    return torch.exp(log_weight) * value


_CACHE: weakref.WeakKeyDictionary[FDivergence, LogPerspective] = weakref.WeakKeyDictionary()


def log_perspective(d: FDivergence) -> LogPerspective:
    """The :class:`LogPerspective` of ``d`` (built once per divergence object)."""
    found = _CACHE.get(d)
    if found is None:
        found = _CACHE.setdefault(d, LogPerspective(d))
    return found
