r"""Why Wasserstein GANs: JS is blind to disjoint supports, W1 is not; and the
Kantorovich-Rubinstein duality that lets a 1-Lipschitz critic estimate W1.

References: Arjovsky, Chintala and Bottou, *Wasserstein Generative Adversarial Networks*, ICML
2017, Example 1 and Eq. (3); Villani, *Optimal Transport: Old and New* (2009), Remark 6.5 and
Theorem 5.10; Vallender, *Calculation of the Wasserstein distance between probability
distributions on the line*, Theory Probab. Appl. 18 (1974) (W1 = integral of |F - G|).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import ot
import scipy.optimize
import scipy.spatial.distance
import scipy.stats
import sympy as sp
import torch

import divergences as dv

from ._core import Outcome, Recorder, compare, decided_zero, tex

__all__ = ["disjoint_supports", "kantorovich_rubinstein"]

_theta = sp.Symbol("theta", real=True)
_theta_nz = sp.Symbol("theta", real=True, nonzero=True)
_h = sp.Symbol("h", positive=True)
_y = sp.Symbol("y", real=True)
_JS, _W1 = sp.Function("JS"), sp.Function("W_1")
_P, _Q = tex("P"), tex(r"Q_\theta")

_THETAS = (-1.0, -0.5, -0.2, 0.2, 0.5, 1.0)

ClaimJS = Callable[[sp.Expr], sp.Expr]


def _js_claim(theta: sp.Expr) -> sp.Expr:
    return sp.Piecewise((0, sp.Eq(theta, 0)), (sp.log(2), True))


def _w1_claim(theta: sp.Expr) -> sp.Expr:
    return sp.Abs(theta)


def disjoint_supports(
    rec: Recorder,
    *,
    js: ClaimJS | None = None,
    w1: Callable[[sp.Expr], sp.Expr] | None = None,
) -> None:
    r"""Example 1 of Arjovsky et al. (2017): parallel lines.

    :math:`P` is uniform on :math:`\{0\} \times [0, 1]`, :math:`Q_\theta` uniform on
    :math:`\{\theta\} \times [0, 1]`. Then

    .. math::

        \mathrm{JS}(P, Q_\theta) = \begin{cases} \log 2 & \theta \ne 0 \\ 0 & \theta = 0
        \end{cases}, \qquad
        \mathrm{KL}(P \| Q_\theta) = +\infty \ (\theta \ne 0), \qquad
        W_1(P, Q_\theta) = |\theta| .

    JS is constant (zero gradient) and discontinuous at 0; W1 is continuous with
    :math:`|dW_1/d\theta| = 1`. For :math:`\theta \ne 0`, :math:`M = (P + Q_\theta)/2` has
    :math:`dP/dM = 2` on the support of :math:`P`, so :math:`\mathrm{KL}(P \| M) = \log 2`, and the
    same for :math:`Q_\theta`. :math:`W_1 \le |\theta|` by the coupling
    :math:`(0, y) \mapsto (\theta, y)`, and :math:`W_1 \ge |\theta|` with the 1-Lipschitz critic
    :math:`f(x) = \operatorname{sign}(\theta)\, x_1`.

    Overrides: ``js`` and ``w1`` (the claimed values as functions of :math:`\theta`).
    """
    js_of = js or _js_claim
    w1_of = w1 or _w1_claim

    def js_disjoint() -> Outcome:
        # on supp P: dP/dM = 2; P has density 1 in y on [0, 1]
        kl_p = sp.integrate(sp.log(2), (_y, 0, 1))
        kl_q = sp.integrate(sp.log(2), (_y, 0, 1))
        value = (kl_p + kl_q) / 2
        claimed = sp.simplify(js_of(_theta_nz))
        return Outcome(
            decided_zero(value - claimed), f"(KL(P||M) + KL(Q||M))/2 = {value}; claimed {claimed}"
        )

    rec.check(
        "theta != 0: dP/dM = 2 on supp P (and dQ/dM = 2 on supp Q), so JS = (log 2 + log 2)/2 = "
        "log 2",
        sp.Eq(_JS(_P, _Q), sp.log(2)),
        "symbolic",
        js_disjoint,
    )
    rec.check(
        "theta = 0: P = Q_0, dP/dM = 1, JS = 0",
        sp.Eq(_JS(_P, tex("Q_0")), 0),
        "symbolic",
        lambda: Outcome(
            decided_zero(sp.integrate(sp.log(1), (_y, 0, 1)) - js_of(sp.Integer(0))),
            f"claimed JS(P, Q_0) = {js_of(sp.Integer(0))}",
        ),
    )

    def js_jump() -> Outcome:
        near = sp.limit(js_of(_h), _h, 0, "+")
        slope = sp.diff(sp.simplify(js_of(_theta_nz)), _theta_nz)
        at_zero = js_of(sp.Integer(0))
        ok = near == sp.log(2) and at_zero == 0 and slope == 0
        return Outcome(
            ok, f"lim_(theta->0+) JS = {near} != JS(0) = {at_zero}; dJS/dtheta = {slope}"
        )

    rec.check(
        "JS is discontinuous at theta = 0 and its gradient is 0 for every theta != 0",
        sp.Eq(sp.Derivative(_JS(_P, _Q), _theta), 0),
        "symbolic",
        js_jump,
    )

    def w1_value() -> Outcome:
        primal = sp.integrate(sp.sqrt((_theta - 0) ** 2 + (_y - _y) ** 2), (_y, 0, 1))
        x1, x2 = sp.symbols("x1 x2", real=True)
        critic = sp.sign(_theta_nz) * x1
        gradient_norm = sp.sqrt(sp.diff(critic, x1) ** 2 + sp.diff(critic, x2) ** 2)
        # E_Q f - E_P f: Q_theta has x1 = theta, P has x1 = 0, both uniform in y on [0, 1]
        dual = sp.integrate(critic.subs(x1, _theta_nz) - critic.subs(x1, 0), (_y, 0, 1))
        claimed = w1_of(_theta)

        def equal(expr: sp.Expr, var: sp.Symbol) -> bool:
            # theta = h and theta = -h, h > 0, decide the signs inside Abs, sign and Piecewise
            return all(decided_zero(expr.subs(var, x)) for x in (_h, -_h))

        ok = (
            equal(primal - sp.Abs(_theta), _theta)
            and sp.simplify(gradient_norm) == 1
            and equal(dual - sp.Abs(_theta_nz), _theta_nz)
            and equal(claimed - sp.Abs(_theta), _theta)
            and decided_zero(claimed.subs(_theta, 0))
        )
        return Outcome(
            ok,
            f"coupling cost {sp.simplify(primal)}; critic sign(theta) x1 with |grad| = "
            f"{sp.simplify(gradient_norm)} gives {sp.simplify(dual)}; claimed {claimed}",
        )

    rec.check(
        "W1 <= |theta| (coupling (0, y) -> (theta, y), cost integral_0^1 |theta| dy) and W1 >= "
        "|theta| (1-Lipschitz critic sign(theta) x1): W1(P, Q_theta) = |theta|",
        sp.Eq(_W1(_P, _Q), sp.Abs(_theta)),
        "symbolic",
        w1_value,
    )

    def w1_continuous() -> Outcome:
        claimed = w1_of(_theta)
        at_zero = sp.limit(claimed, _theta, 0)
        slope = sp.simplify(sp.Abs(sp.diff(w1_of(_theta_nz), _theta_nz)))
        return Outcome(
            at_zero == 0 and claimed.subs(_theta, 0) == 0 and slope == 1,
            f"lim_(theta->0) W1 = {at_zero} = W1(0); |dW1/dtheta| = {slope} for theta != 0",
        )

    rec.check(
        "W1 is continuous at 0 and |dW1/dtheta| = 1 for theta != 0: a useful gradient everywhere",
        sp.Eq(sp.Abs(sp.Derivative(_W1(_P, _Q), _theta)), 1),
        "symbolic",
        w1_continuous,
    )

    n = 400
    rng = np.random.default_rng(17)
    y_p, y_q = rng.uniform(size=n), rng.uniform(size=n)
    samples_p = np.stack([np.zeros(n), y_p], axis=1)

    def emd() -> Outcome:
        weights = np.full(n, 1.0 / n)
        y_gap = math.sqrt(float(np.mean((np.sort(y_p) - np.sort(y_q)) ** 2)))
        lines, ok = [], True
        for theta in _THETAS:
            samples_q = np.stack([np.full(n, theta), y_q], axis=1)
            cost = ot.emd2(weights, weights, ot.dist(samples_p, samples_q, metric="euclidean"))
            same_y = ot.emd2(
                weights,
                weights,
                ot.dist(samples_p, samples_p + np.array([theta, 0.0]), metric="euclidean"),
            )
            claimed = float(w1_of(sp.Float(theta)))
            upper = math.sqrt(theta**2 + y_gap**2)
            inside = abs(theta) - 1e-12 <= cost <= upper + 1e-12
            tight = abs(same_y - claimed) <= 1e-12 * max(1, abs(claimed))
            claim_inside = abs(theta) - 1e-12 <= claimed <= upper + 1e-12
            ok = ok and inside and tight and claim_inside
            lines.append(f"theta={theta:g}: emd2 {cost:.6f} in [{abs(theta):g}, {upper:.6f}]")
        return Outcome(ok, "; ".join(lines) + f" (W2 of the y samples {y_gap:.4f})")

    rec.check(
        "witness: POT's exact ot.emd2 on 400 samples per line lies between |theta| and "
        "sqrt(theta^2 + W2(y_P, y_Q)^2), equals the claimed W1 when both lines share their "
        "y samples, and the claimed W1 lies in the same bracket",
        sp.Eq(_W1(_P, _Q), sp.Abs(_theta)),
        "numeric: float64 network simplex, 400 uniform samples per line (seed 17), tolerance "
        "1e-12; theta in " + ", ".join(f"{x:g}" for x in _THETAS),
        emd,
    )

    def first_coordinate() -> Outcome:
        got, want = [], []
        for theta in _THETAS:
            x_p = torch.zeros(n, dtype=torch.float64)
            x_q = torch.full((n,), theta, dtype=torch.float64)
            got.append(float(dv.wasserstein_1d(x_p, x_q)))
            want.append(float(w1_of(sp.Float(theta))))
        return compare(got, want, rtol=1e-12, labels=_THETAS)

    rec.check(
        "witness: dv.wasserstein_1d on the first coordinates (the transport is horizontal) gives "
        "the claimed W1",
        sp.Eq(_W1(_P, _Q), sp.Abs(_theta)),
        "numeric: torch float64, relative tolerance 1e-12",
        first_coordinate,
    )

    def discretised() -> Outcome:
        edges_x = np.arange(-1.525, 1.53, 0.05)  # cells of width 0.05 centred on multiples of it
        edges_y = np.linspace(0.0, 1.0, 11)
        p_hist = np.histogram2d(samples_p[:, 0], samples_p[:, 1], bins=(edges_x, edges_y))[0]
        p_hat = (p_hist / p_hist.sum()).ravel()
        thetas = (0.0, *_THETAS)
        got, want, infinite = [], [], True
        for theta in thetas:
            y = y_p if theta == 0 else y_q  # theta = 0: Q_0 = P, the same sample
            q_hist = np.histogram2d(np.full(n, theta), y, bins=(edges_x, edges_y))[0]
            q_hat = (q_hist / q_hist.sum()).ravel()
            scipy_js = scipy.spatial.distance.jensenshannon(p_hat, q_hat) ** 2
            library_js = float(dv.js(torch.from_numpy(p_hat), torch.from_numpy(q_hat)))
            got += [scipy_js, library_js]
            want += [float(js_of(sp.Float(theta)))] * 2
            if theta != 0:
                infinite = infinite and scipy.stats.entropy(p_hat, q_hat) == math.inf
        result = compare(got, want, rtol=0, atol=1e-14)
        return Outcome(
            result.passed and infinite,
            result.detail + f"; KL(P||Q_theta) = inf for theta != 0: {infinite}",
        )

    rec.check(
        "witness: on histograms over cells of width 0.05 x 0.1 the supports are disjoint for "
        "theta != 0: scipy jensenshannon**2 and dv.js give the claimed JS, and KL is +inf",
        sp.Eq(_JS(_P, _Q), sp.log(2)),
        "numeric: float64, absolute tolerance 1e-14; theta in 0, "
        + ", ".join(f"{x:g}" for x in _THETAS),
        discretised,
    )


# --------------------------------------------------------------------------------------------
# Kantorovich-Rubinstein duality in 1-D
# --------------------------------------------------------------------------------------------

#: exact example: support points and rational weights
_EX_P = {0: sp.Rational(1, 2), 1: sp.Rational(1, 4), 3: sp.Rational(1, 4)}
_EX_Q = {sp.Rational(1, 2): sp.Rational(1, 3), 2: sp.Rational(1, 3), 4: sp.Rational(1, 3)}


def _cdf(weights: dict[sp.Expr, sp.Expr], x: sp.Expr) -> sp.Expr:
    return sum(w for point, w in weights.items() if point <= x)


def _monotone_coupling_cost(a: dict, b: dict) -> sp.Expr:
    """The north-west-corner (quantile) coupling on sorted supports, optimal in 1-D."""
    xs, ys = sorted(a.items()), sorted(b.items())
    i = j = 0
    left_a, left_b = xs[0][1], ys[0][1]
    cost = sp.Integer(0)
    while i < len(xs) and j < len(ys):
        moved = sp.Min(left_a, left_b)
        cost += moved * abs(xs[i][0] - ys[j][0])
        left_a, left_b = left_a - moved, left_b - moved
        if left_a == 0:
            i += 1
            left_a = xs[i][1] if i < len(xs) else 0
        if left_b == 0:
            j += 1
            left_b = ys[j][1] if j < len(ys) else 0
    return cost


def kantorovich_rubinstein(rec: Recorder, *, lipschitz: float = 1) -> None:
    r"""Kantorovich-Rubinstein duality on the line:

    .. math::

        \sup_{\|f\|_{L} \le 1} \mathbb E_P[f] - \mathbb E_Q[f] = W_1(P, Q)
            = \int_{\mathbb R} |F(x) - G(x)| \, dx .

    For :math:`P, Q` on :math:`x_1 < \dots < x_n` with CDFs :math:`F_i, G_i` (summation by parts,
    :math:`F_n = G_n = 1`):

    .. math::

        \mathbb E_P[f] - \mathbb E_Q[f]
            = \sum_{i < n} (f(x_{i+1}) - f(x_i)) (G_i - F_i)
            \le \sum_{i < n} (x_{i+1} - x_i) |G_i - F_i| = \int |F - G|,

    with equality for :math:`f' = \operatorname{sign}(G - F)`, which is 1-Lipschitz.
    The witness solves the dual as a linear program over critic values on the support points
    (``scipy.optimize.linprog``, constraints :math:`f_i - f_j \le |x_i - x_j|`) and compares it
    with ``scipy.stats.wasserstein_distance`` and with the primal transport problem (``ot.emd2``).

    Override ``lipschitz`` (the critics' Lipschitz bound, default 1) to see the duality fail
    for any other constant.
    """
    L = sp.nsimplify(lipschitz)
    n = 4
    fs = sp.symbols(f"f1:{n + 1}", real=True)
    ps = sp.symbols(f"p1:{n + 1}", nonnegative=True)
    qs = sp.symbols(f"q1:{n + 1}", nonnegative=True)
    F = [sum(ps[: i + 1]) for i in range(n)]
    G = [sum(qs[: i + 1]) for i in range(n)]

    def by_parts() -> Outcome:
        lhs = sum(f * (p - q) for f, p, q in zip(fs, ps, qs, strict=True))
        rhs = sum((fs[i + 1] - fs[i]) * (G[i] - F[i]) for i in range(n - 1))
        residual = sp.expand(lhs - rhs).subs({ps[-1]: 1 - sum(ps[:-1]), qs[-1]: 1 - sum(qs[:-1])})
        return Outcome(sp.expand(residual) == 0, f"residual {sp.expand(residual)}")

    rec.check(
        "summation by parts on 4 points (sum p = sum q = 1): E_P f - E_Q f = sum_(i<n) "
        "(f_(i+1) - f_i)(G_i - F_i)",
        sp.Eq(
            tex(r"\mathbb{E}_P f - \mathbb{E}_Q f"),
            sp.Sum(
                (sp.Indexed("f", sp.Symbol("i") + 1) - sp.Indexed("f", sp.Symbol("i")))
                * (sp.Indexed("G", sp.Symbol("i")) - sp.Indexed("F", sp.Symbol("i"))),
                (sp.Symbol("i"), 1, sp.Symbol("n") - 1),
            ),
        ),
        "symbolic",
        by_parts,
    )
    points = sorted(set(_EX_P) | set(_EX_Q))
    x = sp.Symbol("x", real=True)

    def exact_example() -> Outcome:
        gaps = [(points[i], points[i + 1]) for i in range(len(points) - 1)]
        integral = sum(
            sp.integrate(abs(_cdf(_EX_P, lo) - _cdf(_EX_Q, lo)), (x, lo, hi)) for lo, hi in gaps
        )
        # the critic with slope L sign(G - F) on each gap, f(x_1) = 0
        values = [sp.Integer(0)]
        for lo, hi in gaps:
            values.append(values[-1] + L * sp.sign(_cdf(_EX_Q, lo) - _cdf(_EX_P, lo)) * (hi - lo))
        critic = dict(zip(points, values, strict=True))
        dual = sum(w * critic[pt] for pt, w in _EX_P.items()) - sum(
            w * critic[pt] for pt, w in _EX_Q.items()
        )
        primal = _monotone_coupling_cost(_EX_P, _EX_Q)
        ok = integral == primal and dual == integral
        return Outcome(
            ok,
            f"integral |F - G| = {integral}, primal (monotone coupling) = {primal}, dual at the "
            f"{L}-Lipschitz critic f' = {L} sign(G - F): {dual}",
        )

    rec.check(
        f"exactly, P = {{0: 1/2, 1: 1/4, 3: 1/4}}, Q = {{1/2, 2, 4: 1/3 each}}: the "
        f"{L}-Lipschitz critic with slope {L} sign(G - F) attains integral |F - G| = the "
        "primal transport cost",
        sp.Eq(
            tex(rf"\sup_{{\|f\|_L \le {sp.latex(L)}}} \mathbb{{E}}_P f - \mathbb{{E}}_Q f"),
            sp.Integral(sp.Abs(tex("F(x) - G(x)")), x),
        ),
        "symbolic",
        exact_example,
    )

    rng = np.random.default_rng(1781)
    problems = []
    for size_p, size_q in ((6, 6), (5, 9), (10, 3), (8, 8), (1, 7)):
        x_p, x_q = rng.normal(0, 2, size=size_p), rng.normal(0.5, 1, size=size_q)
        w_p, w_q = rng.dirichlet(np.ones(size_p)), rng.dirichlet(np.ones(size_q))
        problems.append((x_p, w_p, x_q, w_q))

    def solve_dual(x_p, w_p, x_q, w_q) -> tuple[float, float]:
        support = np.concatenate([x_p, x_q])
        mass = np.concatenate([w_p, -w_q])
        k = support.size
        rows, bounds = [], []
        for i in range(k):
            for j in range(k):
                if i != j:
                    row = np.zeros(k)
                    row[i], row[j] = 1.0, -1.0
                    rows.append(row)
                    bounds.append(lipschitz * abs(support[i] - support[j]))
        res = scipy.optimize.linprog(
            -mass,
            A_ub=np.array(rows),
            b_ub=np.array(bounds),
            bounds=[(0, 0)] + [(None, None)] * (k - 1),
            method="highs",
        )
        if res.status != 0:
            raise RuntimeError(f"linprog: {res.message}")
        critic = res.x
        gaps = np.abs(support[:, None] - support[None, :])
        steps = np.abs(critic[:, None] - critic[None, :])
        violation = float(np.max(steps - lipschitz * gaps))
        return float(mass @ critic), violation

    def dual_lp() -> Outcome:
        dual, scipy_w, primal, worst_violation = [], [], [], 0.0
        for x_p, w_p, x_q, w_q in problems:
            value, violation = solve_dual(x_p, w_p, x_q, w_q)
            worst_violation = max(worst_violation, violation)
            dual.append(value)
            scipy_w.append(scipy.stats.wasserstein_distance(x_p, x_q, w_p, w_q))
            primal.append(ot.emd2(w_p, w_q, np.abs(x_p[:, None] - x_q[None, :])))
        vs_scipy = compare(dual, scipy_w, rtol=1e-9, atol=1e-12)
        vs_primal = compare(dual, primal, rtol=1e-9, atol=1e-12)
        return Outcome(
            vs_scipy.passed and vs_primal.passed and worst_violation <= 1e-9,
            f"dual LP vs scipy.stats.wasserstein_distance: {vs_scipy.detail}; vs primal ot.emd2: "
            f"{vs_primal.detail}; largest Lipschitz violation of the LP critic "
            f"{worst_violation:.3g}",
        )

    rec.check(
        f"witness: the dual LP over {lipschitz:g}-Lipschitz critic values on the support "
        "(scipy.optimize.linprog, HiGHS) equals scipy.stats.wasserstein_distance and the primal "
        "transport cost (ot.emd2)",
        sp.Eq(tex(r"\max_{\text{LP}}"), _W1(tex("P"), tex("Q"))),
        "numeric: float64, relative tolerance 1e-9 (HiGHS optimality tolerance 1e-7 on O(1) "
        "data; observed errors are at rounding level); 5 random weighted pairs (seed 1781), "
        "sizes (6,6), (5,9), (10,3), (8,8), (1,7)",
        dual_lp,
    )

    def library() -> Outcome:
        got, want = [], []
        for x_p, w_p, x_q, w_q in problems:
            got.append(
                float(
                    dv.wasserstein_1d(
                        torch.from_numpy(x_p),
                        torch.from_numpy(x_q),
                        x_weights=torch.from_numpy(w_p),
                        y_weights=torch.from_numpy(w_q),
                    )
                )
            )
            want.append(scipy.stats.wasserstein_distance(x_p, x_q, w_p, w_q))
        return compare(got, want, rtol=1e-12, atol=1e-15)

    rec.check(
        "witness: dv.wasserstein_1d (quantile formula, torch float64) agrees with "
        "scipy.stats.wasserstein_distance (CDF formula)",
        sp.Eq(tex(r"W_1^{\text{library}}"), _W1(tex("P"), tex("Q"))),
        "numeric: float64, relative tolerance 1e-12, same 5 pairs",
        library,
    )

    def random_critics() -> Outcome:
        rng_critics = np.random.default_rng(5)
        worst = -np.inf
        for x_p, w_p, x_q, w_q in problems:
            w1 = scipy.stats.wasserstein_distance(x_p, x_q, w_p, w_q)
            support = np.concatenate([x_p, x_q])
            order = np.argsort(support)
            for _ in range(200):
                slopes = rng_critics.uniform(-1, 1, size=support.size - 1)
                values = np.concatenate([[0.0], np.cumsum(slopes * np.diff(support[order]))])
                critic = np.empty_like(values)
                critic[order] = values
                gap = float(w_p @ critic[: x_p.size] - w_q @ critic[x_p.size :]) - w1
                worst = max(worst, gap)
        return Outcome(
            bool(worst <= 1e-12),
            f"largest E_P f - E_Q f - W1 over 200 random 1-Lipschitz critics per pair: {worst:.3g}",
        )

    rec.check(
        "witness: random 1-Lipschitz (piecewise-linear, slopes in [-1, 1]) critics never exceed W1",
        sp.Le(tex(r"\mathbb{E}_P f - \mathbb{E}_Q f"), _W1(tex("P"), tex("Q"))),
        "numeric: float64, tolerance 1e-12, 200 critics per pair (seed 5)",
        random_critics,
    )
