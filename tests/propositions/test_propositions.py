"""Every proposition's derivation passes, and each catches a wrong input.

The second half feeds each derivation something wrong (a wrong discriminator, constant, critic,
conjugate, loss, Lipschitz constant, claimed value) through ``Proposition.check(**overrides)`` and
asserts that the steps checking that object fail: these tests fail if a derivation stops
checking what it claims to check. Wrong values were chosen by hand; the comment next to each says
why it is wrong.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import sympy as sp
import torch

import divergences as dv
from divergences.losses import gan_generator_loss
from divergences.symbolic.steps import Step
from gan_theory import propositions
from gan_theory.propositions import Proposition, Recorder

REQUIRED = (
    "optimal_discriminator",
    "global_optimum",
    "mle_is_kl",
    "cross_entropy",
    "gibbs",
    "js_bounds",
    "fgan_bound",
    "saturation",
    "disjoint_supports",
    "kantorovich_rubinstein",
)


def failed(steps: tuple[Step, ...], *fragments: str) -> list[str]:
    """Descriptions of the failed steps; each fragment must occur in one of them."""
    bad = [s.description for s in steps if not s.passed]
    for fragment in fragments:
        assert any(fragment in text for text in bad), (fragment, bad)
    return bad


# --------------------------------------------------------------------------------------------
# The library's propositions pass
# --------------------------------------------------------------------------------------------


def test_the_theory_is_complete() -> None:
    assert propositions.names() == REQUIRED
    assert tuple(p.name for p in propositions.all_propositions()) == REQUIRED


@pytest.mark.parametrize("name", REQUIRED)
def test_every_step_passes(name: str) -> None:
    prop = propositions.get(name)
    problems = [f"{s.description} [{s.method}]: {s.detail}" for s in prop.steps if not s.passed]
    assert not problems, "\n".join(problems)
    assert prop.passed


@pytest.mark.parametrize("name", REQUIRED)
def test_each_has_a_derivation_and_an_independent_witness(name: str) -> None:
    prop = propositions.get(name)
    assert prop.title and prop.source and prop.statement
    assert all(isinstance(s, Step) and isinstance(s.relation, sp.Basic) for s in prop.steps)
    assert all(s.method == "symbolic" or s.method.startswith("numeric: ") for s in prop.steps)
    assert any(s.symbolic for s in prop.steps), "no symbolic step"
    assert any("witness" in s.description for s in prop.steps), "no numeric witness"
    assert prop.steps is prop.steps  # cached


def test_fgan_bound_covers_every_registered_divergence() -> None:
    steps = propositions.get("fgan_bound").steps
    for name in dv.names():
        mine = [s for s in steps if s.description.split(":")[0].split("(")[0] == name]
        assert len(mine) == 4, name
        assert "tightness" in mine[0].description
        assert "Fenchel-Young inequality" in mine[1].description


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="optimal_discriminator"):
        propositions.get("no_such_proposition")


# --------------------------------------------------------------------------------------------
# Wrong inputs are caught
# --------------------------------------------------------------------------------------------


def test_wrong_discriminator_fails_proposition_1() -> None:
    prop = propositions.get("optimal_discriminator")
    # p_g counted twice: the maximiser of a log y + b log(1 - y) is a/(a+b), not a/(a+2b)
    steps = prop.check(discriminator=lambda a, b: a / (a + 2 * b))
    failed(steps, "equals the derived D*", "scipy.optimize.minimize_scalar", "grid")
    # the swapped ratio b/(a+b) is the minimiser's mirror image
    failed(prop.check(discriminator=lambda a, b: b / (a + b)), "equals the derived D*")


def test_wrong_constant_or_discriminator_fails_theorem_1() -> None:
    prop = propositions.get("global_optimum")
    # -log 2 instead of -log 4: the game's value at p_g = p_data is 2 * (1/2) log(1/2) summed
    steps = prop.check(constant=-sp.log(2))
    failed(steps, "summing over a 3-point support", "at p_g = p_data: C(G)", "constant + 2 JS")
    # D = 1/2 everywhere is optimal only when p_g = p_data
    steps = prop.check(discriminator=lambda a, b: sp.Rational(1, 2))
    failed(steps, "pointwise at D*", "maximises V(G, .)")
    assert all(s.passed for s in steps if "at p_g = p_data the checked" in s.description)


def test_wrong_gaussian_kl_fails_mle() -> None:
    def without_half(m, s, mu, sigma):  # the closed form without its -1/2
        return sp.log(sigma / s) + (s**2 + (m - mu) ** 2) / (2 * sigma**2)

    steps = propositions.get("mle_is_kl").check(gaussian_kl=without_half)
    failed(steps, "Gaussian family: E_", "scipy.integrate.quad", "expected log-likelihood")


def test_reverse_kl_is_not_the_kl_of_cross_entropy() -> None:
    def reverse(p: np.ndarray, q: np.ndarray) -> float:
        return float(scipy.stats.entropy(q, p))

    steps = propositions.get("cross_entropy").check(kl=reverse)
    bad = failed(steps, "the checked KL")
    assert len(bad) == 2  # the identity with scipy and the infinite case (KL(Q||P) is finite)


def test_a_symmetric_pair_does_not_show_asymmetry() -> None:
    half = sp.Rational(1, 2)
    steps = propositions.get("gibbs").check(pair=((half, half), (half, half)))
    bad = failed(steps, "KL is not symmetric")
    assert len(bad) == 1


def test_wrong_js_bound_fails() -> None:
    prop = propositions.get("js_bounds")
    # log(2)/2 is f(0+) alone, forgetting lim f(u)/u
    failed(prop.check(upper=sp.log(2) / 2), "upper bound", "disjoint supports", "witness")
    # a true but not tight bound is not the claimed one either
    failed(prop.check(upper=1), "upper bound", "disjoint supports")


@pytest.fixture(scope="module")
def kl_only() -> list[dv.FDivergence]:
    return [dv.get("kl")]


def test_non_tight_critic_fails_fgan(kl_only) -> None:
    prop = propositions.get("fgan_bound")
    steps = prop.check(divergences=kl_only, critic=lambda d: sp.Lambda(sp.Symbol("r"), 0))
    failed(steps, "kl: tightness", "kl: witness: the bound at T*")
    r = sp.Symbol("r", positive=True)
    half = prop.check(divergences=kl_only, critic=lambda d: sp.Lambda(r, d.optimal_critic(r) / 2))
    failed(half, "kl: tightness", "kl: witness: the bound at T*")


def test_wrong_conjugate_fails_fgan(kl_only) -> None:
    prop = propositions.get("fgan_bound")
    t = sp.Symbol("t", real=True)
    # exp(t - 2) < exp(t - 1) = f*(t): below the supremum, Fenchel-Young fails
    small = prop.check(divergences=kl_only, conjugate=lambda d: sp.Lambda(t, sp.exp(t - 2)))
    failed(small, "Fenchel-Young inequality", "tightness")
    # exp(t) > f*(t): the inequality holds but the bound is never attained
    large = prop.check(divergences=kl_only, conjugate=lambda d: sp.Lambda(t, sp.exp(t)))
    bad = failed(large, "tightness", "witness: the bound at T*")
    assert not any("Fenchel-Young inequality" in text for text in bad)


def test_swapped_generator_loss_fails_saturation() -> None:
    def swapped(logits: torch.Tensor, saturating: bool) -> torch.Tensor:
        return gan_generator_loss(logits, saturating=not saturating)

    steps = propositions.get("saturation").check(loss=swapped)
    failed(steps, "saturating=True", "saturating=False", "rejects confidently")
    assert all(s.passed for s in steps if s.symbolic)


def test_wrong_wasserstein_or_js_claims_fail_example_1() -> None:
    prop = propositions.get("disjoint_supports")
    theta = sp.Symbol("theta", real=True)
    # theta without the absolute value is negative for theta < 0
    failed(prop.check(w1=lambda th: th), "W1 <= |theta|", "ot.emd2", "dv.wasserstein_1d")
    # theta**2 has zero gradient at 0 and is below |theta| on (-1, 1)
    failed(prop.check(w1=lambda th: th**2), "W1 <= |theta|", "continuous at 0", "ot.emd2")
    # claiming JS = log 2 also at theta = 0 (no jump)
    failed(prop.check(js=lambda th: sp.log(2) + 0 * theta), "theta = 0", "discontinuous")


def test_wrong_lipschitz_constant_breaks_duality() -> None:
    # 2-Lipschitz critics reach 2 W1, not W1
    steps = propositions.get("kantorovich_rubinstein").check(lipschitz=2)
    failed(steps, "exactly, P =", "witness: the dual LP")


# --------------------------------------------------------------------------------------------
# Failures are reported, not raised
# --------------------------------------------------------------------------------------------


def test_a_step_that_raises_is_a_failed_step() -> None:
    rec = Recorder()
    assert not rec.check("boom", sp.Eq(sp.Symbol("x"), 1), "symbolic", lambda: 1 / 0)
    assert rec.check("fine", sp.Eq(sp.Symbol("x"), 1), "symbolic", lambda: True)
    assert [s.passed for s in rec.steps] == [False, True]
    assert "ZeroDivisionError" in rec.steps[0].detail


def test_a_derivation_that_raises_ends_with_a_failed_step() -> None:
    def broken(rec: Recorder) -> None:
        rec.check("first", sp.Symbol("x"), "symbolic", lambda: True)
        raise RuntimeError("no closed form")

    prop = Proposition("broken", "t", "s", "x", broken)
    steps = prop.check()
    assert [s.passed for s in steps] == [True, False]
    assert "no closed form" in steps[-1].detail
    assert not prop.passed
    assert [s.detail for s in prop.failures] == [steps[-1].detail]


def test_a_bad_override_is_reported_not_raised() -> None:
    steps = propositions.get("optimal_discriminator").check(discriminator="not callable")
    assert not all(s.passed for s in steps)
