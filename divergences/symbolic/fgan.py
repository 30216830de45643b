"""f-GAN quantities derived from a generator and its conjugate.

* **Output activation** ``g_f`` (Nowozin, Cseke and Tomioka, "f-GAN", NeurIPS 2016, Sec. 2.4 and
  Table 2): a monotone map from all reals onto (a subset of) ``dom f^*`` so that a raw critic
  output ``v`` becomes a valid conjugate argument ``T = g_f(v)``. A registered divergence may give
  the paper's activation; it is accepted only if :func:`activation_certificate` proves that it maps
  ``R`` into the domain. Otherwise the activation is derived from the domain:

  .. math::
      g_f(v) = v \\ \\text{if } \\operatorname{dom} f^* = \\mathbb{R}, \\qquad
      g_f(v) = b - e^{-v} \\ \\text{if } \\operatorname{dom} f^* = (-\\infty, b) \\text{ or }
      (-\\infty, b],

  the second being the form the paper uses for reverse KL, Neyman chi-square and squared
  Hellinger.
* **Optimal critic** ``T^*(r) = f'(r)`` at the density ratio ``r = p/q`` (paper, Eq. 5; a
  subgradient at a kink).
* **Optimal discriminator** ``D^* = a/(a + b)`` maximising ``a log y + b log(1 - y)`` over
  ``y in (0, 1)`` (Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014, Prop. 1), with
  ``a = p_data(x)``, ``b = p_g(x)``.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from .generator import Generator
from .simplify import nice, simplified
from .steps import DerivationStep, Step
from .symbols import r, u, v

__all__ = [
    "activation_certificate",
    "default_activation",
    "optimal_critic",
    "optimal_discriminator",
]

#: raw critic outputs for numeric monotonicity checks: +-10**k, k in [-3, 3], and 0
_V_GRID = sorted({0.0} | {sgn * 10 ** (k / 4) for k in range(-12, 13) for sgn in (-1, 1)})


def default_activation(domain: sp.Interval) -> sp.Expr:
    """The activation derived from the conjugate's domain (see the module docstring)."""
    if domain.start is not sp.S.NegativeInfinity:
        raise ValueError(f"a conjugate domain over u > 0 is unbounded below, got {domain}")
    if domain.end is sp.oo:
        return v
    return domain.end - sp.exp(-v)


def activation_certificate(g: sp.Expr, domain: sp.Interval) -> Step:
    """Check that ``g`` is increasing and maps ``R`` into ``domain``.

    The image of an increasing ``g`` is ``(lim_{-oo} g, lim_{+oo} g)``; it lies in the domain when
    the lower limit is at least the domain's start and the upper limit is at most its end (the
    end itself is never attained by an open image, so an open end is fine too).
    """
    lo = sp.limit(g, v, -sp.oo)
    hi = sp.limit(g, v, sp.oo)
    derivative = simplified(sp.diff(g, v))
    relation = sp.Contains(sp.Function("g_f")(v), domain)
    inside = bool(simplified(lo - domain.start) >= 0) if lo.is_finite else lo == -sp.oo
    if hi.is_finite:
        inside = inside and bool(simplified(domain.end - hi) >= 0)
    else:
        inside = inside and domain.end is sp.oo
    if derivative.is_positive:
        method = "symbolic"
        increasing = True
    else:
        fn = sp.lambdify(v, derivative, modules="mpmath")
        with mpmath.workdps(50):
            increasing = all(mpmath.re(fn(mpmath.mpf(x))) > 0 for x in _V_GRID)
        method = "numeric: g_f' > 0 at 50 digits on v = 0, +-10**(k/4), k = -12..12"
    return Step(
        description=f"g_f is increasing and maps R onto ({lo}, {hi}), inside dom f* = {domain}",
        relation=relation,
        method=method,
        passed=bool(inside and increasing),
        detail=f"g_f' = {derivative}; limits {lo}, {hi}",
    )


def optimal_critic(gen: Generator) -> sp.Expr:
    """``T^*(r) = f'(r)``; at a kink of ``f`` the value SymPy gives is a subgradient."""
    if len(gen.pieces) == 1:
        return nice(sp.diff(gen.expr, u).subs(u, r))
    args = []
    for piece in gen.pieces:
        cond = sp.true if piece.right is sp.oo else sp.Lt(r, piece.right)
        args.append((simplified(sp.diff(piece.expr, u).subs(u, r)), cond))
    return sp.Piecewise(*args)


def optimal_discriminator() -> tuple[sp.Lambda, tuple[DerivationStep, ...], tuple[Step, ...]]:
    """Derive ``D^* = a / (a + b)`` from the pointwise GAN integrand.

    Returns the map ``(a, b) -> D^*`` (``a = p_data(x) > 0``, ``b = p_g(x) > 0``), the derivation
    and the checked steps (unique stationary point, strict concavity, so a global maximum).
    """
    a, b = sp.symbols("a b", positive=True)
    y = sp.Symbol("y", positive=True)
    integrand = a * sp.log(y) + b * sp.log(1 - y)
    first = sp.diff(integrand, y)
    stationary = sp.solve(sp.Eq(first, 0), y)
    (d_star,) = [c for c in stationary if simplified(c - sp.Rational(1, 2)).is_real]
    second = simplified(sp.diff(integrand, y, 2))
    inside = simplified(d_star).is_positive and simplified(1 - d_star).is_positive
    # y = 1 / (1 + w), w > 0, ranges over (0, 1): SymPy decides the sign on the whole interval
    w = sp.Symbol("w", positive=True)
    concave = simplified(second.subs(y, 1 / (1 + w))).is_negative
    derivation = (
        DerivationStep("pointwise GAN integrand in y = D(x)", sp.Eq(sp.Symbol("V"), integrand)),
        DerivationStep("stationarity dV/dy = 0", sp.Eq(first, 0)),
        DerivationStep("unique solution", sp.Eq(sp.Symbol("D^*"), d_star)),
        DerivationStep("second derivative", sp.Eq(sp.Symbol("V''"), second)),
    )
    steps = (
        Step(
            "the stationary point a/(a+b) lies in (0, 1) for a, b > 0",
            sp.And(sp.Gt(d_star, 0), sp.Lt(d_star, 1)),
            "symbolic",
            bool(inside) and len(stationary) == 1,
            f"solutions of dV/dy = 0: {stationary}",
        ),
        Step(
            "V is strictly concave in y on (0, 1): the stationary point is the global maximum",
            sp.Lt(second, 0),
            "symbolic",
            bool(concave),
            f"V'' = {second}",
        ),
        Step(
            "in logits: D^* = sigmoid(log a - log b)",
            sp.Eq(d_star, 1 / (1 + sp.exp(-(sp.log(a) - sp.log(b)))), evaluate=False),
            "symbolic",
            simplified(d_star - 1 / (1 + sp.exp(-(sp.log(a) - sp.log(b))))) == 0,
        ),
    )
    return sp.Lambda((a, b), d_star), derivation, steps
