r"""Batched adaptive Gauss-Kronrod quadrature of :math:`\int q\, f(p/q)\,dx` for 1-D pairs.

.. math::

    D_f(P \| Q) = \int_{\mathbb R} q(x)\, f\!\Big(\frac{p(x)}{q(x)}\Big)\, dx
      = \int e^{\log q(x)} f\big(e^{\log p(x) - \log q(x)}\big)\, dx

The integrand is the log-space perspective of :mod:`._logspace` at ``(log p(x), log q(x))``
(``log_prob`` with ``-inf`` off the support, :func:`._support.log_density`), so no density or
ratio overflows and disjoint or nested supports give ``+inf`` or the right finite value
(:math:`q f(0^+)` where only :math:`Q` has mass, :math:`p f'(\infty)` where only :math:`P` has).

**Intervals.** Break points at each distribution's location :math:`\pm z` scale for
:math:`z \in \{0, 1, 3, 9\}` (from the quartiles or the mean and standard deviation,
:func:`._support.location_scale`: a geometric grid around each, so a narrow bump of one
distribution is not missed next to a wide one) and at the finite ends of both supports (so a
density's jump is never inside an interval), clamped to the union of the supports. The two
unbounded ends are mapped to :math:`t \in [0, 1)` by :math:`x = x_0 \pm s\, t / (1 - t)`,
:math:`s` the larger scale (tails handled by the same rule; heavy tails such as Cauchy's become
bounded integrands).

**Rule and error.** The 15-point Kronrod rule with its embedded 7-point Gauss rule and
QUADPACK's error estimate (``qk15``): :math:`\min(1, (200 |K - G| / I_c)^{3/2})\, I_c` with
:math:`I_c = \int |f - \bar f|` on the interval (the observed convergence of the pair of rules).
Each iteration bisects, in every unfinished batch element, its worst intervals, as few as leave
the summed error of the others below half the tolerance; an element is finished when its
summed error is below :math:`\max(\text{atol}, \text{rtol} |D|, 50\,\epsilon \int |q f(p/q)|
(1 + |\log p| + |\log q|))` (the last term is the rounding floor: the integrand is no more
accurate than its log-densities), when its value is infinite, or when the interval or
iteration budget is spent (then its error estimate says how far it got). The reported
``standard_error`` is the summed estimate plus the rounding floor.

**Kinks.** A generator made of pieces (``total_variation``: :math:`|u - 1|/2`) gives an
integrand with kinks where :math:`\log(p/q)` crosses a junction :math:`\log u_j`; no error
estimate sees them reliably. The sign of :math:`\log(p/q) - \log u_j` is watched at the
interval's ends and nodes; an interval with a crossing counts its whole value as error, and is
split exactly at the crossing (Illinois regula falsi in the bracket of adjacent nodes), after
which both halves are smooth.

**Batching and synchronisation.** Intervals are stored densely, ``(K, *batch_shape)``, and
every batch element splits the same number of intervals per iteration (its worst ones, by a
sort), so an iteration is a handful of batched tensor operations, not a Python loop over
pairs. The adaptive loop decides on the host: one synchronisation per iteration (how many
intervals to split), plus the integrand's (:class:`._logspace.LogPerspective` with
``sync=True``: one to take the plain path where every density is in range, a few more where
some nodes need the tail forms), never one per pair. The value is differentiable with respect
to the distributions' parameters (nodes move with the break points, so moving support ends are
accounted for). float16 and bfloat16 are integrated in float32.

Reference: Piessens, de Doncker-Kapenga, Überhuber & Kahaner, *QUADPACK* (Springer 1983),
routine QK15 (nodes and weights below, to 30 digits); Kronrod, *Nodes and Weights of
Quadrature Formulas* (1965).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.distributions import Distribution
from torch.distributions import constraints as C

from ._estimate import Estimate
from ._logspace import log_perspective
from ._support import Pair, interval, is_continuous_scalar, location_scale, log_density

if TYPE_CHECKING:
    from divergences.fdivergence import FDivergence

__all__ = ["KRONROD_NODES", "NotApplicable", "applicable", "default_tolerances", "quadrature"]

#: QUADPACK qk15: Kronrod abscissae (non-negative half, largest first), Kronrod weights, and
#: the weights of the 7-point Gauss rule at the odd-indexed abscissae
_XGK = (
    0.991455371120812639206854697526329,
    0.949107912342758524526189684047851,
    0.864864423359769072789712788640926,
    0.741531185599394439863864773280788,
    0.586087235467691130294144845693013,
    0.405845151377397166906606412076961,
    0.207784955007898467600689403773245,
    0.000000000000000000000000000000000,
)
_WGK = (
    0.022935322010529224963732008058970,
    0.063092092629978553290700663189204,
    0.104790010322250183839876322541518,
    0.140653259715525918745189590510238,
    0.169004726639267902826583426598550,
    0.190350578064785409913256402421014,
    0.204432940075298892414161999234649,
    0.209482141084727828012999174891714,
)
_WG = (
    0.129484966168869693270611432679082,
    0.279705391489276667901467771423780,
    0.381830050505118944950369775488975,
    0.417959183673469387755102040816327,
)
#: all 15 nodes on [-1, 1] with their Kronrod and Gauss weights (0 off the Gauss nodes)
KRONROD_NODES = (*(-x for x in _XGK[:-1]), *reversed(_XGK))
_KRONROD_WEIGHTS = (*_WGK[:-1], *reversed(_WGK))
_GAUSS_HALF = (0.0, _WG[0], 0.0, _WG[1], 0.0, _WG[2], 0.0)
_GAUSS_WEIGHTS = (*_GAUSS_HALF, _WG[3], *reversed(_GAUSS_HALF))

#: break points at location + z * scale
_GRID = (0.0, *(s * k for k in (1.0, 3.0, 9.0) for s in (-1.0, 1.0)))
#: beyond this many slots per batch element, or iterations, the loop stops
MAX_INTERVALS = 600
MAX_ITERATIONS = 60
#: at most this many intervals are split per batch element and iteration
_SPLIT_CAP = 32
#: the rounding floor of the tolerance and of the reported error, in units of eps * int |.|
_ROUNDING = 50.0


class NotApplicable(ValueError):
    """Quadrature does not apply to this pair (the message says why)."""


def applicable(p: Distribution, q: Distribution) -> str | None:
    """``None`` if the pair can be integrated on the line, else the reason it cannot."""
    for name, dist in (("P", p), ("Q", q)):
        if not is_continuous_scalar(dist):
            return (
                f"{name} ({type(dist).__name__}) is not a continuous distribution on an interval "
                f"of the real line (event shape {tuple(dist.event_shape)})"
            )
    return None


def default_tolerances(dtype: torch.dtype) -> tuple[float, float]:
    """``(rtol, atol)``: ``(1e-10, 1e-13)`` in float64, ``(1e-5, 1e-8)`` in float32."""
    if dtype == torch.float64:
        return 1e-10, 1e-13
    return 1e-5, 1e-8


#: fields of a slot, in the order of :class:`_Slots`
_GEOMETRY = ("lo", "hi", "kind", "base", "scale")
_RESULTS = ("value", "error", "absolute", "kink_lo", "kink_hi")


@dataclass
class _Slots:
    """The intervals, ``(K, *batch)`` each: ends in ``t``, the map (``kind`` 0: ``x = t``;
    +-1: ``x = base +- scale t/(1 - t)``), the rule's value, error and rounding floor, and a
    bracket ``[kink_lo, kink_hi]`` in ``t`` of a kink of the integrand (``nan`` where none)."""

    lo: Tensor
    hi: Tensor
    kind: Tensor
    base: Tensor
    scale: Tensor
    value: Tensor
    error: Tensor
    absolute: Tensor
    kink_lo: Tensor
    kink_hi: Tensor


def _junctions(d: FDivergence) -> tuple[float, ...]:
    r""":math:`\log u_j` at the junctions :math:`u_j` of the generator's pieces (where
    :math:`q f(p/q)` has a kink: ``total_variation`` at :math:`p = q`)."""
    pieces = d.derived.generator.pieces
    return tuple(math.log(float(piece.right)) for piece in pieces[:-1])


class _Integrand:
    """The integrand on the intervals' nodes, the 15-point rule and the kink search."""

    def __init__(self, d: FDivergence, p: Distribution, q: Distribution, like: Tensor) -> None:
        self.perspective = log_perspective(d)
        self.p, self.q = p, q
        self.junctions = _junctions(d)
        view = (1, 15) + (1,) * like.dim()
        options = {"dtype": like.dtype, "device": like.device}
        self.nodes = torch.tensor(KRONROD_NODES, **options).view(view)
        self.weights = torch.tensor([_KRONROD_WEIGHTS, _GAUSS_WEIGHTS], **options)
        self.wk1 = self.weights[0]
        self.eps = torch.finfo(like.dtype).eps

    def points(self, t: Tensor, kind: Tensor, base: Tensor, scale: Tensor) -> tuple[Tensor, Tensor]:
        r"""``x(t)`` and ``dx/dt`` for every kind of interval at once, without branches: with
        :math:`\kappa = |\text{kind}|`, :math:`x = x_0 + s\,(\text{kind}\ t/(1 - \kappa t) +
        (1 - \kappa) t)` and :math:`dx/dt = s/(1 - \kappa t)^2` (finite intervals have
        :math:`x_0 = 0`, :math:`s = 1`)."""
        kappa = kind.abs()
        gap = torch.addcmul(torch.ones_like(t), kappa, t, value=-1.0).clamp_min_(self.eps)
        # x = base + t (scale kind / gap + 1 - kappa): the small factors formed first
        slope = torch.addcdiv(1.0 - kappa, scale * kind, gap)
        return torch.addcmul(base, t, slope), scale / (gap * gap)

    def log_ratio(self, t: Tensor, kind: Tensor, base: Tensor, scale: Tensor) -> Tensor:
        x, _ = self.points(t, kind, base, scale)
        return log_density(self.p, x) - log_density(self.q, x)

    def rule(self, lo: Tensor, hi: Tensor, kind: Tensor, base: Tensor, scale: Tensor) -> dict:
        """Kronrod value, ``|K - G|``, the rounding floor and a kink bracket per interval."""
        centre, half = (lo + hi) / 2, (hi - lo) / 2
        t = centre[:, None] + half[:, None] * self.nodes
        if self.junctions:  # the ends too, for the kink search (a crossing next to an end)
            t = torch.cat([lo[:, None], t, hi[:, None]], dim=1)
        x, jacobian = self.points(t, kind[:, None], base[:, None], scale[:, None])
        a, b = log_density(self.p, x), log_density(self.q, x)
        lam = a - b
        if self.junctions:
            t, x, jacobian, a, b = (z[:, 1:-1] for z in (t, x, jacobian, a, b))
        values = self.perspective(a, b, sync=True) * jacobian
        empty = half == 0  # zero-width intervals (bounded supports' tails, repeated points)
        sums = torch.einsum("wj,nj...->wn...", self.weights, values)  # Kronrod, Gauss
        kronrod = half * torch.where(empty, 0.0, sums[0])
        with torch.no_grad():
            gauss = half * torch.where(empty, 0.0, sums[1].detach())
            # QUADPACK's estimate (qk15): resasc = int |f - mean|, err = |K - G| scaled by
            # min(1, (200 |K - G| / resasc)^1.5): the observed convergence of the pair
            centred = (values - (sums[0] / 2)[:, None]).abs()
            resasc = half * torch.where(
                empty, 0.0, torch.einsum("j,nj...->n...", self.wk1, centred)
            )
            error = (kronrod.detach() - gauss).abs()
            scaled = (
                resasc
                * torch.clamp(200.0 * error / torch.where(resasc > 0, resasc, 1.0), max=1.0) ** 1.5
            )
            error = torch.where((resasc > 0) & (error > 0), scaled, error)
            # rounding: each value is uncertain by about eps (1 + |log p| + |log q|) of itself
            weight = torch.nan_to_num_(a.abs().add_(b.abs()).add_(1.0), nan=1.0, posinf=1.0)
            absolute = half * torch.where(
                empty, 0.0, torch.einsum("j,nj...->n...", self.wk1, weight.mul_(values.abs()))
            )
            kink_lo, kink_hi = self._kink(t, lam, half, lo, hi)
            # a kink inside: the rule's estimate is not to be trusted, the interval must be
            # split (at the kink, after which both halves are smooth)
            error = torch.where(torch.isnan(kink_lo), error, error + kronrod.detach().abs())
            error = torch.where(torch.isinf(kronrod.detach()), 0.0, error)
        return {
            "value": kronrod,
            "error": error,
            "absolute": absolute,
            "kink_lo": kink_lo,
            "kink_hi": kink_hi,
        }

    def _kink(
        self, t: Tensor, lam: Tensor, half: Tensor, lo: Tensor, hi: Tensor
    ) -> tuple[Tensor, Tensor]:
        """A bracket around the first junction crossing of ``log(p/q)`` among the interval's
        ends and nodes (``lam`` has the 17 values, ends included), ``nan`` where none."""
        nan = torch.full_like(half, math.nan)
        if not self.junctions:
            return nan, nan
        ends = torch.cat([lo[:, None], t.expand(lam[:, 1:-1].shape), hi[:, None]], dim=1)
        lo_t, hi_t = nan, nan
        for junction in self.junctions:
            gap = lam - junction
            side = torch.where(torch.isnan(lam), 0.0, torch.sign(gap))
            # an end that lies on the crossing (a split made there) does not count
            side[:, 0] = torch.where(gap[:, 0].abs() <= _AT_KINK, 0.0, side[:, 0])
            side[:, -1] = torch.where(gap[:, -1].abs() <= _AT_KINK, 0.0, side[:, -1])
            change = (side[:, 1:] * side[:, :-1]) < 0
            found = change.any(1) & (half > 0)
            first = change.to(torch.int8).argmax(1, keepdim=True)
            left = torch.gather(ends, 1, first)[:, 0]
            right = torch.gather(ends, 1, first + 1)[:, 0]
            new = found & torch.isnan(lo_t)
            lo_t, hi_t = torch.where(new, left, lo_t), torch.where(new, right, hi_t)
        return lo_t, hi_t


