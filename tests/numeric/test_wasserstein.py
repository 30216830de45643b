"""Tests of divergences.numeric.wasserstein.

Where expected values come from:
- scipy.stats.wasserstein_distance: W1 from the CDF formula, integral of |F(t) - G(t)| dt, an
  independent derivation from our quantile formula (weighted and unweighted);
- ot.wasserstein_1d: POT's 1-D solver for general p (it returns W_p^p, not W_p);
- ot.emd2 on NumPy arrays: POT's exact network simplex, for the n-D distances;
- closed forms: W_p(mu, mu shifted by c) = |c| for every p; W2 between two normals is
  sqrt((m1 - m2)^2 + (s1 - s2)^2) (Dowson & Landau 1982; Olkin & Pukelsheim 1982).

Tolerances: float64 results that only differ from the oracle by summation order are compared
with rtol=1e-10 (a few hundred terms, each rounding ~1e-16 relative, leaves orders of magnitude of
margin while any wrong weight, index or power changes the result at the 1e-2 level or more).
"""

from __future__ import annotations

import doctest

import numpy as np
import ot
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import divergences.numeric.wasserstein as wasserstein_module
from divergences.errors import InputError
from divergences.numeric import sliced_wasserstein, wasserstein_1d, wasserstein_nd

F64 = torch.float64
RTOL = 1e-10

# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

sample_values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
weight_values = st.floats(0.0, 10.0, allow_nan=False, allow_infinity=False)


def sample_arrays(min_size: int = 1, max_size: int = 40) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, st.integers(min_size, max_size), elements=sample_values)


