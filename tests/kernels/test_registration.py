"""Tests of the attachment of hand kernels to registry entries
(:func:`divergences.numeric.kernels.register_kernel`, :meth:`divergences.registry.Entry.kernel`).

* A kernel registered on a fresh, unregistered entry is what ``entry.kernel({})`` returns; a
  second registration and a registration on an entry with parameters raise ``ValueError``.
* The built-in entries without parameters have kernels; the families (``alpha``,
  ``js_weighted``) do not.
* Kernels are found through the entry an ``FDivergence`` carries, never by name or expression:
  a user's generator with the expression and the name of a registered one gets no kernel, and
  the same values (oracle: ``scipy.special.rel_entr``).
"""

from __future__ import annotations

import pytest
import scipy.special
import sympy as sp
import torch

import divergences as dv
from divergences.numeric.kernels import Kernel, register_kernel  # attaches the built-in kernels
from divergences.registry import REGISTRY, Entry, Parameter
from divergences.symbolic.symbols import u

F64 = torch.float64

WITH_KERNEL = [
    "kl",
    "reverse_kl",
    "pearson",
    "neyman",
    "squared_hellinger",
    "jeffrey",
    "js",
    "gan",
    "total_variation",
]
WITHOUT_KERNEL = ["alpha", "js_weighted"]


def _fresh_entry(name: str = "x", **fields: object) -> Entry:
    # never passed to register_entry: the registry is not touched
    return Entry(name=name, generator=lambda: (u - 1) ** 2, facts=False, **fields)


def _squared_difference(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return torch.where(q > 0, torch.square(p - q) / torch.where(q > 0, q, 1.0), 0.0)


def test_registered_kernel_is_returned_by_the_entry() -> None:
    entry = _fresh_entry()
    assert entry.kernel({}) is None
    returned = register_kernel(entry, scale=2.0)(_squared_difference)
    assert returned is _squared_difference  # the decorator returns the function unchanged
    kernel = entry.kernel({})
    assert isinstance(kernel, Kernel)
    assert kernel.terms is _squared_difference and kernel.scale == 2.0
    assert entry.kernel({}) is kernel  # memoised
    p = torch.tensor([0.5, 0.25, 0.25], dtype=F64)
    q = torch.tensor([0.25, 0.5, 0.25], dtype=F64)
    torch.testing.assert_close(kernel(p, q), 2.0 * _squared_difference(p, q), rtol=0, atol=0)
    assert "x" not in REGISTRY


def test_second_registration_raises() -> None:
    entry = _fresh_entry()
    register_kernel(entry)(_squared_difference)
    first = entry.kernel({})
    with pytest.raises(ValueError, match="already has a hand kernel"):
        register_kernel(entry)(_squared_difference)
    assert entry.kernel({}) is first  # the first one is kept


def test_registration_on_an_entry_with_parameters_raises() -> None:
    entry = Entry(
        name="y",
        generator=lambda a: (u - 1) ** 2 * a,
        parameters=(Parameter("a", sp.Rational(1, 2), lambda _: None, "any"),),
        facts=False,
    )
    with pytest.raises(ValueError, match="has parameters"):
        register_kernel(entry)(_squared_difference)
    assert entry.kernel({"a": sp.Rational(1, 2)}) is None


@pytest.mark.parametrize("name", WITH_KERNEL)
def test_builtin_entries_have_kernels(name: str) -> None:
    assert isinstance(REGISTRY[name].kernel({}), Kernel)
    d = dv.get(name)
    assert d.entry is REGISTRY[name]
    assert d.entry.kernel(d.parameters) is REGISTRY[name].kernel({})


@pytest.mark.parametrize("name", WITHOUT_KERNEL)
def test_families_have_no_kernel(name: str) -> None:
    d = dv.get(name)
    assert d.parameters
    assert d.entry.kernel(d.parameters) is None


DISTRIBUTIONS = [
    ([0.5, 0.3, 0.2], [0.2, 0.3, 0.5]),
    ([0.7, 0.2, 0.1, 0.0], [0.1, 0.2, 0.3, 0.4]),
    ([1e-5, 0.25, 0.25, 0.5 - 1e-5], [0.4, 0.1, 0.3, 0.2]),
    ([0.9, 0.1], [1e-3, 1 - 1e-3]),
]


def test_user_generator_with_a_registered_name_gets_no_kernel() -> None:
    x = sp.Symbol("x", positive=True)
    d = dv.FDivergence.from_generator(x * sp.log(x), x, name="kl")
    assert d.entry is not REGISTRY["kl"]
    assert d.entry.kernel(d.parameters) is None
    # the registered kl keeps its kernel
    assert dv.get("kl").entry.kernel({}) is REGISTRY["kl"].kernel({}) is not None
    for p_list, q_list in DISTRIBUTIONS:
        p = torch.tensor(p_list, dtype=F64)
        q = torch.tensor(q_list, dtype=F64)
        expected = float(scipy.special.rel_entr(p.numpy(), q.numpy()).sum())
        got = d.divergence(p, q).item()
        registered = dv.kl(p, q).item()
        assert got == pytest.approx(registered, rel=1e-15, abs=0), (p_list, q_list)
        assert got == pytest.approx(expected, rel=1e-15, abs=0), (p_list, q_list)
