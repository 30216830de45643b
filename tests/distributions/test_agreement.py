"""Every method agrees with every other within its stated error, on random parameters.

For random batches of normal and gamma pairs (hypothesis) each divergence is computed by every
method that applies: the closed form (where one is registered; exact), the quadrature (error
estimate ``e_Q``) and Monte Carlo (standard error ``s``). Required:

* closed vs quadrature: ``|D_C - D_Q| <= e_Q + 1e-12 |D_C|`` (the estimate must be honest);
* Monte Carlo vs either: ``|D_MC - D| <= 5 s + e_Q`` (5 standard errors: a false alarm has
  probability 6e-7 per comparison for a normal sampling distribution).

The Monte Carlo estimator's variance is finite only where :math:`\\int p^2/q` is (for these
generators, which grow linearly or faster at infinity), and its standard error is reliable only
well inside that region, so the Monte Carlo pairs have ``Q`` at least as wide as ``P``.
Independent oracles for the closed forms are in ``test_closed_forms.py``.
"""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import distributions as td

import divergences as dv
from divergences.distributions import divergence
from divergences.distributions._registry import find_closed_form

F64 = torch.float64
NORMAL_NAMES = [
    "kl",
    "reverse_kl",
    "js",
    "squared_hellinger",
    "total_variation",
    "pearson",
    "jeffrey",
]
GAMMA_NAMES = ["kl", "js", "squared_hellinger"]

locs = st.floats(-3.0, 3.0)
log_scales = st.floats(-1.2, 1.2)
widen = st.floats(0.0, 1.0)


@st.composite
def normal_batches(draw) -> tuple[td.Normal, td.Normal]:
    rows = draw(st.lists(st.tuples(locs, log_scales, locs, widen), min_size=1, max_size=6))
    m1, l1, m2, w = (torch.tensor(col, dtype=F64) for col in zip(*rows, strict=True))
    s1 = torch.exp(l1)
    return td.Normal(m1, s1), td.Normal(m1 + (m2 - m1) / 3, s1 * torch.exp(w))


@st.composite
def gamma_batches(draw) -> tuple[td.Gamma, td.Gamma]:
    rows = draw(
        st.lists(
            st.tuples(
                st.floats(0.8, 6.0), st.floats(0.3, 3.0), st.floats(1.0, 1.6), st.floats(0.5, 1.0)
            ),
            min_size=1,
            max_size=6,
        )
    )
    a, b, wa, wb = (torch.tensor(col, dtype=F64) for col in zip(*rows, strict=True))
    # Q: a smaller shape and rate, so heavier-tailed than P (finite Monte Carlo variance)
    return td.Gamma(a, b), td.Gamma(a / wa, b * wb)


def _agree(d: dv.FDivergence, p: td.Distribution, q: td.Distribution) -> None:
    quad = divergence(d, p, q, method="quadrature")
    mc = divergence(d, p, q, method="mc", num_samples=3000, generator=0)
    references = [(quad.value, quad.standard_error)]
    if find_closed_form(d, p, q) is not None:
        closed = divergence(d, p, q, method="closed")
        gap = (closed.value - quad.value).abs()
        assert (gap <= quad.standard_error + 1e-12 * closed.value.abs()).all(), (d.name, gap)
        references.append((closed.value, torch.zeros_like(closed.value)))
    for value, error in references:
        assert torch.isfinite(value).all()
        gap = (mc.value - value).abs()
        assert (gap <= 5 * mc.standard_error + error).all(), (d.name, mc.value, value)


#: a third of the profile's examples (each example runs three methods on a batch of pairs)
FEWER = settings(max_examples=max(20, settings().max_examples // 3))


@FEWER
@given(pair=normal_batches(), name=st.sampled_from(NORMAL_NAMES))
def test_methods_agree_on_normal_pairs(pair, name) -> None:
    _agree(dv.get(name), *pair)


@FEWER
@given(pair=gamma_batches(), name=st.sampled_from(GAMMA_NAMES))
def test_methods_agree_on_gamma_pairs(pair, name) -> None:
    _agree(dv.get(name), *pair)


def test_a_value_beyond_the_mc_region_is_still_exact_by_quadrature() -> None:
    # Q narrower than P: Monte Carlo's variance is infinite for pearson, the other two agree
    p, q = (
        td.Normal(torch.tensor(0.0, dtype=F64), torch.tensor(1.0, dtype=F64)),
        td.Normal(torch.tensor(0.3, dtype=F64), torch.tensor(0.8, dtype=F64)),
    )
    closed = divergence("pearson", p, q).value.item()
    quad = divergence("pearson", p, q, method="quadrature")
    assert abs(quad.value.item() - closed) <= quad.standard_error.item() + 1e-12 * closed
    # 2 s2^2 = 1.28 > s1^2 = 1: finite (Nielsen & Nock); s2 = 0.7 gives 0.98 < 1: infinite
    narrow = td.Normal(torch.tensor(0.3, dtype=F64), torch.tensor(0.7, dtype=F64))
    assert divergence("pearson", p, narrow, method="quadrature").value.item() == math.inf
