"""``dv.register``, the did-you-mean of ``dv.get`` and the repr of a family member.

Registering changes the process-wide registry, so the registration tests run in a fresh process
(the test session's registry stays the built-in one, which other tests and the report list).
The expected values there are the library's own for the same generator: the registered object
is the derivation it was built from, under a new name.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import divergences as dv


def test_unknown_name_suggests_the_closest_and_still_lists_the_names() -> None:
    with pytest.raises(KeyError) as error:
        dv.get("KL")
    message = error.value.args[0]
    assert message.startswith("unknown divergence 'KL'; registered: kl, reverse_kl, ")
    assert message.endswith("; did you mean 'kl'?")
    for typed, meant in [("Pearson", "'pearson'"), ("totalvariation", "'total_variation'")]:
        with pytest.raises(KeyError, match=f"did you mean {meant}"):
            dv.get(typed)


def test_nothing_close_and_non_strings_get_no_suggestion() -> None:
    for name in ("wasserstein", 3, None):
        with pytest.raises(KeyError) as error:
            dv.get(name)  # type: ignore[arg-type]
        assert "registered: kl" in error.value.args[0]
        assert "did you mean" not in error.value.args[0]


def test_repr_shows_every_parameter_value_defaults_included() -> None:
    assert repr(dv.get("alpha")).startswith("FDivergence('alpha', alpha=1/2, f(u) = ")
    assert dv.get("alpha") is dv.get("alpha", alpha=0.5)
    assert repr(dv.get("alpha", alpha=2)).startswith("FDivergence('alpha', alpha=2, f(u) = ")
    assert repr(dv.get("js_weighted")).startswith("FDivergence('js_weighted', pi=1/2, f(u) = ")
    assert repr(dv.get("kl")) == "FDivergence('kl', f(u) = u*log(u))"


_SCRIPT = textwrap.dedent(
    """
    import doctest

    import pytest
    import sympy as sp
    import torch

    import divergences as dv
    import divergences.fdivergence
    from divergences.registry import REGISTRY, RegistrationError
    from gan_theory.training import TrainConfig, train

    # the module's examples (register's registers "triangle": here, not in the test session)
    result = doctest.testmod(divergences.fdivergence)
    assert result.failed == 0 and result.attempted > 0, result
    assert "triangle" in dv.names()

    u = sp.Symbol("u", positive=True)
    mine = dv.FDivergence.from_generator("(u - 1)**2 / (u + 1)", u, name="triangular")
    builtin = dv.names()

    # registered under its own name: get returns it, names lists it (last)
    registered = dv.register(mine)
    assert registered is dv.get("triangular")
    assert dv.names() == (*builtin, "triangular")
    assert registered.entry is REGISTRY["triangular"]
    assert registered.generator == mine.generator
    assert registered.conjugate == mine.conjugate and registered.steps == mine.steps
    assert registered.symmetric is None  # a user's generator has no stated facts
    p = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    q = torch.tensor([0.25, 0.25, 0.5], dtype=torch.float64)
    torch.testing.assert_close(registered.divergence(p, q), mine.divergence(p, q))

    # under another name; a family member keeps its facts and hand kernel
    alias = dv.register(mine, name="tri")
    assert dv.get("tri") is alias and alias.name == "tri"
    kl_copy = dv.register(dv.get("kl"), "kl_copy")
    assert kl_copy.symmetric is False and kl_copy.entry.kernel({}) is not None
    torch.testing.assert_close(kl_copy.divergence(p, q), dv.kl(p, q))
    a2 = dv.register(dv.get("alpha", alpha=2), "alpha2")
    assert repr(a2) == f"FDivergence('alpha2', f(u) = {dv.get('alpha', alpha=2).generator.expr})"
    assert a2.value_range == dv.get("alpha", alpha=2).value_range

    # refusals: a ValueError subclass naming the problem; the registry is unchanged
    before = dv.names()
    for name, why in [
        ("kl", "already registered"),
        ("triangular", "already registered"),
        ("two words", "plain identifier"),
        ("../x", "plain identifier"),
        ("class", "plain identifier"),
        ("\\u00e9t\\u00e9", "plain identifier"),
        ("", "plain identifier"),
    ]:
        with pytest.raises(RegistrationError, match=why):
            dv.register(mine, name=name)
    assert issubclass(RegistrationError, ValueError) and dv.RegistrationError is RegistrationError
    with pytest.raises(TypeError, match="takes an FDivergence"):
        dv.register("kl")
    assert dv.names() == before

    # training takes the registered name
    config = TrainConfig(
        model="fgan", divergence="triangular", steps=2, batch_size=16, hidden=8, depth=1,
        eval_samples=100, progress=False, plots=False, threads=1, log_every=1,
    )
    assert config.validate().fdivergence() is registered
    result = train(config)
    assert result.step == 2 and "triangular_estimate" in result.final_metrics
    print("REGISTER-OK")
    """
)


def test_register_in_a_fresh_process() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "REGISTER-OK" in done.stdout
