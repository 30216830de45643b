r"""The GAN game of Goodfellow et al. (2014): optimal discriminator, global optimum, saturation.

The value of the game is

.. math::

    V(G, D) = \mathbb E_{x \sim p_{data}}[\log D(x)] + \mathbb E_{x \sim p_g}[\log(1 - D(x))]
            = \int p_{data}(x) \log D(x) + p_g(x) \log(1 - D(x)) \, dx .

Reference: Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville and Bengio,
*Generative Adversarial Nets*, NeurIPS 2014, Proposition 1, Theorem 1 and Section 3.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.optimize
import scipy.spatial.distance
import scipy.special
import sympy as sp
import torch
from torch import Tensor

import divergences as dv
from divergences.losses import gan_generator_loss
from divergences.symbolic.parse import as_expression

from ._core import Outcome, Recorder, compare, decided_zero, tex

__all__ = ["global_optimum", "optimal_discriminator", "saturation"]

_a, _b = sp.symbols("a b", positive=True)
_y = sp.Symbol("y", positive=True)
_w = sp.Symbol("w", positive=True)
_r = sp.Symbol("r", positive=True)
_v = sp.Symbol("v", real=True)
_SIGMA = sp.Function("sigma")(_v)
_GRAD_SAT = tex(r"\partial_v J^{(G)}_{\text{minimax}}")
_GRAD_NS = tex(r"\partial_v J^{(G)}_{\text{non-sat}}")
_EPS = float(np.finfo(np.float64).eps)

Discriminator = Callable[[sp.Expr, sp.Expr], sp.Expr]


def _library_discriminator() -> Discriminator:
    return dv.optimal_discriminator()[0]


def _value(a: sp.Expr, b: sp.Expr, d: sp.Expr) -> sp.Expr:
    return a * sp.log(d) + b * sp.log(1 - d)


# --------------------------------------------------------------------------------------------
# Proposition 1
# --------------------------------------------------------------------------------------------

#: (a, b) = (p_data(x), p_g(x)) for the numeric witness: balanced, lopsided both ways, equal
_PAIRS = ((0.3, 0.7), (2.0, 5.0), (1e-3, 1.0), (1.0, 1e-3), (0.5, 0.5), (7.0, 0.25))


def optimal_discriminator(rec: Recorder, *, discriminator: Discriminator | None = None) -> None:
    r"""Proposition 1: for fixed :math:`G`, :math:`D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))`.

    Pointwise, with :math:`a = p_{data}(x) > 0`, :math:`b = p_g(x) > 0`, the integrand
    :math:`V(y) = a \log y + b \log(1 - y)` is maximised over :math:`y \in (0, 1)`:

    .. math::

        V'(y) = \frac{a}{y} - \frac{b}{1 - y} = 0 \iff y = \frac{a}{a + b}, \qquad
        V''(y) = -\frac{a}{y^2} - \frac{b}{(1 - y)^2} < 0, \qquad
        V(0^+) = V(1^-) = -\infty .

    Override ``discriminator`` (a map ``(a, b) -> D``; default the library's
    :func:`divergences.optimal_discriminator`) to check another candidate.
    """
    candidate = discriminator or _library_discriminator()
    V = _value(_a, _b, _y)
    first, second = sp.diff(V, _y), sp.diff(V, _y, 2)
    found: dict[str, sp.Expr] = {}

    def stationary() -> Outcome:
        # D* is derived once, by the symbolic layer (divergences.symbolic.fgan); here it is
        # checked: V'(D*) = 0 and 0 < D* < 1 (uniqueness follows from the concavity below)
        derived = sp.simplify(_library_discriminator()(_a, _b))
        at = sp.simplify(first.subs(_y, derived))
        inside = sp.simplify(derived).is_positive and sp.simplify(1 - derived).is_positive
        if at == 0 and inside:
            found["d"] = derived
        return Outcome(
            bool(at == 0 and inside), f"derived D* = {derived}; V'(D*) = {at}, in (0, 1): {inside}"
        )

    rec.check(
        "the derived D* = a/(a+b) is a stationary point of V(y) = a log y + b log(1 - y) in (0, 1)",
        sp.Eq(first, 0),
        "symbolic",
        stationary,
    )
    d_star = found.get("d", sp.nan)
    rec.check(
        "V is strictly concave on (0, 1) (y = 1/(1+w), w > 0): the stationary point is the "
        "unique maximum",
        sp.Lt(second, 0),
        "symbolic",
        lambda: Outcome(
            bool(sp.simplify(second.subs(_y, 1 / (1 + _w))).is_negative), f"V''(y) = {second}"
        ),
    )

    def ends() -> Outcome:
        lo, hi = sp.limit(V, _y, 0, "+"), sp.limit(V, _y, 1, "-")
        return Outcome(lo == -sp.oo and hi == -sp.oo, f"V(0+) = {lo}, V(1-) = {hi}")

    rec.check(
        "boundary values: V(y) -> -oo as y -> 0+ and as y -> 1-, so the supremum is interior",
        sp.And(
            sp.Eq(sp.Limit(V, _y, 0, "+"), -sp.oo, evaluate=False),
            sp.Eq(sp.Limit(V, _y, 1, "-"), -sp.oo, evaluate=False),
        ),
        "symbolic",
        ends,
    )

    def one_sided() -> Outcome:
        # b = 0 (p_g = 0): V = a log y increases, sup at y = 1; a = 0: V = b log(1-y) decreases
        inside = {_y: 1 / (1 + _w)}  # y in (0, 1)
        rising = sp.simplify(sp.diff(V.subs(_b, 0), _y).subs(inside)).is_positive
        falling = sp.simplify(sp.diff(V.subs(_a, 0), _y).subs(inside)).is_negative
        up = rising and sp.simplify(d_star.subs(_b, 0)) == 1
        down = falling and sp.simplify(d_star.subs(_a, 0)) == 0
        return Outcome(
            bool(up and down),
            f"D*(a, 0) = {sp.simplify(d_star.subs(_b, 0))}, D*(0, b) = "
            f"{sp.simplify(d_star.subs(_a, 0))}",
        )

    rec.check(
        "where p_g = 0 (b = 0) V increases and sup is at y = 1; where p_data = 0 it decreases and "
        "sup is at y = 0: the formula a/(a+b) also gives these boundary maximisers",
        sp.And(
            sp.Eq(tex(r"D^*(a, 0)"), 1, evaluate=False),
            sp.Eq(tex(r"D^*(0, b)"), 0, evaluate=False),
        ),
        "symbolic",
        one_sided,
    )
    rec.check(
        "the maximum value is V(D*) = a log(a/(a+b)) + b log(b/(a+b))",
        sp.Eq(V.subs(_y, d_star), _a * sp.log(_a / (_a + _b)) + _b * sp.log(_b / (_a + _b))),
        "symbolic",
        lambda: decided_zero(
            V.subs(_y, d_star) - _a * sp.log(_a / (_a + _b)) - _b * sp.log(_b / (_a + _b))
        ),
    )
    rec.check(
        "the checked discriminator (default: dv.optimal_discriminator) equals the derived D*",
        lambda: sp.Eq(tex(r"D_{\text{checked}}(a, b)"), candidate(_a, _b)),
        "symbolic",
        lambda: Outcome(
            decided_zero(candidate(_a, _b) - d_star),
            f"checked {candidate(_a, _b)}, derived {d_star}",
        ),
    )
    numeric = sp.lambdify((_a, _b), candidate(_a, _b), "numpy")

    def brent() -> Outcome:
        # scipy's bounded Brent (fminbound) stops once the bracket is within 2 tol1 of its
        # midpoint, tol1 = sqrt(eps) |y| + xatol / 3; and V rounds with error ~ eps |V|, so any y
        # with |y - y*| <= sqrt(2 eps |V(y*)| / |V''(y*)|) looks as good as y*. The allowed error
        # is the sum of the two: 2 tol1 + 2 sqrt(2 eps |V(y*)| / |V''(y*)|).
        got, want, allowed, labels = [], [], [], []
        for a, b in _PAIRS:
            res = scipy.optimize.minimize_scalar(
                lambda y, a=a, b=b: -(a * np.log(y) + b * np.log1p(-y)),
                bounds=(0.0, 1.0),
                method="bounded",
                options={"xatol": 1e-14},
            )
            ystar = a / (a + b)
            curvature = a / ystar**2 + b / (1 - ystar) ** 2
            vmax = abs(a * math.log(ystar) + b * math.log1p(-ystar))
            tol1 = math.sqrt(_EPS) * ystar + 1e-14 / 3
            allowed.append(2 * tol1 + 2 * math.sqrt(2 * _EPS * max(vmax, _EPS) / curvature))
            got.append(float(res.x))
            want.append(float(numeric(a, b)))
            labels.append((a, b))
        errors = np.abs(np.array(got) - np.array(want))
        worst = int(np.argmax(errors / np.array(allowed)))
        return Outcome(
            bool(np.all(errors <= np.array(allowed))),
            f"{len(_PAIRS)} pairs (a, b); largest |argmax - D*| {errors[worst]:.3g} (allowed "
            f"{allowed[worst]:.3g}) at {labels[worst]}",
        )

    rec.check(
        "witness: the maximiser found by scipy.optimize.minimize_scalar (bounded Brent) equals "
        "the checked D*(a, b)",
        sp.Eq(tex(r"\operatorname{argmax}_y V(y)"), tex(r"D^*(a, b)")),
        "numeric: float64, scipy bounded Brent (xatol 1e-14), allowed error from its stopping "
        "rule (2 sqrt(eps) |y*|) plus the flatness of V at its maximum; (a, b) in "
        + ", ".join(map(str, _PAIRS)),
        brent,
    )

    def grid() -> Outcome:
        ends = np.logspace(-12, -1, 200)
        ys = np.concatenate([np.linspace(0, 1, 200_001)[1:-1], ends, 1 - ends])
        worst_gain, at = -np.inf, None
        for a, b in _PAIRS:
            d = float(numeric(a, b))
            top = a * math.log(d) + b * math.log1p(-d)
            values = a * np.log(ys) + b * np.log1p(-ys)
            gain = (values.max() - top) / max(1.0, abs(top))
            if gain > worst_gain:
                worst_gain, at = gain, (a, b)
        # V(D*) may lose to a grid point only by rounding: a few ulps of max(1, |V|)
        return Outcome(
            bool(worst_gain <= 8 * _EPS),
            f"largest relative excess of a grid value over V(D*) {worst_gain:.3g} at (a, b) = {at}",
        )

    rec.check(
        "witness: no point of a 200 399-point grid of (0, 1) (uniform and geometric towards both "
        "ends) gives a larger V than the checked D*",
        sp.Ge(tex(r"V(D^*)"), tex(r"\max_{y \in \text{grid}} V(y)")),
        "numeric: float64 grid search, tolerance 8 ulps of max(1, |V|)",
        grid,
    )


# --------------------------------------------------------------------------------------------
# Theorem 1
# --------------------------------------------------------------------------------------------


def _pairs_for_theorem() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(2014)
    pairs = [(rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5))) for _ in range(6)]
    p = rng.dirichlet(np.ones(5))
    pairs.append((p, p.copy()))
    pairs.append((np.array([0.5, 0.5 - 2e-9, 1e-9, 1e-9]), np.array([1e-9, 1e-9, 0.5, 0.5 - 2e-9])))
    return pairs


def global_optimum(
    rec: Recorder,
    *,
    constant: sp.Expr | None = None,
    discriminator: Discriminator | None = None,
) -> None:
    r"""Theorem 1: :math:`C(G) = \max_D V(G, D) = -\log 4 + 2\,\mathrm{JS}(p_{data} \| p_g)`,
    minimal (:math:`= -\log 4`) if and only if :math:`p_g = p_{data}`, where :math:`D^* = 1/2`.

    With :math:`m = (p_{data} + p_g)/2`,

    .. math::

        C(G) = \sum_x p_{data} \log\frac{p_{data}}{2m} + p_g \log\frac{p_g}{2m}
             = \mathrm{KL}(p_{data} \| m) + \mathrm{KL}(p_g \| m) - \log 4 .

    Overrides: ``constant`` (default :math:`-\log 4`), ``discriminator`` (default the library's).
    """
    constant = -sp.log(4) if constant is None else as_expression(constant, what="constant")
    candidate = discriminator or _library_discriminator()
    m = (_a + _b) / 2
    rec.check(
        "pointwise at D*: a log D* + b log(1 - D*) = a log(a/m) + b log(b/m) - (a + b) log 2, "
        "m = (a + b)/2",
        lambda: sp.Eq(
            _value(_a, _b, candidate(_a, _b)),
            _a * sp.log(_a / m) + _b * sp.log(_b / m) - (_a + _b) * sp.log(2),
        ),
        "symbolic",
        lambda: decided_zero(
            _value(_a, _b, candidate(_a, _b))
            - (_a * sp.log(_a / m) + _b * sp.log(_b / m) - (_a + _b) * sp.log(2))
        ),
    )
    ps = sp.symbols("p1:4", positive=True)
    qs = sp.symbols("q1:4", positive=True)
    normalise = {ps[2]: 1 - ps[0] - ps[1], qs[2]: 1 - qs[0] - qs[1]}

    def kl_to_mixture(xs: tuple[sp.Symbol, ...]) -> sp.Expr:
        return sum(x * sp.log(2 * x / (p + q)) for x, p, q in zip(xs, ps, qs, strict=True))

    js = (kl_to_mixture(ps) + kl_to_mixture(qs)) / 2
    game = sum(_value(p, q, candidate(p, q)) for p, q in zip(ps, qs, strict=True))
    C, JS = tex("C(G)"), tex(r"\mathrm{JS}(p_{data} \| p_g)")

    def theorem() -> Outcome:
        residual = sp.expand(sp.expand_log(game - (constant + 2 * js), force=True))
        before = sp.simplify(residual)
        after = sp.simplify(sp.expand(before.subs(normalise)))
        return Outcome(after == 0, f"C - (c + 2 JS) = {before}; with sum p = sum q = 1: {after}")

    rec.check(
        "summing over a 3-point support with sum p = sum q = 1: C(G) = KL(P||M) + KL(Q||M) - "
        f"log 4 = {constant} + 2 JS(P||Q)",
        sp.Eq(C, constant + 2 * JS),
        "symbolic",
        theorem,
    )
    phi = _r * sp.log(2 * _r / (_r + 1)) + sp.log(2 / (_r + 1))

    def js_nonnegative() -> Outcome:
        summand = (_a * sp.log(2 * _a / (_a + _b)) + _b * sp.log(2 * _b / (_a + _b))) / 2
        same = decided_zero(summand - _b * phi.subs(_r, _a / _b) / 2)
        at_one = sp.simplify(phi.subs(_r, 1))
        slope = sp.simplify(sp.diff(phi, _r).subs(_r, 1))
        curvature = sp.simplify(sp.diff(phi, _r, 2))
        return Outcome(
            bool(same and at_one == 0 and slope == 0 and curvature.is_positive),
            f"phi(1) = {at_one}, phi'(1) = {slope}, phi'' = {curvature}",
        )

    rec.check(
        "JS = (1/2) sum q phi(p/q) with phi(r) = r log(2r/(r+1)) + log(2/(r+1)); phi(1) = 0, "
        "phi'(1) = 0, phi'' > 0: phi > 0 for r != 1, so JS >= 0 with equality iff P = Q",
        sp.Ge(phi, 0),
        "symbolic",
        js_nonnegative,
    )
    rec.check(
        "at p_g = p_data the checked discriminator is 1/2",
        sp.Eq(tex(r"D_{\text{checked}}(a, a)"), sp.Rational(1, 2), evaluate=False),
        "symbolic",
        lambda: decided_zero(candidate(_a, _a) - sp.Rational(1, 2)),
    )

    def at_equality() -> Outcome:
        value = sp.expand_log(game.subs(dict(zip(qs, ps, strict=True))), force=True)
        value = sp.simplify(sp.expand(value).subs(ps[2], 1 - ps[0] - ps[1]))
        return Outcome(decided_zero(value - constant), f"C(p_data) = {value}")

    rec.check(
        f"at p_g = p_data: C(G) = {constant}, the global minimum (attained only there: JS > 0 "
        "otherwise)",
        sp.Eq(tex(r"C(G)|_{p_g = p_{data}}"), constant),
        "symbolic",
        at_equality,
    )

    numeric = sp.lambdify((_a, _b), candidate(_a, _b), "numpy")
    c = float(constant)
    pairs = _pairs_for_theorem()

    def game_value(p: np.ndarray, q: np.ndarray, d: np.ndarray) -> float:
        return float(np.sum(p * np.log(d) + q * np.log1p(-d)))

    def values() -> Outcome:
        got = [game_value(p, q, numeric(p, q)) for p, q in pairs]
        ref = [c + 2 * scipy.spatial.distance.jensenshannon(p, q) ** 2 for p, q in pairs]
        return compare(got, ref, rtol=0, atol=1e-12, labels=[f"pair {i}" for i in range(len(got))])

    rec.check(
        "witness: the game's value at the checked D* equals the constant + 2 JS, JS = "
        "scipy.spatial.distance.jensenshannon(p, q)**2 (natural log)",
        sp.Eq(C, tex("c") + 2 * JS),
        "numeric: float64, absolute tolerance 1e-12 (sums of 5 O(1) terms); 6 Dirichlet(1) "
        "pairs on 5 points (seed 2014), P = Q, a nearly disjoint pair",
        values,
    )

    def maximal() -> Outcome:
        rng = np.random.default_rng(1)
        worst_gain, what = -np.inf, ""
        for i, (p, q) in enumerate(pairs):
            d = np.asarray(numeric(p, q), dtype=float)
            best = game_value(p, q, d)
            tries = [rng.uniform(1e-6, 1 - 1e-6, size=p.shape) for _ in range(200)]
            for k in range(p.size):
                for delta in (-1e-4, 1e-4):
                    e = d.copy()
                    e[k] = min(max(e[k] + delta, 1e-15), 1 - 1e-15)
                    tries.append(e)
            gain = max(game_value(p, q, e) for e in tries) - best
            if gain > worst_gain:
                worst_gain, what = gain, f"pair {i}"
        return Outcome(
            bool(worst_gain < 0),
            f"largest V(D) - V(D*) over 200 random D and +-1e-4 single-coordinate perturbations: "
            f"{worst_gain:.3g} ({what})",
        )

    rec.check(
        "witness: the checked D* maximises V(G, .): random discriminators and small perturbations "
        "of D* all give a strictly smaller value",
        sp.Lt(tex("V(G, D)"), tex("V(G, D^*)")),
        "numeric: float64, 200 uniform random D per pair (seed 1) and 2 x 5 perturbations",
        maximal,
    )

    def library() -> Outcome:
        d_gan = dv.get("gan")
        got = [float(d_gan.divergence(torch.from_numpy(p), torch.from_numpy(q))) for p, q in pairs]
        ref = [game_value(p, q, p / (p + q)) for p, q in pairs]
        return compare(got, ref, rtol=1e-12, atol=1e-15, labels=list(range(len(got))))

    rec.check(
        "witness: the library's D_gan(P||Q) (dv.get('gan').divergence, torch float64) is the "
        "value of the game at D* = p/(p+q)",
        sp.Eq(tex(r"D_{gan}(p_{data} \| p_g)"), C),
        "numeric: float64, relative tolerance 1e-12",
        library,
    )

    def iff() -> Outcome:
        gaps = [game_value(p, q, numeric(p, q)) - c for p, q in pairs]
        equal = [i for i, (p, q) in enumerate(pairs) if np.array_equal(p, q)]
        strict = [gaps[i] for i in range(len(pairs)) if i not in equal]
        ok = all(g > 1e-6 for g in strict) and all(abs(gaps[i]) <= 1e-15 for i in equal)
        return Outcome(
            ok,
            f"smallest C - c for P != Q: {min(strict):.3g}; |C - c| for P = Q: "
            f"{max(abs(gaps[i]) for i in equal):.3g}",
        )

    rec.check(
        "witness: C(G) exceeds the constant for every P != Q and equals it for P = Q",
        sp.Ge(C, tex("c")),
        "numeric: float64; P != Q pairs have JS > 1e-3, the equal pair tolerance 1e-15",
        iff,
    )


# --------------------------------------------------------------------------------------------
# Saturation
# --------------------------------------------------------------------------------------------

_LOGITS = (-1e4, -1e3, -100.0, -40.0, -20.0, -10.0, -3.0, -1.0, 0.0, 1.0, 3.0, 10.0)

GeneratorLoss = Callable[[Tensor, bool], Tensor]


def saturation(rec: Recorder, *, loss: GeneratorLoss | None = None) -> None:
    r"""The minimax generator loss saturates; the non-saturating one does not.

    With :math:`D(G(z)) = \sigma(v)` for a raw discriminator score :math:`v`,

    .. math::

        \frac{d}{dv} \log(1 - \sigma(v)) = -\sigma(v) \xrightarrow[v \to -\infty]{} 0, \qquad
        \frac{d}{dv} \big[-\log \sigma(v)\big] = -(1 - \sigma(v))
            \xrightarrow[v \to -\infty]{} -1,

    and their ratio is :math:`e^{v} > 0`: the same direction, but the minimax gradient vanishes
    exactly when the discriminator confidently rejects the samples (early in training).
    Goodfellow et al. 2014, Section 3; Goodfellow, NIPS 2016 tutorial (arXiv:1701.00160),
    Section 3.2.3.

    Override ``loss`` (``(fake_logits, saturating) -> scalar``; default
    :func:`divergences.losses.gan_generator_loss`) to check another implementation.
    """
    loss_fn = loss or (lambda logits, saturating: gan_generator_loss(logits, saturating=saturating))
    sigma = 1 / (1 + sp.exp(-_v))
    saturating, non_saturating = sp.log(1 - sigma), -sp.log(sigma)
    g_sat, g_ns = sp.diff(saturating, _v), sp.diff(non_saturating, _v)
    rec.check(
        "d/dv log(1 - sigmoid(v)) = -sigmoid(v)",
        sp.Eq(sp.Derivative(sp.log(1 - _SIGMA), _v), -_SIGMA),
        "symbolic",
        lambda: decided_zero(g_sat + sigma),
    )
    rec.check(
        "d/dv [-log sigmoid(v)] = -(1 - sigmoid(v))",
        sp.Eq(sp.Derivative(-sp.log(_SIGMA), _v), _SIGMA - 1),
        "symbolic",
        lambda: decided_zero(g_ns + (1 - sigma)),
    )

    def limits() -> Outcome:
        d_limit = sp.limit(sigma, _v, -sp.oo)
        sat, ns = sp.limit(g_sat, _v, -sp.oo), sp.limit(g_ns, _v, -sp.oo)
        return Outcome(
            d_limit == 0 and sat == 0 and ns == -1,
            f"D -> {d_limit}; minimax gradient -> {sat}; non-saturating gradient -> {ns}",
        )

    rec.check(
        "as v -> -oo (D(G(z)) -> 0): the minimax gradient -> 0, the non-saturating one -> -1",
        sp.And(
            sp.Eq(sp.Limit(-_SIGMA, _v, -sp.oo), 0, evaluate=False),
            sp.Eq(sp.Limit(_SIGMA - 1, _v, -sp.oo), -1, evaluate=False),
        ),
        "symbolic",
        limits,
    )

    def ratio() -> Outcome:
        q = sp.simplify(g_sat / g_ns)
        same = decided_zero(q - sp.exp(_v))
        return Outcome(
            bool(same and sp.exp(_v).is_positive and sp.limit(q, _v, -sp.oo) == 0),
            f"ratio = {q}, limit {sp.limit(q, _v, -sp.oo)}",
        )

    rec.check(
        "the ratio of the two gradients is exp(v) > 0 (same direction) and -> 0 as v -> -oo",
        sp.Eq(_GRAD_SAT / _GRAD_NS, sp.exp(_v)),
        "symbolic",
        ratio,
    )
    logits = np.array(_LOGITS)

    def autograd(saturating_flag: bool) -> np.ndarray:
        x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
        (grad,) = torch.autograd.grad(loss_fn(x, saturating_flag), x)
        return grad.detach().numpy() * logits.size  # the loss is a mean over the batch

    method = (
        "numeric: float64 torch autograd through the loss (times the batch size: it is a mean) "
        "vs scipy.special.expit, relative tolerance 1e-12 (absolute 1e-300 for underflow); "
        "v in " + ", ".join(f"{x:g}" for x in _LOGITS)
    )
    rec.check(
        "witness: the gradient of gan_generator_loss(saturating=True) is -sigmoid(v)",
        sp.Eq(_GRAD_SAT, -_SIGMA),
        method,
        lambda: compare(
            autograd(True), -scipy.special.expit(logits), rtol=1e-12, atol=1e-300, labels=_LOGITS
        ),
    )
    rec.check(
        "witness: the gradient of gan_generator_loss(saturating=False) is -(1 - sigmoid(v))",
        sp.Eq(_GRAD_NS, _SIGMA - 1),
        method,
        lambda: compare(
            autograd(False), -scipy.special.expit(-logits), rtol=1e-12, atol=1e-300, labels=_LOGITS
        ),
    )

    def vanishing() -> Outcome:
        sat, ns = autograd(True), autograd(False)
        rejected = logits <= -20
        small = float(np.max(np.abs(sat[rejected])))
        large = float(np.min(np.abs(ns[rejected])))
        ok = small <= 2.1e-9 and large >= 1 - 2.1e-9
        return Outcome(
            ok,
            f"for v <= -20: max |minimax grad| = {small:.3g}, min |non-saturating grad| = "
            f"{large:.12g}",
        )

    rec.check(
        "witness: where the discriminator rejects confidently (v <= -20, D < 2.1e-9) the minimax "
        "gradient is below 2.1e-9 while the non-saturating one is within 2.1e-9 of -1",
        sp.Lt(sp.Abs(_GRAD_SAT), sp.Float("2.1e-9")),
        "numeric: float64 torch autograd; sigmoid(-20) = 2.06e-9",
        vanishing,
    )
