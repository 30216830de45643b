r"""What a registered divergence is: an :class:`Entry`, its parameters, and what it owns.

An entry is the unit of the library: one divergence lives in one place. It holds the generator
:math:`f` (as a function of the entry's exact parameters), a description, the divergence's formula,
a literature reference and the facts that the certificate re-checks (symmetry, range). Numeric
implementations are *attached* to it by registration decorators in the style of
``torch.distributions.kl.register_kl``:

* a hand-fused perspective kernel :math:`(p, q) \mapsto q f(p/q)`, attached with
  :func:`divergences.numeric.kernels.register_kernel` (without one, the emitted perspective of the
  derived generator is used);
* closed forms between families of distributions, attached with
  :meth:`Entry.register_closed_form` and found by :meth:`Entry.closed_form` with most-specific
  dispatch over the two families' classes (memoised).

Code finds an implementation through the entry object that an :class:`~divergences.FDivergence`
carries, never by matching names or expressions. This module imports nothing numeric: the
kernels and closed forms depend on the entries, not the other way round.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from numbers import Real
from typing import Any

import sympy as sp

from ..errors import InvalidGeneratorError
from ..symbolic.parse import simplest_fraction

__all__ = [
    "REGISTRY",
    "Entry",
    "Parameter",
    "RegistrationError",
    "exact_parameter",
    "register_entry",
]


class RegistrationError(ValueError):
    """A divergence cannot be registered under this name: it is taken, or it is not a plain
    (ASCII, non-keyword) Python identifier."""


@dataclass(frozen=True)
class Parameter:
    """A parameter of a family: its name, default, the values it may not take, a short doc.

    ``check`` returns ``None`` for an admissible exact value, else the reason it is not.
    """

    name: str
    default: sp.Rational
    check: Callable[[sp.Expr], str | None]
    doc: str


def _no(**_: object) -> bool:
    return False


def _unbounded(**_: object) -> sp.Interval:
    return sp.Interval(-sp.oo, sp.oo)


@dataclass(frozen=True, eq=False)
class Entry:
    """One divergence: what it is (symbolic data) and what is attached to it (implementations).

    Callables take the exact parameter values by keyword. Entries compare by identity: two
    entries with the same name are different divergences unless they are the same object.

    Attributes:
        name: the registry name (``dv.get(name)``).
        generator: ``(**parameters) -> f(u)`` in the canonical symbol
            :data:`divergences.symbolic.symbols.u`.
        description: one line in words.
        formula: LaTeX of the divergence in ``p`` and ``q``.
        symmetric: ``(**parameters) -> bool``, re-checked by the certificate.
        value_range: ``(**parameters) -> Interval`` of the values, re-checked.
        reference: where the divergence comes from.
        activation: the literature's f-GAN output activation ``(**parameters) -> g_f(v)``, if
            any (certified to map into the derived domain); else it is derived.
        activation_source: where that activation comes from.
        allow_offset: ``f(1) != 0`` is intended (``gan``).
        parameters: the family's parameters.
        facts: whether ``symmetric``/``value_range`` are claims to certify (registered entries)
            or unknown (an entry made for a user's generator).
    """

    name: str
    generator: Callable[..., sp.Expr]
    description: str = ""
    formula: str = ""
    symmetric: Callable[..., bool] = _no
    value_range: Callable[..., sp.Interval] = _unbounded
    reference: str = ""
    activation: Callable[..., sp.Expr] | None = None
    activation_source: str = ""
    allow_offset: bool = False
    parameters: tuple[Parameter, ...] = ()
    facts: bool = True
    _kernel_factory: Callable[..., Any] | None = field(default=None, repr=False)
    _kernels: dict[tuple[tuple[str, sp.Expr], ...], Any] = field(default_factory=dict, repr=False)
    _closed_forms: dict[tuple[type, type], Callable[..., Any]] = field(
        default_factory=dict, repr=False
    )
    _dispatch: dict[tuple[type, type], Callable[..., Any] | None] = field(
        default_factory=dict, repr=False
    )

    # -- parameters ---------------------------------------------------------------------------
    def resolve(self, given: Mapping[str, object]) -> dict[str, sp.Expr]:
        """Exact values for the entry's parameters (defaults filled in), validated.

        Raises:
            InvalidGeneratorError: an unknown parameter, or a value the family excludes.
        """
        known = {p.name for p in self.parameters}
        unknown = set(given) - known
        if unknown:
            takes = f"takes {', '.join(sorted(known))}" if known else "takes no parameters"
            raise InvalidGeneratorError(
                f"divergence {self.name!r} {takes}; got {', '.join(sorted(unknown))}"
            )
        values = {}
        for param in self.parameters:
            value = exact_parameter(param.name, given.get(param.name, param.default))
            problem = param.check(value)
            if problem:
                raise InvalidGeneratorError(f"divergence {self.name!r}: {problem}")
            values[param.name] = value
        return values

    def label(self, values: Mapping[str, sp.Expr]) -> str:
        """``name`` or ``name(alpha=2)``: how the divergence is named in messages and reports."""
        if not values:
            return self.name
        return self.name + "(" + ", ".join(f"{k}={x}" for k, x in values.items()) + ")"

    # -- the hand kernel ----------------------------------------------------------------------
    def attach_kernel(self, factory: Callable[..., Any]) -> None:
        """Attach ``factory(**parameters) -> kernel or None`` (one per entry).

        Use :func:`divergences.numeric.kernels.register_kernel`, which builds the kernel object;
        this is its low-level hook.

        Raises:
            ValueError: the entry already has a kernel.
        """
        if self._kernel_factory is not None:
            raise ValueError(f"divergence {self.name!r} already has a hand kernel")
        # the one attachment point of a frozen entry (its identity is what code looks up)
        object.__setattr__(self, "_kernel_factory", factory)
        self._kernels.clear()

    def kernel(self, values: Mapping[str, sp.Expr]) -> Any | None:
        """The hand kernel for these exact parameter values, or ``None`` (memoised)."""
        if self._kernel_factory is None:
            return None
        key = tuple(values.items())
        if key not in self._kernels:
            self._kernels[key] = self._kernel_factory(**values)
        return self._kernels[key]

    # -- closed forms -------------------------------------------------------------------------
    def register_closed_form(
        self, p_family: type, q_family: type
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: ``fn(p, q, **parameters)`` is :math:`D_f(P \\| Q)` for ``P`` of class
        ``p_family`` and ``Q`` of class ``q_family`` (subclasses included).

        Example:
            >>> from divergences.registry import REGISTRY
            >>> class Point: ...
            >>> @REGISTRY["kl"].register_closed_form(Point, Point)
            ... def _kl_points(p, q):
            ...     return 0.0
            >>> REGISTRY["kl"].closed_form(Point, Point) is _kl_points
            True
            >>> REGISTRY["kl"].unregister_closed_form(Point, Point)
        """
        if not (isinstance(p_family, type) and isinstance(q_family, type)):
            raise TypeError(
                f"closed forms are registered for classes, got {p_family!r}, {q_family!r}"
            )

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._closed_forms[p_family, q_family] = fn
            self._dispatch.clear()
            return fn

        return decorator

    def unregister_closed_form(self, p_family: type, q_family: type) -> None:
        """Remove a registration (for tests and interactive work)."""
        self._closed_forms.pop((p_family, q_family), None)
        self._dispatch.clear()

    def closed_form(self, p_type: type, q_type: type) -> Callable[..., Any] | None:
        """The most specific closed form registered for ``(p_type, q_type)``, or ``None``.

        Among registrations ``(P, Q)`` with ``p_type`` a subclass of ``P`` and ``q_type`` of
        ``Q``, the one closest in both method resolution orders wins (left first, as in
        ``torch.distributions.kl``); the answer is memoised per pair of types.
        """
        key = (p_type, q_type)
        if key not in self._dispatch:
            self._dispatch[key] = self._most_specific(p_type, q_type)
        return self._dispatch[key]

    def _most_specific(self, p_type: type, q_type: type) -> Callable[..., Any] | None:
        p_mro, q_mro = p_type.__mro__, q_type.__mro__
        matches = [
            (p_mro.index(p), q_mro.index(q), fn)
            for (p, q), fn in self._closed_forms.items()
            if p in p_mro and q in q_mro
        ]
        if not matches:
            return None
        return min(matches, key=lambda m: (m[0], m[1]))[2]

    def closed_form_families(self) -> tuple[tuple[type, type], ...]:
        """The ``(P, Q)`` class pairs with a registered closed form."""
        return tuple(self._closed_forms)


def exact_parameter(name: str, value: object) -> sp.Expr:
    """Turn a user's parameter value into an exact SymPy number (a float by the simplest fraction
    that rounds to it).

    The engine works with exact numbers, so a float is read as the fraction the caller most
    likely meant: the one with the smallest power-of-ten bound on its denominator whose nearest
    double is that float (:func:`~divergences.symbolic.parse.simplest_fraction`). ``0.3``
    becomes ``3/10`` and ``1/3`` becomes ``1/3``, not ``3333333333333333/10000000000000000``,
    whose 16-digit denominator would make every exact computation with ``u**alpha``
    intractable.
    """
    if isinstance(value, bool):
        raise InvalidGeneratorError(f"parameter {name} must be a real number, got {value!r}")
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidGeneratorError(f"parameter {name} must be finite, got {value!r}")
        return simplest_fraction(value)
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, (Real, sp.Basic)):
        exact = sp.sympify(value, strict=True)
        if exact.is_real and exact.is_finite and not exact.free_symbols:
            return exact
    raise InvalidGeneratorError(f"parameter {name} must be a finite real number, got {value!r}")


class _Registry(Mapping[str, Entry]):
    """The registered entries by name, read-only; add one with :func:`register_entry`."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def __getitem__(self, name: str) -> Entry:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"REGISTRY({', '.join(self._entries)})"


#: name -> :class:`Entry`, in registration order
REGISTRY = _Registry()


def register_entry(entry: Entry) -> Entry:
    """Add ``entry`` to :data:`REGISTRY` so that ``dv.get(entry.name)`` finds it.

    Names are plain identifiers (ASCII letters, digits and ``_``, not starting with a digit,
    not a Python keyword): they appear in messages, file names of reports and command lines,
    and stay unambiguous there.

    Raises:
        RegistrationError: (a ``ValueError``) the name is taken, or is not a plain identifier.
    """
    name = entry.name
    if not (isinstance(name, str) and name.isascii() and name.isidentifier()) or (
        keyword.iskeyword(name)
    ):
        raise RegistrationError(
            f"a divergence name must be a plain identifier (ASCII letters, digits and _, "
            f"not starting with a digit, not a keyword), got {name!r}"
        )
    if name in REGISTRY:
        raise RegistrationError(
            f"a divergence named {name!r} is already registered; choose another name"
        )
    REGISTRY._entries[name] = entry
    return entry
