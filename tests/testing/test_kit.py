"""Tests of the public testing kit ``divergences.testing``.

* The examples in ``docs/testing.md`` are executed (blocks in order, one namespace) and each
  ``test_*`` function they define runs here as its own test, so the documentation stays true.
* The checks must pass on correct functions and CATCH wrong ones: each wrong function below is
  a known bug pattern (sign error, missing 1/2, wrong bound, NaN at zeros, a conjugate off by
  one, a naive loss), and the test asserts the error names the violated property.
* The strategies produce what they promise (normalised, zeros only when allowed, shapes, dtypes).

Where expected values come from: the bounds log 2 (JS), 1 (TV), 2 (squared Hellinger) are the
library's conventions in DESIGN.md; Fenchel-Young is Rockafellar, Convex Analysis, Thm. 23.5.
"""

from __future__ import annotations

import doctest
import math
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import divergences as dv
import divergences.testing as kit
from divergences.testing import (
    _conjugate,
    _properties,
    _stability,
    _strategies,
    check_conjugate_pair,
    check_divergence_at,
    check_divergence_properties,
    check_loss_stability,
    distribution_pairs,
    extreme_logits,
    normal_parameters,
    probability_vectors,
    registered_divergences,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "testing.md"

# --------------------------------------------------------------------------------------------
# The documentation's examples, run as tests
# --------------------------------------------------------------------------------------------


def _docs_namespace() -> dict[str, object]:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.S)
    namespace: dict[str, object] = {"__name__": "docs_testing_md"}
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), namespace)
    return namespace


_DOCS = _docs_namespace()
_DOC_TESTS = sorted(name for name in _DOCS if name.startswith("test_"))


def test_docs_define_tests() -> None:
    assert len(_DOC_TESTS) >= 10


@pytest.mark.parametrize("name", _DOC_TESTS)
def test_docs_example(name: str) -> None:
    _DOCS[name]()


