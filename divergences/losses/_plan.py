r"""Which mean computes each term of an f-GAN loss: a fused one where the term's form is known.

An f-GAN loss is a difference of means of element-wise terms :math:`h(v) = a + b\, G(v)` (the
activation :math:`g_f` and :math:`f^* \circ g_f`, split by the emitter:
:class:`divergences.numeric.kernels.AffineTerm`). The emitter's general mean evaluates the emitted
torch function of :math:`G` and lets autograd differentiate it. Where the *symbolic* core
:math:`G` has one of the shapes below, with an affine argument :math:`H = s v + c` (slope and
intercept read exactly from the expression, no name of a divergence is looked at), a fused
autograd Function computes the same mean in fewer passes with a closed-form backward:

* :math:`e^{H}` and :math:`\operatorname{expm1}(H)`: :func:`._exp_mean.exp_mean` (``kl``,
  ``reverse_kl``, ``neyman``, ``squared_hellinger``, ``alpha``, ``js_weighted``'s activation);
* :math:`\operatorname{softplus}(\pm v)`: :func:`._softplus_mean.softplus_mean` (``gan``);
* :math:`\log(1 - e^{-e^{H}})`: :func:`._log1mexp_mean.log1mexp_negexp_mean` (``js_weighted``'s
  :math:`f^* \circ g_f`);
* :math:`\operatorname{expm1}(-L) - L` with :math:`L = \omega_{\log}(H)`:
  :func:`._omega_mean.omega_conjugate_mean` (``jeffrey``'s :math:`f^* \circ g_f`);
* two pieces, a constant on one side of ``t`` and a quadratic :math:`P` with :math:`P'(t) = 0`
  on the other: :func:`._clamped_quadratic_mean.clamped_quadratic_mean` (``pearson``,
  ``alpha`` = 2).

Every other term keeps the emitter's mean (``js``'s centred softplus, ``total_variation``'s
``tanh`` and the identity are one fused pass there already). Each fused mean is checked
against the emitted function it replaces, value and gradient, in ``tests/losses``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

import sympy as sp
from torch import Tensor

from divergences.losses._clamped_quadratic_mean import clamped_quadratic_mean
from divergences.losses._exp_mean import exp_mean
from divergences.losses._log1mexp_mean import log1mexp_negexp_mean
from divergences.losses._omega_mean import omega_conjugate_mean
from divergences.losses._softplus_mean import softplus_mean
from divergences.numeric.kernels import AffineTerm
from divergences.symbolic.symbols import v

if TYPE_CHECKING:
    # the emitter is imported when a loss first needs a divergence's terms, not with the package
    from divergences.numeric.emit.emitted import Emitted

__all__ = ["FUSED_MIN_NUMEL", "FusedTerm", "TermMean", "plan"]

#: below this many elements a term's mean is the emitter's (plain autograd operations) instead
#: of the fused Function: an autograd Function costs 40-100 us of Python per call (its
#: ``apply`` binds the arguments with ``inspect.signature``, and the backward is a Python call),
#: which the fused passes pay back from about 1e5 float32 elements on one thread (measured:
#: kl's f* o g_f fused / emitted 2.1x at 4096 elements, 1.4x at 65536, 0.86x at 262144). Both
#: give the same value to a few ulps; the fused one also keeps less memory for the backward.
FUSED_MIN_NUMEL = 2**17


class TermMean(Protocol):
    """What the losses need of a term :math:`a + b G(v)` (``AffineTerm`` or ``FusedTerm``)."""

    factor: float

    @property
    def exponential(self) -> bool: ...

    def mean(self, v: Tensor) -> Tensor: ...

    def mean_and_log_magnitude(self, v: Tensor) -> tuple[Tensor, Tensor]: ...


@dataclass(frozen=True)
class FusedTerm:
    r"""The mean of :math:`a + b\, G(v)` over all elements of ``v``, :math:`a + b\,\overline{G}`,
    with :math:`\overline{G}` from a fused Function.

    ``core_mean(v)`` returns :math:`(\overline{G}, \log \overline{e^{H}})` for an exponential
    core (the second is the size of a mean that overflows, see
    :meth:`AffineTerm.mean_and_log_magnitude`), ``(mean, None)`` otherwise.
    """

    constant: float
    factor: float
    core_mean: Callable[[Tensor], tuple[Tensor, Tensor | None]]
    exponential: bool = False
    #: the mean used below :data:`FUSED_MIN_NUMEL` elements (the emitter's), if any
    small: TermMean | None = None

    def _small(self, v: Tensor) -> bool:
        return self.small is not None and v.numel() < FUSED_MIN_NUMEL

    def mean(self, v: Tensor) -> Tensor:
        if self._small(v):
            return self.small.mean(v)  # type: ignore[union-attr]
        return self._affine(self.core_mean(v)[0])

    def mean_and_log_magnitude(self, v: Tensor) -> tuple[Tensor, Tensor]:
        if self._small(v):
            return self.small.mean_and_log_magnitude(v)  # type: ignore[union-attr]
        if not self.exponential:
            raise ValueError("log_magnitude needs a core of the form exp(H) or expm1(H)")
        mean, log_mean = self.core_mean(v)
        assert log_mean is not None
        return self._affine(mean), log_mean + math.log(abs(self.factor))

    def _affine(self, mean_core: Tensor) -> Tensor:
        out = mean_core * self.factor if self.factor != 1.0 else mean_core
        return out + self.constant if self.constant != 0.0 else out


def affine_argument(expr: sp.Expr) -> tuple[float, float, float] | None:
    r"""``(s, c, c_low)`` with ``expr`` :math:`= s v + c` exactly, ``c`` rounded to a float and
    ``c_low`` the float nearest to the rest (``0.0`` for a representable intercept); ``None``
    when ``expr`` is not affine in ``v`` or its slope is not a representable number."""
    if expr.free_symbols - {v}:
        return None
    slope = sp.diff(expr, v)
    if not slope.is_number or slope.free_symbols:
        return None
    s = float(slope)
    if sp.Rational(s) != slope:  # e.g. 3/10 or sqrt(2): the emitter's own mean is kept
        return None
    intercept = sp.expand(expr - slope * v)
    if intercept.free_symbols:
        return None
    c = float(intercept)
    rest = sp.N(intercept - sp.Rational(c), 60)
    return s, c, float(rest)


def _quantity_term(emitted: Emitted, quantity: str) -> AffineTerm:
    if quantity == "activation":
        return emitted.activation_term
    return emitted.conjugate_of_activation_term


def plan(emitted: Emitted, quantity: str) -> TermMean:
    """The mean of ``quantity`` (``"activation"`` or ``"conjugate_of_activation"``): fused where
    the symbolic core has a known shape (module docstring) and the batch has at least
    :data:`FUSED_MIN_NUMEL` elements, else the emitter's :class:`AffineTerm`."""
    term = _quantity_term(emitted, quantity)
    forms = emitted.forms(quantity)
    if forms.terms is None:
        fused = _clamped_quadratic(forms.pieces)
    else:
        fused = _fused(term, forms.terms[2])
    return term if fused is None else replace(fused, small=term)


