r"""SymPy names for the stable torch primitives, so rewritten expressions stay symbolic.

The stability rewrites (:mod:`.rewrite`) replace fragile subexpressions by these functions. Each
primitive is ONE row of :data:`PRIMITIVES` (a :class:`Primitive`): its SymPy class, its
elementary definition (so a rewrite can be checked against the expression it came from), the
torch callable the printer (:mod:`.printer`) writes for it (``torch.*`` or
:mod:`divergences.numeric.stable`), and its mpmath reference at any precision (used by the
selector, :mod:`.select`, to score candidate forms). Adding a primitive is adding a row (and,
when torch has no such function, its implementation in :mod:`divergences.numeric.stable`).
The table also lists the elementary SymPy functions the printer accepts (``exp``, ``log``,
``tanh``, ``Abs``, ``LambertW``); any other function is refused with a ``DerivationError``.

.. math::

    \operatorname{softplus}(x) = \log(1 + e^x), \quad
    \operatorname{log1mexp}(x) = \log(1 - e^x), \quad
    \operatorname{xlogy}(x, y) = x \log y, \quad
    \omega_{\log}(y) = \log W(e^{y + 1}), \quad
    \operatorname{log1mexp\_negexp}(y) = \log(1 - e^{-e^{y}}),

together with :math:`\operatorname{log1p}(x) = \log(1 + x)` and
:math:`\operatorname{expm1}(x) = e^x - 1`. They are registered with the disk cache's
serializer, so searched forms containing them are stored as JSON and read back by class name
from that whitelist. These are plain (unevaluated) SymPy functions: unlike
:mod:`sympy.codegen.cfunctions`, ``expm1(log(s)/2)`` is *not* turned back into ``sqrt(s) - 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import mpmath
import sympy as sp

from divergences.symbolic.serialize import register_sympy_class

__all__ = [
    "BY_CLASS",
    "MPMATH",
    "PRIMITIVES",
    "Primitive",
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


@register_sympy_class
class log1p(sp.Function):
    r""":math:`\log(1 + x)`, accurate for small ``x``."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (1 + self.args[0])


@register_sympy_class
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


@register_sympy_class
class softplus(sp.Function):
    r""":math:`\log(1 + e^x)`."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (1 + sp.exp(-self.args[0]))

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real

    def _eval_is_positive(self) -> bool | None:
        return True if self.args[0].is_real else None


@register_sympy_class
class log1mexp(sp.Function):
    r""":math:`\log(1 - e^x)`, real for ``x < 0``."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return -sp.exp(x) / (1 - sp.exp(x))


@register_sympy_class
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


@register_sympy_class
class xlogy(sp.Function):
    r""":math:`x \log y` with :math:`0 \log 0 = 0`."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, y = self.args
        return sp.log(y) if argindex == 1 else x / y


@register_sympy_class
class omega_log(sp.Function):
    r"""The ``L`` with :math:`e^L - 1 + L = y`, i.e. :math:`\log W(e^{y + 1})`."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return 1 / (sp.exp(self) + 1)

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real


@register_sympy_class
class exp_capped(sp.Function):
    r""":math:`e^x` with the argument capped at the largest finite result (see ``stable``)."""

    nargs = 1


@register_sympy_class
class expm1_capped(sp.Function):
    r""":math:`e^x - 1` with the argument capped at the largest finite result."""

    nargs = 1


# --------------------------------------------------------------------------------------------
# mpmath references (any precision), guarded against arguments that would never return
# --------------------------------------------------------------------------------------------


def _check_exp_argument(x: mpmath.mpf) -> None:
    # mpmath evaluates exp(x) with about mag(x) extra bits of working precision, so exp of a
    # huge argument (exp(-4 exp(1e20)), reached at a probe point v = -1e20) never returns
    if mpmath.isfinite(x) and x != 0 and mpmath.mag(x) > 1100:
        raise OverflowError("exp argument beyond 2**1100")


def mp_exp(x: mpmath.mpf) -> mpmath.mpf:
    """``exp`` that refuses arguments beyond ``2**1100`` (``exp(exp(1000))`` would hang).

    Beyond ``2**64`` it is :math:`2^n e^{r}` with ``x = n log 2 + r``: mpmath's own ``exp`` of
    ``1e300`` at 800 digits takes 30 ms (it raises ``e`` to a huge power), this 0.5 ms.
    """
    _check_exp_argument(x)
    magnitude = mpmath.mag(x) if mpmath.isfinite(x) and x != 0 else 0
    if magnitude <= 64:
        return mpmath.exp(x)
    with mpmath.extraprec(magnitude + 20):
        n = mpmath.floor(x / mpmath.ln2)
        rest = x - n * mpmath.ln2
    return mpmath.ldexp(mpmath.exp(rest), int(n))