@pytest.mark.parametrize(
    "module", [kit, _strategies, _properties, _conjugate, _stability], ids=lambda m: m.__name__
)
def test_doctests(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# --------------------------------------------------------------------------------------------
# Reference implementations (plain torch, written here) and wrong variants
# --------------------------------------------------------------------------------------------


def kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    ratio = torch.where(p > 0, p / q, torch.ones_like(p))
    return (p * torch.log(ratio)).sum(-1)


def js(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    m = (p + q) / 2
    return (kl(p, m) + kl(q, m)) / 2


def tv(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return 0.5 * (p - q).abs().sum(-1)


def hellinger2(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    return ((p.sqrt() - q.sqrt()) ** 2).sum(-1)


def test_correct_divergences_pass() -> None:
    check_divergence_properties(kl, max_examples=40)
    check_divergence_properties(
        js, symmetric=True, upper_bound=math.log(2), finite="always", max_examples=40
    )
    check_divergence_properties(
        tv, symmetric=True, upper_bound=1.0, finite="always", max_examples=40
    )
    check_divergence_properties(
        hellinger2, symmetric=True, upper_bound=2.0, finite="always", max_examples=40
    )


def test_numpy_functions_pass() -> None:
    from scipy.special import rel_entr

    def np_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        assert isinstance(p, np.ndarray)
        return rel_entr(p, q).sum(-1)

    check_divergence_properties(np_kl, backend="numpy", max_examples=30)


def test_float32_inputs_pass() -> None:
    check_divergence_properties(
        js, symmetric=True, upper_bound=math.log(2), dtype=torch.float32, max_examples=30
    )


def _wrong(check: dict, fn, match: str) -> None:
    with pytest.raises(AssertionError, match=match) as info:
        check_divergence_properties(fn, max_examples=100, **check)
    message = str(info.value)
    assert "p = [" in message and "q = [" in message  # the counterexample is shown


def test_catches_kl_with_a_sign_error() -> None:
    _wrong({}, lambda p, q: -kl(p, q), "non-negativity")


def test_catches_js_without_the_half() -> None:
    _wrong(
        {"symmetric": True, "upper_bound": math.log(2)}, lambda p, q: 2 * js(p, q), "upper bound"
    )


def test_catches_tv_without_the_half() -> None:
    _wrong({"symmetric": True, "upper_bound": 1.0}, lambda p, q: 2 * tv(p, q), "upper bound")


def test_catches_hellinger_with_a_wrong_bound() -> None:
    # sum (p - q)^2 / (p + q) ... here simply twice the squared Hellinger distance: up to 4
    _wrong(
        {"symmetric": True, "upper_bound": 2.0}, lambda p, q: 2 * hellinger2(p, q), "upper bound"
    )


def test_catches_a_false_symmetry_claim() -> None:
    _wrong({"symmetric": True}, kl, "symmetry")


def test_catches_nan_at_zero_probabilities() -> None:
    def naive_kl(p, q):  # 0 * log(0 / q) = 0 * -inf = nan
        return (p * torch.log(p / q)).sum(-1)

    _wrong({}, naive_kl, "no NaN")


def test_catches_an_infinite_value_on_a_shared_support() -> None:
    def zero_means_infinite(p, q):  # treats any zero probability as "q = 0 < p"
        return torch.where((p == 0).any(-1), math.inf, kl(p, q))

    _wrong({}, zero_means_infinite, "finite")


def test_catches_a_violation_of_data_processing() -> None:
    _wrong({"symmetric": True}, lambda p, q: ((p - q) ** 2).sum(-1), "data processing")


def test_catches_a_non_zero_value_at_equal_distributions() -> None:
    _wrong({}, lambda p, q: kl(p, q) + 0.1, "value at P = Q")


def test_catches_a_value_that_is_not_positive_for_different_distributions() -> None:
    _wrong({}, lambda p, q: 0 * kl(p, q), "positive for P != Q")


def test_catches_a_batching_bug() -> None:
    def flattened(p, q):  # sums over every dimension, not the last one
        return tv(p.reshape(-1), q.reshape(-1))

    _wrong({"symmetric": True}, flattened, "batching")


def test_catches_a_wrong_offset() -> None:
    # the gan entry is 2 JS - log 4: checked with value_at_equal = log 4 instead of -log 4
    _wrong({"value_at_equal": math.log(4)}, lambda p, q: 2 * js(p, q) - math.log(4), "P = Q")


def test_the_gan_offset_passes() -> None:
    check_divergence_properties(
        lambda p, q: 2 * js(p, q) - math.log(4),
        value_at_equal=-math.log(4),
        symmetric=True,
        upper_bound=0.0,
        max_examples=40,
    )


def test_check_divergence_at_on_one_pair() -> None:
    p = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    q = torch.tensor([0.0, 0.5, 0.5], dtype=torch.float64)
    check_divergence_at(js, p, q, symmetric=True, upper_bound=math.log(2), finite="always")
    with pytest.raises(AssertionError, match="upper bound"):
        check_divergence_at(lambda a, b: 4 * js(a, b), p, q, upper_bound=math.log(2))
    with pytest.raises(ValueError, match="1-D"):
        check_divergence_at(js, p[None], q[None])


def test_option_validation() -> None:
    with pytest.raises(ValueError, match="finite"):
        check_divergence_properties(js, finite="sometimes")
    with pytest.raises(ValueError, match="backend"):
        check_divergence_properties(js, backend="jax")
    with pytest.raises(ValueError, match="max_outcomes"):
        check_divergence_properties(js, max_outcomes=0)


# --------------------------------------------------------------------------------------------
# check_conjugate_pair
# --------------------------------------------------------------------------------------------


def _numeric(expr_lambda: sp.Lambda):
    return sp.lambdify(expr_lambda.variables, expr_lambda.expr, "mpmath")


@pytest.mark.parametrize(
    ("name", "params"),
    [(n, {}) for n in dv.names() if n not in ("alpha", "js_weighted")]
    + [("alpha", {"alpha": a}) for a in (-1, 0.5, 2, 3)]
    + [("js_weighted", {"pi": p}) for p in (0.5, 0.25)],
)
def test_derived_conjugates_pass(name: str, params: dict) -> None:
    d = dv.get(name, **params)
    check_conjugate_pair(_numeric(d.generator), _numeric(d.conjugate), domain=d.conjugate_domain)


def test_conjugate_backends() -> None:
    # the same pair as torch, NumPy and Python functions, and with an explicit derivative
    check_conjugate_pair(lambda u: u * torch.log(u), lambda t: torch.exp(t - 1))
    check_conjugate_pair(lambda u: u * np.log(u), lambda t: np.exp(t - 1))
    check_conjugate_pair(
        lambda u: u * math.log(u), lambda t: math.exp(t - 1), derivative=lambda u: math.log(u) + 1
    )


def test_conjugate_off_by_one_is_caught() -> None:
    with pytest.raises(AssertionError, match="Fenchel-Young equality"):
        check_conjugate_pair(lambda u: u * np.log(u), lambda t: np.exp(t - 1) + 1)
    with pytest.raises(AssertionError, match="Fenchel-Young inequality"):
        check_conjugate_pair(lambda u: u * np.log(u), lambda t: np.exp(t - 1) - 1)


def test_conjugate_of_the_wrong_generator_is_caught() -> None:
    # the f-GAN table's JS row (2 JS) against the library's halved generator
    d = dv.get("js")
    f = _numeric(d.generator)
    with pytest.raises(AssertionError, match="Fenchel-Young"):
        check_conjugate_pair(lambda u: 2 * f(u), _numeric(d.conjugate), domain=(-math.inf, 0.34))


def test_conjugate_too_small_between_slopes_is_caught() -> None:
    # TV: f(u) = |u - 1|/2 has slopes -1/2, 0 (at the kink) and 1/2; f*(t) = t on [-1/2, 1/2].
    # This candidate is right at those slopes but too small in between: only the inequality
    # on the domain grid can see it.
    def fstar(t):
        return t - 4 * t**2 * (0.25 - t**2)

    with pytest.raises(AssertionError, match="Fenchel-Young inequality"):
        check_conjugate_pair(lambda u: np.abs(u - 1) / 2, fstar, domain=sp.Interval(-0.5, 0.5))


def test_conjugate_nan_is_caught() -> None:
    with pytest.raises(AssertionError, match="NaN"):
        check_conjugate_pair(
            lambda u: u * np.log(u),
            lambda t: np.where(t > 50, np.nan, np.exp(t - 1)),
            domain=sp.Interval(-sp.oo, sp.oo),
        )


def test_conjugate_rejects_a_bad_grid() -> None:
    with pytest.raises(ValueError, match="positive"):
        check_conjugate_pair(np.log, np.exp, u=[0.0, 1.0])


# --------------------------------------------------------------------------------------------
# check_loss_stability
# --------------------------------------------------------------------------------------------


def test_stable_loss_passes() -> None:
    def bce(real, fake):
        return (
            torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean()
        )

    check_loss_stability(bce, num_inputs=2)


def test_naive_loss_is_caught() -> None:
    def naive(fake):
        return -torch.log(torch.sigmoid(fake)).mean()

    with pytest.raises(AssertionError, match=r"not finite|NaN"):
        check_loss_stability(naive)


def test_dtype_change_is_caught() -> None:
    with pytest.raises(AssertionError, match="dtype not preserved"):
        check_loss_stability(lambda v: torch.nn.functional.softplus(v.double()).mean())


def test_overflowing_loss_passes_when_finiteness_is_not_required() -> None:
    def kl_fgan_generator(v):  # E[exp(v - 1)] overflows at v = 1e4: inf is the exact value
        return torch.exp(v - 1).mean()

    with pytest.raises(AssertionError, match="not finite"):
        check_loss_stability(kl_fgan_generator)
    check_loss_stability(kl_fgan_generator, require_finite=False)


# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------


@given(probability_vectors())
def test_probability_vectors_are_distributions(p: torch.Tensor) -> None:
    assert p.dtype == torch.float64 and p.ndim == 1 and 1 <= p.numel() <= 8
    assert bool((p >= 0).all())
    assert abs(float(p.sum()) - 1) < 1e-14


@given(probability_vectors(5, allow_zeros=False, dtype=np.float32, batch_shape=(2, 3)))
def test_probability_vectors_options(p: np.ndarray) -> None:
    assert isinstance(p, np.ndarray) and p.dtype == np.float32 and p.shape == (2, 3, 5)
    assert np.all(p > 0)
    assert np.allclose(p.sum(-1), 1, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_probability_vectors_low_precision_have_no_underflow(dtype: torch.dtype) -> None:
    @settings(max_examples=30)
    @given(probability_vectors(allow_zeros=False, dtype=dtype))
    def inner(p: torch.Tensor) -> None:
        assert p.dtype == dtype and bool((p > 0).all())

    inner()


@given(distribution_pairs(4, shared_support=True, batch_shape=st.sampled_from([(), (2,)])))
def test_distribution_pairs_shared_support(pair) -> None:
    p, q = pair
    assert p.shape == q.shape and p.shape[-1] == 4
    assert bool(((p > 0) == (q > 0)).all())
    assert bool((p.sum(-1) - 1).abs().max() < 1e-14)


def test_strategies_reach_zeros_and_extremes() -> None:
    seen = {"zero": False, "tiny": False, "different_support": False}

    @settings(max_examples=200)
    @given(distribution_pairs())
    def inner(pair) -> None:
        p, q = pair
        seen["zero"] |= bool((p == 0).any())
        seen["tiny"] |= bool(((p > 0) & (p < 1e-10)).any())
        seen["different_support"] |= bool(((p > 0) != (q > 0)).any())

    inner()
    assert all(seen.values()), seen


@given(normal_parameters())
def test_normal_parameters_univariate(params) -> None:
    loc, scale = params
    assert -10 <= loc <= 10 and 1e-2 <= scale <= 1e2


@given(normal_parameters(dim=3, scale_range=(0.1, 10.0)))
def test_normal_parameters_multivariate(params) -> None:
    loc, cov = params
    eigenvalues = np.linalg.eigvalsh(cov)
    assert loc.shape == (3,) and cov.shape == (3, 3) and np.allclose(cov, cov.T)
    assert np.all(eigenvalues > 0.01 * (1 - 1e-9)) and np.all(eigenvalues < 100 * (1 + 1e-9))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_extreme_logits(dtype: torch.dtype) -> None:
    values: set[float] = set()

    @settings(max_examples=150)
    @given(extreme_logits(dtype=dtype))
    def inner(v: torch.Tensor) -> None:
        assert v.dtype == dtype and bool(torch.isfinite(v).all())
        assert float(v.abs().max()) <= 1e4
        values.update(v.double().tolist())

    inner()
    largest = float(torch.tensor(1e4, dtype=torch.float64).to(dtype))  # 9984 in bfloat16
    assert {largest, -largest} <= values
    threshold = math.log(torch.finfo(dtype).max)
    assert any(abs(abs(x) - threshold) < 0.01 * threshold + 0.1 for x in values)


def test_extreme_logits_rejects_integers() -> None:
    with pytest.raises(ValueError, match="floating"):
        extreme_logits(dtype=torch.int32)


def test_registered_divergences_reach_every_name() -> None:
    seen: set[str] = set()

    @settings(max_examples=150)
    @given(registered_divergences())
    def inner(d) -> None:
        assert isinstance(d, dv.FDivergence)
        seen.add(d.name.split("(")[0])

    inner()
    assert seen == set(dv.names())


def test_registered_divergences_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown"):
        registered_divergences(["kl", "nope"])