@st.composite
def weighted_samples(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Samples with non-negative weights whose total is bounded away from zero."""
    samples = draw(sample_arrays())
    weights = draw(hnp.arrays(np.float64, samples.shape, elements=weight_values))
    weights[draw(st.integers(0, samples.size - 1))] += 1.0
    return samples, weights


def t(array: np.ndarray | list[float]) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array, dtype=np.float64))


def close(actual: torch.Tensor | float, expected: float, rtol: float = RTOL) -> bool:
    value = actual.detach().item() if isinstance(actual, torch.Tensor) else actual
    return bool(np.isclose(value, expected, rtol=rtol, atol=1e-9))


# --------------------------------------------------------------------------------------------
# wasserstein_1d: agreement with independent implementations
# --------------------------------------------------------------------------------------------


@settings(deadline=None)
@given(sample_arrays(), sample_arrays())
def test_w1_matches_scipy_unweighted(x: np.ndarray, y: np.ndarray) -> None:
    expected = scipy.stats.wasserstein_distance(x, y)
    assert close(wasserstein_1d(t(x), t(y)), expected)


@settings(deadline=None)
@given(weighted_samples(), weighted_samples())
def test_w1_matches_scipy_weighted(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
) -> None:
    (x, a), (y, b) = first, second
    expected = scipy.stats.wasserstein_distance(x, y, a, b)
    assert close(wasserstein_1d(t(x), t(y), 1, t(a), t(b)), expected)


@settings(deadline=None)
@given(weighted_samples(), weighted_samples(), st.sampled_from([1.0, 1.5, 2.0, 3.0]))
def test_wp_matches_pot_weighted(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray], p: float
) -> None:
    (x, a), (y, b) = first, second
    expected_cost = ot.wasserstein_1d(x, y, a / a.sum(), b / b.sum(), p=p)  # W_p^p
    actual = wasserstein_1d(t(x), t(y), p, t(a), t(b))
    # POT's cumulative weights need not end exactly at 1, so a sliver of mass of order
    # (n + m) * eps may be sent across the whole span: an absolute error up to that times
    # span^p in POT's value (see test_zero_weight_far_away_costs_exactly_nothing).
    span = 2 * max(np.abs(x).max(), np.abs(y).max()) + 1
    oracle_error = 4 * (x.size + y.size) * np.finfo(np.float64).eps * span**p
    assert abs(actual.item() ** p - expected_cost) <= 1e-9 * expected_cost + oracle_error


@pytest.mark.parametrize("p", [1, 2, 2.5])
def test_equal_size_fast_path_agrees_with_general_path(p: float) -> None:
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(2, 50, generator=generator, dtype=F64)
    fast = wasserstein_1d(x, y, p)
    general = wasserstein_1d(x, y, p, torch.ones(50, dtype=F64), torch.ones(50, dtype=F64))
    torch.testing.assert_close(fast, general, rtol=1e-12, atol=0)
    expected_cost = ot.wasserstein_1d(x.numpy(), y.numpy(), p=p)
    assert close(fast**p, expected_cost)


def test_zero_weight_far_away_costs_exactly_nothing() -> None:
    # The weights 1/6 + 4/6 + 1/6 sum to 1 - 1.1e-16 in floating point; a solver that trusts the
    # normalised cumulative sum moves that sliver to 209 (POT returns ~1e-9 for W_3^3 here).
    # Dividing the cumulative sum by its own last entry makes both ends exactly 1.
    x, y = t([0.0]), t([0.0, 0.0, 0.0, 209.0])
    assert wasserstein_1d(x, y, 3, t([1.0]), t([1.0, 4.0, 1.0, 0.0])).item() == 0.0


def test_known_small_values() -> None:
    # Half the mass moves from 0 to 1 (cost 1/2) in the first; the quantile functions of
    # {0, 1} and {0} differ by 1 on (1/2, 1], so W2 = sqrt(1/2).
    assert wasserstein_1d(t([0.0, 1.0]), t([0.0])).item() == 0.5
    assert close(wasserstein_1d(t([0.0, 1.0]), t([0.0]), p=2), np.sqrt(0.5))
    # Weight 3/4 at 0 vs uniform on {0, 1}: 1/4 of the mass moves by 1.
    assert close(wasserstein_1d(t([0.0, 1.0]), t([0.0, 1.0]), 1, t([3.0, 1.0])), 0.25)
    # Zero weight removes a sample entirely.
    assert close(wasserstein_1d(t([0.0, 100.0]), t([0.0]), 1, t([1.0, 0.0])), 0.0)


# --------------------------------------------------------------------------------------------
# wasserstein_1d: closed forms
# --------------------------------------------------------------------------------------------


@settings(deadline=None)
@given(sample_arrays(), st.floats(-100, 100), st.sampled_from([1.0, 1.5, 2.0, 4.0]))
def test_translation_moves_every_quantile_by_the_shift(
    x: np.ndarray, shift: float, p: float
) -> None:
    xt = t(x)
    assert close(wasserstein_1d(xt, xt + shift, p), abs(shift), rtol=1e-9)


def _normal_quantile_grid(mean: float, std: float, n: int) -> torch.Tensor:
    levels = (np.arange(n) + 0.5) / n
    return t(mean + std * scipy.stats.norm.ppf(levels))


def test_w1_between_normals_with_equal_scale_is_mean_gap() -> None:
    # Quantile grids of N(1, 2) with 10_000 points and N(-2.5, 2) with 7_000 points: the
    # quantile functions differ by exactly 3.5 up to the grids' discretisation (< 1e-3 here).
    x = _normal_quantile_grid(1.0, 2.0, 10_000)
    y = _normal_quantile_grid(-2.5, 2.0, 7_000)
    assert abs(wasserstein_1d(x, y).item() - 3.5) < 1e-3


def test_w2_between_normals_matches_closed_form() -> None:
    # W2(N(m1, s1^2), N(m2, s2^2)) = sqrt((m1 - m2)^2 + (s1 - s2)^2); the grid truncates the
    # tails, which biases the second moment by ~(log n)/n, below 1e-3 for n = 100_000.
    x = _normal_quantile_grid(0.5, 1.0, 100_000)
    y = _normal_quantile_grid(-1.0, 3.0, 100_000)
    expected = np.sqrt(1.5**2 + 2.0**2)
    assert abs(wasserstein_1d(x, y, p=2).item() - expected) / expected < 1e-3


# --------------------------------------------------------------------------------------------
# wasserstein_1d: metric properties
# --------------------------------------------------------------------------------------------


@settings(deadline=None)
@given(weighted_samples(), weighted_samples(), st.sampled_from([1.0, 2.0, 3.0]))
def test_symmetry(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray], p: float
) -> None:
    (x, a), (y, b) = first, second
    forward = wasserstein_1d(t(x), t(y), p, t(a), t(b))
    backward = wasserstein_1d(t(y), t(x), p, t(b), t(a))
    assert close(forward, float(backward), rtol=1e-12)


@settings(deadline=None)
@given(sample_arrays(), sample_arrays(), sample_arrays(), st.sampled_from([1.0, 2.0, 3.0]))
def test_triangle_inequality(x: np.ndarray, y: np.ndarray, z: np.ndarray, p: float) -> None:
    xy = wasserstein_1d(t(x), t(y), p).item()
    yz = wasserstein_1d(t(y), t(z), p).item()
    xz = wasserstein_1d(t(x), t(z), p).item()
    assert xz <= xy + yz + 1e-9 * (1 + xz)


@settings(deadline=None)
@given(sample_arrays(), sample_arrays(), st.floats(-100, 100), st.floats(-10, 10))
def test_translation_invariance_and_homogeneity(
    x: np.ndarray, y: np.ndarray, shift: float, scale: float
) -> None:
    base = wasserstein_1d(t(x), t(y)).item()
    moved = wasserstein_1d(t(x) + shift, t(y) + shift).item()
    scaled = wasserstein_1d(t(x) * scale, t(y) * scale).item()
    assert np.isclose(moved, base, rtol=1e-9, atol=1e-9)
    assert np.isclose(scaled, abs(scale) * base, rtol=1e-9, atol=1e-9)


@settings(deadline=None)
@given(sample_arrays(min_size=2), st.randoms(use_true_random=False))
def test_permutation_and_duplication_do_not_change_the_distribution(x: np.ndarray, rnd) -> None:
    shuffled = x.copy()
    rnd.shuffle(shuffled)
    assert wasserstein_1d(t(x), t(shuffled)).item() == 0.0
    # Every sample twice is the same empirical distribution (different sizes: general path).
    assert close(wasserstein_1d(t(x), t(np.concatenate([x, x]))), 0.0)


def test_distinct_distributions_are_positive() -> None:
    assert wasserstein_1d(t([0.0, 1.0]), t([0.0, 1.0 + 1e-9])).item() > 0


# --------------------------------------------------------------------------------------------
# wasserstein_1d: batching, dtypes, devices
# --------------------------------------------------------------------------------------------


def test_batched_equals_row_by_row_with_broadcasting() -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, 9, generator=generator, dtype=F64)
    y = torch.randn(4, 6, generator=generator, dtype=F64)  # broadcasts over the first dim
    y_weights = torch.rand(6, generator=generator, dtype=F64) + 0.1  # shared by every row
    batched = wasserstein_1d(x, y, 2, y_weights=y_weights, batched=True)
    assert batched.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            expected = ot.wasserstein_1d(
                x[i, j].numpy(), y[j].numpy(), None, (y_weights / y_weights.sum()).numpy(), p=2
            )
            assert close(batched[i, j] ** 2, expected)


@pytest.mark.parametrize(
    ("dtype", "rtol"),
    # Computed in float32 and rounded once to the output dtype: half an ulp of the output.
    [(torch.float16, 2.0**-11), (torch.bfloat16, 2.0**-8), (torch.float32, 1e-6)],
)
def test_low_precision_keeps_dtype_and_is_accurate(dtype: torch.dtype, rtol: float) -> None:
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(3000, generator=generator).to(dtype)
    y = (torch.randn(2000, generator=generator) + 0.5).to(dtype)
    result = wasserstein_1d(x, y)
    assert result.dtype == dtype
    reference = scipy.stats.wasserstein_distance(x.double().numpy(), y.double().numpy())
    assert abs(result.double().item() - reference) <= rtol * reference + 1e-6


def test_mixed_float_dtypes_promote() -> None:
    result = wasserstein_1d(torch.tensor([0.0, 1.0]), torch.tensor([2.0], dtype=F64))
    assert result.dtype == F64
    assert result.item() == 1.5


def test_no_host_sync_without_validation() -> None:
    # Meta tensors have no data: any .item(), .tolist() or numpy conversion would raise.
    x = torch.empty(5, 100, device="meta")
    y = torch.empty(5, 70, device="meta")
    weights = torch.empty(70, device="meta")
    result = wasserstein_1d(x, y, 2, y_weights=weights, validate=False, batched=True)
    assert result.shape == (5,)
    assert result.device.type == "meta"
    with pytest.raises(InputError, match="meta tensor"):  # validation does read values back
        wasserstein_1d(x, y, batched=True)


def test_traces_into_one_graph_with_default_validation() -> None:
    # fullgraph=True fails on a graph break: the value checks (one host read) must be skipped
    # while compiling. aot_eager traces without code generation, which keeps this fast.
    compiled = torch.compile(
        lambda a, b, w: wasserstein_1d(a, b, 2, y_weights=w, batched=True),
        fullgraph=True,
        backend="aot_eager",
    )
    generator = torch.Generator().manual_seed(9)
    x, y = torch.randn(3, 12, generator=generator), torch.randn(9, generator=generator)
    w = torch.rand(9, generator=generator) + 0.1
    expected = wasserstein_1d(x, y, 2, y_weights=w, batched=True)
    torch.testing.assert_close(compiled(x, y, w), expected)


def test_vmap_and_func_grad_match_batched_call() -> None:
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(4, 8, generator=generator, dtype=F64)
    y = torch.randn(4, 5, generator=generator, dtype=F64)

    def distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return wasserstein_1d(a, b, 2, validate=False)

    batched = wasserstein_1d(x, y, 2, batched=True)
    torch.testing.assert_close(torch.func.vmap(distance)(x, y), batched)
    x0 = x[0].clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(wasserstein_1d(x0, y[0], 2), x0)
    torch.testing.assert_close(torch.func.grad(distance)(x[0], y[0]), expected)


# --------------------------------------------------------------------------------------------
# wasserstein_1d: gradients
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 1.5, 2, 3])
def test_gradcheck_samples_and_weights(p: float) -> None:
    # Well-separated random values: no ties and no kink (x_(i) = y_(j)) within gradcheck's step.
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(7, generator=generator, dtype=F64).requires_grad_(True)
    y = (torch.randn(5, generator=generator, dtype=F64) + 0.3).requires_grad_(True)
    a = (torch.rand(7, generator=generator, dtype=F64) + 0.5).requires_grad_(True)
    b = (torch.rand(5, generator=generator, dtype=F64) + 0.5).requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda *args: wasserstein_1d(*args[:2], p, *args[2:]), (x, y, a, b)
    )


def test_gradient_of_w1_under_a_shift_is_uniform() -> None:
    # W1(x, x - c) = c for c > 0: moving any x_i right by d moves W1 by d / n.
    x = torch.tensor([0.0, 2.0, 5.0, 9.0], dtype=F64, requires_grad=True)
    (gradient,) = torch.autograd.grad(wasserstein_1d(x, x.detach() - 1.0), x)
    torch.testing.assert_close(gradient, torch.full((4,), 0.25, dtype=F64))


@pytest.mark.parametrize("p", [1.5, 2, 3])
def test_gradient_is_zero_not_nan_at_zero_distance(p: float) -> None:
    x = torch.tensor([0.0, 1.0, 3.0], dtype=F64, requires_grad=True)
    distance = wasserstein_1d(x, x.detach().flip(0), p)
    (gradient,) = torch.autograd.grad(distance, x)
    assert distance.item() == 0.0
    assert torch.equal(gradient, torch.zeros(3, dtype=F64))


# --------------------------------------------------------------------------------------------
# wasserstein_1d: validation
# --------------------------------------------------------------------------------------------

_X = torch.tensor([0.0, 1.0, 2.0])
_Y = torch.tensor([0.5, 1.5])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": torch.tensor([])}, "x is an empty sample set"),
        ({"y": torch.zeros(3, 0), "batched": True}, "y is an empty sample set"),
        ({"x": torch.tensor(1.0)}, "x must have shape"),
        ({"x": torch.tensor([0.0, float("nan")])}, "x contains NaN or infinite"),
        ({"y": torch.tensor([0.0, float("inf")])}, "y contains NaN or infinite"),
        ({"x": torch.tensor([0, 1])}, "x must have a floating-point dtype"),
        ({"y": [0.0, 1.0]}, "y must be a torch.Tensor"),
        ({"p": 0.5}, "p must be a finite real number >= 1"),
        ({"p": float("inf")}, "p must be a finite real number >= 1"),
        ({"p": True}, "p must be a finite real number >= 1"),
        ({"x_weights": torch.tensor([1.0, -0.5, 1.0])}, "x_weights contains negative"),
        ({"y_weights": torch.tensor([1.0, float("nan")])}, "y_weights contains NaN"),
        ({"x_weights": torch.tensor([1.0, 1.0])}, "x_weights has shape (2,), which does not"),
        ({"y_weights": torch.tensor(1.0)}, "y_weights has shape ()"),
        ({"y_weights": torch.zeros(2)}, "y_weights sum to zero"),
        ({"x_weights": torch.tensor([True, False, True])}, "x_weights must be real numbers"),
        ({"y": torch.zeros(2, 2), "x": torch.zeros(3, 2), "batched": True}, "do not broadcast"),
        ({"y": torch.zeros(2, device="meta")}, "all tensors must be on one device"),
    ],
)
def test_invalid_inputs_are_refused_with_a_clear_message(kwargs: dict, message: str) -> None:
    arguments = {"x": _X, "y": _Y, "p": 1} | kwargs
    with pytest.raises(InputError) as error:
        wasserstein_1d(**arguments)
    assert message in str(error.value)


def test_batched_zero_total_weight_is_caught_per_row() -> None:
    weights = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    with pytest.raises(InputError, match="y_weights sum to zero"):
        wasserstein_1d(torch.zeros(2, 3), torch.zeros(2, 2), y_weights=weights, batched=True)


def test_integer_weights_are_counts() -> None:
    counts = torch.tensor([3, 1])
    assert close(wasserstein_1d(t([0.0, 1.0]), t([0.0, 1.0]), 1, counts), 0.25)


def test_validate_false_skips_value_checks_only() -> None:
    nan_samples = torch.tensor([0.0, float("nan")])
    assert torch.isnan(wasserstein_1d(nan_samples, _Y, validate=False))
    with pytest.raises(InputError, match="floating-point"):
        wasserstein_1d(torch.tensor([0, 1]), _Y, validate=False)


# --------------------------------------------------------------------------------------------
# wasserstein_nd
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_nd_matches_pot_on_numpy(p: int, weighted: bool) -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(30, 3)), rng.normal(1.0, 2.0, size=(20, 3))
    a = rng.random(30) + 0.1 if weighted else np.ones(30)
    b = rng.random(20) + 0.1 if weighted else np.ones(20)
    cost_matrix = ot.dist(x, y, metric="euclidean") ** p
    expected = ot.emd2(a / a.sum(), b / b.sum(), cost_matrix) ** (1 / p)
    weights = (t(a), t(b)) if weighted else (None, None)
    assert close(wasserstein_nd(t(x), t(y), p, *weights), expected)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_nd_translation_costs_the_shift_length(p: int) -> None:
    rng = np.random.default_rng(6)
    x = t(rng.normal(size=(25, 4)))
    shift = t([1.0, -2.0, 2.0, 4.0])  # length 5
    assert close(wasserstein_nd(x, x + shift, p), 5.0)


@pytest.mark.parametrize("p", [1, 2])
def test_nd_distance_of_a_cloud_to_itself_is_exactly_zero(p: int) -> None:
    # Distances from |x|^2 + |y|^2 - 2 x.y (the matrix-product shortcut) cancel to ~1e-8, not 0.
    x = t(np.random.default_rng(10).normal(size=(30, 5)))
    assert wasserstein_nd(x, x.flip(0), p).item() == 0.0


def test_nd_in_one_dimension_agrees_with_the_1d_formula() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=17), rng.normal(size=11)
    a, b = rng.random(17) + 0.1, rng.random(11) + 0.1
    one_d = wasserstein_1d(t(x), t(y), 2, t(a), t(b))
    n_d = wasserstein_nd(t(x)[:, None], t(y)[:, None], 2, t(a), t(b))
    assert close(n_d, one_d.item())


@pytest.mark.parametrize("p", [1, 2])
def test_nd_gradcheck(p: int) -> None:
    generator = torch.Generator().manual_seed(8)
    x = torch.randn(6, 2, generator=generator, dtype=F64).requires_grad_(True)
    y = torch.randn(5, 2, generator=generator, dtype=F64).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: wasserstein_nd(a, b, p), (x, y))


def test_nd_gradient_is_finite_with_coincident_points() -> None:
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=F64, requires_grad=True)
    y = torch.tensor([[0.0, 0.0], [1.0, 3.0]], dtype=F64)
    distance = wasserstein_nd(x, y, 1)
    (gradient,) = torch.autograd.grad(distance, x)
    # Optimal plan: (0,0)->(0,0) at cost 0 and (1,1)->(1,3) at cost 2, each with mass 1/2.
    assert close(distance, 1.0)
    torch.testing.assert_close(gradient, t([[0.0, 0.0], [0.0, -0.5]]))


def test_nd_keeps_dtype() -> None:
    x = torch.zeros(3, 2, dtype=torch.float32)
    result = wasserstein_nd(x, x + torch.tensor([3.0, 4.0]), 2)
    assert result.dtype == torch.float32
    assert result.item() == pytest.approx(5.0, rel=1e-6)


def test_nd_raises_when_the_solver_stops_early() -> None:
    rng = np.random.default_rng(9)
    with pytest.raises(RuntimeError, match="increase max_iterations"):
        wasserstein_nd(t(rng.normal(size=(40, 2))), t(rng.normal(size=(40, 2))), max_iterations=2)


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "message"),
    [
        (torch.zeros(3), torch.zeros(3, 1), {}, "x must have shape (n, d)"),
        (torch.zeros(3, 2), torch.zeros(3, 3), {}, "same dimension"),
        (torch.zeros(3, 2, 1), torch.zeros(3, 2, 1), {}, "point clouds"),
        (torch.zeros(0, 2), torch.zeros(3, 2), {}, "x is an empty sample set"),
        (torch.zeros(3, 2), torch.zeros(3, 2), {"x_weights": torch.ones(2, 3)}, "x_weights has"),
        (torch.zeros(3, 2), torch.zeros(3, 2), {"y_weights": -torch.ones(3)}, "negative"),
        (torch.zeros(3, 2), torch.zeros(3, 2), {"p": 0}, "p must be"),
        (torch.zeros(3, 2), torch.zeros(3, 2), {"max_iterations": 0}, "max_iterations"),
    ],
)
def test_nd_invalid_inputs(x: torch.Tensor, y: torch.Tensor, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError) as error:
        wasserstein_nd(x, y, **kwargs)
    assert message in str(error.value)


# --------------------------------------------------------------------------------------------
# sliced_wasserstein
# --------------------------------------------------------------------------------------------


def _clouds(seed: int, n: int = 40, m: int = 30, d: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=generator, dtype=F64)
    y = torch.randn(m, d, generator=generator, dtype=F64) * 1.5 + 0.5
    return x, y


@pytest.mark.parametrize("p", [1, 2])
def test_sliced_matches_pot_with_the_same_directions(p: int) -> None:
    x, y = _clouds(10)
    directions = torch.randn(25, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    unit = directions / directions.norm(dim=1, keepdim=True)
    expected = ot.sliced_wasserstein_distance(
        x.numpy(), y.numpy(), n_projections=25, p=p, projections=unit.T.numpy()
    )
    assert close(sliced_wasserstein(x, y, p=p, projections=directions), expected)


def test_sliced_is_deterministic_given_a_generator() -> None:
    x, y = _clouds(11)
    first = sliced_wasserstein(x, y, 16, generator=torch.Generator().manual_seed(42))
    second = sliced_wasserstein(x, y, 16, generator=torch.Generator().manual_seed(42))
    from_seed = sliced_wasserstein(x, y, 16, generator=42)
    other = sliced_wasserstein(x, y, 16, generator=torch.Generator().manual_seed(43))
    assert first.item() == second.item() == from_seed.item()
    assert first.item() != other.item()


@pytest.mark.parametrize("p", [1, 2])
def test_sliced_never_exceeds_the_exact_distance(p: int) -> None:
    # Projections onto unit vectors are 1-Lipschitz, so every 1-D term is <= W_p^p.
    for seed in range(3):
        x, y = _clouds(seed, n=20, m=20)
        sliced = sliced_wasserstein(x, y, 64, p=p, generator=seed).item()
        exact = wasserstein_nd(x, y, p).item()
        assert 0 < sliced <= exact * (1 + 1e-12)


def test_sliced_of_a_translation_is_the_mean_projected_shift() -> None:
    x, _ = _clouds(12)
    shift = t([1.0, 2.0, -2.0])
    directions = torch.randn(10, 3, generator=torch.Generator().manual_seed(1), dtype=F64)
    unit = directions / directions.norm(dim=1, keepdim=True)
    expected_w1 = (unit @ shift).abs().mean().item()
    expected_w2 = (unit @ shift).square().mean().sqrt().item()
    assert close(sliced_wasserstein(x, x + shift, p=1, projections=directions), expected_w1)
    assert close(sliced_wasserstein(x, x + shift, p=2, projections=directions), expected_w2)


def test_sliced_in_one_dimension_is_the_1d_distance() -> None:
    x, y = _clouds(13, d=1)
    weights = torch.rand(40, generator=torch.Generator().manual_seed(2), dtype=F64) + 0.1
    expected = wasserstein_1d(x[:, 0], y[:, 0], 2, weights)
    assert close(sliced_wasserstein(x, y, 5, p=2, x_weights=weights, generator=0), expected.item())


def test_sliced_gradcheck() -> None:
    x, y = _clouds(14, n=6, m=5, d=2)
    directions = torch.randn(4, 2, generator=torch.Generator().manual_seed(3), dtype=F64)
    x.requires_grad_(True)
    y.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a, b: sliced_wasserstein(a, b, p=2, projections=directions), (x, y)
    )


def test_sliced_keeps_dtype() -> None:
    x, y = _clouds(15)
    result = sliced_wasserstein(x.to(torch.bfloat16), y.to(torch.bfloat16), 8, generator=0)
    assert result.dtype == torch.bfloat16
    reference = sliced_wasserstein(
        x.to(torch.bfloat16).double(), y.to(torch.bfloat16).double(), 8, generator=0
    )
    assert abs(result.double().item() - reference.item()) <= 2.0**-8 * reference.item() + 1e-6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_projections": 0}, "n_projections must be a positive integer"),
        ({"projections": torch.ones(4, 2)}, "projections must have shape (L, 3)"),
        ({"projections": torch.zeros(2, 3)}, "zero direction"),
        ({"generator": "seed"}, "generator must be"),
        ({"p": 0.9}, "p must be"),
    ],
)
def test_sliced_invalid_inputs(kwargs: dict, message: str) -> None:
    x, y = _clouds(16)
    with pytest.raises(InputError) as error:
        sliced_wasserstein(x, y, **kwargs)
    assert message in str(error.value)


# --------------------------------------------------------------------------------------------
# Documentation examples
# --------------------------------------------------------------------------------------------


def test_docstring_examples() -> None:
    results = doctest.testmod(wasserstein_module, raise_on_error=False)
    assert results.attempted > 0
    assert results.failed == 0


# --------------------------------------------------------------------------------------------
# The NumPy sort path (plain CPU tensors) against torch.sort (issue 18: 3-9x faster sorts)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weighted", [False, True])
def test_numpy_sort_path_equals_the_torch_sort_path(monkeypatch, dtype, weighted) -> None:
    import divergences.numeric.wasserstein as module

    gen = torch.Generator().manual_seed(3)
    x = torch.randn(3, 50, generator=gen, dtype=dtype)
    y = torch.randn(3, 40 if weighted else 50, generator=gen, dtype=dtype) + 0.5
    wx = torch.rand(50, generator=gen, dtype=dtype) if weighted else None
    wy = torch.rand(y.shape[-1], generator=gen, dtype=dtype) if weighted else None

    def run() -> tuple[torch.Tensor, torch.Tensor]:
        xs = x.clone().requires_grad_()
        value = module.wasserstein_1d(xs, y, p=2, x_weights=wx, y_weights=wy, batched=True)
        value.sum().backward()
        return value.detach(), xs.grad

    assert module._numpy_sorts(x)
    fast = run()
    monkeypatch.setattr(module, "_numpy_sorts", lambda samples: False)
    reference = run()
    # the same sorted values and the same order of distinct values: bit-identical results
    assert torch.equal(fast[0], reference[0]) and torch.equal(fast[1], reference[1])


def test_numpy_sort_path_is_not_used_under_transforms() -> None:
    import divergences.numeric.wasserstein as module

    seen = []

    def probe(samples: torch.Tensor) -> torch.Tensor:
        seen.append(module._numpy_sorts(samples))
        return samples.sum()

    torch.func.vmap(probe)(torch.randn(2, 3))
    torch.func.grad(probe)(torch.randn(3))
    assert seen == [False, False]
    assert not module._numpy_sorts(torch.randn(3, device="meta"))
    assert not module._numpy_sorts(torch.randn(3, dtype=torch.float16))