def _initial(p: Distribution, q: Distribution, like: Tensor) -> tuple[Tensor, ...]:
    """The initial intervals ``(lo, hi, kind, base, scale)``, each ``(K0, *batch)``."""
    bounds_p, bounds_q = interval(p, like), interval(q, like)
    if bounds_p is None or bounds_q is None:
        raise NotApplicable("the support of P or Q is not an interval")
    (loc_p, s_p), (loc_q, s_q) = location_scale(p, like), location_scale(q, like)
    # not detached: a support end that moves with a parameter moves every point clamped to it
    lo = torch.minimum(bounds_p[0], bounds_q[0])
    hi = torch.maximum(bounds_p[1], bounds_q[1])
    points = [loc_p + z * s_p for z in _GRID] + [loc_q + z * s_q for z in _GRID]
    for dist, bounds in ((p, bounds_p), (q, bounds_q)):  # support ends (jumps of a density)
        if not isinstance(dist.support, C._Real):
            points += [torch.where(torch.isfinite(bound), bound, loc_p) for bound in bounds]
    grid, _ = torch.sort(torch.stack(points).clamp(min=lo, max=hi), dim=0)
    scale = torch.maximum(s_p, s_q).expand(like.shape)[None]
    zeros, ones = torch.zeros_like(grid[:1]), torch.ones_like(grid[:1])
    inner = torch.zeros_like(grid[:-1])
    # finite pieces, then the two tails (zero width where the support is bounded there)
    lo_t = torch.cat([grid[:-1], zeros, zeros])
    hi_t = torch.cat(
        [grid[1:], torch.isinf(lo).to(like.dtype)[None], torch.isinf(hi).to(like.dtype)[None]]
    )
    kind = torch.cat([inner, -ones, ones])
    base = torch.cat([inner, grid[:1], grid[-1:]])
    scales = torch.cat([inner + 1.0, scale, scale])
    return lo_t, hi_t, kind, base, scales


