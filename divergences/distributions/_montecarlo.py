r"""Monte Carlo estimates of :math:`D_f(P \| Q)` with a standard error.

.. math::

    D_f(P \| Q) = \mathbb E_{x \sim R}\Big[\frac{q(x)}{r(x)}\, f\Big(\frac{p(x)}{q(x)}\Big)\Big]
      \approx \frac1n \sum_{i=1}^n e^{b_i} f(e^{a_i - b_i}), \qquad
      a_i = \log p(x_i) - \log r(x_i),\ b_i = \log q(x_i) - \log r(x_i),

evaluated by the log-space perspective of :mod:`._logspace` (no density ratio is formed, so
nothing overflows where the ratio does; ``+inf`` where :math:`q(x_i) = 0 < p(x_i)` and
:math:`f'(\infty) = \infty`). The proposal :math:`R`:

* :math:`Q` itself (the plain estimator :math:`\frac1n\sum f(p(x_i)/q(x_i))`), used by
  default when the two supports are known to be the same set
  (:func:`._support.same_support`);
* the defensive mixture :math:`M = \tfrac12 P + \tfrac12 Q`, sampled in two equal strata (half
  the points from each, an unbiased stratified estimator), used by default otherwise, so that
  mass of :math:`P` where :math:`q = 0` is seen (``+inf`` for ``kl``, :math:`f'(\infty)` times
  it for bounded divergences) rather than silently missed, as sampling from :math:`Q` alone
  would;
* any distribution the caller gives (importance sampling): it must have positive density
  wherever :math:`q` or :math:`p` does, or the estimate is biased.

**Error.** ``standard_error`` is :math:`s/\sqrt n` with :math:`s` the sample standard deviation
(for the strata: :math:`\tfrac12\sqrt{s_P^2/n_P + s_Q^2/n_Q}`); chunks are combined with Chan,
Golub & LeVeque's pairwise update, so nothing cancels. It is an estimate: for heavy-tailed
integrands (``pearson`` between distributions whose :math:`\chi^2` is barely finite; any
divergence whose :math:`f` grows linearly when :math:`Q` is much narrower than :math:`P`,
since then :math:`\int p^2/q` diverges) it can be far too small, and where the variance is
infinite it means nothing. For a rare-event integrand (the mixture with well-separated
:math:`P` and :math:`Q`: most points give about 0, a few give about :math:`f(0^+) +
f'(\infty)`) it needs a few hundred points to be reliable (``tests/distributions``: 100 points
covered the true value within 4 standard errors in 195-198 of 200 trials, 400 points in
198-200).

**Sample size and synchronisation.** ``num_samples`` points per batch element; with
``rtol``, chunks of ``num_samples`` are drawn until every batch element has
``standard_error <= rtol * |value|`` (or an infinite value), or ``max_samples`` are spent
(one more synchronisation per chunk). ``validate=True`` (the default) synchronises once per
chunk: it checks for ``NaN`` samples and, on the way, lets the integrand take its plain path
where every log-ratio is in range (:meth:`._logspace.LogPerspective.checked`; for ``kl`` and
``reverse_kl`` the exact :math:`c(\lambda) e^{k\lambda}` with the check on the chunk's sum), so
it is also the fast path. ``validate=False`` never synchronises (without ``rtol``) and
evaluates every branch of the integrand: about three times the work.

**Gradients.** Samples are reparameterised (``rsample``) where the proposal has it, so the
value is differentiable with respect to every parameter. For a proposal without ``rsample``
(discrete families, ``VonMises``), a score-function term
:math:`\frac1n\sum (h_i - \bar h_{-i}) \nabla \log r(x_i)` (leave-one-out baseline) is added
to the gradient, not to the value, so the gradient is unbiased too (Williams 1992; as the
surrogate losses of Schulman et al., *Gradient Estimation Using Stochastic Computation
Graphs*, NeurIPS 2015).

**Randomness.** ``generator`` (a ``torch.Generator`` or an int seed) makes the draws
reproducible without touching the global state: ``torch.distributions`` samplers take no
generator, so the draws run under :func:`torch.random.fork_rng` seeded from it (one integer
drawn from the generator on its device, a host synchronisation).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.distributions import Distribution

from divergences.errors import InputError

from ._estimate import Estimate
from ._logspace import LogPerspective, log_perspective
from ._support import Pair, log_density, same_support

if TYPE_CHECKING:
    from divergences.fdivergence import FDivergence

__all__ = ["DEFAULT_SAMPLES", "monte_carlo"]

#: points per batch element (and per chunk when a tolerance is given)
DEFAULT_SAMPLES = 4096


@contextlib.contextmanager
def _seeded(generator: torch.Generator | int | None, device: torch.device) -> Iterator[None]:
    """Draws inside run from ``generator`` (global RNG state untouched) or, for ``None``, from
    the global state."""
    if generator is None:
        yield
        return
    if isinstance(generator, int):
        seed = generator
    elif isinstance(generator, torch.Generator):
        seed = int(torch.randint(0, 2**62, (), generator=generator, device=generator.device))
    else:
        raise InputError(
            f"generator must be a torch.Generator, an int seed or None, got "
            f"{type(generator).__name__}"
        )
    cuda = device.type == "cuda"
    with torch.random.fork_rng(devices=[device] if cuda else [], device_type=device.type):
        torch.random.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


def _draw(dist: Distribution, n: int, batch: torch.Size) -> Tensor:
    """``n`` draws per element of the broadcast batch ``batch``: ``(n, *batch, *event)``."""
    shape = torch.Size((n,))
    if dist.batch_shape != batch:
        try:
            dist = dist.expand(batch)
        except NotImplementedError:  # leading batch dimensions as sample dimensions
            shape = shape + batch[: len(batch) - len(dist.batch_shape)]
    x = dist.rsample(shape) if dist.has_rsample else dist.sample(shape)
    return x.expand(n, *batch, *dist.event_shape)


@dataclass
class _Moments:
    """Running sums of one stratum: the values' sum (with its graph, for the value and its
    gradient) and, detached, the count, mean and sum of squared deviations (Chan, Golub &
    LeVeque's pairwise update, so chunks combine without cancellation)."""

    total: Tensor | None = None
    mean: Tensor | None = None
    squares: Tensor | None = None
    count: int = 0

    def add(self, h: Tensor, surrogate: Tensor, total: Tensor | None = None) -> None:
        """Add a chunk ``h`` (``(n, *batch)``); ``surrogate`` carries the gradient (``h`` itself
        for reparameterised samples); ``total`` is ``surrogate.sum(0)`` if already formed.

        The mean comes from a plain sum (``torch.var_mean``'s running mean turns an infinite
        value into ``NaN``), the variance from ``var`` (``NaN`` there only where the value is
        infinite, and then unused)."""
        n = h.shape[0]
        part = surrogate.sum(0) if total is None else total
        mean = part.detach() / n
        squares = h.detach().var(0, correction=0) * n
        if self.total is None or self.mean is None or self.squares is None:
            self.total, self.mean, self.squares = part, mean, squares
        else:
            count = self.count + n
            delta = mean - self.mean
            self.total = self.total + part
            self.mean = self.mean + delta * (n / count)
            self.squares = self.squares + squares + delta * delta * (self.count * n / count)
        self.count += n

    def value(self) -> Tensor:
        assert self.total is not None
        return self.total / self.count

    def variance_of_mean(self) -> Tensor:
        assert self.squares is not None
        return self.squares / (max(self.count - 1, 1) * self.count)


def _surrogate(h: Tensor, log_r: Tensor, reparameterised: bool) -> Tensor:
    """``h`` plus, for samples without a reparameterisation, the zero-valued score-function
    term whose gradient is :math:`(h_i - \\bar h_{-i}) \\nabla \\log r(x_i)`."""
    if reparameterised or not torch.is_grad_enabled() or not log_r.requires_grad:
        return h
    values = h.detach()
    finite = torch.where(torch.isfinite(values), values, 0.0)
    n = h.shape[0]
    baseline = (finite.sum(0, keepdim=True) - finite) / max(n - 1, 1)
    return h + (finite - baseline) * (log_r - log_r.detach())


class _Sampler:
    """One chunk of the estimator for a proposal: ``Q``, the mixture, or a given ``R``."""

    def __init__(
        self,
        perspective: LogPerspective,
        p: Distribution,
        q: Distribution,
        proposal: object,
        batch: torch.Size,
    ) -> None:
        self.perspective, self.p, self.q, self.batch = perspective, p, q, batch
        if proposal is None:
            proposal = "q" if same_support(p, q) else "mixture"
        if proposal == "mixture":
            self.kind, self.r = "mixture", None
        elif proposal == "q" or proposal is q:
            self.kind, self.r = "q", q
        elif isinstance(proposal, Distribution):
            if proposal.event_shape != q.event_shape:
                raise InputError(
                    f"mismatched event shapes: the proposal has {tuple(proposal.event_shape)}, "
                    f"P and Q have {tuple(q.event_shape)}"
                )
            self.kind, self.r = "importance", proposal
        else:
            raise InputError(
                f"proposal must be None, 'mixture' or a torch.distributions.Distribution, got "
                f"{proposal!r}"
            )
        self.strata = [_Moments(), _Moments()] if self.kind == "mixture" else [_Moments()]

    @property
    def name(self) -> str:
        return {"q": "Q", "mixture": "(P + Q)/2", "importance": "the proposal"}[self.kind]

    def _values(self, a: Tensor, b: Tensor | None, validate: bool, *logs: Tensor) -> Tensor:
        if not validate:
            return self.perspective(a, a.new_zeros(()) if b is None else b)
        h, bad = self.perspective.checked(a, b)  # the one host synchronisation of a chunk
        if bad:
            self._raise(*logs)
        return h

    def chunk(self, n: int, validate: bool) -> None:
        if self.kind == "q":
            x = _draw(self.q, n, self.batch)
            lp, lq = log_density(self.p, x), log_density(self.q, x)
            h = self.perspective.single(lp - lq) if validate else None
            if h is not None:  # kl, reverse_kl: exact for finite log-ratios, checked after
                surrogate = _surrogate(h, lq, self.q.has_rsample)
                total = surrogate.sum(0)
                if not bool(torch.isnan(total).any()):  # the chunk's synchronisation
                    self.strata[0].add(h, surrogate, total)
                    return
            h = self._values(lp - lq, None, validate, lp, lq)
            self.strata[0].add(h, _surrogate(h, lq, self.q.has_rsample))
        elif self.kind == "importance":
            assert self.r is not None
            x = _draw(self.r, n, self.batch)
            lp, lq, lr = (log_density(dist, x) for dist in (self.p, self.q, self.r))
            h = self._values(lp - lr, lq - lr, validate, lp, lq, lr)
            self.strata[0].add(h, _surrogate(h, lr, self.r.has_rsample))
        else:
            half = max(n // 2, 1)
            for stratum, source in zip(self.strata, (self.p, self.q), strict=True):
                x = _draw(source, half, self.batch)
                lp, lq = log_density(self.p, x), log_density(self.q, x)
                lm = torch.logaddexp(lp, lq) - math.log(2.0)
                h = self._values(lp - lm, lq - lm, validate, lp, lq)
                own = lp if source is self.p else lq
                stratum.add(h, _surrogate(h, own, source.has_rsample))

    def _raise(self, *logs: Tensor) -> None:
        names = ("P.log_prob", "Q.log_prob", "proposal.log_prob")
        bad = [
            name
            for name, values in zip(names, logs, strict=False)
            if bool((torch.isnan(values) | (values == math.inf)).any())
        ]
        where = ", ".join(bad) if bad else "the integrand"
        raise InputError(
            f"Monte Carlo samples drawn from {self.name} gave NaN: {where} returned NaN or +inf "
            f"at some samples (a density that is infinite or undefined there)"
        )

    def estimate(self) -> tuple[Tensor, Tensor, int]:
        """``(value, standard error, samples per batch element)``."""
        if self.kind == "mixture":
            first, second = self.strata
            value = 0.5 * (first.value() + second.value())
            variance = 0.25 * (first.variance_of_mean() + second.variance_of_mean())
            count = first.count + second.count
        else:
            value, variance, count = (
                self.strata[0].value(),
                self.strata[0].variance_of_mean(),
                self.strata[0].count,
            )
        error = torch.where(torch.isfinite(value.detach()), variance.sqrt(), 0.0)
        return value, error, count


def monte_carlo(
    d: FDivergence,
    p: Distribution,
    q: Distribution,
    pair: Pair,
    *,
    num_samples: int | None = None,
    rtol: float | None = None,
    max_samples: int | None = None,
    proposal: Distribution | str | None = None,
    generator: torch.Generator | int | None = None,
    validate: bool = True,
) -> Estimate:
    """:math:`D_f(P \\| Q)` by Monte Carlo (module docstring).

    Args:
        d: the divergence.
        p, q: distributions with the same event shape (checked by the caller).
        pair: what :func:`._support.check_pair` returned.
        num_samples: points per batch element, or per chunk with ``rtol``
            (:data:`DEFAULT_SAMPLES`).
        rtol: target relative standard error; ``None`` draws ``num_samples`` once.
        max_samples: the budget per batch element with ``rtol`` (default ``256 *
            num_samples``).
        proposal: ``None`` (``Q``, or the mixture where the supports may differ),
            ``"mixture"``, or a distribution to sample from (importance sampling).
        generator: a ``torch.Generator`` or an int seed for reproducible draws.
        validate: raise :class:`~divergences.InputError` if an evaluated point gives ``NaN``
            (one host synchronisation per chunk).

    Returns:
        An :class:`Estimate` with ``method="mc"``, the standard error and ``num_samples``.
    """
    n = DEFAULT_SAMPLES if num_samples is None else int(num_samples)
    if n < 2:
        raise InputError(f"num_samples must be at least 2, got {num_samples}")
    if rtol is not None and not (rtol > 0):
        raise InputError(f"rtol must be positive, got {rtol}")
    budget = 256 * n if max_samples is None else int(max_samples)
    sampler = _Sampler(log_perspective(d), p, q, proposal, pair.batch_shape)
    with _seeded(generator, pair.device):
        sampler.chunk(n, validate)
        drawn = n
        while rtol is not None and drawn < budget:
            value, error, _ = sampler.estimate()
            value = value.detach()
            done = (error <= rtol * value.abs()) | ~torch.isfinite(value)
            if bool(done.all()):  # host synchronisation: one per chunk
                break
            step = min(n, budget - drawn)
            sampler.chunk(step, validate)
            drawn += step
    value, error, count = sampler.estimate()
    return Estimate(value, error.detach(), "mc", count)