def mp_expm1(x: mpmath.mpf) -> mpmath.mpf:
    """``expm1`` with the guard of :func:`mp_exp` (mpmath's ``expm1`` calls ``exp``)."""
    _check_exp_argument(x)
    if mpmath.isfinite(x) and x != 0 and mpmath.mag(x) > 64:
        return mp_exp(x) - 1  # no cancellation this far from 0
    return mpmath.expm1(x)


def _mp_log1mexp(x: mpmath.mpf) -> mpmath.mpf:
    return mpmath.log(-mp_expm1(x))


def _mp_log1mexp_negexp(y: mpmath.mpf) -> mpmath.mpf:
    return mpmath.log(-mp_expm1(-mp_exp(y)))


def _mp_xlogy(x: mpmath.mpf, y: mpmath.mpf) -> mpmath.mpf:
    return mpmath.mpf(0) if x == 0 else x * mpmath.log(y)


def _mp_omega_log(y: mpmath.mpf) -> mpmath.mpf:
    return mpmath.log(mpmath.lambertw(mp_exp(y + 1)).real)


def _mp_softplus(x: mpmath.mpf) -> mpmath.mpf:
    return mpmath.log1p(mp_exp(x))


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Primitive:
    """One function the emitter knows: SymPy class, torch and mpmath versions, definition.

    Attributes:
        sympy: the SymPy function class.
        torch: the callable the printer writes (``torch.log1p``; ``_s.softplus`` is
            :func:`divergences.numeric.stable.softplus`).
        mpmath: its value at mpmath's working precision (``None``: mpmath's function of the
            same name, which ``sympy.lambdify`` finds by itself).
        elementary: its definition in elementary functions, ``None`` when it is one.
    """

    sympy: type
    torch: str
    mpmath: Callable[..., mpmath.mpf] | None
    elementary: Callable[..., sp.Expr] | None = None

    @property
    def name(self) -> str:
        return self.sympy.__name__


PRIMITIVES: tuple[Primitive, ...] = (
    Primitive(softplus, "_s.softplus", _mp_softplus, lambda x: sp.log(1 + sp.exp(x))),
    Primitive(log1mexp, "_s.log1mexp", _mp_log1mexp, lambda x: sp.log(1 - sp.exp(x))),
    Primitive(
        log1mexp_negexp,
        "_s.log1mexp_negexp",
        _mp_log1mexp_negexp,
        lambda y: sp.log(1 - sp.exp(-sp.exp(y))),
    ),
    Primitive(xlogy, "torch.xlogy", _mp_xlogy, lambda x, y: x * sp.log(y)),
    Primitive(
        omega_log, "_s.omega_log", _mp_omega_log, lambda y: sp.log(sp.LambertW(sp.exp(y + 1)))
    ),
    Primitive(log1p, "torch.log1p", mpmath.log1p, lambda x: sp.log(1 + x)),
    Primitive(expm1, "torch.expm1", mp_expm1, lambda x: sp.exp(x) - 1),
    Primitive(exp_capped, "_s.exp_capped", mp_exp, sp.exp),
    Primitive(expm1_capped, "_s.expm1_capped", mp_expm1, lambda x: sp.exp(x) - 1),
    # elementary functions the printer accepts
    Primitive(sp.exp, "torch.exp", mp_exp),
    Primitive(sp.log, "torch.log", None),
    Primitive(sp.tanh, "torch.tanh", None),
    Primitive(sp.Abs, "torch.abs", None),
    Primitive(sp.LambertW, "_s.lambertw", None),
)

#: SymPy class -> its row
BY_CLASS: Mapping[type, Primitive] = MappingProxyType({p.sympy: p for p in PRIMITIVES})

#: function name -> mpmath callable: the ``modules`` mapping for ``sympy.lambdify`` (before
#: ``"mpmath"``, which supplies the functions not listed)
#: (a plain dict: ``lambdify`` accepts no other mapping; do not modify it)
MPMATH: dict[str, Callable[..., mpmath.mpf]] = {
    p.name: p.mpmath for p in PRIMITIVES if p.mpmath is not None
}


def elementary(expr: sp.Expr) -> sp.Expr:
    """Replace every primitive by its elementary definition (for checks against the original)."""
    rules = {p.sympy: p.elementary for p in PRIMITIVES if p.elementary is not None}
    return expr.replace(lambda e: type(e) in rules, lambda e: rules[type(e)](*e.args))
