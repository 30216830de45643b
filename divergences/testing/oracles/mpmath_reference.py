r"""Exact references with mpmath: escalating precision, guarded exponentials, ulps, mixed error.

Written from the mathematics alone; nothing here is shared with (or imported from) the emitter
``divergences.numeric.emit``, whose own helpers these check.

Escalation (:func:`escalate`)
    ``fn(x)`` is evaluated at the first precision of a :class:`Escalation` (decimal digits), then
    at each higher one, until two consecutive precisions agree to ``rtol``: a cancellation inside
    the formula cannot pass for the exact value, since two far-apart precisions lose different
    digits to it (a value that changes with the precision is never accepted). A zero or an
    infinity is accepted only when two consecutive precisions give it and the second is at least
    ``settle`` digits (an exact zero may be a total cancellation at lower precisions); with
    ``tiny`` > 0 any magnitude at or below ``tiny`` counts as zero. With ``far`` set, a first
    value outside ``far`` (far beyond float64's range) is returned at once: only its sign and its
    over/underflow matter. Two presets:

    * :data:`FLOAT64_ESCALATION` (50, 400, 800 digits): 400 digits hold ``1 + x`` exactly for any
      float64 ``x`` (``1 + 5e-324`` needs 324), 800 settle cancellations of several hundred
      digits (Lambert W of ``e^{1-t}`` plus ``t``); the accuracy benchmark's reference.
    * :data:`DEEP_ESCALATION` (50, 700, 5000, 12000 digits, zeros below ``1e-400``): resolves
      cancellations up to ``exp(-1e4)`` beside 1, for closed forms evaluated without care
      (the emitter's tests).

Guarded exponentials (:func:`guarded_exp`, :func:`guarded_expm1`)
    mpmath computes ``exp(x)`` of a huge ``x`` by powering, which takes seconds at thousands of
    digits (``exp(-exp(9984))``) and does not finish for ``exp(-exp(1e300))``. Beyond
    ``|x| = 2^64`` the guarded version computes ``2^n exp(x - n log 2)``; beyond ``2^1100`` (far
    beyond every float) it returns 0 for a negative argument (a number below ``10^(-10^300)``,
    zero at every precision used here) or raises :class:`OverflowError` (``underflow="raise"``
    raises for both signs: the value is then no reference at all).

Error measures
    ``ulps(y, y*) = |y - y*| / ulp(fl(y*))`` (Goldberg 1991; Muller, *Elementary Functions*,
    2016, ch. 2) with ``fl`` rounding to the dtype and the ulp of a subnormal the subnormal
    spacing; the relative condition number :math:`\kappa = |x F'(x) / F(x)|` (Higham, *Accuracy
    and Stability of Numerical Algorithms*, 2002, sec. 1.6) and the *mixed* forward-backward
    error (Higham sec. 1.5)

    .. math:: \frac{|y - y^*|}{\sum_i |\partial_i F|\,\mathrm{ulp}(x_i) + \mathrm{ulp}(s)}

    which is at most a few when ``y`` is the exact value at inputs a few ulps away, up to a few
    ulps of the scale ``s`` (default ``|y*|``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import mpmath
import sympy as sp

__all__ = [
    "DEEP_ESCALATION",
    "FLOAT64_ESCALATION",
    "FORMATS",
    "Escalation",
    "FloatFormat",
    "condition_number",
    "escalate",
    "exact_value",
    "guarded_exp",
    "guarded_expm1",
    "log1mexp",
    "mixed_error",
    "mp_lambdify",
    "representable",
    "round_to",
    "slope",
    "softplus",
    "ulp",
    "ulps",
    "xlogx",
]

mp = mpmath
Fn = Callable[[mpmath.mpf], object]
_EVALUATION_ERRORS = (ZeroDivisionError, ValueError, OverflowError, TypeError, RecursionError)


# ---------------------------------------------------------------------------------------------
# Escalating precision
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Escalation:
    """How :func:`escalate` raises the precision and when it accepts a value.

    ``levels``: decimal digits, increasing. ``rtol``: two finite values agree when
    ``|a - b| <= rtol max(|a|, |b|)``. ``tiny`` (a decimal string): magnitudes at or below it
    count as zero. ``settle``: the lowest precision at which a zero or an infinity is accepted
    (default: the last level; an infinity is then accepted at any two consecutive levels).
    ``far``: ``(lo, hi)`` as decimal strings; a first value with ``|y|`` outside ``(lo, hi)`` is
    returned at once (``None``: never). ``imag_rtol``: an ``mpc`` result is real when
    ``|imag| <= imag_rtol |real|``; ``None``: when ``|imag| <= 10^(5 - dps) max(1, |real|)``.
    """

    levels: tuple[int, ...]
    rtol: float = 1e-30
    tiny: str = "0"  # decimal strings: 1e-400 is no float
    settle: int | None = None
    far: tuple[str, str] | None = None
    imag_rtol: float | None = None

    def with_levels(self, levels: Sequence[int]) -> Escalation:
        """The same policy at other precisions (``settle`` follows the last level if unset)."""
        return Escalation(
            tuple(levels), self.rtol, self.tiny, self.settle, self.far, self.imag_rtol
        )


FLOAT64_ESCALATION = Escalation(
    levels=(50, 400, 800), rtol=1e-30, far=("1e-400", "1e400"), imag_rtol=1e-40
)
DEEP_ESCALATION = Escalation(levels=(50, 700, 5000, 12000), rtol=1e-30, tiny="1e-400", settle=5000)


def _as_real(value: object, escalation: Escalation, dps: int) -> mpmath.mpf | None:
    try:
        value = mp.mpmathify(value)
    except (TypeError, ValueError):
        return None
    if isinstance(value, mp.mpc):
        if escalation.imag_rtol is None:
            bound = mp.mpf(10) ** (5 - dps) * max(1, abs(value.real))
        else:
            bound = abs(value.real) * mp.mpf(escalation.imag_rtol)
        if abs(value.imag) > bound:
            return None
        value = value.real
    return None if mp.isnan(value) else value


def escalate(
    fn: Fn,
    x: float | mpmath.mpf,
    escalation: Escalation = FLOAT64_ESCALATION,
    *,
    allow_inf: bool = True,
    rtol: float | None = None,
) -> mpmath.mpf | None:
    """``fn(x)`` to ``rtol`` (default the escalation's), or ``None`` (see the module docstring).

    An infinity settled at two precisions is returned only with ``allow_inf`` (else ``None``); a
    settled zero (``|y| <= tiny`` at both) is returned as ``mpf(0)``.
    """
    levels = escalation.levels
    settle = levels[-1] if escalation.settle is None else escalation.settle
    tolerance = mp.mpf(escalation.rtol if rtol is None else rtol)
    tiny = mp.mpf(escalation.tiny)
    previous: mpmath.mpf | None = None
    for dps in levels:
        with mp.workdps(dps):
            try:
                value = _as_real(fn(mp.mpf(x)), escalation, dps)
            except _EVALUATION_ERRORS:
                value = None
        if previous is None and value is not None and escalation.far is not None:
            lo, hi = (mp.mpf(b) for b in escalation.far)
            if mp.isfinite(value) and value != 0 and not lo < abs(value) < hi:
                return value
        if value is not None and previous is not None:
            special = mp.isinf(value) or abs(value) <= tiny
            special_before = mp.isinf(previous) or abs(previous) <= tiny
            if special or special_before:
                if dps >= settle and special and special_before:
                    if mp.isinf(value) and value == previous:
                        return value if allow_inf else None
                    if not mp.isinf(value) and not mp.isinf(previous):
                        return mp.mpf(0)
                if mp.isinf(value) and value == previous and escalation.settle is None:
                    return value if allow_inf else None
            elif abs(value - previous) <= tolerance * max(abs(value), abs(previous)):
                return value
        previous = value
    return None


def exact_value(
    fn: Fn,
    x: float | mpmath.mpf,
    rtol: float = 1e-30,
    escalation: Escalation = DEEP_ESCALATION,
) -> mpmath.mpf:
    """:func:`escalate` that raises :class:`AssertionError` when the precisions never agree."""
    value = escalate(fn, x, escalation, rtol=rtol)
    if value is None:
        raise AssertionError(f"the oracle did not converge at x = {x!r}")
    return value


# ---------------------------------------------------------------------------------------------
# Guarded exponentials and SymPy -> mpmath
# ---------------------------------------------------------------------------------------------

_HUGE = 1100  # 2**1100: beyond every float's exponent range


def guarded_exp(x: mpmath.mpf, underflow: str = "zero") -> mpmath.mpf:
    """``exp(x)`` that stays fast for huge ``|x|`` (see the module docstring).

    ``underflow="zero"``: 0 beyond ``-2^1100``; ``"raise"``: :class:`OverflowError` there too.
    """
    x = mp.mpmathify(x)
    if isinstance(x, mp.mpc):  # complex intermediate values: only the range guard
        if mp.isfinite(x) and x != 0 and mp.mag(x) > _HUGE:
            raise OverflowError("exp argument beyond 2**1100")
        return mp.exp(x)
    if not mp.isfinite(x) or x == 0 or mp.mag(x) <= 64:
        return mp.exp(x)
    if mp.mag(x) > _HUGE:
        if x < 0 and underflow == "zero":
            return mp.mpf(0)
        raise OverflowError("exp argument beyond 2**1100")
    with mp.extraprec(mp.mag(x) + 20):
        n = mp.floor(x / mp.ln2)
        rest = x - n * mp.ln2
    return mp.ldexp(mp.exp(rest), int(n))


def guarded_expm1(x: mpmath.mpf, underflow: str = "zero") -> mpmath.mpf:
    """``expm1(x)``; beyond ``|x| = 2^64`` (no cancellation there) ``guarded_exp(x) - 1``."""
    x = mp.mpmathify(x)
    if not isinstance(x, mp.mpc) and mp.isfinite(x) and x != 0 and mp.mag(x) > 64:
        return guarded_exp(x, underflow) - 1
    return mp.expm1(x)


@cache
def mp_lambdify(expr: sp.Expr, var: sp.Symbol, underflow: str = "zero") -> Fn:
    """``expr`` as an mpmath callable of ``var`` with the guarded ``exp``/``expm1``."""
    functions = {
        "exp": lambda x: guarded_exp(x, underflow),
        "expm1": lambda x: guarded_expm1(x, underflow),
    }
    return sp.lambdify(var, expr, modules=[functions, "mpmath"])


# ---------------------------------------------------------------------------------------------
# Stable mpmath building blocks of the closed forms
# ---------------------------------------------------------------------------------------------


def softplus(x: mpmath.mpf) -> mpmath.mpf:
    """``log(1 + e^x)`` without overflow or cancellation."""
    return x + mp.log1p(mp.exp(-x)) if x > 0 else mp.log1p(mp.exp(x))


def log1mexp(x: mpmath.mpf) -> mpmath.mpf:
    """``log(1 - e^x)`` for ``x < 0`` without cancellation at either end (Maechler 2012)."""
    return mp.log(-mp.expm1(x)) if x > -mp.log(2) else mp.log1p(-mp.exp(x))


def xlogx(x: mpmath.mpf) -> mpmath.mpf:
    """``x log x`` with ``0 log 0 = 0``."""
    return mp.mpf(0) if x == 0 else x * mp.log(x)


# ---------------------------------------------------------------------------------------------
# Floating-point formats, ulps
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format: ``precision`` significand bits (with the implicit one),
    normal exponents ``emin..emax`` (IEEE 754-2019, sec. 3.3)."""

    name: str
    precision: int
    emin: int
    emax: int

    @property
    def max(self) -> mpmath.mpf:
        return mp.ldexp(2 - mp.ldexp(1, 1 - self.precision), self.emax)

    @property
    def smallest_normal(self) -> mpmath.mpf:
        return mp.ldexp(1, self.emin)

    @property
    def smallest_subnormal(self) -> mpmath.mpf:
        return mp.ldexp(1, self.emin - self.precision + 1)


FORMATS = {
    "float64": FloatFormat("float64", 53, -1022, 1023),
    "float32": FloatFormat("float32", 24, -126, 127),
    "float16": FloatFormat("float16", 11, -14, 15),
    "bfloat16": FloatFormat("bfloat16", 8, -126, 127),
}


def _format(dtype: object) -> FloatFormat:
    """A :class:`FloatFormat` from a name (``"float32"``), a NumPy or a torch dtype."""
    if isinstance(dtype, FloatFormat):
        return dtype
    name = str(dtype).removeprefix("torch.")
    if name not in FORMATS:
        raise ValueError(f"unknown floating-point format {dtype!r}")
    return FORMATS[name]


def _exponent(value: mpmath.mpf) -> int:
    """``e`` with ``2^e <= |value| < 2^(e+1)`` (exact, from the binary representation)."""
    return int(mp.frexp(value)[1]) - 1


def round_to(value: mpmath.mpf, dtype: object = "float64") -> mpmath.mpf:
    """``value`` rounded to nearest (ties to even) in ``dtype``: ``+-inf`` beyond its range."""
    fmt = _format(dtype)
    value = mp.mpf(value)
    if not mp.isfinite(value) or value == 0:
        return value
    quantum = max(_exponent(value), fmt.emin) - fmt.precision + 1
    with mp.workprec(fmt.precision + 64):
        scaled = mp.ldexp(value, -quantum)  # exact: a power-of-two scaling
        rounded = mp.floor(scaled)  # an integer of at most precision bits
        midpoint = rounded + mp.mpf(0.5)  # exact at this precision; comparisons are exact
        if scaled > midpoint or (scaled == midpoint and int(rounded) % 2 == 1):
            rounded += 1
        result = mp.ldexp(rounded, quantum)
    if abs(result) > fmt.max:
        return mp.inf if result > 0 else -mp.inf
    return result


def ulp(value: mpmath.mpf | float, dtype: object = "float64") -> mpmath.mpf:
    """The spacing of ``dtype`` at ``|value|`` (a value of the format): ``2^(e - p + 1)`` for
    ``2^e <= |value| < 2^(e+1)``, the subnormal spacing below the normal range."""
    fmt = _format(dtype)
    value = abs(mp.mpf(value))
    if not mp.isfinite(value):
        return mp.inf
    if value < fmt.smallest_normal:
        return fmt.smallest_subnormal
    return mp.ldexp(1, _exponent(value) - fmt.precision + 1)


def ulps(got: float, exact: mpmath.mpf, dtype: object = "float64") -> float:
    """``|got - exact| / ulp(fl(exact))`` in ``dtype`` (``inf`` for a NaN or infinite ``got``).

    ``exact`` must be representable (:func:`representable`); in float64 this is
    ``|got - exact| / math.ulp(float(exact))``.
    """
    if math.isnan(got) or math.isinf(got):
        return math.inf
    fmt = _format(dtype)
    with mp.workdps(60):
        if fmt.name == "float64":
            spacing = mp.mpf(math.ulp(float(exact)))
        else:
            spacing = ulp(round_to(exact, fmt), fmt)
        return float(abs(mp.mpf(got) - exact) / spacing)


def representable(exact: mpmath.mpf, dtype: object = "float64") -> bool:
    """Whether ``exact`` is finite and rounds to a finite number of ``dtype``."""
    if not mp.isfinite(exact):
        return False
    if _format(dtype).name == "float64":
        return not math.isinf(float(exact))
    return bool(mp.isfinite(round_to(exact, dtype)))


# ---------------------------------------------------------------------------------------------
# Conditioning and the mixed error
# ---------------------------------------------------------------------------------------------


def slope(fn: Fn, x: float, escalation: Escalation = FLOAT64_ESCALATION) -> mpmath.mpf | None:
    """``F'(x)`` by a central difference with relative step ``2^-70`` (absolute ``2^-1100`` at
    0), each side escalated (``None`` when either side has no value)."""
    with mp.workdps(60):
        step = mp.ldexp(mp.mpf(x), -70) if x != 0 else mp.ldexp(1, -1100)
        hi, lo = mp.mpf(x) + step, mp.mpf(x) - step
    up = escalate(fn, hi, escalation, allow_inf=False)
    down = escalate(fn, lo, escalation, allow_inf=False)
    if up is None or down is None:
        return None
    with mp.workdps(60):
        return (up - down) / (2 * abs(step))


def condition_number(x: float, value: mpmath.mpf, derivative: mpmath.mpf | None) -> float:
    r""":math:`\kappa = |x F'(x)/F(x)|` (``inf`` at a zero, ``nan`` when unknown)."""
    if derivative is None:
        return math.nan
    if value == 0:
        return 0.0 if x == 0 or derivative == 0 else math.inf
    with mp.workdps(60):
        return float(abs(mp.mpf(x) * derivative / value))


def mixed_error(
    got: float,
    exact: mpmath.mpf,
    sensitivities: Sequence[tuple[float, mpmath.mpf | None]],
    scale: mpmath.mpf | None = None,
) -> float:
    r"""The error in units of what rounding can explain, :math:`|y - y^*| / (\sum_i
    |\partial_i F|\,\mathrm{ulp}(x_i) + \mathrm{ulp}(s))` (float64).

    ``sensitivities`` are ``(x_i, dF/dx_i)``, ``s`` is the scale (default ``|y*|``); ``nan``
    when a derivative is unknown, ``inf`` for a NaN or infinite ``got``.
    """
    if math.isnan(got) or math.isinf(got):
        return math.inf
    with mp.workdps(60):
        allowance = mp.mpf(math.ulp(float(abs(exact) if scale is None else scale)))
        for x, derivative in sensitivities:
            if derivative is None:
                return math.nan
            allowance += abs(derivative) * math.ulp(x)
        return float(abs(mp.mpf(got) - exact) / allowance)