def _fused(term: AffineTerm, core: sp.Expr) -> FusedTerm | None:
    from divergences.numeric.emit import primitives

    a, b = term.constant, term.factor
    if term.kind in ("exp", "expm1") and isinstance(core, (sp.exp, primitives.expm1)):
        line = affine_argument(core.args[0])
        if line is None or line[2] != 0.0:
            return None
        s, c, _ = line
        minus_one = term.kind == "expm1"

        def exponential(x: Tensor) -> tuple[Tensor, Tensor | None]:
            return exp_mean(x, s, c, minus_one)

        return FusedTerm(a, b, exponential, exponential=True)
    if term.kind is not None:
        return None
    if isinstance(core, primitives.softplus):
        line = affine_argument(core.args[0])
        if line is None or line[0] not in (1.0, -1.0) or line[1:] != (0.0, 0.0):
            return None
        s_plus = line[0]

        def softplus(x: Tensor) -> tuple[Tensor, Tensor | None]:
            return softplus_mean(x, s_plus), None

        return FusedTerm(a, b, softplus)
    if isinstance(core, primitives.log1mexp_negexp):
        line = affine_argument(core.args[0])
        if line is None:
            return None
        s, c, c_low = line

        def log1mexp(x: Tensor) -> tuple[Tensor, Tensor | None]:
            return log1mexp_negexp_mean(x, s, c, c_low), None

        return FusedTerm(a, b, log1mexp)
    argument = _omega_conjugate_argument(core)
    if argument is not None:
        line = affine_argument(argument)
        if line is None or line[2] != 0.0:
            return None
        s, c, _ = line

        def omega(x: Tensor) -> tuple[Tensor, Tensor | None]:
            return omega_conjugate_mean(x, s, c), None

        return FusedTerm(a, b, omega)
    return None


def _omega_conjugate_argument(core: sp.Expr) -> sp.Expr | None:
    r"""``H`` if ``core`` is :math:`\operatorname{expm1}(-L) - L` with
    :math:`L = \omega_{\log}(H)`, else ``None``."""
    from divergences.numeric.emit import primitives

    omegas = core.atoms(primitives.omega_log)
    if len(omegas) != 1:
        return None
    (omega,) = omegas
    expected = primitives.expm1(-omega) - omega
    return omega.args[0] if sp.simplify(core - expected) == 0 else None


def _clamped_quadratic(pieces: tuple) -> FusedTerm | None:
    r"""``P(max(v, t))`` (or ``P(min(v, t))``) from two pieces: a constant ``P(t)`` on one side of
    ``t`` and a quadratic ``P`` with :math:`P'(t) = 0` on the other; else ``None``."""
    if len(pieces) != 2:
        return None
    (first, first_region), (second, second_region) = pieces
    if first.free_symbols or not isinstance(first_region, sp.Interval):
        return None
    if not isinstance(second_region, sp.Interval):
        return None
    if first_region.start is sp.S.NegativeInfinity and second_region.end is sp.S.Infinity:
        below, clamp = True, first_region.end
    elif first_region.end is sp.S.Infinity and second_region.start is sp.S.NegativeInfinity:
        below, clamp = False, first_region.start
    else:
        return None
    if not clamp.is_number or not second.free_symbols <= {v}:
        return None
    try:
        poly = sp.Poly(second, v)
    except sp.PolynomialError:
        return None
    if poly.degree() > 2 or sp.simplify(second.subs(v, clamp) - first) != 0:
        return None
    if sp.simplify(sp.diff(second, v).subs(v, clamp)) != 0:
        return None
    c2, c1, c0 = (float(poly.coeff_monomial(v**k)) for k in (2, 1, 0))
    t = float(clamp)

    def quadratic(x: Tensor) -> tuple[Tensor, Tensor | None]:
        return clamped_quadratic_mean(x, (c2, c1, c0), t, below), None

    return FusedTerm(0.0, 1.0, quadratic)
