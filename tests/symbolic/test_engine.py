"""The Legendre-Fenchel engine, certificates and caching.

Expected conjugates here are worked out by hand from the definition
``f*(t) = sup_{u > 0} (u t - f(u))`` in the comments; the registry-wide numeric oracle lives in
``test_conjugate_oracle.py`` and the f-GAN table in ``test_fgan_table.py``.
"""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

import divergences as dv
from divergences.errors import DerivationError
from divergences.symbolic import cache as cache_module
from divergences.symbolic.certificates import certify, domain_step
from divergences.symbolic.conjugate import conjugate
from divergences.symbolic.generator import prepare_generator
from divergences.symbolic.symbols import t, u

x = sp.Symbol("x")
REQUIRED = (
    "kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "jeffrey", "js", "gan",
    "total_variation", "alpha",
)  # fmt: skip


def same(a: sp.Expr, b: sp.Expr) -> bool:
    return sp.simplify(a - b) == 0


def test_names_cover_the_design():
    assert set(REQUIRED) <= set(dv.names())
    assert "js_weighted" in dv.names()


@pytest.mark.parametrize("name", dv.names())
def test_every_registered_derivation_is_certified(name):
    d = dv.get(name)
    assert d.verified
    kinds = " ".join(step.description for step in d.steps)
    for claim in ("Fenchel-Young", "f* is convex", "biconjugate", "f*(f'(1))", "dom f*", "g_f"):
        assert claim in kinds, claim
    for step in d.steps:
        assert step.passed
        assert isinstance(step.relation, sp.Basic)
        assert step.method == "symbolic" or step.method.startswith("numeric: ")
    assert isinstance(d.generator, sp.Lambda)
    assert isinstance(d.conjugate, sp.Lambda)
    assert isinstance(d.activation, sp.Lambda)
    assert isinstance(d.optimal_critic, sp.Lambda)
    assert isinstance(d.conjugate_domain, sp.Interval)


def test_kl_conjugate_by_hand():
    # f = u log u: f'(u) = log u + 1 = t -> u* = e^{t-1}; f* = t e^{t-1} - e^{t-1}(t-1) = e^{t-1}
    d = dv.get("kl")
    assert same(d.conjugate(t), sp.exp(t - 1))
    assert d.conjugate_domain == sp.Interval(-sp.oo, sp.oo)
    assert same(d.optimal_critic(u), sp.log(u) + 1)


def test_pearson_is_piecewise_over_positive_u():
    # f = (u-1)^2, f'(0+) = -2: for t <= -2 the sup is at u -> 0+, f* = -f(0) = -1;
    # above, u* = 1 + t/2 and f* = t + t^2/4 (the f-GAN table's form, valid only for t >= -2)
    f_star = dv.get("pearson").conjugate
    assert f_star(-3) == -1
    assert f_star(-2) == -1
    assert same(f_star(sp.Rational(1, 3)), sp.Rational(1, 3) + sp.Rational(1, 36))


def test_jeffrey_uses_lambert_w():
    # f = (u-1) log u: log u + 1 - 1/u = t -> u* = 1/W(e^{1-t}); f* = W + 1/W + t - 2
    c = dv.get("jeffrey").conjugate(t)
    assert c.has(sp.LambertW)
    w = sp.LambertW(sp.exp(1 - t))
    assert same(c, w + 1 / w + t - 2)


def test_total_variation_domain_is_closed_and_unbounded_below():
    d = dv.get("total_variation")
    assert d.conjugate_domain == sp.Interval(-sp.oo, sp.Rational(1, 2))
    # u t - |u-1|/2 for t < -1/2 is maximal at u -> 0+, value -1/2
    assert d.conjugate(-5) == -sp.Rational(1, 2)
    assert d.conjugate(sp.Rational(1, 4)) == sp.Rational(1, 4)
    assert d.conjugate(1) is sp.oo


