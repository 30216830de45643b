"""The searched forms of the emitter persist in the JSON disk cache.

A value the serializer cannot encode is silently kept in memory only (the cache never fails its
caller), so without this test an unregistered primitive would make every new process search
the forms again. Oracle: the forms themselves, compared through ``srepr`` after a round trip.
"""

from __future__ import annotations

import math

import pytest
import sympy as sp

import divergences as dv
from divergences.numeric.emit import QUANTITIES
from divergences.symbolic import serialize

# between them, every primitive of the table appears in some chosen form
NAMES = ("kl", "js", "gan", "jeffrey", "neyman", "reverse_kl", "total_variation")


@pytest.mark.parametrize("name", NAMES)
def test_searched_forms_round_trip_exactly(name: str) -> None:
    emitted = dv.get(name).torch
    for quantity in QUANTITIES:
        forms = emitted.forms(quantity)
        back = serialize.loads(serialize.dumps(forms))
        assert sp.srepr(back.pieces) == sp.srepr(forms.pieces), quantity
        assert sp.srepr(back.terms) == sp.srepr(forms.terms), quantity
        assert len(back.scores) == len(forms.scores)
        for got, want in zip(back.scores, forms.scores, strict=True):
            assert got == want or (math.isnan(got) and math.isnan(want))


def test_every_primitive_class_is_registered_with_the_serializer() -> None:
    from divergences.numeric.emit.primitives import PRIMITIVES

    x = sp.Symbol("x", real=True)
    for row in PRIMITIVES:
        args = (x, x + 1) if row.name == "xlogy" else (x,)
        expr = row.sympy(*args, evaluate=False)
        assert sp.srepr(serialize.loads(serialize.dumps(expr))) == sp.srepr(expr), row.name
