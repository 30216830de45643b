r"""SymPy names for the stable torch primitives, so rewritten expressions stay symbolic.

The stability rewrites (:mod:`._rewrite`) replace fragile subexpressions by these functions; the
printer (:mod:`._printer`) maps each one to its torch implementation in :mod:`.stable`, and
:func:`elementary` maps them back to elementary functions so a rewrite can be checked against
the expression it came from.

.. math::

    \operatorname{softplus}(x) = \log(1 + e^x), \quad
    \operatorname{log1mexp}(x) = \log(1 - e^x), \quad
    \operatorname{xlogy}(x, y) = x \log y, \quad
    \omega_{\log}(y) = \log W(e^{y + 1}), \quad
    \operatorname{log1mexp\_negexp}(y) = \log(1 - e^{-e^{y}}),

together with :math:`\operatorname{log1p}(x) = \log(1 + x)` and
:math:`\operatorname{expm1}(x) = e^x - 1`. These are plain (unevaluated) SymPy functions: unlike
:mod:`sympy.codegen.cfunctions`, ``expm1(log(s)/2)`` is *not* turned back into ``sqrt(s) - 1``.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "PRIMITIVES",
    "elementary",
    "exp_capped",
    "expm1",
    "expm1_capped",
    "log1mexp",
    "log1mexp_negexp",
    "log1p",
    "omega_log",
    "softplus",
    "xlogy",
]


class log1p(sp.Function):
    r""":math:`\log(1 + x)`, accurate for small ``x``."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (1 + self.args[0])


class expm1(sp.Function):
    r""":math:`e^x - 1`, accurate for small ``x``."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.exp(self.args[0])

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _eval_is_positive(self) -> bool | None:
        return self.args[0].is_positive

    def _eval_is_negative(self) -> bool | None:
        return self.args[0].is_negative


class softplus(sp.Function):
    r""":math:`\log(1 + e^x)`."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (1 + sp.exp(-self.args[0]))

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _eval_is_positive(self) -> bool | None:
        return True if self.args[0].is_real else None


class log1mexp(sp.Function):
    r""":math:`\log(1 - e^x)`, real for ``x < 0``."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return -sp.exp(x) / (1 - sp.exp(x))


class log1mexp_negexp(sp.Function):
    r""":math:`\log(1 - e^{-e^{y}}) = \operatorname{log1mexp}(-e^{y})`, real for every ``y``.

    It is :math:`y + \log\frac{1 - e^{-z}}{z}` with :math:`z = e^{y}`, so it stays finite (about
    ``y``) where :math:`e^{y}` underflows and ``log1mexp(-exp(y))`` would be ``log(0)``.
    """

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        z = sp.exp(self.args[0])
        return z / (sp.exp(z) - 1)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _eval_is_negative(self) -> bool | None:
        return True if self.args[0].is_real else None


class xlogy(sp.Function):
    r""":math:`x \log y` with :math:`0 \log 0 = 0`."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, y = self.args
        return sp.log(y) if argindex == 1 else x / y


class omega_log(sp.Function):
    r"""The ``L`` with :math:`e^L - 1 + L = y`, i.e. :math:`\log W(e^{y + 1})`."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (sp.exp(self) + 1)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real


class exp_capped(sp.Function):
    r""":math:`e^x` with the argument capped at the largest finite result (see ``stable``)."""

    nargs = 1


class expm1_capped(sp.Function):
    r""":math:`e^x - 1` with the argument capped at the largest finite result."""

    nargs = 1


PRIMITIVES = (
    softplus,
    log1mexp,
    log1mexp_negexp,
    xlogy,
    omega_log,
    log1p,
    expm1,
    exp_capped,
    expm1_capped,
)


def elementary(expr: sp.Expr) -> sp.Expr:
    """Replace every primitive by its elementary definition (for checks against the original)."""
    rules = {
        softplus: lambda x: sp.log(1 + sp.exp(x)),
        log1mexp: lambda x: sp.log(1 - sp.exp(x)),
        log1mexp_negexp: lambda y: sp.log(1 - sp.exp(-sp.exp(y))),
        xlogy: lambda x, y: x * sp.log(y),
        omega_log: lambda y: sp.log(sp.LambertW(sp.exp(y + 1))),
        log1p: lambda x: sp.log(1 + x),
        expm1: lambda x: sp.exp(x) - 1,
        exp_capped: sp.exp,
        expm1_capped: lambda x: sp.exp(x) - 1,
    }
    return expr.replace(lambda e: type(e) in rules, lambda e: rules[type(e)](*e.args))
