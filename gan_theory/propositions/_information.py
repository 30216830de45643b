r"""Information-theoretic facts GAN theory rests on: MLE as KL minimisation, cross-entropy, Gibbs'
inequality and the asymmetry of KL, and the bounds of the Jensen-Shannon divergence.

Conventions (DESIGN.md): natural logarithm, :math:`0 \log 0 = 0`,
:math:`H(P) = -\sum_x p \log p`, :math:`H(P, Q) = -\sum_x p \log q`,
:math:`\mathrm{KL}(P \| Q) = \sum_x p \log(p/q)`,
:math:`\mathrm{JS}(P, Q) = \tfrac12 \mathrm{KL}(P \| M) + \tfrac12 \mathrm{KL}(Q \| M)`,
:math:`M = (P + Q)/2`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import mpmath
import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.spatial.distance
import scipy.stats
import sympy as sp
import torch
from sympy.stats import E, Normal

import divergences as dv
from divergences.symbolic.parse import as_expression

from ._core import Outcome, Recorder, compare, decided_zero, tex

__all__ = ["cross_entropy", "gibbs", "js_bounds", "mle_is_kl"]

_u = sp.Symbol("u", positive=True)
_x = sp.Symbol("x", positive=True)
_H, _KL = sp.Function("H"), sp.Function("KL")
_P, _Q = sp.Symbol("P"), sp.Symbol("Q")
_EXPECTED_LOG_NORMAL = tex(r"\mathbb{E}[\log \mathcal{N}(X; \mu, \sigma^2)]")
_KL_NORMAL = tex(r"\mathrm{KL}(\mathcal{N}(m, s^2) \| \mathcal{N}(\mu, \sigma^2))")

NumericKL = Callable[[np.ndarray, np.ndarray], float]


def _library_kl(p: np.ndarray, q: np.ndarray) -> float:
    return float(dv.kl(torch.from_numpy(p), torch.from_numpy(q)))


def _entropy(ps: Sequence[sp.Expr]) -> sp.Expr:
    return -sum(p * sp.log(p) for p in ps)


def _kl(ps: Sequence[sp.Expr], qs: Sequence[sp.Expr]) -> sp.Expr:
    return sum(p * sp.log(p / q) for p, q in zip(ps, qs, strict=True) if p != 0)


def _cross_entropy(ps: Sequence[sp.Expr], qs: Sequence[sp.Expr]) -> sp.Expr:
    return -sum(p * sp.log(q) for p, q in zip(ps, qs, strict=True) if p != 0)


# --------------------------------------------------------------------------------------------
# MLE = KL minimisation
# --------------------------------------------------------------------------------------------


def _gaussian_kl(m: sp.Expr, s: sp.Expr, mu: sp.Expr, sigma: sp.Expr) -> sp.Expr:
    """KL(N(m, s^2) || N(mu, sigma^2)); Kullback, *Information Theory and Statistics* (1959),
    ch. 9 (the usual closed form)."""
    return sp.log(sigma / s) + (s**2 + (m - mu) ** 2) / (2 * sigma**2) - sp.Rational(1, 2)


GaussianKL = Callable[[sp.Expr, sp.Expr, sp.Expr, sp.Expr], sp.Expr]


def _softmax(theta: np.ndarray) -> np.ndarray:
    z = np.append(theta, 0.0)
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def mle_is_kl(rec: Recorder, *, gaussian_kl: GaussianKL | None = None) -> None:
    r"""Maximum likelihood is KL minimisation:

    .. math::

        \mathbb E_{x \sim p_{data}}[\log p_\theta(x)]
            = -H(p_{data}) - \mathrm{KL}(p_{data} \| p_\theta),

    and :math:`H(p_{data})` does not depend on :math:`\theta`, so
    :math:`\arg\max_\theta \mathbb E[\log p_\theta] = \arg\min_\theta \mathrm{KL}(p_{data} \|
    p_\theta)`. Goodfellow, *NIPS 2016 Tutorial: Generative Adversarial Networks*
    (arXiv:1701.00160), Section 2.1; Goodfellow, Bengio and Courville, *Deep Learning* (2016),
    Section 5.5.

    Override ``gaussian_kl`` (``(m, s, mu, sigma) -> KL(N(m, s^2) || N(mu, sigma^2))``) to check
    another closed form.
    """
    kl_normal = gaussian_kl or _gaussian_kl
    ps = sp.symbols("p1:4", positive=True)
    qs = sp.symbols("q1:4", positive=True)
    log_lik = sum(p * sp.log(q) for p, q in zip(ps, qs, strict=True))
    rec.check(
        "discrete (3 points): E_P[log q] = sum p log q = -H(P) - KL(P||Q)",
        sp.Eq(tex(r"\mathbb{E}_P[\log q]"), -_H(_P) - _KL(_P, _Q)),
        "symbolic",
        lambda: decided_zero(log_lik - (-_entropy(ps) - _kl(ps, qs))),
    )
    q1, q2 = sp.symbols("q1 q2", positive=True)
    family = (q1, q2, 1 - q1 - q2)
    p_last = {ps[2]: 1 - ps[0] - ps[1]}
    model_lik = sum(p * sp.log(q) for p, q in zip(ps, family, strict=True)).subs(p_last)
    model_kl = _kl(ps, family).subs(p_last)

    def same_gradient() -> Outcome:
        ok = all(decided_zero(sp.diff(model_lik, q) + sp.diff(model_kl, q)) for q in (q1, q2))
        return Outcome(ok, "d/dq_i [E_P log q + KL(P||Q)] = 0 for i = 1, 2")

    rec.check(
        "categorical family q = (q1, q2, 1 - q1 - q2): H(P) does not depend on q, so the gradient "
        "of the log-likelihood is minus the gradient of KL(P||Q)",
        sp.Eq(
            tex(r"\partial_{q_1} \mathbb{E}_P[\log q]"), tex(r"-\partial_{q_1} \mathrm{KL}(P \| Q)")
        ),
        "symbolic",
        same_gradient,
    )

    def categorical_optimum() -> Outcome:
        solutions = sp.solve([sp.diff(model_lik, q1), sp.diff(model_lik, q2)], [q1, q2], dict=True)
        at_p = {q1: ps[0], q2: ps[1]}
        ok = solutions == [at_p] and decided_zero(model_kl.subs(at_p))
        return Outcome(ok, f"stationary points of the likelihood: {solutions}; KL there = 0")

    rec.check(
        "the likelihood's only stationary point is q = p, where KL(P||Q) = 0 (its minimum, by "
        "Gibbs' inequality)",
        sp.Eq(tex(r"q_{MLE}"), tex("p")),
        "symbolic",
        categorical_optimum,
    )
    m, mu = sp.symbols("m mu", real=True)
    s, sigma = sp.symbols("s sigma", positive=True)
    X = Normal("X", m, s)
    log_density = -sp.log(2 * sp.pi * sigma**2) / 2 - (sp.Symbol("x") - mu) ** 2 / (2 * sigma**2)
    expected = sp.simplify(E(sp.expand(log_density.subs(sp.Symbol("x"), X))))
    entropy_normal = sp.log(2 * sp.pi * sp.E * s**2) / 2

    def gaussian_identity() -> Outcome:
        residual = expected - (-entropy_normal - kl_normal(m, s, mu, sigma))
        return Outcome(
            decided_zero(residual),
            f"E[log N(X; mu, sigma^2)] = {expected}; residual {sp.simplify(residual)}",
        )

    rec.check(
        "Gaussian family: E_{X ~ N(m, s^2)}[log N(X; mu, sigma^2)] (sympy.stats) = "
        "-H(N(m, s^2)) - KL(N(m, s^2)||N(mu, sigma^2)), H = log(2 pi e s^2)/2",
        sp.Eq(
            _EXPECTED_LOG_NORMAL,
            -entropy_normal - _KL_NORMAL,
        ),
        "symbolic",
        gaussian_identity,
    )

    def gaussian_optimum() -> Outcome:
        gradient = [sp.diff(expected, mu), sp.diff(expected, sigma)]
        solutions = sp.solve(gradient, [mu, sigma], dict=True)
        at = {mu: m, sigma: s}
        ok = solutions == [at] and decided_zero(kl_normal(m, s, mu, sigma).subs(at))
        return Outcome(ok, f"stationary points {solutions}; KL there {kl_normal(m, s, m, s)}")

    rec.check(
        "Gaussian family: the expected log-likelihood is stationary only at (mu, sigma) = (m, s), "
        "where the KL vanishes",
        sp.Eq(sp.Tuple(tex(r"\mu_{MLE}"), tex(r"\sigma_{MLE}")), sp.Tuple(m, s)),
        "symbolic",
        gaussian_optimum,
    )

    # --- Monte Carlo witnesses --------------------------------------------------------------
    p_true = np.array([0.5, 0.3, 0.2])
    n = 5000
    draws = np.random.default_rng(0).choice(3, size=n, p=p_true)
    p_hat = np.bincount(draws, minlength=3) / n

    def categorical_fits() -> Outcome:
        def neg_log_lik(theta: np.ndarray) -> float:
            return -float(np.mean(np.log(_softmax(theta))[draws]))

        def kl_to(theta: np.ndarray) -> float:
            return float(scipy.stats.entropy(p_hat, _softmax(theta)))

        options = {"gtol": 1e-10}
        mle = _softmax(scipy.optimize.minimize(neg_log_lik, np.zeros(2), options=options).x)
        kl_min = _softmax(scipy.optimize.minimize(kl_to, np.zeros(2), options=options).x)
        agree = compare(mle, kl_min, rtol=0, atol=1e-6)
        closed = compare(mle, p_hat, rtol=0, atol=1e-6)
        se = np.sqrt(p_true * (1 - p_true) / n)
        consistent = bool(np.all(np.abs(p_hat - p_true) <= 5 * se))
        return Outcome(
            agree.passed and closed.passed and consistent,
            f"MLE {np.round(mle, 8)}, argmin KL {np.round(kl_min, 8)}, frequencies {p_hat}; "
            f"MLE vs argmin KL: {agree.detail}; |p_hat - p| / SE = "
            f"{np.round(np.abs(p_hat - p_true) / se, 2)}",
        )

    rec.check(
        "witness (categorical, 5000 draws from (0.5, 0.3, 0.2)): maximising the sample "
        "log-likelihood and minimising scipy.stats.entropy(p_hat, q) (= KL) over softmax "
        "parameters give the same q (the frequencies), within 5 standard errors of p",
        sp.Eq(
            tex(r"\operatorname{argmax}_q \mathbb{E}_P[\log q]"),
            tex(r"\operatorname{argmin}_q \mathrm{KL}(P \| Q)"),
        ),
        "numeric: float64 Monte Carlo (seed 0), scipy.optimize.minimize BFGS (gtol 1e-10, "
        "finite-difference gradients), absolute tolerance 1e-6 on the probabilities",
        categorical_fits,
    )

    def categorical_identity() -> Outcome:
        rng = np.random.default_rng(3)
        got, want = [], []
        for _ in range(5):
            q = rng.dirichlet(np.ones(3))
            got.append(float(np.mean(np.log(q)[draws])))
            want.append(-scipy.stats.entropy(p_hat) - scipy.stats.entropy(p_hat, q))
        return compare(got, want, rtol=1e-12)

    rec.check(
        "witness: the sample mean log-likelihood equals -H(p_hat) - KL(p_hat||q) "
        "(scipy.stats.entropy) for 5 random q",
        sp.Eq(
            tex(r"\frac1n \sum_i \log q(x_i)"),
            -_H(tex(r"\hat P")) - _KL(tex(r"\hat P"), _Q),
        ),
        "numeric: float64, relative tolerance 1e-12, q ~ Dirichlet(1, 1, 1) (seed 3)",
        categorical_identity,
    )
    kl_numeric = sp.lambdify((m, s, mu, sigma), kl_normal(m, s, mu, sigma), "math")
    m0, s0 = 1.5, 0.7
    xs = np.random.default_rng(1).normal(m0, s0, size=n)

    def gaussian_identity_quadrature() -> Outcome:
        got, want, labels = [], [], []
        for mu0, sigma0 in ((0.0, 1.0), (1.5, 0.7), (-2.0, 3.0), (2.0, 0.3)):
            value, _ = scipy.integrate.quad(
                lambda x, mu0=mu0, sigma0=sigma0: (
                    scipy.stats.norm.pdf(x, m0, s0) * scipy.stats.norm.logpdf(x, mu0, sigma0)
                ),
                -np.inf,
                np.inf,
                epsabs=1e-13,
                epsrel=1e-13,
            )
            got.append(value)
            want.append(-scipy.stats.norm(m0, s0).entropy() - kl_numeric(m0, s0, mu0, sigma0))
            labels.append((mu0, sigma0))
        return compare(got, want, rtol=1e-10, labels=labels)

    rec.check(
        "witness: E[log N(X; mu, sigma^2)] by scipy.integrate.quad equals -H (scipy.stats.norm."
        "entropy) minus the checked Gaussian KL, for X ~ N(1.5, 0.7^2)",
        sp.Eq(
            _EXPECTED_LOG_NORMAL,
            -entropy_normal - _KL_NORMAL,
        ),
        "numeric: float64 adaptive quadrature (tolerances 1e-13), relative tolerance 1e-10; "
        "(mu, sigma) in (0, 1), (1.5, 0.7), (-2, 3), (2, 0.3)",
        gaussian_identity_quadrature,
    )

    def gaussian_fits() -> Outcome:
        mu_mle, sigma_mle = scipy.stats.norm.fit(xs)

        def kl_to(params: np.ndarray) -> float:
            return float(kl_numeric(m0, s0, params[0], math.exp(params[1])))

        res = scipy.optimize.minimize(kl_to, np.array([0.0, 0.0]), options={"gtol": 1e-10})
        mu_kl, sigma_kl = float(res.x[0]), math.exp(float(res.x[1]))
        exact = abs(mu_kl - m0) <= 1e-6 and abs(sigma_kl - s0) <= 1e-6
        se_mu, se_sigma = s0 / math.sqrt(n), s0 / math.sqrt(2 * n)
        z = (abs(mu_mle - mu_kl) / se_mu, abs(sigma_mle - sigma_kl) / se_sigma)
        return Outcome(
            exact and max(z) <= 5,
            f"scipy.stats.norm.fit: ({mu_mle:.6f}, {sigma_mle:.6f}); argmin KL(N(1.5, 0.7^2)||.): "
            f"({mu_kl:.9f}, {sigma_kl:.9f}); distance in standard errors {z[0]:.2f}, {z[1]:.2f}",
        )

    rec.check(
        "witness (Gaussian, 5000 draws from N(1.5, 0.7^2)): the MLE (scipy.stats.norm.fit) is "
        "within 5 standard errors of the minimiser of KL(p_data||p_theta), which is (1.5, 0.7)",
        sp.Eq(
            tex(r"\theta_{MLE}"),
            tex(r"\operatorname{argmin}_\theta \mathrm{KL}(p_{data} \| p_\theta)"),
        ),
        "numeric: float64 Monte Carlo (seed 1), BFGS on (mu, log sigma) within 1e-6 of (1.5, "
        "0.7); standard errors s/sqrt(n) and s/sqrt(2n)",
        gaussian_fits,
    )


# --------------------------------------------------------------------------------------------
# Cross-entropy = entropy + KL
# --------------------------------------------------------------------------------------------


def _random_pairs(seed: int, count: int, size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [(rng.dirichlet(np.ones(size)), rng.dirichlet(np.ones(size))) for _ in range(count)]


def cross_entropy(rec: Recorder, *, kl: NumericKL | None = None) -> None:
    r"""Cross-entropy is entropy plus KL:

    .. math::

        H(P, Q) = -\sum_x p \log q = -\sum_x p \log p + \sum_x p \log\frac{p}{q}
                = H(P) + \mathrm{KL}(P \| Q).

    Cover and Thomas, *Elements of Information Theory* (2nd ed., 2006), Section 2.3.

    Override ``kl`` (``(p, q) -> float`` on NumPy arrays; default the library's ``dv.kl``) to
    check another implementation.
    """
    kl_fn = kl or _library_kl
    ps = sp.symbols("p1:5", positive=True)
    qs = sp.symbols("q1:5", positive=True)
    rec.check(
        "on 4 points: -sum p log q = -sum p log p + sum p log(p/q)",
        sp.Eq(_H(_P, _Q), _H(_P) + _KL(_P, _Q)),
        "symbolic",
        lambda: decided_zero(_cross_entropy(ps, qs) - _entropy(ps) - _kl(ps, qs)),
    )
    half, quarter = sp.Rational(1, 2), sp.Rational(1, 4)
    p_ex, q_ex = (half, quarter, quarter), (quarter, half, quarter)
    by_hand = (sp.Rational(7, 4), sp.Rational(3, 2), sp.Rational(1, 4))

    def exact() -> Outcome:
        values = (_cross_entropy(p_ex, q_ex), _entropy(p_ex), _kl(p_ex, q_ex))
        ok = all(
            decided_zero(v - c * sp.log(2)) for v, c in zip(values, by_hand, strict=True)
        ) and decided_zero(values[0] - values[1] - values[2])
        shown = ", ".join(str(sp.simplify(sp.expand_log(v, force=True))) for v in values)
        return Outcome(ok, f"H(P,Q), H(P), KL = {shown}")

    rec.check(
        "exactly, P = (1/2, 1/4, 1/4), Q = (1/4, 1/2, 1/4): H(P,Q) = 7/4 log 2 = 3/2 log 2 + "
        "1/4 log 2 = H(P) + KL(P||Q)",
        sp.Eq(
            sp.Rational(7, 4) * sp.log(2),
            sp.Add(sp.Rational(3, 2) * sp.log(2), sp.log(2) / 4, evaluate=False),
            evaluate=False,
        ),
        "symbolic",
        exact,
    )
    pairs = _random_pairs(4, 20, 6)
    pairs.append((np.array([0.5, 0.0, 0.25, 0.25, 0.0, 0.0]), np.full(6, 1 / 6)))

    def direct(p: np.ndarray, q: np.ndarray) -> float:
        mask = p > 0
        with np.errstate(divide="ignore"):  # log 0 = -inf: the cross-entropy is +inf
            return float(-np.sum(p[mask] * np.log(q[mask])))

    rec.check(
        "witness: -sum p log q equals scipy.stats.entropy(p) + scipy.stats.entropy(p, q)",
        sp.Eq(_H(_P, _Q), _H(_P) + _KL(_P, _Q)),
        "numeric: float64, relative tolerance 1e-12; 20 Dirichlet(1) pairs on 6 points (seed 4) "
        "and a p with zeros (0 log 0 = 0)",
        lambda: compare(
            [direct(p, q) for p, q in pairs],
            [scipy.stats.entropy(p) + scipy.stats.entropy(p, q) for p, q in pairs],
            rtol=1e-12,
        ),
    )
    rec.check(
        "witness: the checked KL (default dv.kl, torch float64) plus scipy's entropy is the "
        "cross-entropy",
        sp.Eq(_KL(_P, _Q), _H(_P, _Q) - _H(_P)),
        "numeric: float64, relative tolerance 1e-12, same pairs",
        lambda: compare(
            [kl_fn(p, q) + scipy.stats.entropy(p) for p, q in pairs],
            [direct(p, q) for p, q in pairs],
            rtol=1e-12,
        ),
    )

    def mismatch() -> Outcome:
        p, q = np.array([0.5, 0.5, 0.0]), np.array([1.0, 0.0, 0.0])
        values = tuple(
            float(x)
            for x in (direct(p, q), scipy.stats.entropy(p) + scipy.stats.entropy(p, q), kl_fn(p, q))
        )
        return Outcome(all(v == math.inf for v in values), f"values {values}")

    rec.check(
        "witness: where p > 0 = q both sides are +inf (direct sum, scipy, the checked KL)",
        sp.Eq(_H(_P, _Q), sp.oo),
        "numeric: float64, P = (1/2, 1/2, 0), Q = (1, 0, 0)",
        mismatch,
    )


# --------------------------------------------------------------------------------------------
# Gibbs' inequality and the asymmetry of KL
# --------------------------------------------------------------------------------------------

_DEFAULT_PAIR = ((sp.Rational(1, 2), sp.Rational(1, 2)), (sp.Rational(1, 4), sp.Rational(3, 4)))


def gibbs(
    rec: Recorder,
    *,
    pair: tuple[Sequence[sp.Expr], Sequence[sp.Expr]] | None = None,
    kl: NumericKL | None = None,
) -> None:
    r"""Gibbs' inequality :math:`\mathrm{KL}(P \| Q) \ge 0`, with equality iff :math:`P = Q`, and
    the asymmetry of KL.

    From :math:`\log x \le x - 1` (equality iff :math:`x = 1`):

    .. math::

        -\mathrm{KL}(P \| Q) = \sum_{p > 0} p \log\frac{q}{p}
            \le \sum_{p > 0} p \Big(\frac{q}{p} - 1\Big) = \sum_{p > 0} q - 1 \le 0

    (equivalently Jensen: :math:`\mathbb E_P \log(q/p) \le \log \mathbb E_P[q/p] \le 0`). The
    asymmetry is shown on :math:`P = (1/2, 1/2)`, :math:`Q = (1/4, 3/4)`:
    :math:`\mathrm{KL}(P\|Q) = \tfrac12\log\tfrac43 \ne \tfrac34\log 3 - \log 2
    = \mathrm{KL}(Q\|P)`.
    Cover and Thomas (2006), Theorem 2.6.3.

    Overrides: ``pair`` (exact ``(P, Q)`` for the asymmetry example), ``kl`` (numeric KL on
    NumPy arrays, default ``dv.kl``).
    """
    kl_fn = kl or _library_kl
    g = _x - 1 - sp.log(_x)

    def tangent() -> Outcome:
        at_one = g.subs(_x, 1)
        critical = sp.solve(sp.diff(g, _x), _x)
        curvature = sp.diff(g, _x, 2)
        ok = at_one == 0 and critical == [1] and curvature.is_positive
        return Outcome(bool(ok), f"g(1) = {at_one}, g'(x) = 0 at {critical}, g'' = {curvature} > 0")

    rec.check(
        "log x <= x - 1 for x > 0, equality iff x = 1: g(x) = x - 1 - log x has g(1) = 0, its "
        "only critical point at 1 and g'' = 1/x^2 > 0",
        sp.Le(sp.log(_x), _x - 1),
        "symbolic",
        tangent,
    )
    ps = sp.symbols("p1:4", positive=True)
    qs = sp.symbols("q1:4", nonnegative=True)

    def bound() -> Outcome:
        linear = sum(p * (q / p - 1) for p, q in zip(ps, qs, strict=True))
        total = sp.expand(linear)
        normalised = sp.simplify(total.subs(ps[2], 1 - ps[0] - ps[1]))
        rest = sp.simplify(normalised - (sum(qs) - 1))
        return Outcome(rest == 0, f"sum p (q/p - 1) = {total} = sum_(p>0) q - 1 <= 0")

    rec.check(
        "-KL(P||Q) = sum_(p>0) p log(q/p) <= sum_(p>0) p (q/p - 1) = sum_(p>0) q - 1 <= 0 "
        "(3 points, sum p = 1); equality iff q = p wherever p > 0",
        sp.Ge(_KL(_P, _Q), 0),
        "symbolic",
        bound,
    )
    p_ex, q_ex = pair or _DEFAULT_PAIR
    p_ex, q_ex = tuple(map(sp.nsimplify, p_ex)), tuple(map(sp.nsimplify, q_ex))
    forward, backward = _kl(p_ex, q_ex), _kl(q_ex, p_ex)

    def asymmetric() -> Outcome:
        difference = sp.simplify(sp.logcombine(sp.expand_log(forward - backward, force=True)))
        sign = sp.sign(difference)
        return Outcome(
            sign in (1, -1),
            f"KL(P||Q) = {sp.simplify(forward)}, KL(Q||P) = {sp.simplify(backward)}, "
            f"difference {difference} (sign {sign})",
        )

    rec.check(
        f"KL is not symmetric: P = {p_ex}, Q = {q_ex} give KL(P||Q) != KL(Q||P) exactly",
        sp.Ne(_KL(_P, _Q), _KL(_Q, _P)),
        "symbolic",
        asymmetric,
    )
    p_num = np.array([float(x) for x in p_ex])
    q_num = np.array([float(x) for x in q_ex])

    def exact_values() -> Outcome:
        with mpmath.workdps(50):
            reference = [mpmath.mpf(sp.N(forward, 50)), mpmath.mpf(sp.N(backward, 50))]
        got = [scipy.stats.entropy(p_num, q_num), scipy.stats.entropy(q_num, p_num)]
        return compare(got, [float(x) for x in reference], rtol=1e-14, labels=["P||Q", "Q||P"])

    rec.check(
        "witness: scipy.stats.entropy gives the exact values of KL(P||Q) and KL(Q||P) (50-digit "
        "evaluation of the SymPy results)",
        sp.Eq(tex(r"\mathrm{KL}_{scipy}"), tex(r"\mathrm{KL}_{exact}")),
        "numeric: float64 vs mpmath 50 digits, relative tolerance 1e-14",
        exact_values,
    )
    pairs = _random_pairs(5, 30, 5)

    def nonnegative() -> Outcome:
        values = [scipy.stats.entropy(p, q) for p, q in pairs]
        self_values = [scipy.stats.entropy(p, p) for p, _ in pairs]
        library = compare([kl_fn(p, q) for p, q in pairs], values, rtol=1e-12)
        ok = min(values) > 0 and max(map(abs, self_values)) == 0 and library.passed
        return Outcome(
            ok,
            f"min KL(P||Q) {min(values):.3g}; max |KL(P||P)| {max(map(abs, self_values)):.3g}; "
            f"checked KL vs scipy: {library.detail}",
        )

    rec.check(
        "witness: KL(P||Q) > 0 for random P != Q and KL(P||P) = 0 (scipy.stats.entropy); the "
        "checked KL (default dv.kl) agrees with scipy",
        sp.Ge(_KL(_P, _Q), 0),
        "numeric: float64; 30 Dirichlet(1) pairs on 5 points (seed 5), relative tolerance 1e-12",
        nonnegative,
    )


# --------------------------------------------------------------------------------------------
# Jensen-Shannon: symmetric, in [0, log 2]
# --------------------------------------------------------------------------------------------


def js_bounds(
    rec: Recorder,
    *,
    upper: sp.Expr | None = None,
    divergence: dv.FDivergence | None = None,
) -> None:
    r"""The Jensen-Shannon divergence is symmetric and :math:`0 \le \mathrm{JS} \le \log 2`, the
    upper bound attained exactly on disjoint supports.

    With the generator :math:`f(u) = \tfrac12\big(u \log u - (u + 1)\log\tfrac{u + 1}{2}\big)`:
    symmetry is :math:`f(u) = u f(1/u)`; :math:`f(1) = f'(1) = 0` and
    :math:`f'' = 1/(2u(u+1)) > 0` give :math:`f \ge 0`; and
    :math:`f(u) \le f(0^+) + u \lim_{v\to\infty} f(v)/v = \tfrac12\log 2 + \tfrac{u}{2}\log 2`
    (its difference has derivative :math:`\tfrac12 \log(1 + 1/u) > 0`), so
    :math:`\mathrm{JS} = \sum q f(p/q) \le \tfrac12\log 2 \sum q + \tfrac12 \log 2 \sum p = \log 2`.
    Lin, *Divergence measures based on the Shannon entropy*, IEEE T-IT 37(1), 1991, Theorem 4.

    Overrides: ``upper`` (the claimed bound, default :math:`\log 2`), ``divergence`` (default
    ``dv.get("js")``).
    """
    bound = sp.log(2) if upper is None else as_expression(upper, what="upper bound")
    d = divergence or dv.get("js")
    f = d.generator(_u)
    a, b = sp.symbols("a b", positive=True)

    def symmetric() -> Outcome:
        summand = b * f.subs(_u, a / b)
        swapped = summand.subs({a: b, b: a}, simultaneous=True)
        return Outcome(
            decided_zero(f - _u * f.subs(_u, 1 / _u)) and decided_zero(summand - swapped),
            "f(u) - u f(1/u) = 0, so q f(p/q) = p f(q/p) term by term",
        )

    rec.check(
        "symmetry: f(u) = u f(1/u), hence JS(P, Q) = JS(Q, P)",
        sp.Eq(sp.Function("JS")(_P, _Q), sp.Function("JS")(_Q, _P)),
        "symbolic",
        symmetric,
    )

    def lower() -> Outcome:
        at_one = sp.simplify(f.subs(_u, 1))
        slope = sp.simplify(sp.diff(f, _u).subs(_u, 1))
        curvature = sp.simplify(sp.diff(f, _u, 2))
        return Outcome(
            at_one == 0 and slope == 0 and bool(curvature.is_positive),
            f"f(1) = {at_one}, f'(1) = {slope}, f'' = {curvature}",
        )

    rec.check(
        "lower bound: f(1) = 0, f'(1) = 0, f'' > 0, so f >= 0 and JS = sum q f(p/q) >= 0",
        sp.Ge(sp.Function("JS")(_P, _Q), 0),
        "symbolic",
        lower,
    )
    limits: dict[str, sp.Expr] = {}

    def upper_bound() -> Outcome:
        # the limits are derived once, by the symbolic layer (f'(oo) = lim f(u)/u, f convex)
        f0, slope_at_infinity = d.limits.value_at_zero, d.limits.slope_at_infinity
        limits["f0"], limits["L"] = f0, slope_at_infinity
        gap_slope = sp.simplify(slope_at_infinity - sp.diff(f, _u))
        rising = decided_zero(gap_slope - sp.log(1 + 1 / _u) / 2) and bool(
            (sp.log(1 + 1 / _u) / 2).is_positive
        )
        tight = decided_zero(f0 + slope_at_infinity - bound)
        return Outcome(
            rising and tight,
            f"f(0+) = {f0}, lim f(u)/u = {slope_at_infinity}, sum = "
            f"{sp.simplify(f0 + slope_at_infinity)}, claimed bound {bound}; "
            f"d/du [f(0+) + u lim f/u - f(u)] = {gap_slope}",
        )

    rec.check(
        f"upper bound: f(u) <= f(0+) + u lim f(v)/v (the difference vanishes at 0+ and has "
        f"derivative log(1 + 1/u)/2 > 0), so JS <= f(0+) + lim f(v)/v = {bound}",
        sp.Le(sp.Function("JS")(_P, _Q), bound),
        "symbolic",
        upper_bound,
    )
    p_dis = (sp.Rational(1, 2), sp.Rational(1, 2), 0, 0)
    q_dis = (0, 0, sp.Rational(1, 3), sp.Rational(2, 3))

    def attained() -> Outcome:
        mixture = tuple((p + q) / 2 for p, q in zip(p_dis, q_dis, strict=True))
        value = sp.simplify((_kl(p_dis, mixture) + _kl(q_dis, mixture)) / 2)
        return Outcome(decided_zero(value - bound), f"JS = {value}")

    rec.check(
        f"the bound is attained on disjoint supports: P = (1/2, 1/2, 0, 0), Q = (0, 0, 1/3, 2/3) "
        f"give JS = {bound} exactly",
        sp.Eq(sp.Function("JS")(_P, _Q), bound),
        "symbolic",
        attained,
    )
    p_num = np.array([0.5, 0.5, 0.0, 0.0])
    q_num = np.array([0.0, 0.0, 1 / 3, 2 / 3])
    bound_value = float(bound)

    def disjoint() -> Outcome:
        scipy_value = scipy.spatial.distance.jensenshannon(p_num, q_num) ** 2
        library_value = float(d.divergence(torch.from_numpy(p_num), torch.from_numpy(q_num)))
        return compare(
            [scipy_value, library_value],
            [float(mpmath.log(2))] * 2,
            rtol=1e-14,
            labels=["scipy jensenshannon**2", "library js"],
        )

    rec.check(
        "witness: on the disjoint pair, scipy's jensenshannon(p, q)**2 and the library's js both "
        "equal log 2 (mpmath)",
        sp.Eq(sp.Function("JS")(_P, _Q), sp.log(2)),
        "numeric: float64, relative tolerance 1e-14",
        disjoint,
    )
    pairs = _random_pairs(6, 30, 8)
    pairs += [(p_num, q_num), (p_num, p_num)]

    def sampled() -> Outcome:
        tp = [(torch.from_numpy(p), torch.from_numpy(q)) for p, q in pairs]
        forward = np.array([float(d.divergence(p, q)) for p, q in tp])
        backward = np.array([float(d.divergence(q, p)) for p, q in tp])
        reference = np.array([scipy.spatial.distance.jensenshannon(p, q) ** 2 for p, q in pairs])
        inside = bool(np.all(reference >= 0) and np.all(reference <= bound_value * (1 + 1e-15)))
        inside = inside and bool(np.all(forward >= 0) and np.all(forward <= bound_value + 1e-15))
        sym = compare(forward, backward, rtol=0, atol=1e-14)
        agree = compare(forward, reference, rtol=0, atol=1e-14)
        return Outcome(
            inside and sym.passed and agree.passed,
            f"range [{reference.min():.3g}, {reference.max():.6g}] within [0, {bound_value:.6g}]; "
            f"js(p, q) vs js(q, p): {sym.detail}; library vs scipy: {agree.detail}",
        )

    rec.check(
        "witness: on random pairs JS lies in [0, bound], js(p, q) = js(q, p), and the library "
        "agrees with scipy",
        sp.And(sp.Le(0, sp.Function("JS")(_P, _Q)), sp.Le(sp.Function("JS")(_P, _Q), bound)),
        "numeric: float64, absolute tolerance 1e-14 (sums of 8 terms of size <= log 2); 30 "
        "Dirichlet(1) pairs on 8 points (seed 6), the disjoint pair and P = Q",
        sampled,
    )
