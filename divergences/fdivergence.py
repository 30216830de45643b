"""The :class:`FDivergence` object and the registry accessors :func:`get`, :func:`names` and
:func:`register`.

An ``FDivergence`` is a view of a :class:`~divergences.symbolic.derivation.Derivation` (the
generator, the derived conjugate and its domain, the output activation, the optimal critic and
the certificate steps, as SymPy objects) together with its :class:`~divergences.registry.Entry`,
which owns the numeric implementations attached to the divergence (a hand kernel, closed forms).
:func:`get` returns one object per ``(name, parameters)``; :func:`register` puts a user's
``FDivergence`` in the registry under a name, so that everything that takes a registered name
(``dv.get``, training configurations, reports) can use it.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING

import sympy as sp

from ._notebook import NotebookCard
from .registry import REGISTRY, Entry, register_entry
from .symbolic.derivation import Derivation, Facts, derive
from .symbolic.generator import Limits
from .symbolic.parse import as_expression
from .symbolic.steps import DerivationStep, Step
from .symbolic.symbols import r, t, u, v

if TYPE_CHECKING:
    import os
    from pathlib import Path

    from torch import Tensor

    from .numeric.emit import Emitted

__all__ = ["FDivergence", "get", "names", "register"]


class FDivergence(NotebookCard):
    """An f-divergence :math:`D_f(P \\| Q) = \\mathbb{E}_Q[f(p/q)]` with its derived quantities.

    Attributes:
        name: registry name or the user's name (with the parameters: ``alpha(alpha=2)``).
        entry: the :class:`~divergences.registry.Entry` (registered, or made for a user's
            generator); what is attached to it (a hand kernel, closed forms) is used by the
            numeric layer.
        parameters: exact parameter values (e.g. ``{"alpha": 1/2}``); empty for fixed entries.
        generator: ``sympy.Lambda`` ``u -> f(u)``, ``u > 0``.
        conjugate: ``sympy.Lambda`` ``t -> f^*(t) = sup_{u > 0} (u t - f(u))``, derived
            (``oo`` outside the domain).
        conjugate_domain: ``sympy.Interval`` where ``f^*`` is finite.
        activation: ``sympy.Lambda`` ``v -> g_f(v)`` mapping all reals into the domain.
        optimal_critic: ``sympy.Lambda`` ``r -> f'(r)``, the critic attaining the variational
            bound at the density ratio ``r = p/q``.
        steps: the certificate, a tuple of :class:`~divergences.symbolic.steps.Step`.
        derivation: the derivation of ``f^*``, a tuple of ``DerivationStep``.

    Example:
        >>> import divergences as dv
        >>> d = dv.get("kl")
        >>> d.conjugate
        Lambda(t, exp(t - 1))
        >>> d.conjugate_domain
        Interval(-oo, oo)
    """

    def __init__(
        self,
        derivation: Derivation,
        entry: Entry,
        parameters: Mapping[str, sp.Expr] | None = None,
    ) -> None:
        values = dict(parameters or {})
        self._derivation = derivation
        self.entry = entry
        self.name = derivation.name
        self.parameters: Mapping[str, sp.Expr] = MappingProxyType(values)
        self.description = entry.description
        self.formula = entry.formula
        self.reference = entry.reference
        self.symmetric: bool | None = entry.symmetric(**values) if entry.facts else None
        self.value_range: sp.Interval | None = entry.value_range(**values) if entry.facts else None

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_generator(
        cls,
        expr: sp.Expr,
        var: sp.Symbol,
        name: str = "custom",
        *,
        allow_offset: bool = False,
        activation: sp.Expr | None = None,
        activation_var: sp.Symbol | None = None,
    ) -> FDivergence:
        """Run the engine on a user's generator ``f(var)``.

        Args:
            expr: a SymPy expression in ``var``, convex on ``(0, oo)`` with ``f(1) = 0``, or the
                same as text (``"(u - 1)**2 / (u + 1)"``), parsed against a whitelist and never
                evaluated (:func:`divergences.symbolic.parse.parse_expression`).
            var: the SymPy symbol of the generator's argument.
            name: a name used in messages and reports.
            allow_offset: accept ``f(1) != 0`` (as the ``gan`` entry needs).
            activation: optional output activation in ``activation_var``; it is certified to map
                all reals into the derived domain. By default it is derived from the domain.

        Raises:
            InvalidGeneratorError: not a function of the one positive variable, a singularity in
                ``(0, oo)``, affine, or ``f(1) != 0`` without ``allow_offset``.
            NotConvexError: not convex on ``(0, oo)``.
            DerivationError: no closed form for ``f^*`` or a failed certificate step.
        """
        act = None
        if activation is not None:
            variable = activation_var if activation_var is not None else v
            # text is data: parsed against a whitelist, never evaluated
            parsed = as_expression(
                activation, {variable.name: variable}, what=f"activation of {name!r}"
            )
            act = parsed.subs(variable, v)
        derivation = derive(
            expr,
            var,
            name,
            allow_offset=allow_offset,
            activation=act,
            activation_source="given by the caller" if act is not None else "",
        )
        # an entry of its own, not registered: no kernel or closed form is attached to it, so
        # the numeric layer uses the functions emitted from this derivation
        entry = Entry(
            name=name,
            generator=lambda: derivation.generator.expr,
            description="user-defined generator",
            allow_offset=allow_offset,
            facts=False,
        )
        return cls(derivation, entry)

    # -- symbolic views -------------------------------------------------------------------------
    @property
    def generator(self) -> sp.Lambda:
        return sp.Lambda(u, self._derivation.generator.expr)

    @property
    def conjugate(self) -> sp.Lambda:
        return sp.Lambda(t, self._derivation.conjugate.expr)

    @property
    def conjugate_domain(self) -> sp.Interval:
        return self._derivation.conjugate.domain

    @property
    def activation(self) -> sp.Lambda:
        return sp.Lambda(v, self._derivation.activation)

    @property
    def activation_source(self) -> str:
        return self._derivation.activation_source

    @property
    def optimal_critic(self) -> sp.Lambda:
        return sp.Lambda(r, self._derivation.optimal_critic)

    @property
    def conjugate_argmax(self) -> sp.Lambda:
        """``t -> u^*(t)``, the maximiser in the conjugate's supremum (``0`` means ``u -> 0+``)."""
        return sp.Lambda(t, self._derivation.conjugate.argmax)

    @property
    def offset(self) -> sp.Expr:
        """``f(1)``: zero except for entries registered with an offset (``gan``: ``-log 4``)."""
        return self._derivation.generator.offset

    @property
    def limits(self) -> Limits:
        """``f(0+)``, ``f'(0+)`` and ``f'(oo) = lim f(u)/u``, derived once (see
        :class:`~divergences.symbolic.generator.Limits`)."""
        return self._derivation.generator.limits

    @property
    def has_offset(self) -> bool:
        return self.offset != 0

    @property
    def steps(self) -> tuple[Step, ...]:
        return self._derivation.steps

    @property
    def derived(self) -> Derivation:
        """Everything derived from the generator (the record the numeric layer compiles)."""
        return self._derivation

    @property
    def derivation(self) -> tuple[DerivationStep, ...]:
        return self._derivation.derivation

    @property
    def verified(self) -> bool:
        """True when every certificate step passed (always, for an object that was built)."""
        return self._derivation.verified

    # -- numeric views (imported lazily: the numeric layer reads the symbolic results) ----------
    @cached_property
    def torch(self) -> Emitted:
        """Torch functions emitted from this divergence's expressions (built on first use).

        See :class:`divergences.numeric.emit.Emitted`: ``generator``, ``conjugate``,
        ``activation``, ``conjugate_of_activation``, ``optimal_critic``, ``perspective``.

        Example:
            >>> import torch, divergences as dv
            >>> dv.get("kl").torch.conjugate_of_activation(torch.tensor([1.0]))  # exp(v - 1)
            tensor([1.])
        """
        from .numeric.emit import emit

        return emit(self._derivation)

    def divergence(self, p: Tensor, q: Tensor, *, validate: bool = True) -> Tensor:
        r""":math:`D_f(P \| Q) = \sum_x q(x) f(p(x)/q(x))` for distributions on the last dimension.

        Batched (leading dimensions broadcast) and differentiable, with :math:`0 \log 0 = 0`,
        ``+inf`` where the divergence is infinite and never ``NaN`` (values or gradients where
        the value is finite); see :mod:`divergences.numeric.discrete`.

        Args:
            p, q: probabilities of shapes ``(..., n)``, same floating dtype and device.
            validate: check that the entries are finite, non-negative and sum to one within
                :func:`~divergences.numeric._checks.normalisation_tolerance` (one host
                synchronisation, and a graph break under ``torch.compile``). ``False`` keeps
                only the shape/dtype checks, for hot loops and compiled code; then a ``NaN``
                entry gives ``NaN``, and a negative entry an unspecified value.

        Returns:
            Tensor of shape ``broadcast(p.shape, q.shape)[:-1]``, in the inputs' dtype.

        Raises:
            InputError: non-tensor, integer/bool dtype, empty last dimension, mismatched shapes,
                dtypes or devices; with ``validate``: NaN/inf, negative or non-normalised entries.

        Example:
            >>> import torch, divergences as dv
            >>> p = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
            >>> q = torch.tensor([0.25, 0.25, 0.5], dtype=torch.float64)
            >>> dv.get("kl").divergence(p, q)  # log 2
            tensor(0.6931, dtype=torch.float64)
        """
        from .numeric.discrete import divergence

        return divergence(self, p, q, validate=validate)

    def __repr__(self) -> str:
        """``FDivergence('alpha', alpha=1/2, f(u) = ...)``: the registry name with every
        parameter value, defaults included (``dv.get("alpha")`` is ``alpha=1/2``), so that the
        repr says which member of a family it is."""
        name = self.entry.name if self.parameters else self.name
        params = "".join(f", {k}={val}" for k, val in self.parameters.items())
        return f"FDivergence({name!r}{params}, f(u) = {self._derivation.generator.expr})"

    # -- reports and notebook display (divergences.render) --------------------------------------
    def report(self, path: str | os.PathLike[str], *, plots: bool = True) -> Path:
        """Write this divergence's derivation page (HTML: MathML, every derivation and
        certificate step with how it was checked, plots) to ``path``: a ``.html`` file, or a
        folder that receives ``<name>.html``. Returns the path written. See
        :func:`divergences.render.write_divergence_page`."""
        from .render import write_divergence_page

        return write_divergence_page(self, path, plots=plots)

    def _card(self, kind: str) -> str:
        """The notebook summary card (:class:`~divergences._notebook.NotebookCard`)."""
        from . import render

        return {"html": render.card_html, "latex": render.card_latex}.get(
            kind, render.card_markdown
        )(self)


