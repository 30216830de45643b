r"""The f-GAN variational lower bound and its tightness at the optimal critic.

For a convex generator :math:`f` with conjugate :math:`f^*(t) = \sup_{u > 0}(t u - f(u))`,
the Fenchel-Young inequality :math:`f(u) \ge t u - f^*(t)` at :math:`u = p(x)/q(x)`, multiplied by
:math:`q(x)` and summed, gives for every critic :math:`T`

.. math::

    D_f(P \| Q) = \sum_x q f\Big(\frac pq\Big) \ge \sum_x p\,T(x) - q\,f^*(T(x))
                = \mathbb E_P[T] - \mathbb E_Q[f^*(T)],

with equality when :math:`T(x) = f'(p(x)/q(x))`, because
:math:`f(u) + f^*(f'(u)) = u f'(u)`. Nowozin, Cseke and Tomioka, *f-GAN: Training Generative
Neural Samplers using Variational Divergence Minimization*, NeurIPS 2016, Eq. (4)-(5); Nguyen,
Wainwright and Jordan, *Estimating divergence functionals and the likelihood ratio by convex risk
minimization*, IEEE T-IT 56(11), 2010.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mpmath
import numpy as np
import sympy as sp
import torch

import divergences as dv

from ._core import Outcome, Recorder, decided_zero, tex

__all__ = ["fgan_bound"]

DIGITS = 50
#: a numeric identity or inequality at 50 digits is accepted within this relative slack
TOLERANCE = mpmath.mpf(10) ** -40
_s = sp.Symbol("s", positive=True)
_w = sp.Symbol("w", positive=True)
_t = sp.Symbol("t", real=True)
_U_GRID = tuple(mpmath.mpf(10) ** (mpmath.mpf(k) / 4) for k in range(-12, 13, 2))
_U_TEXT = "u = 10**(k/4), k = -12, -10, ..., 12"

#: the discrete witness: full-support P, Q (so every optimal critic value is finite)
_P = (0.1, 0.2, 0.3, 0.25, 0.15)
_Q = (0.3, 0.1, 0.2, 0.15, 0.25)

Critic = Callable[[dv.FDivergence], sp.Lambda]
Conjugate = Callable[[dv.FDivergence], sp.Lambda]


def _registered() -> tuple[dv.FDivergence, ...]:
    return tuple(dv.get(name) for name in dv.names())


def _mp(expr: sp.Expr, var: sp.Symbol) -> Callable[[mpmath.mpf], mpmath.mpf]:
    fn = sp.lambdify(var, expr, modules="mpmath")
    return lambda x: mpmath.mpmathify(fn(x))


def _t_grid(domain: sp.Interval) -> list[mpmath.mpf]:
    """Points of ``dom f*``: +-10**(k/4) and 0 on R, ``b - 10**(k/4)`` (and ``b`` if closed)."""
    offsets = [mpmath.mpf(10) ** (mpmath.mpf(k) / 4) for k in range(-12, 9)]
    if domain.end is sp.oo:
        return [mpmath.mpf(0), *offsets, *(-x for x in offsets)]
    end = mpmath.mpf(sp.N(domain.end, DIGITS + 10))
    points = [end - x for x in offsets]
    if not domain.right_open:
        points.append(end)
    return points


def fgan_bound(
    rec: Recorder,
    *,
    divergences: Sequence[dv.FDivergence] | None = None,
    critic: Critic | None = None,
    conjugate: Conjugate | None = None,
) -> None:
    r"""The f-GAN bound :math:`D_f(P \| Q) \ge \sup_T \mathbb E_P[T] - \mathbb E_Q[f^*(T)]`,
    attained at :math:`T^* = f'(p/q)`, for every registered divergence.

    Per divergence, with :math:`f^*` = ``d.conjugate`` (derived by the library) and
    :math:`T^*` = ``d.optimal_critic``:

    1. tightness :math:`f(u) + f^*(T^*(u)) = u\,T^*(u)`, shown by SymPy on :math:`u = 1`,
       :math:`u = 1 + s` and :math:`u = 1/(1 + s)` (:math:`s > 0`), which also resolves the kink of
       total variation; where SymPy cannot decide, at 50 digits on a grid;
    2. the Fenchel-Young inequality :math:`f(u) + f^*(t) - t u \ge 0` at 50 digits on a grid of
       :math:`u > 0` and of :math:`t` across the whole domain of :math:`f^*` (including its end);
       for :math:`t = f'(w)` the left side is the Bregman divergence
       :math:`f(u) - f(w) - f'(w)(u - w) \ge 0` of the convex :math:`f`;
    3. witness on discrete :math:`P, Q`: the bound at :math:`T^*` (mpmath, 50 digits) equals
       ``d.divergence(p, q)`` (torch float64);
    4. witness: random critics :math:`T = g_f(v)` and perturbations of :math:`T^*` give less.

    Overrides: ``divergences`` (default every registered name with its default parameters),
    ``critic`` (``d -> Lambda(r, T(r))``, default ``d.optimal_critic``), ``conjugate``
    (``d -> Lambda(t, f*(t))``, default ``d.conjugate``).
    """
    chosen = _registered() if divergences is None else tuple(divergences)
    for d in chosen:
        critic_of = (critic or (lambda e: e.optimal_critic))(d)
        conj = (conjugate or (lambda e: e.conjugate))(d)
        _one(rec, d, critic_of, conj)


def _one(rec: Recorder, d: dv.FDivergence, critic: sp.Lambda, conj: sp.Lambda) -> None:
    name = d.name
    f = d.generator
    f_mp, fstar_mp, critic_mp = _mp(f(_w), _w), _mp(conj(_t), _t), _mp(critic(_w), _w)
    fy = sp.Function("f")
    relation = sp.Eq(
        fy(_w) + sp.Function("f^*")(sp.Function("T^*")(_w)),
        _w * sp.Function("T^*")(_w),
        evaluate=False,
    )

    def tight() -> Outcome:
        undecided = []
        for point in (sp.Integer(1), 1 + _s, 1 / (1 + _s)):
            residual = sp.piecewise_fold(f(point) + conj(critic(point)) - point * critic(point))
            if not decided_zero(residual):
                undecided.append(point)
        if not undecided:
            return Outcome(True, "zero at u = 1, u = 1 + s and u = 1/(1 + s), s > 0")
        worst = mpmath.mpf(0)
        with mpmath.workdps(DIGITS):
            for u in _U_GRID:
                value = f_mp(u) + fstar_mp(critic_mp(u)) - u * critic_mp(u)
                scale = max(1, abs(u * critic_mp(u)))
                rel = abs(value) / scale if mpmath.isfinite(value) else mpmath.inf
                worst = max(worst, rel)
        return Outcome(
            bool(worst <= TOLERANCE),
            f"SymPy could not decide at u = {undecided}; largest relative residual "
            f"{mpmath.nstr(worst, 3)}",
            f"numeric: {DIGITS} digits, {_U_TEXT}",
        )

    rec.check(
        f"{name}: tightness f(u) + f*(T*(u)) = u T*(u) for u > 0, T*(u) = f'(u)",
        relation,
        "symbolic",
        tight,
    )

    def inequality() -> Outcome:
        grid = _t_grid(d.conjugate_domain)
        worst, at = mpmath.inf, None
        with mpmath.workdps(DIGITS):
            for u in _U_GRID:
                fu = f_mp(u)
                for t in grid:
                    gap = fu + fstar_mp(t) - u * t
                    scale = max(1, abs(u * t), abs(fu))
                    rel = gap / scale if mpmath.isfinite(gap) else -mpmath.inf
                    if rel < worst:
                        worst, at = rel, (u, t)
        where = f" at (u, t) = ({mpmath.nstr(at[0], 4)}, {mpmath.nstr(at[1], 6)})" if at else ""
        return Outcome(
            bool(worst >= -TOLERANCE),
            f"smallest (f(u) + f*(t) - u t) / max(1, |u t|, |f(u)|) = {mpmath.nstr(worst, 3)}"
            + where,
        )

    rec.check(
        f"{name}: Fenchel-Young inequality f(u) >= t u - f*(t) for u > 0 and t in dom f* = "
        f"{d.conjugate_domain}",
        sp.Ge(sp.Function("f")(_w), _t * _w - sp.Function("f^*")(_t)),
        f"numeric: {DIGITS} digits, {_U_TEXT} x t in dom f* (0, +-10**(k/4) or b - 10**(k/4), "
        "k = -12..8, and b when closed)",
        inequality,
    )
    p_np, q_np = np.array(_P), np.array(_Q)
    with mpmath.workdps(DIGITS):
        p_mp = [mpmath.mpf(x) for x in _P]
        q_mp = [mpmath.mpf(x) for x in _Q]

    def bound_mp(ts: Sequence[mpmath.mpf]) -> mpmath.mpf:
        return mpmath.fsum(p * t - q * fstar_mp(t) for p, q, t in zip(p_mp, q_mp, ts, strict=True))

    library = float(d.divergence(torch.from_numpy(p_np), torch.from_numpy(q_np)))

    def at_optimum() -> Outcome:
        with mpmath.workdps(DIGITS):
            ts = [critic_mp(p / q) for p, q in zip(p_mp, q_mp, strict=True)]
            value = bound_mp(ts)
        ok = mpmath.isfinite(value) and abs(float(value) - library) <= 1e-12 * max(1, abs(library))
        return Outcome(
            bool(ok),
            f"E_P[T*] - E_Q[f*(T*)] = {mpmath.nstr(value, 17)}, d.divergence(p, q) = {library!r}",
        )

    rec.check(
        f"{name}: witness: the bound at T* = f'(p/q) equals the library's D_f(P||Q)",
        sp.Eq(tex(r"\mathbb{E}_P[T^*] - \mathbb{E}_Q[f^*(T^*)]"), tex(r"D_f(P \| Q)")),
        f"numeric: bound at {DIGITS} digits (mpmath) vs d.divergence in torch float64, relative "
        f"tolerance 1e-12; P = {_P}, Q = {_Q}",
        at_optimum,
    )
    activation = _mp(d.activation(sp.Symbol("v", real=True)), sp.Symbol("v", real=True))

    def random_critics() -> Outcome:
        rng = np.random.default_rng(7)
        best, at = -mpmath.inf, ""
        with mpmath.workdps(30):
            optimum = [critic_mp(p / q) for p, q in zip(p_mp, q_mp, strict=True)]
            trials: list[tuple[str, list[mpmath.mpf]]] = [
                (f"random v #{k}", [activation(x) for x in rng.normal(0.0, 2.0, size=len(_P))])
                for k in range(100)
            ]
            domain_end = d.conjugate_domain.end
            for i in range(len(_P)):
                for delta in (-1e-3, 1e-3):
                    ts = list(optimum)
                    ts[i] = ts[i] + delta
                    if domain_end is not sp.oo and not ts[i] < mpmath.mpf(sp.N(domain_end, 40)):
                        continue
                    trials.append((f"T*[{i}] {delta:+g}", ts))
            for label, ts in trials:
                value = bound_mp(ts)
                if value > best:
                    best, at = value, label
        ok = mpmath.isfinite(best) and float(best) < library
        return Outcome(
            bool(ok),
            f"largest bound over 100 random critics g_f(v), v ~ N(0, 4), and +-1e-3 single-point "
            f"perturbations of T*: {mpmath.nstr(best, 15)} ({at}) vs D_f = {library!r}",
        )

    rec.check(
        f"{name}: witness: random critics and perturbed optimal critics give a smaller bound",
        sp.Lt(tex(r"\mathbb{E}_P[T] - \mathbb{E}_Q[f^*(T)]"), tex(r"D_f(P \| Q)")),
        "numeric: mpmath 30 digits, 100 random critics T = g_f(v) (seed 7) and 10 perturbations",
        random_critics,
    )
