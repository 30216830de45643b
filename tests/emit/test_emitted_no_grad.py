"""Regression: the first emission of a divergence may happen inside ``torch.no_grad()``.

The emitter probes candidate forms for ``NaN`` gradients; under ``no_grad`` (a trainer's
evaluation step) that probe used to fail and every candidate was refused with
``DerivationError: no candidate form ... could be emitted`` (found by the training loop).
"""

from __future__ import annotations

import sympy as sp
import torch

import divergences as dv
from divergences import losses


def test_first_emission_under_no_grad() -> None:
    u = sp.Symbol("u", positive=True)
    # a generator of its own (not emitted earlier in the session): 3 x Pearson, piecewise f*
    d = dv.FDivergence.from_generator(3 * (u - 1) ** 2, u, name="pearson_x3_no_grad")
    v_real = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    v_fake = torch.tensor([-7.0, 0.0, 1.0], dtype=torch.float64)
    with torch.no_grad():
        value = losses.fgan_critic_loss(d, v_real, v_fake)

    # f*(t) = sup_u (t u - 3 (u - 1)^2) = t + t^2/12 for t >= -6, else -3 (maximiser at u = 0)
    def conjugate(t: float) -> float:
        return t + t * t / 12 if t >= -6 else -3.0

    expected = -sum(v_real.tolist()) / 3 + sum(conjugate(t) for t in v_fake.tolist()) / 3
    assert torch.isfinite(value)
    torch.testing.assert_close(value, torch.tensor(expected, dtype=torch.float64))
