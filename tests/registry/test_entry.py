"""The registry: entries, parameters, one object per (name, parameters), closed-form dispatch.

Dispatch is checked against the rule of ``torch.distributions.kl`` (the registration closest in
both method resolution orders wins, the left class first), on small class hierarchies made
here; entries made here are never registered, so the global registry is untouched.
"""

from __future__ import annotations

import pytest
import sympy as sp

import divergences as dv
from divergences import InvalidGeneratorError
from divergences.registry import REGISTRY, Entry, Parameter, exact_parameter, register_entry
from divergences.registry import builtin as entries
from divergences.symbolic.symbols import u


def _entry(name: str = "scratch") -> Entry:
    return Entry(name=name, generator=lambda: (u - 1) ** 2, facts=False)


class Base:
    pass


class Child(Base):
    pass


class GrandChild(Child):
    pass


def test_registry_lists_the_builtin_entries_in_order() -> None:
    assert (
        dv.names()
        == tuple(REGISTRY)
        == (
            "kl",
            "reverse_kl",
            "pearson",
            "neyman",
            "squared_hellinger",
            "jeffrey",
            "js",
            "gan",
            "total_variation",
            "alpha",
            "js_weighted",
        )
    )
    assert REGISTRY["kl"] is entries.KL


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        REGISTRY["mine"] = _entry()  # type: ignore[index]


def test_get_returns_one_object_per_name_and_parameters() -> None:
    assert dv.get("kl") is dv.get("kl")
    assert dv.get("alpha", alpha=2) is dv.get("alpha", alpha=sp.Integer(2))
    assert dv.get("alpha", alpha=0.5) is dv.get("alpha")  # the default, as an exact 1/2
    assert dv.get("alpha", alpha=2) is not dv.get("alpha", alpha=3)
    assert dv.get("js").entry is entries.JS


def test_fdivergence_carries_its_entry_and_facts() -> None:
    d = dv.get("js_weighted", pi=0.3)
    assert d.entry is entries.JS_WEIGHTED
    assert d.parameters == {"pi": sp.Rational(3, 10)}
    assert d.name == "js_weighted(pi=3/10)"
    assert d.symmetric is False
    # the binary entropy of pi = 3/10 in nats (Lin 1991): 0.6108643020548935...
    assert d.value_range.start == 0
    assert float(d.value_range.end) == pytest.approx(0.6108643020548935, rel=1e-15)


def test_user_generator_gets_an_entry_of_its_own() -> None:
    d = dv.FDivergence.from_generator(u * sp.log(u), u, name="kl")
    assert d.entry is not entries.KL and d.entry.name == "kl"
    assert d.entry not in REGISTRY.values()
    assert d.symmetric is None and d.value_range is None


def test_unknown_name_and_bad_parameters_are_refused() -> None:
    with pytest.raises(KeyError, match="registered: kl, reverse_kl"):
        dv.get("KL")
    with pytest.raises(InvalidGeneratorError, match="takes no parameters; got alpha"):
        dv.get("kl", alpha=2)
    with pytest.raises(InvalidGeneratorError, match="alpha must not be 0 or 1"):
        dv.get("alpha", alpha=1)
    with pytest.raises(InvalidGeneratorError, match="pi must lie in"):
        dv.get("js_weighted", pi=1.5)


@pytest.mark.parametrize(
    ("value", "exact"),
    [
        (0.3, sp.Rational(3, 10)),
        (2, sp.Integer(2)),
        (sp.Rational(1, 3), sp.Rational(1, 3)),
        # the simplest fraction that rounds to the float, not its 16-digit decimal
        (1 / 3, sp.Rational(1, 3)),
        (0.35, sp.Rational(7, 20)),
    ],
)
def test_exact_parameter(value: object, exact: sp.Expr) -> None:
    assert exact_parameter("a", value) == exact


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, "1/2", sp.Symbol("x")])
def test_exact_parameter_refuses(value: object) -> None:
    with pytest.raises(InvalidGeneratorError, match="parameter a"):
        exact_parameter("a", value)


