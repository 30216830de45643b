r"""Closed forms between families of distributions: registration and most-specific dispatch.

Two tables, both keyed by the classes of ``P`` and ``Q`` and searched like
``torch.distributions.kl``'s ``register_kl``:

* **per divergence**: a closed form lives on its divergence's registry entry
  (:meth:`divergences.registry.Entry.register_closed_form`), so that it is found through the
  entry an :class:`~divergences.FDivergence` carries, never through its name: a user's
  generator named ``"kl"`` has its own entry and gets no formula of the registered ``kl``.
  :func:`register_divergence` is the decorator (``@register_divergence("kl", Normal,
  Normal)``); the function is called as ``fn(P, Q, **parameters)`` with the family's exact
  parameter values (``alpha=2``).
* **for every f-divergence**: forms that hold for any generator (exact sums for Bernoulli and
  Categorical pairs), registered with :func:`register_any_divergence` and called as
  ``fn(d, P, Q)``.

For a pair of types the candidates of both tables are ranked by their distance in the two
method resolution orders (``P``'s first, as in ``torch.distributions.kl``); the nearest wins,
a divergence's own form on a tie. A closed form may decline a particular call by raising
``NotImplementedError`` (the KL forms do when ``torch.distributions.kl_divergence`` has no
formula for the pair); the caller then tries the next method. Lookups are memoised per
``(entry, P type, Q type)`` and forgotten when a form is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from divergences.registry import REGISTRY, Entry

if TYPE_CHECKING:
    from torch import Tensor
    from torch.distributions import Distribution

    from divergences.fdivergence import FDivergence

__all__ = [
    "ClosedForm",
    "find_closed_form",
    "register_any_divergence",
    "register_divergence",
]

F = TypeVar("F", bound=Callable[..., Any])
#: a closed form bound to a divergence: ``(P, Q) -> Tensor``
ClosedForm = Callable[["Distribution", "Distribution"], "Tensor"]

_ANY: dict[tuple[type, type], Callable[..., Any]] = {}
_MEMO: dict[tuple[Entry, type, type], tuple[str, Callable[..., Any]] | None] = {}


def _entry_of(d: object) -> Entry:
    from divergences.fdivergence import FDivergence

    if isinstance(d, Entry):
        return d
    if isinstance(d, FDivergence):
        return d.entry
    if isinstance(d, str):
        if d not in REGISTRY:
            raise KeyError(f"unknown divergence {d!r}; registered: {', '.join(REGISTRY)}")
        return REGISTRY[d]
    raise TypeError(
        f"register_divergence takes a registered name, an FDivergence or an Entry, got "
        f"{type(d).__name__}"
    )


def _check_types(p_type: object, q_type: object) -> None:
    if not (isinstance(p_type, type) and isinstance(q_type, type)):
        raise TypeError(f"closed forms are registered for classes, got {p_type!r}, {q_type!r}")


def register_divergence(
    d: str | FDivergence | Entry, p_type: type, q_type: type
) -> Callable[[F], F]:
    """Decorator: ``fn(P, Q, **parameters)`` is :math:`D_f(P \\| Q)` in closed form for ``P``
    an instance of ``p_type`` and ``Q`` of ``q_type`` (subclasses included).

    The form is attached to the divergence's registry entry: ``d`` is a registered name, an
    :class:`~divergences.FDivergence` (its ``entry``: for a member of a family such as
    ``dv.get("alpha", alpha=2)``, the whole family, and ``fn`` receives the parameters) or an
    :class:`~divergences.registry.Entry`. ``fn`` returns a tensor of shape
    ``broadcast(P.batch_shape, Q.batch_shape)`` (``+inf`` where the divergence is infinite) and
    may raise ``NotImplementedError`` to decline a call.

    Example (a class of its own, so that the registration touches nothing else):
        >>> import torch
        >>> from torch.distributions import Exponential
        >>> from divergences.distributions import divergence, register_divergence
        >>> class Rate(Exponential): ...
        >>> @register_divergence("reverse_kl", Rate, Rate)
        ... def _reverse_kl_rates(p, q):  # KL(Q || P) = log(b/a) + a/b - 1
        ...     return torch.log(q.rate / p.rate) + p.rate / q.rate - 1
        >>> divergence("reverse_kl", Rate(torch.tensor(1.0)), Rate(torch.tensor(2.0))).value
        tensor(0.1931)
    """
    entry = _entry_of(d)
    _check_types(p_type, q_type)
    register = entry.register_closed_form(p_type, q_type)

    def decorator(fn: F) -> F:
        register(fn)
        _MEMO.clear()
        return fn

    return decorator


def register_any_divergence(p_type: type, q_type: type) -> Callable[[F], F]:
    """Decorator: ``fn(d, P, Q)`` is :math:`D_f(P \\| Q)` for every f-divergence ``d`` (a form
    that needs only the generator, such as an exact sum over a finite support)."""
    _check_types(p_type, q_type)

    def decorator(fn: F) -> F:
        _ANY[p_type, q_type] = fn
        _MEMO.clear()
        return fn

    return decorator


def _distance(pairs: object, p_type: type, q_type: type) -> tuple[int, int, type, type] | None:
    p_mro, q_mro = p_type.__mro__, q_type.__mro__
    best = None
    for p, q in pairs:  # type: ignore[attr-defined]
        if p in p_mro and q in q_mro:
            rank = (p_mro.index(p), q_mro.index(q), p, q)
            if best is None or rank[:2] < best[:2]:
                best = rank
    return best


def _lookup(entry: Entry, p_type: type, q_type: type) -> tuple[str, Callable[..., Any]] | None:
    key = (entry, p_type, q_type)
    if key in _MEMO:
        return _MEMO[key]
    own = _distance(entry.closed_form_families(), p_type, q_type)
    generic = _distance(_ANY, p_type, q_type)
    found: tuple[str, Callable[..., Any]] | None = None
    if own is not None and (generic is None or own[:2] <= generic[:2]):
        fn = entry.closed_form(p_type, q_type)
        found = None if fn is None else ("entry", fn)
    elif generic is not None:
        found = ("any", _ANY[generic[2], generic[3]])
    _MEMO[key] = found
    return found


def find_closed_form(d: FDivergence, p: Distribution, q: Distribution) -> ClosedForm | None:
    """The most specific closed form of ``d`` for the classes of ``p`` and ``q``, bound to
    ``d`` (its parameters, or ``d`` itself for a form of every divergence); ``None`` if there
    is none. The returned function may raise ``NotImplementedError`` (it declines)."""
    found = _lookup(d.entry, type(p), type(q))
    if found is None:
        return None
    kind, fn = found
    if kind == "any":
        return lambda p_, q_: fn(d, p_, q_)
    parameters = dict(d.parameters)
    return lambda p_, q_: fn(p_, q_, **parameters)
