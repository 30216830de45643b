r"""Batched torch evaluation of the numeric conjugate (:mod:`divergences.symbolic.legendre`).

Where SymPy cannot invert :math:`f'` on a piece :math:`(a, b)`, the derived conjugate holds
``ConjugateValue(t, f, a, b)`` and its maximiser ``StationaryPoint(t, f, a, b)``. The printer
(:mod:`.printer`) prints each as a call to a :class:`LegendreSolver` of this module:

.. math::
    u^*(t):\ f'(u^*) = t, \qquad f^*(t) = t\,u^* - f(u^*), \qquad
    \frac{d f^*}{dt} = u^*, \qquad \frac{d u^*}{dt} = \frac{1}{f''(u^*)}.

The root is found by a safeguarded Newton iteration (Press et al., *Numerical Recipes*, 3rd ed.,
2007, Sec. 9.4, ``rtsafe``) on the increasing function :math:`g(w) = f'(u(w)) - t`, with
:math:`u = a + e^{w}` when :math:`b = \infty` (so every magnitude of :math:`u^*` representable in
the dtype is bracketed by ``w`` in ``[log(tiny), log(max)]``) and :math:`u = w` on a bounded piece.
Each step keeps the bracket; a Newton step that leaves it, or that does not shrink the step
geometrically, is replaced by bisection. The iteration count is fixed (:data:`ITERATIONS`, enough
for bisection alone to reach the dtype's resolution), so the function has no data-dependent
control flow: no host synchronisation, and it works batched, on any device, under
``torch.compile(fullgraph=True)`` and ``torch.func.vmap``.

The gradients come from the envelope theorem, not from differentiating the iteration: the
backward of :math:`f^*` is ``grad * u*`` and the backward of :math:`u^*` is ``grad / f''(u*)``
(custom :class:`torch.autograd.Function`; first derivatives only). The value is insensitive to
the root's error to first order (:math:`\partial_u (t u - f(u)) = 0` at :math:`u^*`).

``tests/emit/test_numeric_conjugate.py`` checks values and gradients against mpmath at 50 digits
and the f-GAN bound against quadrature.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import sympy as sp
import torch
from torch import Tensor

from divergences.symbolic.legendre import ConjugateValue, StationaryPoint, numeric_key
from divergences.symbolic.symbols import u

__all__ = ["ITERATIONS", "SOLVERS", "LegendreSolver", "solver_for"]

#: fixed iteration count per dtype: bisection alone shrinks the float64 bracket
#: ``[log(tiny), log(max)]`` (width 1417) below its resolution in 60 steps, and the safeguard
#: bisects at least every other step
ITERATIONS = {torch.float64: 128, torch.float32: 64}

#: printed key -> solver (filled by :func:`solver_for` when the printer meets a numeric function)
SOLVERS: dict[str, LegendreSolver] = {}

#: ``compile_pieces(pieces, var, name) -> (source, function)`` of :mod:`.printer`
Compiler = Callable[[tuple[tuple[sp.Expr, sp.Set], ...], sp.Symbol, str], tuple[str, Callable]]

_KEY = re.compile(r"(ConjugateValue|StationaryPoint)_[0-9a-f]{16}")


class LegendreSolver:
    """:math:`u^*(t)` and :math:`f^*(t)` on one piece ``(left, right)`` of a generator.

    Args:
        f, fprime, fsecond: element-wise torch functions of ``u`` on the piece.
        left, right: the piece's ends (``right`` may be ``inf``).
    """

    def __init__(
        self,
        f: Callable[[Tensor], Tensor],
        fprime: Callable[[Tensor], Tensor],
        fsecond: Callable[[Tensor], Tensor],
        left: float,
        right: float,
    ) -> None:
        self.f, self.fprime, self.fsecond = f, fprime, fsecond
        self.left, self.right = left, right
        self.conjugate = _conjugate_function(self)
        self.stationary_point = _stationary_function(self)

    def root(self, t: Tensor) -> Tensor:
        """:math:`u^*(t)` without autograd (the safeguarded Newton iteration)."""
        with torch.no_grad():
            return self._root(t.detach())

    def _root(self, t: Tensor) -> Tensor:
        info = torch.finfo(t.dtype)
        unbounded = math.isinf(self.right)
        if unbounded:
            lo = torch.full_like(t, math.log(info.tiny))
            hi = torch.full_like(t, math.log(info.max))
            w = torch.zeros_like(t)
        else:
            lo = torch.full_like(t, self.left)
            hi = torch.full_like(t, self.right)
            w = (lo + hi) / 2
        step_old = hi - lo
        step = step_old
        for _ in range(ITERATIONS.get(t.dtype, 64)):
            if unbounded:
                e = torch.exp(w)
                x = self.left + e
                g = self.fprime(x) - t
                dg = self.fsecond(x) * e
            else:
                g = self.fprime(w) - t
                dg = self.fsecond(w)
            above = g > 0
            hi = torch.where(above, w, hi)
            lo = torch.where(above, lo, w)
            newton = w - g / dg
            # rtsafe's test: bisect when Newton leaves the bracket or does not halve the step
            # of two iterations ago (|2 g| > |step_old * g'|)
            inside = (newton > lo) & (newton < hi) & torch.isfinite(newton)
            fast = (2 * g).abs() <= (step_old * dg).abs()
            take = inside & fast
            step_old = step
            middle = lo + (hi - lo) / 2
            new_w = torch.where(take, newton, middle)
            step = (new_w - w).abs()
            w = torch.where(g == 0, w, new_w)
        if unbounded:
            return self.left + torch.exp(w)
        return w

    def value(self, t: Tensor, x: Tensor) -> Tensor:
        """:math:`t x - f(x)` at the root ``x``; ``+inf`` where the root is beyond the dtype's
        largest number (the bracket's upper end), where the true value overflows too."""
        value = t * x - self.f(x)
        if math.isinf(self.right):
            beyond = x >= torch.finfo(x.dtype).max / 2
            value = torch.where(beyond, math.inf, value)
        return value


def _conjugate_function(solver: LegendreSolver) -> Callable[[Tensor], Tensor]:
    class _Conjugate(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(t: Tensor) -> tuple[Tensor, Tensor]:
            x = solver._root(t)
            return solver.value(t, x), x

        @staticmethod
        def setup_context(ctx, inputs, output) -> None:
            ctx.mark_non_differentiable(output[1])
            ctx.save_for_backward(output[1])

        @staticmethod
        def backward(ctx, grad: Tensor, _grad_x: Tensor) -> Tensor:
            (x,) = ctx.saved_tensors
            return grad * x  # envelope theorem: d f*/dt = u*(t)

    def conjugate(t: Tensor) -> Tensor:
        return _Conjugate.apply(t)[0]

    return conjugate


def _stationary_function(solver: LegendreSolver) -> Callable[[Tensor], Tensor]:
    class _Stationary(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(t: Tensor) -> Tensor:
            return solver._root(t)

        @staticmethod
        def setup_context(ctx, inputs, output) -> None:
            ctx.save_for_backward(output)

        @staticmethod
        def backward(ctx, grad: Tensor) -> Tensor:
            (x,) = ctx.saved_tensors
            return grad / solver.fsecond(x)  # inverse function: du*/dt = 1 / f''(u*)

    return _Stationary.apply


def _expanded(expr: sp.Expr) -> sp.Expr:
    """``expr`` with logarithms split and products expanded: the raw derivative of
    ``(1 + u) log((1 + u)/(2 sqrt u))`` holds ``(u + 1)/(4 u^{3/2})``, whose ``u^{3/2}`` overflows
    at ``u = 1e206`` and gave ``f'(1e260) = 300.5`` instead of ``299.8``; expanded it is
    ``1/2 - 1/(2u)``."""
    return sp.expand(sp.expand_log(expr, force=True), force=True)


def solver_for(expr: ConjugateValue | StationaryPoint, compile_pieces: Compiler) -> str:
    """The key under which :data:`SOLVERS` holds the solver of ``expr``'s piece, built on first
    use from ``f``, ``f'`` and ``f''`` compiled by ``compile_pieces`` (the printer passes its own
    :func:`.printer.compile_pieces`: this module does not import the printer, which imports it).
    """
    key = numeric_key(expr)
    if not _KEY.fullmatch(key):  # the key is printed into source: our own hash, checked anyway
        raise ValueError(f"not a numeric-conjugate key: {key!r}")
    piece_key = numeric_key(ConjugateValue(*expr.args))
    solver = SOLVERS.get(piece_key)
    if solver is None:
        body = expr.generator_body
        first, second = (_expanded(sp.diff(body, u, k)) for k in (1, 2))
        functions = [
            compile_pieces(((e, sp.Reals),), u, f"legendre_{name}")[1]
            for e, name in ((body, "f"), (first, "fprime"), (second, "fsecond"))
        ]
        left, right = (float(x) for x in expr.piece)
        solver = SOLVERS.setdefault(piece_key, LegendreSolver(*functions, left, right))
    SOLVERS[key] = solver
    return key
