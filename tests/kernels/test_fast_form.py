r"""The kernels' fast forms and their row-wise certification (``Kernel.divergence`` on the CPU).

``kl``, ``reverse_kl`` and ``js`` first sum a cheap form of every row (one ``log`` per element
for ``kl``) together with a bound on the rounding error of its terms, keep the rows whose bound is
within :data:`~divergences.numeric.kernels.base.CERTIFIED` eps of their value, and recompute the
others from the centred terms. What is checked here:

* the bounds hold: the fast terms, summed exactly (``math.fsum``, so summation is out of the
  picture as in the derivation), are within the bound of the exact sum (``kl``: mpmath at 50
  digits) or of the centred terms summed exactly (``js``);
* the rows returned agree with mpmath (``kl``) and with the centred sum (``js``) to the certified
  margin plus summation;
* rejected rows (nearby distributions, ``P = Q``, infinite or ``NaN`` values) are exactly the
  centred sum's, also in a batch that mixes them with accepted rows over several blocks;
* broadcasting, a single vector, subnormal and overflowing ratios, float32;
* the paths that must not take the fast form (autograd, ``torch.func.vmap``) give the centred
  sum.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch

import divergences as dv
from divergences.numeric.kernels import base
from divergences.numeric.kernels.builtin import (
    _js_fast,
    _js_fast_terms,
    _kl_fast,
    _kl_fast_terms,
    _mixture_centred_inplace,
)
from tests._kernels import KERNELS

F64 = torch.float64
EPS = 2.0**-52
FAST = ("kl", "reverse_kl", "js")


def _dirichlet(rows: int, outcomes: int, concentration: float, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.dirichlet(np.full(outcomes, concentration), size=rows))


def _exact_kl(p: torch.Tensor, q: torch.Tensor) -> mpmath.mpf:
    r""":math:`\sum p \log(p/q)` at 50 digits on the floats as given (``0 log 0 = 0``)."""
    with mpmath.workdps(50):
        return mpmath.fsum(
            mpmath.mpf(a) * mpmath.log(mpmath.mpf(a) / mpmath.mpf(b))
            for a, b in zip(p.tolist(), q.tolist(), strict=True)
            if a > 0
        )


def _nearby(p: torch.Tensor, scale: float) -> torch.Tensor:
    """``p`` moved by a relative ``scale`` and normalised again."""
    moved = p * (1 + scale * torch.sin(torch.arange(p.shape[-1], dtype=p.dtype)))
    return moved / moved.sum(-1, keepdim=True)


def _margin(value: float, outcomes: int) -> float:
    """The certified margin plus a pairwise summation's (both forms sum with torch)."""
    return (base.CERTIFIED + 2 * math.ceil(math.log2(outcomes))) * EPS * abs(value)


@pytest.mark.parametrize("concentration", [0.05, 1.0, 30.0])
def test_kl_bound_holds_for_the_terms_summed_exactly(concentration: float) -> None:
    p, q = _dirichlet(6, 300, concentration, 1), _dirichlet(6, 300, concentration, 2)
    q[4] = _nearby(p[4], 1e-6)  # a row whose bound is far above its value
    p[5, :7] = 0.0  # zero probabilities: their terms are 0
    p[5] /= p[5].sum()
    _, bound = _kl_fast(p, q)
    terms = _kl_fast_terms(p, q)
    ratio = torch.div(p, q)
    assert torch.equal(terms, ratio.clamp_min(2.0**-1074).log() * p)  # what the bound is about
    for row in range(p.shape[0]):
        error = abs(mpmath.mpf(math.fsum(terms[row].tolist())) - _exact_kl(p[row], q[row]))
        assert error <= bound[row].item(), (row, float(error), bound[row].item())


@pytest.mark.parametrize("concentration", [0.05, 1.0, 30.0])
def test_js_bound_holds_against_the_centred_terms(concentration: float) -> None:
    p, q = _dirichlet(6, 300, concentration, 3), _dirichlet(6, 300, concentration, 4)
    q[3] = _nearby(p[3], 1e-1)  # most pairs in the near class
    q[4] = _nearby(p[4], 1e-8)
    q[5] = p[5]
    _, bound = _js_fast(p, q)
    fast_terms, _ = _js_fast_terms(p, q)
    centred_terms = _mixture_centred_inplace(p, q)
    for row in range(p.shape[0]):
        gap = math.fsum(fast_terms[row].tolist()) - math.fsum(centred_terms[row].tolist())
        assert abs(gap) * 0.5 <= bound[row].item(), (row, gap, bound[row].item())


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("concentration", [0.05, 1.0, 30.0])
def test_rows_agree_with_the_centred_sum(name: str, concentration: float) -> None:
    p, q = _dirichlet(40, 500, concentration, 5), _dirichlet(40, 500, concentration, 6)
    ours = getattr(dv, name)(p, q)
    centred = KERNELS[name]._accurate(p, q)
    for a, b in zip(ours.tolist(), centred.tolist(), strict=True):
        assert a == b or abs(a - b) <= _margin(b, 500) * 2, (a, b)