def quadrature(
    d: FDivergence,
    p: Distribution,
    q: Distribution,
    pair: Pair,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    max_intervals: int = MAX_INTERVALS,
    max_iterations: int = MAX_ITERATIONS,
) -> Estimate:
    """:math:`D_f(P \\| Q)` by batched adaptive Gauss-Kronrod quadrature (module docstring).

    Args:
        d: the divergence.
        p, q: continuous distributions on intervals of the real line (:func:`applicable`),
            batch shapes broadcasting to ``pair.batch_shape``.
        pair: what :func:`._support.check_pair` returned.
        rtol, atol: the target, :func:`default_tolerances` by default.
        max_intervals, max_iterations: the budget per batch element.

    Returns:
        An :class:`Estimate` with ``method="quadrature"``; ``standard_error`` is the error
        estimate (module docstring), ``0`` where the value is infinite.

    Raises:
        NotApplicable: the pair is not two continuous distributions on the line.
    """
    reason = applicable(p, q)
    if reason is not None:
        raise NotApplicable(reason)
    dtype = pair.dtype if pair.dtype in (torch.float32, torch.float64) else torch.float32
    default_rtol, default_atol = default_tolerances(dtype)
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    like = torch.zeros(pair.batch_shape, dtype=dtype, device=pair.device)
    integrand = _Integrand(d, p, q, like)
    lo, hi, kind, base, scale = _initial(p, q, like)
    slots = _Slots(lo, hi, kind, base, scale, **integrand.rule(lo, hi, kind, base, scale))
    floor_factor = _ROUNDING * integrand.eps
    for _ in range(max_iterations):
        total = slots.value.sum(0).detach()
        floor = floor_factor * slots.absolute.sum(0)
        tolerance = torch.maximum(torch.clamp(rtol * total.abs(), min=atol), floor)
        done = (slots.error.sum(0) <= tolerance) | ~torch.isfinite(total)
        # split the worst intervals, as few as leave the others' errors below tolerance / 2
        ordered, order = torch.sort(slots.error, dim=0, descending=True)
        rest = torch.flip(torch.cumsum(torch.flip(ordered, [0]), 0), [0])
        need = (rest > 0.5 * tolerance) & ~done
        count = min(int(need.sum(0).max()), _SPLIT_CAP, max_intervals - slots.lo.shape[0])
        if count <= 0:  # (the line above is the loop's host synchronisation)
            break
        _split(slots, integrand, order[:count], count)
    total = slots.value.sum(0)
    error = slots.error.sum(0) + floor_factor * slots.absolute.sum(0)
    error = torch.where(torch.isinf(total.detach()), 0.0, error)
    return Estimate(total.to(pair.dtype), error.to(pair.dtype), "quadrature")


