"""Exceptions raised by the library.

Every error is a :class:`ValueError` subclass whose message names the failing condition, so callers
can catch ``ValueError`` broadly or one of these precisely.
"""

from __future__ import annotations

__all__ = ["DerivationError", "InputError", "InvalidGeneratorError", "NotConvexError"]


class InvalidGeneratorError(ValueError):
    """The expression given as an f-divergence generator is not admissible.

    Raised when ``f(1) != 0`` (without ``allow_offset=True``), when ``f`` is not a function of one
    positive variable, when it is not finite, real and continuous on ``(0, oo)``, or when it is
    affine (the divergence would vanish identically).
    """


class NotConvexError(InvalidGeneratorError):
    """The generator is not convex on ``(0, oo)``."""


class DerivationError(ValueError):
    """The symbolic engine could not derive a quantity in closed form for an admissible generator.

    The message names the step that failed (e.g. inverting ``f'(u) = t``).
    """


class InputError(ValueError):
    """A numeric input is invalid: negative, NaN, non-normalised, mismatched shapes, ..."""
