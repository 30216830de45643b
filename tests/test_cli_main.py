"""The ``gan-theory`` command itself: ``--version``, and the did-you-mean of ``propositions``.

The version comes from the installed distribution's metadata (``importlib.metadata``, i.e.
``pyproject.toml``), the one place it is written; ``divergences.__version__`` reads the same.
"""

from __future__ import annotations

from importlib import metadata

import pytest

import divergences as dv
from gan_theory.cli import main


def test_version_comes_from_the_package_metadata(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    version = metadata.version("divergences")
    assert capsys.readouterr().out.strip() == f"gan-theory {version} (divergences)"
    assert dv.__version__ == version


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("Gibbs", "gibbs"), ("crossentropy", "cross_entropy"), ("mle_is_KL", "mle_is_kl")],
)
def test_an_unknown_proposition_gets_the_closest_name(capsys, typed: str, meant: str) -> None:
    assert main(["propositions", typed]) == 2
    err = capsys.readouterr().err
    assert f"unknown {typed}; known: optimal_discriminator" in err
    assert f"{typed!r}: did you mean {meant!r}" in err


def test_nothing_close_gets_no_suggestion(capsys) -> None:
    assert main(["propositions", "gibbs", "zzzz"]) == 2
    err = capsys.readouterr().err
    assert "unknown zzzz" in err and "did you mean" not in err
