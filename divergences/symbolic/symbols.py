"""The canonical SymPy symbols of the symbolic layer.

``u`` is the likelihood ratio p/q (the generator's argument, u > 0), ``t`` the conjugate's
argument, ``v`` a raw critic output, ``r`` the density ratio at which the optimal critic is
evaluated, ``s`` a positive auxiliary used to state "t lies strictly inside an interval".
"""

from __future__ import annotations

import sympy as sp

u = sp.Symbol("u", positive=True)
t = sp.Symbol("t", real=True)
v = sp.Symbol("v", real=True)
r = sp.Symbol("r", positive=True)
s = sp.Symbol("s", positive=True)

__all__ = ["r", "s", "t", "u", "v"]