@pytest.mark.parametrize(
    ("alpha", "domain"),
    [
        # b = f'(oo) = 1/(1 - alpha) for alpha < 1; at t = b the sup is -(u^a - 1 + a)/(a(a-1)):
        # finite (-1/a) for alpha < 0, infinite for 0 < alpha < 1; no finite b for alpha > 1
        (-1, sp.Interval(-sp.oo, sp.Rational(1, 2))),
        (sp.Rational(1, 2), sp.Interval.open(-sp.oo, 2)),
        (0.3, sp.Interval.open(-sp.oo, sp.Rational(10, 7))),
        (2, sp.Interval(-sp.oo, sp.oo)),
        (3, sp.Interval(-sp.oo, sp.oo)),
    ],
)
def test_alpha_family_on_both_sides_of_one(alpha, domain):
    d = dv.get("alpha", alpha=alpha)
    assert d.conjugate_domain == domain
    assert d.verified


def test_float_parameters_become_exact_rationals():
    assert dv.get("alpha", alpha=0.3).parameters["alpha"] == sp.Rational(3, 10)


def test_user_generator_matches_registered_one_whatever_the_variable():
    mine = dv.FDivergence.from_generator(x * sp.log(x), x, name="my-kl")
    assert same(mine.conjugate(t), dv.get("kl").conjugate(t))
    assert mine.conjugate_domain == dv.get("kl").conjugate_domain
    assert mine.activation_source.startswith("derived from the conjugate domain")


def test_user_hinge_generator():
    # f = max(u - 1, 0): slope 0 on (0, 1), 1 on (1, oo). f'(0+) = 0 -> f* = -f(0+) = 0 for t <= 0;
    # kink at 1 -> f* = t on [0, 1]; at t = b = 1, lim (u - (u - 1)) = 1 is finite: closed.
    d = dv.FDivergence.from_generator(sp.Max(x - 1, 0), x, name="hinge")
    assert d.conjugate_domain == sp.Interval(-sp.oo, 1)
    assert d.conjugate(-3) == 0
    assert d.conjugate(sp.Rational(1, 2)) == sp.Rational(1, 2)
    assert d.conjugate(1) == 1
    assert d.conjugate(2) is sp.oo
    assert d.verified


def test_user_squared_hinge_generator():
    # f = (u - 1)^2 for u > 1, 0 below: t <= 0 -> 0; t > 0 -> u* = 1 + t/2, f* = t + t^2/4
    expr = sp.Piecewise((0, x < 1), ((x - 1) ** 2, True))
    d = dv.FDivergence.from_generator(expr, x, name="sq-hinge")
    assert d.conjugate(-1) == 0
    assert same(d.conjugate(2), 3)
    assert d.conjugate_domain == sp.Interval(-sp.oo, sp.oo)


def test_user_activation_is_certified_and_used():
    v = sp.Symbol("w")
    d = dv.FDivergence.from_generator(
        -sp.log(x), x, name="rkl-logsigmoid", activation=-sp.log(1 + sp.exp(-v)), activation_var=v
    )
    assert d.activation_source == "given by the caller"
    assert any(s.description.startswith("g_f is increasing") and s.passed for s in d.steps)


def test_a_decreasing_user_activation_is_refused():
    # -softplus(v) maps R onto dom f* = (-oo, 0) but is decreasing: not a valid g_f.
    v = sp.Symbol("w")
    with pytest.raises(DerivationError, match="g_f is increasing"):
        dv.FDivergence.from_generator(
            -sp.log(x), x, name="rkl-softplus", activation=-sp.log(1 + sp.exp(v)), activation_var=v
        )


def _with_value(conj, region_index, value):
    regions = list(conj.regions)
    regions[region_index] = dataclasses.replace(regions[region_index], value=value)
    return dataclasses.replace(conj, regions=tuple(regions))


def test_certificate_catches_a_wrong_conjugate():
    gen = prepare_generator(u * sp.log(u), u, "kl")
    right = conjugate(gen)
    wrong = dataclasses.replace(right, expr=sp.exp(t))  # the missing "- 1" a typo would lose
    wrong = _with_value(wrong, 0, sp.exp(t))
    failed = [s.description for s in certify(gen, wrong) if not s.passed]
    assert any("Fenchel-Young" in s for s in failed)
    assert any("biconjugate" in s for s in failed)
    assert any("f*(f'(1))" in s for s in failed)
    assert all(s.passed for s in certify(gen, right))