def _split(slots: _Slots, integrand: _Integrand, index: Tensor, count: int) -> None:
    """Split the intervals ``index`` (``(count, *batch)``) of every batch element: at the
    kink in its bracket where one was seen (located by :func:`_locate`), else in the middle."""
    pick = {
        name: torch.gather(getattr(slots, name), 0, index)
        for name in (*_GEOMETRY, "kink_lo", "kink_hi")
    }
    mid = (pick["lo"] + pick["hi"]) / 2
    kinked = ~torch.isnan(pick["kink_lo"])
    if integrand.junctions and bool(kinked.any()):  # host synchronisation (kinked pairs only)
        at = _locate(integrand, pick, kinked)
        mid = torch.where(kinked, at, mid)
    twice = (2,) + (1,) * (mid.dim() - 1)
    new = {
        "lo": torch.cat([pick["lo"], mid]),
        "hi": torch.cat([mid, pick["hi"]]),
        "kind": pick["kind"].repeat(twice),
        "base": pick["base"].repeat(twice),
        "scale": pick["scale"].repeat(twice),
    }
    new.update(integrand.rule(new["lo"], new["hi"], new["kind"], new["base"], new["scale"]))
    for name in (*_GEOMETRY, *_RESULTS):
        old, fresh = getattr(slots, name), new[name]
        replaced = old.scatter(0, index, fresh[:count])
        setattr(slots, name, torch.cat([replaced, fresh[count:]]))