def names() -> tuple[str, ...]:
    """The registered divergence names (the built-in ones, then those added by
    :func:`register` or :func:`~divergences.registry.register_entry`, in order)."""
    return tuple(REGISTRY)


_INSTANCES: dict[tuple[object, ...], FDivergence] = {}


def _unknown(name: object) -> KeyError:
    """The ``KeyError`` for an unknown name: the registered names, and the closest ones.

    Names are compared case-insensitively (``"KL"`` suggests ``'kl'``), with
    :func:`difflib.get_close_matches` for misspellings (``"kll"``, ``"jensen"`` finds nothing).
    """
    known = tuple(REGISTRY)
    message = f"unknown divergence {name!r}; registered: {', '.join(known)}"
    if isinstance(name, str):
        lowered = {k.lower(): k for k in known}
        close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
        if close:
            message += "; did you mean " + " or ".join(repr(lowered[c]) for c in close) + "?"
    return KeyError(message)


def get(name: str, **parameters: object) -> FDivergence:
    """The registered divergence ``name``: one object per ``(name, parameters)``, derived on
    first use (and kept in the derivation cache).

    A parametrised family takes its parameters by keyword; a parameter left out takes the
    family's default, shown in the object's repr: ``dv.get("alpha")`` is
    ``dv.get("alpha", alpha=1/2)``, ``FDivergence('alpha', alpha=1/2, f(u) = 2*u - 4*sqrt(u)
    + 2)``, twice the squared Hellinger distance; ``dv.get("js_weighted")`` is ``pi=1/2``.

    Raises:
        KeyError: unknown name; the message lists the registered names and suggests the
            closest ones (``dv.get("KL")``: did you mean 'kl'?).
        InvalidGeneratorError: a parameter is unknown or out of range (e.g. ``alpha=1``).
    """
    if not isinstance(name, str) or name not in REGISTRY:
        raise _unknown(name)
    entry = REGISTRY[name]
    values = entry.resolve(parameters)
    key = (entry, *values.items())
    found = _INSTANCES.get(key)
    if found is not None:
        return found
    derivation = derive(
        entry.generator(**values),
        u,
        entry.label(values),
        allow_offset=entry.allow_offset,
        activation=entry.activation(**values) if entry.activation else None,
        activation_source=entry.activation_source,
        facts=Facts(entry.symmetric(**values), entry.value_range(**values))
        if entry.facts
        else None,
    )
    return _INSTANCES.setdefault(key, FDivergence(derivation, entry, values))