def test_certificate_catches_a_wrongly_closed_domain():
    gen = prepare_generator((sp.sqrt(u) - 1) ** 2, u, "hellinger")
    right = conjugate(gen)
    assert domain_step(gen, right).passed
    wrong = dataclasses.replace(right, domain=sp.Interval(-sp.oo, 1))
    assert not domain_step(gen, wrong).passed


def test_certificate_catches_a_non_convex_conjugate():
    gen = prepare_generator((u - 1) ** 2, u, "pearson")
    right = conjugate(gen)
    bad = -(t**2) / 4 + t
    wrong = _with_value(
        dataclasses.replace(right, expr=sp.Piecewise((-1, t <= -2), (bad, True))), 1, bad
    )
    steps = {s.description.split(":")[0]: s for s in certify(gen, wrong)}
    convexity = next(s for k, s in steps.items() if k.startswith("f* is convex"))
    assert not convexity.passed


def test_stated_facts_are_checked():
    for name in dv.names():
        d = dv.get(name)
        descriptions = {s.description.split(" (")[0]: s for s in d.steps}
        assert any(k.startswith("range of D_f") for k in descriptions)
        assert any(k.startswith("D_f is") for k in descriptions)
    js = dv.get("js")
    assert js.value_range == sp.Interval(0, sp.log(2))
    assert js.symmetric
    assert not dv.get("kl").symmetric
    assert dv.get("gan").value_range == sp.Interval(-sp.log(4), 0)


def test_gan_entry_is_the_one_with_an_offset():
    offsets = {name: dv.get(name).offset for name in dv.names()}
    assert sp.simplify(offsets.pop("gan") + sp.log(4)) == 0
    assert all(value == 0 for value in offsets.values())


def test_optimal_discriminator():
    d_star, derivation, steps = dv.optimal_discriminator()
    a, b = sp.symbols("a b", positive=True)
    assert same(d_star(a, b), a / (a + b))
    assert all(step.passed for step in steps)
    assert len(derivation) >= 3
    # numeric witness: a log y + b log(1 - y) at y = 0.3/(0.3+0.5) beats nearby y
    va, vb = 0.3, 0.5
    y0 = float(d_star(va, vb))
    import math

    def value(y: float) -> float:
        return va * math.log(y) + vb * math.log(1 - y)

    assert all(value(y0) > value(y0 + h) for h in (-1e-3, 1e-3, -0.1, 0.1))


def test_disk_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(tmp_path))
    # get() keeps one object per name: start from none, so the derivation runs (or loads)
    monkeypatch.setattr(dv.fdivergence, "_INSTANCES", {})
    cache_module.clear_memory_cache()
    first = dv.get("neyman")
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    cache_module.clear_memory_cache()
    monkeypatch.setattr(dv.fdivergence, "_INSTANCES", {})

    def must_not_run(*_args, **_kwargs):
        raise AssertionError("derived again despite the disk cache")

    monkeypatch.setattr("divergences.symbolic.derivation._derive", must_not_run)
    again = dv.get("neyman")
    assert again.conjugate == first.conjugate
    # compared through their printed form (srepr), which a round trip must keep exactly
    relations = [sp.srepr(s.relation) for s in again.steps]
    assert relations == [sp.srepr(s.relation) for s in first.steps]
    assert [s.description for s in again.steps] == [s.description for s in first.steps]
    assert [(s.method, s.passed, s.detail) for s in again.steps] == [
        (s.method, s.passed, s.detail) for s in first.steps
    ]


def test_corrupt_cache_entry_is_rederived(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(dv.fdivergence, "_INSTANCES", {})
    cache_module.clear_memory_cache()
    dv.get("pearson")
    (entry,) = tmp_path.glob("*.json")
    good = entry.read_text()
    entry.write_bytes(b"not json")
    cache_module.clear_memory_cache()
    monkeypatch.setattr(dv.fdivergence, "_INSTANCES", {})
    assert dv.get("pearson").conjugate(-3) == -1
    assert entry.read_text() == good  # rewritten whole


def test_cache_can_be_disabled(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", "off")
    assert cache_module.cache_dir() is None
