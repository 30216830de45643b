r"""The front door: :func:`divergence` chooses a method and returns an :class:`Estimate`."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch.distributions import Distribution

from divergences.errors import InputError
from divergences.fdivergence import FDivergence, get

from . import _closed_discrete, _closed_kl, _closed_normal  # noqa: F401  (register the forms)
from ._estimate import Estimate
from ._montecarlo import monte_carlo
from ._quadrature import NotApplicable, applicable, quadrature
from ._registry import find_closed_form
from ._support import Pair, check_pair

__all__ = ["divergence"]

_METHODS = ("auto", "closed", "quadrature", "mc")


def _as_divergence(d: object) -> FDivergence:
    if isinstance(d, FDivergence):
        return d
    if isinstance(d, str):
        return get(d)
    raise InputError(f"d must be an FDivergence or a registered name, got {type(d).__name__}")


def _singular(d: FDivergence, pair: Pair) -> Estimate:
    r""":math:`D_f(P \| Q) = f(0^+) + f'(\infty)` for mutually singular ``P`` and ``Q``."""
    limits = d.derived.generator.limits
    total = limits.value_at_zero + limits.slope_at_infinity
    value = math.inf if total.is_infinite else float(total)
    full = torch.full(pair.batch_shape, value, dtype=pair.dtype, device=pair.device)
    return Estimate(full, torch.zeros_like(full), "closed")


def _closed(d: FDivergence, p: Distribution, q: Distribution, pair: Pair) -> Estimate | None:
    form = find_closed_form(d, p, q)
    if form is None:
        return None
    try:
        value = form(p, q)
    except NotImplementedError:  # the form declines this pair (e.g. torch has no KL for it)
        return None
    value = torch.as_tensor(value, dtype=pair.dtype, device=pair.device)
    value = value.expand(pair.batch_shape) if value.shape != pair.batch_shape else value
    return Estimate(value, torch.zeros_like(value.detach()), "closed")


def divergence(
    d: FDivergence | str,
    p: Distribution,
    q: Distribution,
    *,
    method: Literal["auto", "closed", "quadrature", "mc"] = "auto",
    num_samples: int | None = None,
    generator: torch.Generator | int | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    proposal: Distribution | str | None = None,
    max_samples: int | None = None,
    validate: bool = True,
) -> Estimate:
    r""":math:`D_f(P \| Q) = \mathbb E_Q[f(p/q)]` between two ``torch.distributions`` objects.

    .. math::

        D_f(P \| Q) = \int q(x)\, f\!\Big(\frac{p(x)}{q(x)}\Big)\, dx

    with :math:`q f(0/q) = q f(0^+)`, :math:`0 f(p/0) = p f'(\infty)` (Csiszár 1967), so
    disjoint or nested supports give ``+inf`` where the divergence is infinite and the right
    finite value where it is not (``js`` of disjoint distributions is :math:`\log 2`).

    Methods (``method="auto"`` tries them in this order):

    1. ``"closed"``: a closed form registered for the divergence's entry and the two classes
       (:func:`register_divergence`, most-specific dispatch like ``register_kl``): KL, reverse
       KL and Jeffreys for every pair ``torch.distributions.kl_divergence`` knows; the alpha
       family, squared Hellinger, Pearson and Neyman for ``Normal`` and
       ``MultivariateNormal`` pairs; total variation for ``Normal`` pairs; every divergence for
       ``Bernoulli``, ``Categorical`` and ``OneHotCategorical`` pairs (exact sums). A discrete
       and a continuous distribution are mutually singular: :math:`f(0^+) + f'(\infty)`.
       ``standard_error`` is ``0``.
    2. ``"quadrature"``: pairs of continuous distributions on intervals of the real line,
       batched adaptive Gauss-Kronrod with an error estimate (``rtol``, ``atol``;
       :mod:`divergences.distributions._quadrature`).
    3. ``"mc"``: anything that can be sampled; ``num_samples`` draws per batch element (or
       until ``rtol`` is met), an importance ``proposal`` if given, the standard error
       reported (:mod:`divergences.distributions._montecarlo`).

    Args:
        d: an :class:`~divergences.FDivergence` (registered or user-defined) or a registered
            name. A user's generator gets a closed form only if one is registered for its own
            entry (never by name).
        p, q: distributions with the same event shape, dtype and device; batch shapes
            broadcast. The result has shape ``broadcast(p.batch_shape, q.batch_shape)``.
        method: ``"auto"``, ``"closed"``, ``"quadrature"`` or ``"mc"``.
        num_samples, generator, proposal, max_samples: Monte Carlo options (a generator or an
            int seed makes the draws reproducible).
        rtol, atol: quadrature tolerances; ``rtol`` is also the Monte Carlo target relative
            standard error.
        validate: Monte Carlo: raise if a sample gives ``NaN`` (one host synchronisation).

    Returns:
        An :class:`Estimate`: ``value`` (differentiable with respect to the distributions'
        parameters), ``standard_error``, ``method`` and, for Monte Carlo, ``num_samples``.

    Raises:
        InputError: not distributions; mismatched event shapes, dtypes or devices; batch shapes
            that do not broadcast; an unknown method; ``method="closed"`` without a closed
            form; ``method="quadrature"`` for a pair it does not apply to; Monte Carlo
            samples that give ``NaN``.
        KeyError: an unknown divergence name.

    Example:
        >>> import torch
        >>> from torch.distributions import Normal, Uniform
        >>> from divergences.distributions import divergence
        >>> p = Normal(torch.tensor(0.0), torch.tensor(1.0))
        >>> q = Normal(torch.tensor(1.0), torch.tensor(1.0))
        >>> divergence("kl", p, q)
        Estimate(value=tensor(0.5000), standard_error=tensor(0.), method='closed', num_samples=None)
        >>> round(divergence("js", p, q).value.item(), 6)  # by quadrature
        0.111421
        >>> divergence("kl", Uniform(0.0, 2.0), Uniform(0.0, 1.0)).value  # P not << Q
        tensor(inf)
    """
    div = _as_divergence(d)
    pair = check_pair(p, q)
    if method not in _METHODS:
        raise InputError(f"method must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
    if p.support.is_discrete != q.support.is_discrete:
        if method in ("auto", "closed"):
            return _singular(div, pair)
        raise InputError(
            f"P ({type(p).__name__}) and Q ({type(q).__name__}) are mutually singular (one "
            f"discrete, one continuous): D = f(0+) + f'(oo) exactly; use method='closed'"
        )
    if method in ("auto", "closed"):
        found = _closed(div, p, q, pair)
        if found is not None:
            return found
        if method == "closed":
            raise InputError(
                f"no closed form of {div.name} between {type(p).__name__} and "
                f"{type(q).__name__} (register one with register_divergence, or use "
                f"method='quadrature' or 'mc')"
            )
    if method in ("auto", "quadrature"):
        reason = applicable(p, q)
        if reason is None:
            try:
                return quadrature(div, p, q, pair, rtol=rtol, atol=atol)
            except NotApplicable as error:
                reason = str(error)
        if method == "quadrature":
            raise InputError(f"quadrature does not apply: {reason}")
    return monte_carlo(
        div,
        p,
        q,
        pair,
        num_samples=num_samples,
        rtol=rtol,
        max_samples=max_samples,
        proposal=proposal,
        generator=generator,
        validate=validate,
    )