#: an interval's end within this of a junction's log-ratio is taken to be on it (no crossing)
_AT_KINK = 1e-6
#: regula falsi (Illinois) steps that locate a kink inside its bracket of adjacent nodes
_KINK_STEPS = 10


def _locate(integrand: _Integrand, pick: dict[str, Tensor], kinked: Tensor) -> Tensor:
    r"""The ``t`` in each kinked interval's bracket where :math:`\log(p/q)` crosses the
    junction (Illinois regula falsi: superlinear for a smooth log-ratio, bracketed)."""
    junction = integrand.junctions[0]
    lo = torch.where(kinked, pick["kink_lo"], pick["lo"]).detach()
    hi = torch.where(kinked, pick["kink_hi"], pick["hi"]).detach()
    geometry = (pick["kind"], pick["base"].detach(), pick["scale"].detach())
    with torch.no_grad():
        f_lo = integrand.log_ratio(lo, *geometry) - junction
        f_hi = integrand.log_ratio(hi, *geometry) - junction
        side = 0
        for _ in range(_KINK_STEPS):
            denominator = f_hi - f_lo
            guess = torch.where(denominator != 0, (lo * f_hi - hi * f_lo) / denominator, lo)
            guess = torch.where((guess > lo) & (guess < hi), guess, (lo + hi) / 2)
            f_guess = integrand.log_ratio(guess, *geometry) - junction
            left = (f_guess * f_lo) > 0  # the root is right of the guess
            lo, f_lo = torch.where(left, guess, lo), torch.where(left, f_guess, f_lo)
            hi, f_hi = torch.where(left, hi, guess), torch.where(left, f_hi, f_guess)
            # Illinois: halve the value kept twice in a row
            side_now = left.to(torch.int8)
            if isinstance(side, Tensor):
                f_hi = torch.where(left & (side == 1), f_hi / 2, f_hi)
                f_lo = torch.where(~left & (side == 0), f_lo / 2, f_lo)
            side = side_now
        root = torch.where(f_lo.abs() <= f_hi.abs(), lo, hi)
    # keep the split strictly inside the interval
    inside = (root > pick["lo"]) & (root < pick["hi"])
    return torch.where(inside, root, (pick["lo"] + pick["hi"]) / 2)
