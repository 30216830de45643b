"""The registered divergences: one :class:`Entry` each, with what is attached to it.

``REGISTRY`` maps names to entries (read-only); :func:`register_entry` adds one
(``divergences.register`` adds a user's ``FDivergence``); a taken or odd name is refused with
:class:`RegistrationError`. The built-in
entries (:mod:`.builtin`) are registered on import. See ``docs/extending.md`` for adding a
divergence with a hand kernel.
"""

from . import builtin as builtin
from .entry import REGISTRY as REGISTRY
from .entry import Entry as Entry
from .entry import Parameter as Parameter
from .entry import RegistrationError as RegistrationError
from .entry import exact_parameter as exact_parameter
from .entry import register_entry as register_entry

__all__ = [
    "REGISTRY",
    "Entry",
    "Parameter",
    "RegistrationError",
    "builtin",
    "exact_parameter",
    "register_entry",
]
