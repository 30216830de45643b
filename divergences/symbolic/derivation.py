"""The full derivation of one generator: validate, conjugate, activation, critic, certify.

:func:`derive` is pure and cached (see :mod:`.cache`); its result :class:`Derivation` holds only
SymPy objects, registered frozen dataclasses and plain data, so it is stored as JSON
(:mod:`.serialize`). The cache key includes a fingerprint of the engine's sources, so editing any
file of the engine invalidates the cached derivations.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sympy as sp

from ..errors import DerivationError
from .cache import cached, source_fingerprint
from .certificates import certify, range_step, symmetry_step
from .conjugate import Conjugate, conjugate, internal_errors
from .fgan import activation_certificate, default_activation, optimal_critic
from .generator import Generator, from_text, prepare_generator
from .serialize import register_dataclass
from .steps import DerivationStep, Step
from .symbols import u

__all__ = ["Derivation", "Facts", "derive"]

#: the engine's code: every module of this package and the error messages it raises
ENGINE_SOURCES = (Path(__file__).parent, Path(__file__).parent.parent / "errors.py")

DERIVED_ACTIVATION = (
    "derived from the conjugate domain (v on R; b - exp(-v) on (-oo, b) or (-oo, b])"
)


@register_dataclass
@dataclass(frozen=True)
class Facts:
    """Claims about the divergence that the certificate re-checks (registered entries)."""

    symmetric: bool
    value_range: sp.Interval


@register_dataclass
@dataclass(frozen=True)
class Derivation:
    """Everything derived from one generator."""

    name: str
    generator: Generator
    conjugate: Conjugate
    activation: sp.Expr
    activation_source: str
    optimal_critic: sp.Expr
    steps: tuple[Step, ...]

    @property
    def derivation(self) -> tuple[DerivationStep, ...]:
        return self.conjugate.derivation

    @property
    def verified(self) -> bool:
        return all(step.passed for step in self.steps)


def _derive(
    expr: sp.Expr,
    var: sp.Symbol,
    name: str,
    allow_offset: bool,
    activation: sp.Expr | None,
    activation_source: str,
    facts: Facts | None,
) -> Derivation:
    # a SymPy/Python error inside any step is reported as a DerivationError naming it
    with internal_errors(f"generator {name!r}"):
        gen = prepare_generator(expr, var, name, allow_offset=allow_offset)
        conj = conjugate(gen)
        if activation is None:
            activation, activation_source = default_activation(conj.domain), DERIVED_ACTIVATION
        steps = certify(gen, conj)
        steps.append(activation_certificate(activation, conj.domain))
        if facts is not None:
            steps.append(range_step(gen, facts.value_range))
            steps.append(symmetry_step(gen, facts.symmetric))
        result = Derivation(
            name=name,
            generator=gen,
            conjugate=conj,
            activation=activation,
            activation_source=activation_source,
            optimal_critic=optimal_critic(gen),
            steps=tuple(steps),
        )
        failed = [step for step in result.steps if not step.passed]
        if failed:
            lines = "; ".join(f"{s.description} ({s.method}: {s.detail})" for s in failed)
            raise DerivationError(f"generator {name!r}: the certificate failed: {lines}")
        return result


def derive(
    expr: sp.Expr,
    var: sp.Symbol,
    name: str,
    *,
    allow_offset: bool = False,
    activation: sp.Expr | None = None,
    activation_source: str = "",
    facts: Facts | None = None,
) -> Derivation:
    """Derive (or fetch from the cache) every f-GAN quantity of the generator ``expr`` in ``var``.

    Raises:
        InvalidGeneratorError, NotConvexError: the generator is not admissible.
        DerivationError: a closed form could not be found or a certificate step failed.
    """
    # text is parsed before the key is formed: the same generator as text or as an expression
    # is one cache entry
    expr = from_text(expr, var, name)
    if isinstance(var, sp.Symbol) and isinstance(expr, sp.Basic) and var in expr.free_symbols:
        # the cache key does not depend on the caller's name for the variable
        expr_key = sp.srepr(expr.subs(var, u))
    else:
        expr_key = repr((expr, var))
    parts = (
        "derive",
        name,
        expr_key,
        str(allow_offset),
        sp.srepr(activation) if activation is not None else "",
        activation_source,
        repr((facts.symmetric, sp.srepr(facts.value_range))) if facts else "",
    )
    return cached(
        parts,
        lambda: _derive(expr, var, name, allow_offset, activation, activation_source, facts),
        fingerprint=source_fingerprint(*ENGINE_SOURCES),
        check=_is_certified,
    )


def _is_certified(value: object) -> bool:
    """What a derivation read from disk must be: a :class:`Derivation` whose every certificate
    step passed (a failed derivation raises and is never stored) with a relation that is not
    the constant ``False``. Anything else in the file is a miss, and is derived again."""
    return (
        isinstance(value, Derivation)
        and bool(value.steps)
        and all(step.passed is True and step.relation is not sp.false for step in value.steps)
    )
