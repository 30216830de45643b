r"""Any f-divergence between two univariate normals by adaptive quadrature.

.. math::

    D_f(P\|Q) = \int_{-\infty}^{\infty} q(x)\, f\!\Big(\frac{p(x)}{q(x)}\Big)\, dx,
    \qquad P = N(\mu_1, \sigma_1^2),\ Q = N(\mu_2, \sigma_2^2).

The integrand is evaluated in log space with mpmath (30 significant digits, unbounded exponent
range): :math:`\log r = \log p - \log q` is a quadratic in :math:`x` evaluated exactly, then
:math:`q\,f(e^{\log r})` is formed without overflow of :math:`r` or underflow of :math:`q`, and
without the cancellation of :math:`f` near :math:`r = 1`. :math:`f` is the registered SymPy
generator turned into an mpmath function by :func:`sympy.lambdify`; no torch code is involved.

Integration (QUADPACK through :func:`scipy.integrate.quad`, in the offset :math:`y = x - \mu_2`
so that nodes keep their accuracy when :math:`|\mu| \gg \sigma`): the finite part
:math:`[\min_i \mu_i - 40\sigma_i, \max_i \mu_i + 40\sigma_i]` with break points at the means,
at :math:`\mu_i \pm 2^k\sigma_i` for :math:`k = -1, \ldots, 5` (a geometric grid: no piece is
longer than its distance to the nearer mean, so the bump of :math:`p^\alpha q^{1-\alpha}` of width
:math:`\sigma_1/\sqrt\alpha` is not missed next to a long piece) and at the crossings
:math:`p = q` (kinks of :math:`|u - 1|`), plus the two infinite tails. The error estimate is
the sum of QUADPACK's absolute error estimates of the three pieces.

Divergence to :math:`+\infty` is decided before integrating: the integrand is the exponential of
a quadratic times powers and logarithms of :math:`r`, so it is integrable iff it decays in both
tails; it is evaluated (exactly, in mpmath) at :math:`\mu \pm 10^{8} (\sigma_1 + \sigma_2)`
and the divergence is reported infinite if it has not decayed below :math:`e^{-1000}` there. Cases
within a relative :math:`10^{-13}` of the boundary of finiteness (where the true value exceeds
~:math:`10^{6}`) may therefore be reported as infinite.

Reference: Piessens, de Doncker-Kapenga, Überhuber & Kahaner, *QUADPACK* (Springer 1983),
routines QAGP and QAGI.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import mpmath
import sympy as sp
from scipy import integrate

from divergences.symbolic.symbols import u

if TYPE_CHECKING:
    from divergences.fdivergence import FDivergence

__all__ = ["QuadratureResult", "f_divergence_normal_quad", "generator_mpmath"]

_DPS = 30
_TAIL_PROBE = 1e8
_NEGLIGIBLE_LOG = -1000.0
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# break points mu_i + z sigma_i: a geometric grid, so that every piece is at most as long as its
# distance to the nearer mean and features of width ~sigma_i are not missed far from them
_OFFSETS = (0.0, *(sign * 2.0**k for k in range(-1, 6) for sign in (-1.0, 1.0)))


class QuadratureResult(NamedTuple):
    """A quadrature value and QUADPACK's estimate of its absolute error."""

    value: float
    error: float


def as_divergence(d: FDivergence | str, parameters: dict[str, object]) -> FDivergence:
    """``d`` itself, or the registered divergence named ``d`` with ``parameters``."""
    # imported here: the numeric layer may be imported while divergences.fdivergence loads
    from divergences.fdivergence import FDivergence, get

    if isinstance(d, FDivergence):
        if parameters:
            raise TypeError("parameters are only accepted with a registered name, not an object")
        return d
    return get(d, **parameters)


@functools.lru_cache(maxsize=256)
def _lambdify_mpmath(expr: sp.Expr) -> Callable[[mpmath.mpf], mpmath.mpf]:
    return sp.lambdify(u, expr, modules="mpmath")


def generator_mpmath(d: FDivergence) -> Callable[[mpmath.mpf], mpmath.mpf]:
    """The generator ``u -> f(u)`` of ``d`` as an mpmath function (``sympy.lambdify``)."""
    return _lambdify_mpmath(d.generator.expr)


class _Integrand:
    """:math:`y \\mapsto q f(p/q)` at :math:`x = \\mu_2 + y`, evaluated in mpmath, as a float.

    Integrating in the offset :math:`y` from :math:`\\mu_2` (with :math:`\\mu_1 - \\mu_2` formed
    exactly in mpmath) keeps the quadrature nodes accurate when the means are large compared to
    the scales.
    """

    def __init__(self, f: Callable, m1: float, s1: float, m2: float, s2: float) -> None:
        self.f = f
        self.shift = mpmath.mpf(m1) - mpmath.mpf(m2)
        self.s1, self.s2 = mpmath.mpf(s1), mpmath.mpf(s2)
        self.log_s1, self.log_s2 = mpmath.log(self.s1), mpmath.log(self.s2)

    def mp(self, y: float) -> mpmath.mpf:
        with mpmath.workdps(_DPS):
            y = mpmath.mpf(y)
            z1 = (y - self.shift) / self.s1
            z2 = y / self.s2
            log_q = -z2 * z2 / 2 - self.log_s2 - _HALF_LOG_2PI
            log_r = (z2 * z2 - z1 * z1) / 2 + self.log_s2 - self.log_s1
            return mpmath.exp(log_q) * self.f(mpmath.exp(log_r))

    def __call__(self, y: float) -> float:
        return float(self.mp(y))

    def log_abs(self, y: float) -> float:
        with mpmath.workdps(_DPS):
            value = self.mp(y)
            return -math.inf if value == 0 else float(mpmath.log(abs(value)))