def test_register_entry_refuses_a_taken_or_odd_name() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_entry(_entry("kl"))
    with pytest.raises(ValueError, match="identifier"):
        register_entry(_entry("../x"))
    assert "../x" not in REGISTRY


def test_entries_compare_by_identity() -> None:
    assert _entry() != _entry()
    a = _entry()
    assert a == a and len({a, a}) == 1


def test_closed_form_most_specific_dispatch() -> None:
    entry = _entry()

    @entry.register_closed_form(Base, Base)
    def base_base(p: object, q: object) -> str:
        return "base"

    @entry.register_closed_form(Child, Base)
    def child_base(p: object, q: object) -> str:
        return "child-base"

    @entry.register_closed_form(Base, GrandChild)
    def base_grand(p: object, q: object) -> str:
        return "base-grandchild"

    assert entry.closed_form(Base, Base) is base_base
    assert entry.closed_form(Child, Child) is child_base
    assert entry.closed_form(GrandChild, Base) is child_base
    # the left class decides first: (Child, Base) is closer on the left than (Base, GrandChild)
    assert entry.closed_form(GrandChild, GrandChild) is child_base
    assert entry.closed_form(Base, GrandChild) is base_grand
    assert entry.closed_form(int, Base) is None
    assert set(entry.closed_form_families()) == {(Base, Base), (Child, Base), (Base, GrandChild)}


def test_closed_form_lookup_is_memoised_and_invalidated_by_registration() -> None:
    entry = _entry()

    @entry.register_closed_form(Base, Base)
    def general(p: object, q: object) -> str:
        return "general"

    assert entry.closed_form(Child, Child) is general  # memoised now
    assert (Child, Child) in entry._dispatch

    @entry.register_closed_form(Child, Child)
    def special(p: object, q: object) -> str:
        return "special"

    assert entry.closed_form(Child, Child) is special
    entry.unregister_closed_form(Child, Child)
    assert entry.closed_form(Child, Child) is general


def test_closed_forms_are_registered_for_classes_only() -> None:
    with pytest.raises(TypeError, match="classes"):
        _entry().register_closed_form(Base(), Base)  # type: ignore[arg-type]


def test_kernel_factory_is_called_once_per_parameters() -> None:
    entry = Entry(
        name="family",
        generator=lambda a: (u**a - 1 - a * (u - 1)) / (a * (a - 1)),
        parameters=(Parameter("a", sp.Integer(2), lambda a: None, "any"),),
        facts=False,
    )
    calls: list[dict[str, sp.Expr]] = []

    def factory(**values: sp.Expr) -> tuple[str, sp.Expr]:
        calls.append(values)
        return ("kernel", values["a"])

    assert entry.kernel({"a": sp.Integer(2)}) is None
    entry.attach_kernel(factory)
    first = entry.kernel({"a": sp.Integer(2)})
    assert first == ("kernel", 2) and entry.kernel({"a": sp.Integer(2)}) is first
    assert entry.kernel({"a": sp.Integer(3)}) == ("kernel", 3)
    assert calls == [{"a": 2}, {"a": 3}]
    with pytest.raises(ValueError, match="already has a hand kernel"):
        entry.attach_kernel(factory)


def test_analytic_closed_forms_are_found_through_the_entry() -> None:
    from divergences.numeric import analytic

    normal = analytic.NormalParameters
    assert entries.KL.closed_form(normal, normal) is not None
    assert entries.JS.closed_form(normal, normal) is None
    # a user's generator equal to kl, even named "kl", is not given kl's formula
    mine = dv.FDivergence.from_generator(u * sp.log(u), u, name="kl")
    assert not analytic.has_normal_closed_form(mine)
    assert float(analytic.normal_closed_form("kl", 0.0, 1.0, 1.0, 1.0)) == 0.5
    # alpha receives its parameter; at alpha = 2 the alpha-divergence is chi^2 / 2
    # (Cichocki and Amari 2010), and chi^2(N(0,1) || N(1,1)) = e - 1
    half_chi2 = float(analytic.normal_closed_form("alpha", 0.0, 1.0, 1.0, 1.0, alpha=2))
    assert half_chi2 == pytest.approx((sp.E.evalf(30) - 1) / 2, rel=1e-14)