def register(divergence: FDivergence, name: str | None = None) -> FDivergence:
    """Register a user's divergence under ``name`` (default: its own name), so that
    ``dv.get(name)`` returns it, ``dv.names()`` lists it and whatever takes a registered name
    (``TrainConfig(divergence=name)``, the report) can use it.

    The registered divergence is the same derivation (nothing is derived again, and its
    certificate is the one it was built with) under a registry entry of its own
    (:func:`~divergences.registry.register_entry`). That entry takes no parameters: a member of
    a family is registered as one fixed divergence (``register(dv.get("alpha", alpha=2),
    "alpha2")``), keeping the family's hand kernel and its symmetry and range facts.
    Registration lasts for the process; it is not written anywhere.

    Args:
        divergence: an :class:`FDivergence`, e.g. from :meth:`FDivergence.from_generator`.
        name: the registry name, a plain (ASCII, non-keyword) Python identifier that is not
            taken; ``None`` uses ``divergence.name``.

    Returns:
        The registered :class:`FDivergence` (``dv.get(name)``), whose ``entry`` is the new
        registry entry.

    Raises:
        TypeError: ``divergence`` is not an :class:`FDivergence`.
        divergences.registry.RegistrationError: (a ``ValueError``) the name is taken or is not
            a plain identifier.

    Example (it registers "triangle" for the rest of the process):
        >>> import sympy as sp, divergences as dv
        >>> u = sp.Symbol("u", positive=True)
        >>> d = dv.FDivergence.from_generator("(u - 1)**2 / (u + 1)", u, name="triangle")
        >>> dv.register(d) is dv.get("triangle") and "triangle" in dv.names()
        True
    """
    if not isinstance(divergence, FDivergence):
        raise TypeError(f"register takes an FDivergence, got {type(divergence).__name__}")
    name = divergence.name if name is None else name
    source, values = divergence.entry, dict(divergence.parameters)
    derivation = divergence.derived
    expr = derivation.generator.expr
    facts: dict[str, object] = {}
    if source.facts:  # the family's facts, evaluated once for this member
        symmetric, value_range = source.symmetric(**values), source.value_range(**values)
        facts = {"symmetric": lambda: symmetric, "value_range": lambda: value_range}
    entry = Entry(
        name=name,
        generator=lambda: expr,
        description=source.description,
        formula=source.formula,
        reference=source.reference,
        activation=lambda: derivation.activation,
        activation_source=derivation.activation_source,
        allow_offset=source.allow_offset,
        facts=source.facts,
        **facts,  # type: ignore[arg-type]
    )
    register_entry(entry)  # checks the name first: nothing below runs for a refused one
    # the family's hand kernel for these values, looked up when first used (the numeric layer
    # attaches the built-in kernels on import, possibly after this call); None if it has none
    entry.attach_kernel(lambda: source.kernel(values))
    renamed = dataclasses.replace(derivation, name=name)
    return _INSTANCES.setdefault((entry,), FDivergence(renamed, entry, {}))