def _crossings(shift: float, s1: float, s2: float) -> list[float]:
    """Real roots :math:`y` of :math:`\\log p = \\log q` at :math:`x = \\mu_2 + y`, where
    ``shift`` is :math:`\\mu_1 - \\mu_2`."""
    a = 0.5 * (1.0 / s2**2 - 1.0 / s1**2)
    b = shift / s1**2
    c = math.log(s2 / s1) - 0.5 * (shift / s1) ** 2
    if a == 0.0:
        return [] if b == 0.0 else [-c / b]
    disc = b * b - 4.0 * a * c
    if disc < 0:
        return []
    q = -0.5 * (b + math.copysign(math.sqrt(disc), b))
    roots = [q / a] + ([c / q] if q != 0.0 else [])
    return roots


def f_divergence_normal_quad(
    d: FDivergence | str,
    loc1: float,
    scale1: float,
    loc2: float,
    scale2: float,
    *,
    epsabs: float = 1e-13,
    epsrel: float = 1e-11,
    limit: int = 400,
    **parameters: object,
) -> QuadratureResult:
    r"""The f-divergence :math:`D_f(N(\mu_1,\sigma_1^2) \| N(\mu_2,\sigma_2^2))` by quadrature.

    Works for every registered divergence (``alpha``, ``js_weighted`` and the offset ``gan``
    included: the integral of :math:`q f(p/q)` is taken as is, so ``gan`` gives
    :math:`2\,\mathrm{JS} - \log 4`) and for any :class:`FDivergence` built with
    :meth:`FDivergence.from_generator`. Method and guarantees: see the module docstring.

    Args:
        d: an :class:`FDivergence` or a registered name (then ``parameters`` are passed to
            :func:`divergences.get`, e.g. ``alpha=2``).
        loc1, scale1: mean and standard deviation of :math:`P`.
        loc2, scale2: mean and standard deviation of :math:`Q`.
        epsabs, epsrel: QUADPACK tolerances.
        limit: QUADPACK's maximum number of subintervals per piece.

    Returns:
        ``QuadratureResult(value, error)``; ``(inf, 0.0)`` when the divergence is infinite.

    Raises:
        ValueError: a non-finite mean or a non-positive scale.
        scipy.integrate.IntegrationWarning: raised as an exception when QUADPACK reports that
            it could not reach the tolerance (a reference value must not be silently inexact).

    Example:
        >>> res = f_divergence_normal_quad("kl", 0.0, 1.0, 1.0, 1.0)
        >>> abs(res.value - 0.5) < 1e-12
        True
    """
    div = as_divergence(d, dict(parameters))
    m1, s1, m2, s2 = (float(z) for z in (loc1, scale1, loc2, scale2))
    if not all(math.isfinite(z) for z in (m1, s1, m2, s2)) or s1 <= 0 or s2 <= 0:
        raise ValueError(f"need finite means and positive scales, got {(m1, s1, m2, s2)}")
    g = _Integrand(generator_mpmath(div), m1, s1, m2, s2)

    shift = float(g.shift)  # the offset of mu_1 from mu_2, rounded once
    reach = _TAIL_PROBE * (s1 + s2)
    if max(g.log_abs(shift / 2 - reach), g.log_abs(shift / 2 + reach)) > _NEGLIGIBLE_LOG:
        return QuadratureResult(math.inf, 0.0)

    # all abscissae are offsets y = x - mu_2
    points = {m + z * s for m, s in ((shift, s1), (0.0, s2)) for z in _OFFSETS}
    lo = min(shift - 40 * s1, -40 * s2)
    hi = max(shift + 40 * s1, 40 * s2)
    points.update(y for y in _crossings(shift, s1, s2) if lo < y < hi)
    inner = sorted(x for x in points if lo < x < hi)

    options = {"epsabs": epsabs, "epsrel": epsrel, "limit": limit}
    with warnings.catch_warnings():
        warnings.simplefilter("error", integrate.IntegrationWarning)
        middle, e_mid = integrate.quad(g, lo, hi, points=inner, **options)
        left, e_left = integrate.quad(g, -math.inf, lo, **options)
        right, e_right = integrate.quad(g, hi, math.inf, **options)
    return QuadratureResult(middle + left + right, e_mid + e_left + e_right)