def test_kl_rows_agree_with_mpmath() -> None:
    p, q = _dirichlet(8, 200, 1.0, 7), _dirichlet(8, 200, 1.0, 8)
    ours = dv.kl(p, q)
    for row in range(8):
        exact = _exact_kl(p[row], q[row])
        assert abs(ours[row].item() - exact) <= _margin(float(exact), 200), row


@pytest.mark.parametrize("name", FAST)
def test_rejected_rows_are_the_centred_sum_over_several_blocks(name: str) -> None:
    outcomes = 1000
    block = KERNELS[name].fast_block
    rows = 3 * block // outcomes + 5  # several blocks, the last one short
    p, q = _dirichlet(rows, outcomes, 1.0, 9), _dirichlet(rows, outcomes, 1.0, 10)
    near = torch.arange(rows) % 7 == 3
    q[near] = _nearby(p[near], 1e-9)
    # a whole block of nearby rows, then one of far rows: the form switches both ways
    first_block = block // outcomes
    q[:first_block] = _nearby(p[:first_block], 1e-5)
    near[:first_block] = True
    q[5] = p[5]
    ours = getattr(dv, name)(p, q)
    kernel = KERNELS[name]
    for row in range(rows):
        # floored at f(1) = 0 as the public function does (Jensen)
        expected = max(kernel._accurate(p[row], q[row]).item(), 0.0)
        if near[row]:
            assert ours[row].item() == expected, row
        else:
            assert abs(ours[row].item() - expected) <= _margin(expected, outcomes) * 2, row
    assert ours[5].item() == 0.0


@pytest.mark.parametrize("name", FAST)
def test_broadcast_and_single_vectors(name: str) -> None:
    p, q = _dirichlet(1, 64, 1.0, 11)[0], _dirichlet(9, 64, 1.0, 12).reshape(3, 3, 64)
    function = getattr(dv, name)
    ours = function(p, q)
    assert ours.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            single = function(p, q[i, j])
            assert single.shape == ()
            assert ours[i, j].item() == pytest.approx(single.item(), rel=4 * EPS)


def test_kl_special_values() -> None:
    # a subnormal ratio, an overflowing ratio (the centred sum takes the row), q = 0 < p, and
    # p = q = 0 (the fast form's 0/0 is NaN: the centred sum gives 0 for the pair)
    p = torch.tensor(
        [
            [1e-310, 1.0 - 1e-310],
            [1.0 - 5e-324, 5e-324],
            [0.5, 0.5],
            [0.0, 1.0],
        ],
        dtype=F64,
    )
    q = torch.tensor(
        [[0.5, 0.5], [5e-324, 1.0 - 5e-324], [1.0, 0.0], [0.0, 1.0]],
        dtype=F64,
    )
    ours = dv.kl(p, q).tolist()
    for row in (0, 1):
        assert ours[row] == pytest.approx(float(_exact_kl(p[row], q[row])), rel=4 * EPS)
    assert ours[1] == pytest.approx(744.4400719213812, rel=4 * EPS)
    assert ours[2] == math.inf
    assert ours[3] == 0.0


def test_nan_stays_nan_without_validation() -> None:
    p = torch.tensor([[0.5, math.nan], [0.5, 0.5]], dtype=F64)
    q = torch.tensor([[0.5, 0.5], [0.25, 0.75]], dtype=F64)
    for name in FAST:
        ours = getattr(dv, name)(p, q, validate=False)
        assert math.isnan(ours[0].item())
        assert math.isfinite(ours[1].item())


@pytest.mark.parametrize("name", FAST)
def test_float32(name: str) -> None:
    p, q = _dirichlet(16, 100, 1.0, 13), _dirichlet(16, 100, 1.0, 14)
    ours = getattr(dv, name)(p.float(), q.float())
    reference = getattr(dv, name)(p, q)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours.double(), reference, rtol=64 * 2.0**-23, atol=0.0)


@pytest.mark.parametrize("name", FAST)
def test_autograd_and_vmap_take_the_centred_sum(name: str) -> None:
    p, q = _dirichlet(4, 50, 1.0, 15), _dirichlet(4, 50, 1.0, 16)
    kernel = KERNELS[name]
    centred = kernel._accurate(p, q)
    tracked = getattr(dv, name)(p.clone().requires_grad_(), q).detach()
    assert torch.equal(tracked, centred)
    mapped = torch.func.vmap(lambda a, b: getattr(dv, name)(a, b, validate=False))(p, q)
    rows = torch.stack([kernel._accurate(a, b) for a, b in zip(p, q, strict=True)])
    torch.testing.assert_close(mapped, rows, rtol=4 * EPS, atol=0.0)
    assert not base.fast_form_applies(p.clone().requires_grad_(), q)
