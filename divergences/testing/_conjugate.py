r"""Check that ``fstar`` is the Fenchel conjugate of ``f`` on a grid, numerically.

For a convex :math:`f` on :math:`(0, \infty)` and its conjugate
:math:`f^*(t) = \sup_{u > 0}\,(u t - f(u))`:

* **Fenchel-Young inequality**: :math:`u t \le f(u) + f^*(t)` for all :math:`u > 0` and all
  :math:`t`;
* **Fenchel-Young equality**: :math:`u t = f(u) + f^*(t)` at :math:`t = f'(u)` (any subgradient
  where :math:`f` has a kink).

Together they pin :math:`f^*` down on the range of :math:`f'`: the inequality says
:math:`f^* \ge` the true conjugate, the equality that it is attained
(Rockafellar, *Convex Analysis*, Princeton 1970, Thm. 23.5; Boyd & Vandenberghe, *Convex
Optimization*, 2004, Sec. 3.3.2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._convert import Elementwise

__all__ = ["check_conjugate_pair", "default_u_grid"]


def default_u_grid() -> np.ndarray:
    """Ratios :math:`u` from :math:`10^{-6}` to :math:`10^{6}`, 8 per decade, 1 included."""
    return np.logspace(-6.0, 6.0, 97)


def _domain_bounds(domain: Any) -> tuple[float, float, bool, bool]:
    """``(lo, hi, lo_closed, hi_closed)`` of a SymPy Interval or a ``(lo, hi)`` pair (open)."""
    if domain is None:
        return -math.inf, math.inf, False, False
    if hasattr(domain, "left_open"):  # sympy Interval
        return (
            float(domain.start),
            float(domain.end),
            not bool(domain.left_open),
            not bool(domain.right_open),
        )
    lo, hi = domain
    return float(lo), float(hi), False, False


def _domain_grid(lo: float, hi: float, lo_closed: bool, hi_closed: bool) -> np.ndarray:
    """Points inside the domain, dense towards finite ends, spread over magnitudes otherwise."""
    offsets = np.logspace(-6.0, 2.0, 25)
    points: list[float] = []
    if math.isfinite(lo) and math.isfinite(hi):
        width = hi - lo
        points.extend(lo + width * np.concatenate([offsets[offsets < 1], [0.25, 0.5, 0.75]]))
        points.extend(hi - width * offsets[offsets < 1])
    elif math.isfinite(hi):
        points.extend(hi - offsets)
    elif math.isfinite(lo):
        points.extend(lo + offsets)
    else:
        points.extend(np.concatenate([-offsets, [0.0], offsets]))
    if lo_closed:
        points.append(lo)
    if hi_closed:
        points.append(hi)
    grid = np.array(points, dtype=np.float64)
    inside = (grid > lo) & (grid < hi)
    inside |= (grid == lo) & lo_closed
    inside |= (grid == hi) & hi_closed
    return grid[inside]


def _numeric_derivative(f: Elementwise, u: np.ndarray) -> np.ndarray:
    """Central differences with a relative step :math:`10^{-6}` (error :math:`O(h^2)`)."""
    h = 1e-6 * u
    return (f(u + h) - f(u - h)) / (2.0 * h)


def check_conjugate_pair(
    f: Callable[[Any], Any],
    fstar: Callable[[Any], Any],
    *,
    domain: Any = None,
    u: Sequence[float] | np.ndarray | None = None,
    derivative: Callable[[Any], Any] | None = None,
    atol: float = 1e-9,
    rtol: float = 1e-7,
) -> None:
    r"""Check numerically that ``fstar`` is the convex conjugate of the generator ``f``.

    ``f`` and ``fstar`` are elementwise functions of floats written for torch, NumPy or plain
    Python (each is called on a float64 tensor, then a float64 array, then element by element,
    whichever works). The grid of conjugate arguments :math:`t` is :math:`f'(u)` on the ``u``
    grid (by central differences unless ``derivative`` is given), the midpoints between those,
    and, if ``domain`` is given, points of the domain of :math:`f^*` dense towards its ends
    (its closed ends included). Where ``fstar`` returns :math:`+\infty` the inequality holds
    trivially; NaN anywhere fails.

    Checks, with tolerance ``atol + rtol * (|f(u)| + |f*(t)| + |u t|)``:

    * **Fenchel-Young inequality** :math:`f(u) + f^*(t) - u t \ge 0` for every grid pair
      (checked first: a conjugate that is too small anywhere fails here);
    * **Fenchel-Young equality** at every slope :math:`t = f'(u_k)`:
      :math:`\min_u\,(f(u) + f^*(t) - u t) = 0` over the ``u`` grid (the minimum is at
      :math:`u_k` itself, or wherever :math:`f` is affine with slope :math:`t`, so a slope
      computed a rounding error off a kink of :math:`f^*` is not a false alarm).

    Args:
        f: the generator, convex on :math:`(0, \infty)`.
        fstar: the claimed conjugate.
        domain: where :math:`f^*` is finite: a SymPy ``Interval`` (e.g.
            ``d.conjugate_domain``) or a pair ``(lo, hi)`` taken as open.
        u: the grid of ratios (positive); default :func:`default_u_grid`.
        derivative: :math:`f'` (or a subgradient); default central differences.

    Raises:
        AssertionError: naming the violated property with the ``(u, t)`` counterexample.

    Example:
        >>> import math
        >>> check_conjugate_pair(lambda u: u * math.log(u), lambda t: math.exp(t - 1))
    """
    fe, fse = Elementwise(f, "f"), Elementwise(fstar, "fstar")
    us = default_u_grid() if u is None else np.asarray(u, dtype=np.float64).ravel()
    if us.size == 0 or np.any(~(us > 0)) or np.any(~np.isfinite(us)):
        raise ValueError("the u grid must be finite and positive")
    f_u = fe(us)
    if np.any(~np.isfinite(f_u)):
        bad = int(np.argmax(~np.isfinite(f_u)))
        raise AssertionError(f"generator not finite on (0, oo): f({us[bad]!r}) = {f_u[bad]!r}")
    slopes = (
        Elementwise(derivative, "derivative")(us) if derivative else _numeric_derivative(fe, us)
    )
    if np.any(~np.isfinite(slopes)):
        bad = int(np.argmax(~np.isfinite(slopes)))
        raise AssertionError(f"derivative not finite: f'({us[bad]!r}) = {slopes[bad]!r}")

    # numerical slopes may overshoot a closed end of the domain of f* by a rounding error
    slopes = _pull_inside(fse, slopes)

    # the t grid: the slopes f'(u), their midpoints, points of the domain
    sorted_slopes = np.unique(slopes)
    mids = 0.5 * (sorted_slopes[1:] + sorted_slopes[:-1])
    extra = [] if domain is None else [_domain_grid(*_domain_bounds(domain))]
    ts = np.unique(np.concatenate([sorted_slopes, mids, *extra]))
    fs_t = fse(ts)
    if np.any(np.isnan(fs_t)):
        i = int(np.argmax(np.isnan(fs_t)))
        raise AssertionError(
            f"conjugate pair violated: f* returned NaN at t = {ts[i]!r} (inside the domain)"
        )
    with np.errstate(invalid="ignore"):
        gaps = f_u[:, None] + fs_t[None, :] - us[:, None] * ts[None, :]
        scales = np.abs(f_u)[:, None] + np.abs(fs_t)[None, :] + np.abs(us[:, None] * ts[None, :])
    tolerance = atol + rtol * scales
    infinite = np.broadcast_to(fs_t[None, :] == np.inf, gaps.shape)

    # Fenchel-Young inequality on the grid u x t
    ok = infinite | (gaps >= -tolerance)
    if not np.all(ok):
        i, j = np.unravel_index(int(np.argmax(np.where(ok, -np.inf, -gaps))), gaps.shape)
        raise AssertionError(
            "conjugate pair violated: Fenchel-Young inequality u t <= f(u) + f*(t)\n"
            f"  u = {us[i]!r}, t = {ts[j]!r}: f(u) = {f_u[i]!r}, f*(t) = {fs_t[j]!r}, "
            f"f(u) + f*(t) - u t = {gaps[i, j]!r} < 0"
        )

    # Fenchel-Young equality: at each slope t = f'(u_k) the gap's minimum over u is 0. Taking
    # the minimum over the whole u grid (not the gap at u_k alone) keeps the check exact where
    # f has linear pieces, so that the numerical slope may sit a rounding error off a kink of f*.
    columns = np.searchsorted(ts, slopes)
    for k, j in enumerate(columns):
        i = int(np.argmin(np.where(infinite[:, j], np.inf, gaps[:, j])))
        if infinite[i, j] or not gaps[i, j] <= tolerance[i, j]:
            raise AssertionError(
                "conjugate pair violated: Fenchel-Young equality at t = f'(u)\n"
                f"  u = {us[k]!r}, t = f'(u) = {ts[j]!r}: f(u) = {f_u[k]!r}, "
                f"f*(t) = {fs_t[j]!r}, min over u of f(u) + f*(t) - u t = {gaps[i, j]!r} "
                f"(at u = {us[i]!r}; expected 0)"
            )


def _pull_inside(fstar: Elementwise, slopes: np.ndarray) -> np.ndarray:
    """Move slopes where ``f*`` is ``+inf`` towards the median slope by relative steps
    :math:`10^{-9}, 4 \\cdot 10^{-9}, \\ldots, 10^{-3}` until ``f*`` is finite there.

    A central difference at a large or small ``u`` can land a rounding error beyond a closed
    end of the domain (Neyman: :math:`f'(u) = 1 - u^{-2} \\to 1`). A slope that stays infinite
    is left as is, and the equality check reports it.
    """
    values = fstar(slopes)
    centre = float(np.median(slopes))
    out = slopes.copy()
    for k in np.flatnonzero(values == np.inf):
        direction = np.sign(centre - slopes[k])
        for m in range(11):
            candidate = slopes[k] + direction * 1e-9 * 4.0**m * (1.0 + abs(slopes[k]))
            if np.isfinite(fstar(np.array([candidate]))[0]):
                out[k] = candidate
                break
    return out
