"""The emitter: a compiler from a derivation to numerically stable torch functions.

It takes a :class:`~divergences.symbolic.derivation.Derivation` (never an ``FDivergence``) and
runs one pipeline; each module is one stage and imports only the stages before it:

1. :mod:`.primitives`: the table of functions the emitter knows, one row each (SymPy class,
   elementary definition, torch callable, mpmath reference);
2. :mod:`.rewrite`: stability rewrites and the candidate forms of each branch;
3. :mod:`.printer`: SymPy to torch source ("double where" for piecewise functions), compiled;
4. :mod:`.select`: scores the compiled candidates against mpmath and chooses one per region;
5. :mod:`.emitted`: the :class:`Emitted` functions of a derivation (searched forms cached on disk
   under a hash of this package's source).
"""

from .emitted import QUANTITIES as QUANTITIES
from .emitted import Emitted as Emitted
from .emitted import emit as emit

__all__ = ["QUANTITIES", "Emitted", "emit"]
