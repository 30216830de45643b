r"""Tests of the stability rewrites (:mod:`divergences.numeric.emit.rewrite`): the stable
primitives are in the printed source, and they matter (the textbook formula fails where the
emitted one is within the bound of :mod:`tests.emit.cases`).
"""

from __future__ import annotations

import math

import pytest
import scipy.special
import torch

from divergences.numeric.emit import QUANTITIES
from tests.emit.cases import CASE_BY_ID, CASES, EPS64, F64, exact

# --------------------------------------------------------------------------------------------
# The stability rewrites are in the printed source, and they matter
# --------------------------------------------------------------------------------------------


def _naive_paper_js_composed(v: torch.Tensor) -> torch.Tensor:
    # f*(g(v)) = -log(2 - exp(g)), g = log 2 - exp(-v): the plain composition
    return -torch.log(2 - torch.exp(math.log(2) - torch.exp(-v)))


REWRITES = [
    # (case, quantity, stable primitive in the source, the naive torch formula, where it fails)
    ("gan", "activation", "_s.softplus", lambda v: -torch.log(1 + torch.exp(-v)), -1e4),
    (
        "gan",
        "conjugate_of_activation",
        "_s.softplus",
        lambda v: -torch.log(1 - torch.exp(-torch.log(1 + torch.exp(-v)))),
        50.0,
    ),
    ("gan", "conjugate", "_s.log1mexp", lambda t: -torch.log(1 - torch.exp(t)), -50.0),
    (
        "gan",
        "generator",
        "torch.log1p",
        lambda u: u * torch.log(u) - (u + 1) * torch.log(u + 1),
        1e-300,
    ),
    ("neyman", "activation", "torch.expm1", lambda v: 1 - torch.exp(-v), 1e-12),
    (
        "squared_hellinger",
        "conjugate_of_activation",
        "torch.expm1",
        lambda v: (1 - torch.exp(-v)) / torch.exp(-v),
        1e-12,
    ),
    (
        "js",
        "conjugate_of_activation",
        "_s.softplus",
        lambda v: -0.5 * torch.log(2 - torch.exp(math.log(2) - torch.log(1 + torch.exp(-v)))),
        40.0,
    ),
    ("js", "conjugate", "torch.log1p", lambda t: -0.5 * torch.log(2 - torch.exp(2 * t)), 1e-10),
    (
        "jeffrey",
        "conjugate",
        "_s.omega_log",
        lambda t: (lambda w: w + 1 / w + t - 2)(
            torch.tensor(scipy.special.lambertw(torch.exp(1 - t).numpy()).real)
        ),
        -800.0,
    ),
    (
        "user:paper_js",
        "conjugate_of_activation",
        "_s.log1mexp_negexp",
        _naive_paper_js_composed,
        40.0,
    ),
    (
        "js_weighted=1/4",
        "conjugate_of_activation",
        "_s.log1mexp_negexp",
        lambda v: 0.75 * torch.log(0.75 / (1 - torch.exp(-4 * torch.exp(-v)))),
        88.0,
    ),
]


@pytest.mark.parametrize(
    ("case_id", "quantity", "primitive", "naive", "x"),
    REWRITES,
    ids=[f"{c}-{q}" for c, q, *_ in REWRITES],
)
def test_stability_rewrite(case_id: str, quantity: str, primitive: str, naive, x: float) -> None:
    emitted = CASE_BY_ID[case_id].build().torch
    assert primitive in emitted.source(quantity)
    value, conditioning = exact(case_id, quantity, x)
    point = torch.tensor([x], dtype=F64)
    got = getattr(emitted, quantity)(point).item()
    bound = 4 * EPS64 * float(abs(value) + conditioning)
    assert abs(got - float(value)) <= bound
    # the textbook formula is off by far more, or not finite, at the same point
    with torch.no_grad():
        plain = naive(point).item()
    assert not math.isfinite(plain) or abs(plain - float(value)) > 1e6 * bound, plain


def test_naive_softplus_overflows_where_the_emitted_one_does_not() -> None:
    v = torch.tensor([1e4, -1e4, 30.0], dtype=torch.float32)
    emitted = CASE_BY_ID["gan"].build().torch.conjugate_of_activation(v)  # softplus(v)
    assert torch.isinf(torch.log(1 + torch.exp(v[:1]))).all()
    assert emitted.tolist() == [1e4, 0.0, pytest.approx(30.0, rel=1e-7)]


def test_sources_use_the_stable_primitives() -> None:
    # x log x is printed as xlogy (0 log 0 = 0), Lambert W through the Wright omega function
    assert "torch.xlogy" in CASE_BY_ID["kl"].build().torch.source("generator")
    jeffrey = CASE_BY_ID["jeffrey"].build().torch
    assert "_s.omega_log" in jeffrey.source("conjugate")
    assert "_s.omega_log" in jeffrey.source("conjugate_of_activation")
    for case in CASES:  # no log(1 + ...) or exp(...) - 1 survives in any printed source
        emitted = case.build().torch
        for quantity in QUANTITIES:
            source = emitted.source(quantity)
            assert "torch.log(1.0 +" not in source and "torch.log(1 +" not in source
            assert "(-1.0) + torch.exp(" not in source
