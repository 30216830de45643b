r"""Literature closed forms of every registered divergence: f, f*, g_f, f* o g_f, T*, and limits.

One :class:`ClosedForms` per divergence (and per parameter of the families), typed by hand, in
the library's conventions (the conjugate is the supremum over ``u > 0``; ``js`` is the standard
Jensen-Shannon divergence; ``total_variation`` is ``|u - 1|/2``):

* the nine rows of the f-GAN paper (Nowozin, Cseke, Tomioka, NeurIPS 2016, Tables 1 and 2) come
  from :mod:`.fgan_table` through :func:`~.fgan_table.library_row` (generator, conjugate, domain,
  activation); the optimal critic ``T* = f'`` and the limits are differentiated and taken by hand;
* the alpha family ``f = (u^a - 1 - a(u - 1))/(a(a - 1))`` (Cichocki and Amari, Entropy 12, 2010;
  f-GAN Table 6 for the conjugate): ``f*(t) = ((1 + (a - 1)t)^(a/(a - 1)) - 1)/a`` at the
  stationary point; over ``u > 0`` the supremum is ``-f(0+) = -1/a`` for ``t <= f'(0+) =
  -1/(a - 1)`` when ``a > 1``, and at the end ``t = 1/(1 - a)`` of the domain it is finite for
  ``a < 0`` (``lim (b u - f(u)) = -1/a``);
* the weighted Jensen-Shannon divergence ``f = pi u log u - m log m``, ``m = 1 - pi + pi u``
  (f-GAN Table 6, "Jensen-Shannon-weighted"; worked by hand: ``f'(u) = pi log(u/m)``,
  ``f*(t) = (1 - pi) log((1 - pi)/(1 - pi e^{t/pi}))`` on ``t < -pi log pi``);
* two user-defined generators (no registry name): Le Cam's triangular discrimination
  ``(u - 1)^2/(u + 1)`` (conjugate derived by hand below) and the f-GAN paper's own
  Jensen-Shannon row, 2 JS, as printed (:data:`LE_CAM`, :data:`PAPER_JS`).

Each entry has SymPy expressions in the canonical symbols (``u``, ``t``, ``v``, ``r``) to evaluate
at any precision (:mod:`.mpmath_reference`), and, for the registered divergences, :class:`MpForms`:
the same closed forms written for mpmath with ``log1p``/``expm1``/Lambert W where the textbook
form cancels, so that 50 to 800 digits evaluate them anywhere on the float64 line (e.g. jeffrey's
``f*`` through ``L = log W(e^{1-t})``: ``f* = e^{-L} - 1 - L``). The activation of the alpha and
weighted JS families is the library's convention (``b - e^{-v}`` onto a domain ``(-oo, b)``, the
identity onto R), typed by hand, not read from the library.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from types import MappingProxyType

import mpmath
import sympy as sp

from divergences.symbolic.symbols import r, t, u, v

from .fgan_table import TABLE_2, library_row
from .mpmath_reference import log1mexp, softplus, xlogx

__all__ = [
    "ALL_FORMS",
    "CLOSED_FORMS",
    "FAMILY_PARAMETERS",
    "LE_CAM",
    "PAPER_JS",
    "QUANTITIES",
    "REGISTERED_FORMS",
    "ClosedForms",
    "MpForms",
    "alpha_forms",
    "closed_forms",
    "js_weighted_forms",
]

mp = mpmath
Fn = Callable[[mpmath.mpf], mpmath.mpf]
QUANTITIES = ("generator", "conjugate", "activation", "conjugate_of_activation", "optimal_critic")
half = sp.Rational(1, 2)
log2 = sp.log(2)


@dataclass(frozen=True)
class MpForms:
    """Closed forms as mpmath callables (argument and result ``mpf``) written without
    cancellation, one per quantity; ``generator`` and ``optimal_critic`` give the limits at 0."""

    generator: Fn
    conjugate: Fn
    activation: Fn
    conjugate_of_activation: Fn
    optimal_critic: Fn

    def of(self, quantity: str) -> Fn:
        """The callable of ``quantity`` (one of :data:`QUANTITIES`)."""
        if quantity not in QUANTITIES:
            raise KeyError(quantity)
        return getattr(self, quantity)


@dataclass(frozen=True)
class ClosedForms:
    """One divergence's closed forms (SymPy, canonical symbols) and limits.

    ``generator`` f(u) for u > 0; ``f_at_zero`` = f(0+); ``slope_at_infinity`` = lim f(u)/u =
    f'(oo), the right end of dom f*; ``conjugate`` f*(t) for every real t (``oo`` outside
    ``domain``); ``activation`` g_f(v) (``None`` for the user generators: there the library's
    derived activation is the one to compose with); ``optimal_critic`` T*(r) = f'(r) and
    ``critic_at_zero`` = f'(0+); ``mp``: the stable mpmath forms (registered entries only).
    """

    label: str  # "kl", "alpha(1/2)", "js_weighted(3/10)", "user:le_cam"
    name: str  # the registry name (the generator's name for a user generator)
    generator: sp.Expr
    f_at_zero: sp.Expr
    slope_at_infinity: sp.Expr
    conjugate: sp.Expr
    domain: sp.Interval
    activation: sp.Expr | None
    optimal_critic: sp.Expr
    critic_at_zero: sp.Expr
    params: tuple[tuple[str, sp.Rational], ...] = ()
    mp: MpForms | None = field(default=None, compare=False)

    @property
    def registered(self) -> bool:
        return not self.label.startswith("user:")

    @property
    def conjugate_of_activation(self) -> sp.Expr | None:
        """f*(g_f(v)), composed (not simplified)."""
        if self.activation is None:
            return None
        return self.conjugate.subs(t, self.activation)

    def expression(
        self, quantity: str, activation: sp.Expr | None = None
    ) -> tuple[sp.Expr, sp.Symbol]:
        """``(expression, variable)`` of ``quantity``; ``activation`` replaces a missing g_f."""
        g = self.activation if self.activation is not None else activation
        if quantity in ("activation", "conjugate_of_activation") and g is None:
            raise ValueError(f"{self.label}: no closed-form activation, pass the derived one")
        table = {
            "generator": (self.generator, u),
            "conjugate": (self.conjugate, t),
            "activation": (g, v),
            "conjugate_of_activation": (None if g is None else self.conjugate.subs(t, g), v),
            "optimal_critic": (self.optimal_critic, r),
        }
        return table[quantity]


# ---------------------------------------------------------------------------------------------
# mpmath helpers of the closed forms
# ---------------------------------------------------------------------------------------------


def _inf_unless(condition: bool, value: Callable[[], mpmath.mpf]) -> mpmath.mpf:
    return value() if condition else mp.inf


def _w_of_exp(y: mpmath.mpf) -> mpmath.mpf:
    """Principal Lambert W of ``e^y`` (Wright omega), by Newton on ``w + log w = y`` for big y."""
    if y < 100:
        return mp.re(mp.lambertw(mp.exp(y)))
    w = y - mp.log(y)
    for _ in range(200):
        step = (w + mp.log(w) - y) / (1 + 1 / w)
        w -= step
        if abs(step) <= abs(w) * mp.eps:
            break
    return w


def _log_w_of_exp1m(s: mpmath.mpf) -> mpmath.mpf:
    """``L = log W(e^{1-s})``, the root of ``expm1(L) + L + s = 0`` (Newton; the function is
    increasing and convex, so Newton converges from any start after at most one overshoot)."""
    if s < -99:
        return mp.log(_w_of_exp(1 - s))
    lw = -s / 2 if abs(s) <= 1 else (1 - s if s > 1 else mp.log(1 - s))
    for _ in range(500):
        step = (mp.expm1(lw) + lw + s) / (mp.exp(lw) + 1)
        lw -= step
        if abs(step) <= abs(lw) * mp.eps:
            break
    return lw


def _jeffrey_conj(s: mpmath.mpf) -> mpmath.mpf:
    lw = _log_w_of_exp1m(s)
    return mp.expm1(-lw) - lw


def _js_paper_conj(s: mpmath.mpf) -> mpmath.mpf:
    """f-GAN Table 2, Jensen-Shannon row (which is 2 JS): f*(t) = -log(2 - e^t), t < log 2,
    written -log1p(-expm1(t)) (2 - e^t cancels at small t)."""
    return _inf_unless(s < mp.log(2), lambda: -mp.log1p(-mp.expm1(s)))


# ---------------------------------------------------------------------------------------------
# The nine rows of the f-GAN table
# ---------------------------------------------------------------------------------------------

#: per row: f(0+), lim f(u)/u, T*(r) = f'(r), f'(0+) (by hand), and the stable mpmath forms
_BY_HAND: dict[str, tuple[sp.Expr, sp.Expr, sp.Expr, sp.Expr, MpForms]] = {
    # KL: f = u log u, f* = e^{t-1}, g = v
    "kl": (
        sp.Integer(0), sp.oo, 1 + sp.log(r), -sp.oo,
        MpForms(
            generator=xlogx,
            conjugate=lambda s: mp.exp(s - 1),
            activation=lambda x: x,
            conjugate_of_activation=lambda x: mp.exp(x - 1),
            optimal_critic=lambda x: 1 + mp.log(x) if x > 0 else -mp.inf,
        ),
    ),
    # reverse KL: f = -log u, f* = -1 - log(-t) on t < 0, g = -e^{-v}
    "reverse_kl": (
        sp.oo, sp.Integer(0), -1 / r, -sp.oo,
        MpForms(
            generator=lambda x: -mp.log(x) if x > 0 else mp.inf,
            conjugate=lambda s: _inf_unless(s < 0, lambda: -1 - mp.log(-s)),
            activation=lambda x: -mp.exp(-x),
            conjugate_of_activation=lambda x: x - 1,
            optimal_critic=lambda x: -1 / x if x > 0 else -mp.inf,
        ),
    ),
    # Pearson chi^2: f = (u - 1)^2, f* = t^2/4 + t; over u > 0, -f(0) = -1 for t <= -2
    "pearson": (
        sp.Integer(1), sp.oo, 2 * (r - 1), sp.Integer(-2),
        MpForms(
            generator=lambda x: (x - 1) ** 2,
            conjugate=lambda s: -1 if s <= -2 else s * s / 4 + s,
            activation=lambda x: x,
            conjugate_of_activation=lambda x: -1 if x <= -2 else x * x / 4 + x,
            optimal_critic=lambda x: 2 * (x - 1),
        ),
    ),
    # Neyman chi^2: f = (1 - u)^2/u, f* = 2 - 2 sqrt(1 - t) on t <= 1, g = 1 - e^{-v}
    # (f* written 2t / (1 + sqrt(1 - t)), which does not cancel at small |t|)
    "neyman": (
        sp.oo, sp.Integer(1), 1 - 1 / r**2, -sp.oo,
        MpForms(
            generator=lambda x: (1 - x) ** 2 / x if x > 0 else mp.inf,
            conjugate=lambda s: _inf_unless(s <= 1, lambda: 2 * s / (1 + mp.sqrt(1 - s))),
            activation=lambda x: -mp.expm1(-x),
            conjugate_of_activation=lambda x: -2 * mp.expm1(-x / 2),  # 2 - 2 sqrt(e^{-v})
            optimal_critic=lambda x: 1 - 1 / x**2 if x > 0 else -mp.inf,
        ),
    ),
    # squared Hellinger: f = (sqrt u - 1)^2, f* = t/(1 - t) on t < 1, g = 1 - e^{-v}
    "squared_hellinger": (
        sp.Integer(1), sp.Integer(1), 1 - 1 / sp.sqrt(r), -sp.oo,
        MpForms(
            generator=lambda x: (mp.sqrt(x) - 1) ** 2,
            conjugate=lambda s: _inf_unless(s < 1, lambda: s / (1 - s)),
            activation=lambda x: -mp.expm1(-x),
            conjugate_of_activation=mp.expm1,  # g/(1 - g) = e^v - 1
            optimal_critic=lambda x: 1 - 1 / mp.sqrt(x) if x > 0 else -mp.inf,
        ),
    ),
    # Jeffrey: f = (u - 1) log u, f* = W(e^{1-t}) + 1/W(e^{1-t}) + t - 2, g = v; with
    # L = log W, W + log W = 1 - t gives f* = e^{-L} - 1 - L, free of the cancellations of
    # W + t (t -> -oo) and of 1/W - 1 (t -> 0)
    "jeffrey": (
        sp.oo, sp.oo, 1 + sp.log(r) - 1 / r, -sp.oo,
        MpForms(
            generator=lambda x: (x - 1) * mp.log(x) if x > 0 else mp.inf,
            conjugate=_jeffrey_conj,
            activation=lambda x: x,
            conjugate_of_activation=_jeffrey_conj,
            optimal_critic=lambda x: mp.log(x) + 1 - 1 / x if x > 0 else -mp.inf,
        ),
    ),
    # Jensen-Shannon: the paper's row is 2 JS (f without the 1/2); for f/2 the conjugate is
    # f*(2t)/2 and the activation is halved: g = (log 2 - log(1 + e^{-v}))/2
    "js": (
        log2 / 2, log2 / 2, sp.log(2 * r / (1 + r)) / 2, -sp.oo,
        MpForms(
            generator=lambda x: (xlogx(x) - (x + 1) * mp.log((x + 1) / 2)) / 2,
            conjugate=lambda s: _js_paper_conj(2 * s) / 2,
            activation=lambda x: -mp.log1p(mp.expm1(-x) / 2) / 2,
            conjugate_of_activation=lambda x: mp.log1p(mp.expm1(x) / 2) / 2,  # (softplus - log 2)/2
            optimal_critic=lambda x: mp.log(2 * x / (x + 1)) / 2 if x > 0 else -mp.inf,
        ),
    ),
    # GAN: f = u log u - (u + 1) log(u + 1), f* = -log(1 - e^t) on t < 0, g = -log(1 + e^{-v})
    # (for u > 1, f = -u log1p(1/u) - log1p(u): u log u - (u + 1) log(u + 1) cancels)
    "gan": (
        sp.Integer(0), sp.Integer(0), sp.log(r / (r + 1)), -sp.oo,
        MpForms(
            generator=lambda x: (
                xlogx(x) - (x + 1) * mp.log1p(x) if x <= 1 else -x * mp.log1p(1 / x) - mp.log1p(x)
            ),
            conjugate=lambda s: _inf_unless(s < 0, lambda: -log1mexp(s)),
            activation=lambda x: -softplus(-x),
            conjugate_of_activation=softplus,  # -log(1 - sigmoid(v))
            optimal_critic=lambda x: -mp.log1p(1 / x) if x > 0 else -mp.inf,  # log(r / (r + 1))
        ),
    ),
    # total variation: f = |u - 1|/2, f* = t on |t| <= 1/2 (paper); over u > 0, -1/2 below;
    # T*(1) is any subgradient in [-1/2, 1/2]: sign(r - 1)/2 gives 0, the mpmath form 1/2
    "total_variation": (
        half, half, sp.sign(r - 1) / 2, -half,
        MpForms(
            generator=lambda x: abs(x - 1) / 2,
            conjugate=lambda s: (
                -mp.mpf(1) / 2 if s <= -0.5 else _inf_unless(s <= 0.5, lambda: s)
            ),
            activation=lambda x: mp.tanh(x) / 2,
            conjugate_of_activation=lambda x: mp.tanh(x) / 2,
            optimal_critic=lambda x: -mp.mpf(1) / 2 if x < 1 else mp.mpf(1) / 2,
        ),
    ),
}  # fmt: skip


def _table_forms(name: str) -> ClosedForms:
    row = library_row(name)
    f0, slope_inf, critic, critic0, mp_forms = _BY_HAND[name]
    return ClosedForms(
        label=name,
        name=name,
        generator=row.generator,
        f_at_zero=f0,
        slope_at_infinity=slope_inf,
        conjugate=row.conjugate,
        domain=row.domain,
        activation=row.activation,
        optimal_critic=critic,
        critic_at_zero=critic0,
        mp=mp_forms,
    )


#: the parameter-free registered divergences, by registry name
REGISTERED_FORMS: Mapping[str, ClosedForms] = MappingProxyType(
    {name: _table_forms(name) for name in _BY_HAND}
)


# ---------------------------------------------------------------------------------------------
# The families
# ---------------------------------------------------------------------------------------------


def _rational(value: object) -> sp.Rational:
    """An exact parameter: floats by their decimal spelling (0.7 is 7/10)."""
    if isinstance(value, float):
        return sp.Rational(repr(value))
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    result = sp.Rational(value)
    assert isinstance(result, sp.Rational)
    return result


def _label(name: str, value: sp.Rational) -> str:
    return f"{name}({value})"


def _alpha_mp(a: sp.Rational) -> MpForms:
    """mpmath forms of the alpha-divergence (f-GAN Table 2 for a < 1 with the library's
    activation 1/(1 - a) - e^{-v}; the identity and the constant branch -1/a for a > 1)."""

    def num() -> tuple[mpmath.mpf, mpmath.mpf]:  # a and a/(a-1) at the working precision
        am = mp.mpf(a.p) / a.q
        return am, am / (am - 1)

    def f(x: mpmath.mpf) -> mpmath.mpf:
        am, _ = num()
        if x == 0:
            return 1 / am if am > 0 else mp.inf
        return (mp.expm1(am * mp.log(x)) - am * (x - 1)) / (am * (am - 1))

    def conj(s: mpmath.mpf) -> mpmath.mpf:
        am, q = num()
        base = s * (am - 1) + 1
        if am > 1:
            return -1 / am if base <= 0 else mp.expm1(q * mp.log1p(s * (am - 1))) / am
        if base < 0 or (base == 0 and q < 0):
            return mp.inf
        return (base**q - 1) / am if base == 0 else mp.expm1(q * mp.log1p(s * (am - 1))) / am

    def act(x: mpmath.mpf) -> mpmath.mpf:
        am, _ = num()
        return x if am > 1 else 1 / (1 - am) - mp.exp(-x)

    def conj_act(x: mpmath.mpf) -> mpmath.mpf:
        am, q = num()
        if am > 1:
            return conj(x)
        # t(a-1) + 1 = (1 - a) e^{-v}: f* = (((1 - a) e^{-v})^q - 1) / a
        return mp.expm1(q * (mp.log(1 - am) - x)) / am

    def critic(x: mpmath.mpf) -> mpmath.mpf:
        am, _ = num()
        if x == 0:
            return -mp.inf if am < 1 else -1 / (am - 1)
        return mp.expm1((am - 1) * mp.log(x)) / (am - 1)

    return MpForms(f, conj, act, conj_act, critic)


def alpha_forms(a: object) -> ClosedForms:
    """The alpha-divergence at ``a`` (not 0 or 1); see the module docstring."""
    return _alpha_forms(_rational(a))


@cache
def _alpha_forms(a: sp.Rational) -> ClosedForms:
    f = (u**a - 1 - a * (u - 1)) / (a * (a - 1))
    stationary = ((1 + (a - 1) * t) ** (a / (a - 1)) - 1) / a
    if a > 1:  # f'(0+) = -1/(a - 1): below it the supremum is at u -> 0, f*(t) = -f(0) = -1/a
        conjugate = sp.Piecewise((-1 / a, -1 / (a - 1) >= t), (stationary, True))
        domain = sp.Interval(-sp.oo, sp.oo)
        critic0, slope_inf, activation = -1 / (a - 1), sp.oo, v
    else:  # f'(oo) = 1/(1 - a): finite at that end for a < 0 (sup of a bounded increasing term)
        end = 1 / (1 - a)
        at_end = stationary.subs(t, end) if a < 0 else sp.oo
        conjugate = sp.Piecewise((stationary, end > t), (at_end, sp.Eq(t, end)), (sp.oo, True))
        domain = sp.Interval(-sp.oo, end, right_open=a > 0)
        critic0, slope_inf, activation = -sp.oo, end, end - sp.exp(-v)
    return ClosedForms(
        label=_label("alpha", a),
        name="alpha",
        generator=f,
        f_at_zero=1 / a if a > 0 else sp.oo,
        slope_at_infinity=slope_inf,
        conjugate=conjugate,
        domain=domain,
        activation=activation,
        optimal_critic=(r ** (a - 1) - 1) / (a - 1),
        critic_at_zero=critic0,
        params=(("alpha", a),),
        mp=_alpha_mp(a),
    )


def _js_weighted_mp(pi_: sp.Rational) -> MpForms:
    def num() -> mpmath.mpf:  # pi at the working precision
        return mp.mpf(pi_.p) / pi_.q

    def f(x: mpmath.mpf) -> mpmath.mpf:
        p = num()
        return p * xlogx(x) - xlogx(1 - p + p * x)

    def conj(s: mpmath.mpf) -> mpmath.mpf:
        p = num()
        return _inf_unless(
            s < -p * mp.log(p),
            # (1 - p) log((1 - p)/(1 - p e^{s/p})) = -(1 - p) log1p(-p expm1(s/p)/(1 - p))
            lambda: -(1 - p) * mp.log1p(-p * mp.expm1(s / p) / (1 - p)),
        )

    def act(x: mpmath.mpf) -> mpmath.mpf:
        p = num()
        return -p * mp.log(p) - mp.exp(-x)

    def conj_act(x: mpmath.mpf) -> mpmath.mpf:
        # 1 - pi e^{g/pi} = 1 - e^{-z} with z = e^{-v}/pi; for z > 1e5 its log is below
        # 1e-40000 (and exp(-z) of a z with 1e308 digits would not finish): 0
        p = num()
        z = mp.exp(-x) / p
        log_1m = mp.mpf(0) if z > 10**5 else mp.log(-mp.expm1(-z))
        return (1 - p) * (mp.log(1 - p) - log_1m)

    def critic(x: mpmath.mpf) -> mpmath.mpf:
        p = num()
        return -mp.inf if x == 0 else p * (mp.log(x) - mp.log1p(p * (x - 1)))

    return MpForms(f, conj, act, conj_act, critic)


def js_weighted_forms(pi: object) -> ClosedForms:
    """The weighted Jensen-Shannon divergence at ``pi`` in (0, 1); see the module docstring."""
    return _js_weighted_forms(_rational(pi))


@cache
def _js_weighted_forms(pi: sp.Rational) -> ClosedForms:
    m = 1 - pi + pi * u
    end = -pi * sp.log(pi)
    conjugate = sp.Piecewise(
        ((1 - pi) * sp.log((1 - pi) / (1 - pi * sp.exp(t / pi))), end > t), (sp.oo, True)
    )
    return ClosedForms(
        label=_label("js_weighted", pi),
        name="js_weighted",
        generator=pi * u * sp.log(u) - m * sp.log(m),
        f_at_zero=-(1 - pi) * sp.log(1 - pi),
        slope_at_infinity=end,
        conjugate=conjugate,
        domain=sp.Interval.open(-sp.oo, end),
        activation=end - sp.exp(-v),
        optimal_critic=pi * sp.log(r) - pi * sp.log(1 - pi + pi * r),
        critic_at_zero=-sp.oo,
        params=(("pi", pi),),
        mp=_js_weighted_mp(pi),
    )


#: the registered families and the parameters the tables cover
FAMILY_PARAMETERS: Mapping[str, tuple[str, tuple[sp.Rational, ...]]] = MappingProxyType({
    "alpha": (
        "alpha", tuple(sp.Rational(a) for a in ("-1", "-1/2", "1/2", "7/10", "3/2", "2", "3"))
    ),
    "js_weighted": ("pi", tuple(sp.Rational(p) for p in ("1/4", "3/10", "1/2"))),
})  # fmt: skip
_FAMILIES: dict[str, Callable[[object], ClosedForms]] = {
    "alpha": alpha_forms,
    "js_weighted": js_weighted_forms,
}


def closed_forms(name: str, **params: object) -> ClosedForms:
    """The closed forms of the registered divergence ``name`` at ``params`` (``alpha=``,
    ``pi=``; floats are read by their decimal spelling)."""
    if name in _FAMILIES:
        keyword = FAMILY_PARAMETERS[name][0]
        if set(params) != {keyword}:
            raise TypeError(f"{name} takes exactly the parameter {keyword!r}")
        return _FAMILIES[name](params[keyword])
    if params:
        raise TypeError(f"{name} takes no parameters")
    return REGISTERED_FORMS[name]


#: every registry name -> a builder of its forms from the parameters (``closed_forms`` curried)
CLOSED_FORMS: Mapping[str, Callable[..., ClosedForms]] = MappingProxyType({
    name: (lambda name=name, **params: closed_forms(name, **params))
    for name in (*REGISTERED_FORMS, *_FAMILIES)
})  # fmt: skip

#: the registered divergences at every parameter of :data:`FAMILY_PARAMETERS`
ALL_FORMS: tuple[ClosedForms, ...] = (
    *REGISTERED_FORMS.values(),
    *(
        _FAMILIES[name](value)
        for name, (_, values) in FAMILY_PARAMETERS.items()
        for value in values
    ),
)


# ---------------------------------------------------------------------------------------------
# User-defined generators
# ---------------------------------------------------------------------------------------------

# Le Cam's triangular discrimination f = (u - 1)^2/(u + 1): f'(u) = 1 - 4/(u + 1)^2 in (-3, 1),
# u* = 2/s - 1 with s = sqrt(1 - t), f*(t) = (1 - s)(3 - s) = 4 - t - 4 s; below t = -3 the
# supremum is at u -> 0 (f*(t) = -f(0) = -1); at t = 1 it is lim (3u - 1)/(u + 1) = 3.
LE_CAM = ClosedForms(
    label="user:le_cam",
    name="le_cam",
    generator=(u - 1) ** 2 / (u + 1),
    f_at_zero=sp.Integer(1),
    slope_at_infinity=sp.Integer(1),
    conjugate=sp.Piecewise((-1, t <= -3), (4 - t - 4 * sp.sqrt(1 - t), t <= 1), (sp.oo, True)),
    domain=sp.Interval(-sp.oo, 1),
    activation=None,
    optimal_critic=1 - 4 / (r + 1) ** 2,
    critic_at_zero=sp.Integer(-3),
)

# The f-GAN paper's own "Jensen-Shannon" row (2 JS) as printed: f*(t) = -log(2 - e^t), t < log 2.
_PAPER_JS_ROW = TABLE_2["js"]
PAPER_JS = ClosedForms(
    label="user:paper_js",
    name="paper_js",
    generator=_PAPER_JS_ROW.generator,
    f_at_zero=log2,
    slope_at_infinity=log2,
    conjugate=sp.Piecewise((_PAPER_JS_ROW.conjugate, t < log2), (sp.oo, True)),
    domain=_PAPER_JS_ROW.domain,
    activation=None,
    optimal_critic=sp.log(2 * r / (r + 1)),
    critic_at_zero=-sp.oo,
)
