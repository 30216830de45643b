"""Data sets: deterministic sampling, shapes, the modes they declare, the paired domains."""

from __future__ import annotations

import math

import pytest
import torch

from gan_theory.training.data import (
    Dataset,
    Digits,
    GaussianMixture,
    PairedDomains,
    Ring,
    Square,
    dataset_names,
    get_dataset,
    paired_names,
    single_names,
)
from gan_theory.training.metrics import mode_report


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _domains(name: str) -> list[Dataset]:
    data = get_dataset(name)
    if isinstance(data, PairedDomains):
        return [data.x, data.y, data.held_out_x, data.held_out_y]
    return [data]


@pytest.mark.parametrize("name", dataset_names())
def test_sampling_is_deterministic_given_the_generator(name: str) -> None:
    for data in _domains(name):
        a = data.sample(64, _gen(3))
        b = data.sample(64, _gen(3))
        c = data.sample(64, _gen(4))
        assert a.shape == (64, *data.shape)
        assert a.dtype == torch.float32
        assert torch.equal(a, b)
        assert not torch.equal(a, c)
        assert torch.isfinite(a).all()


def test_sampling_does_not_touch_the_global_generator() -> None:
    torch.manual_seed(0)
    before = torch.get_rng_state()
    for name in dataset_names():
        for data in _domains(name):
            data.sample(8, _gen(0))
    assert torch.equal(before, torch.get_rng_state())


def test_names_split_into_single_and_paired() -> None:
    assert set(single_names()) | set(paired_names()) == set(dataset_names())
    for name in single_names():
        assert isinstance(get_dataset(name), Dataset)
    for name in paired_names():
        assert isinstance(get_dataset(name), PairedDomains)


def test_unknown_name_lists_the_registered_ones() -> None:
    with pytest.raises(KeyError, match="ring-8"):
        get_dataset("nope")


def test_ring_has_eight_modes_on_a_circle_of_radius_two() -> None:
    modes = get_dataset("ring-8").modes
    assert modes is not None and modes.count == 8 and modes.std == 0.02
    radii = modes.means.norm(dim=1)
    assert torch.allclose(radii, torch.full((8,), 2.0), atol=1e-6)
    # Neighbouring modes are 2 * 2 * sin(pi / 8) apart.
    gaps = (modes.means - modes.means.roll(1, 0)).norm(dim=1)
    assert torch.allclose(gaps, torch.full((8,), 4 * math.sin(math.pi / 8)), atol=1e-5)


def test_grid_has_25_modes_two_apart() -> None:
    modes = get_dataset("grid-25").modes
    assert modes is not None and modes.count == 25
    assert sorted(set(modes.means[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("name", "within_3_std"),
    [
        # P(|N(0, 1)| <= 3) in 1-D; P(chi_2 <= 3) = 1 - exp(-4.5) in 2-D.
        ("mixture-1d", math.erf(3 / math.sqrt(2))),
        ("bimodal-1d", math.erf(3 / math.sqrt(2))),
        ("ring-8", 1 - math.exp(-4.5)),
        ("grid-25", 1 - math.exp(-4.5)),
    ],
)
def test_data_itself_covers_its_modes_with_the_expected_quality(
    name: str, within_3_std: float
) -> None:
    data = get_dataset(name)
    samples = data.sample(20_000, _gen(0))
    report = mode_report(samples, data.modes)
    assert report.covered == report.total
    # binomial standard error at n = 20000 is below 0.0015
    assert abs(report.high_quality - within_3_std) < 0.006


def test_mixture_log_prob_integrates_to_one() -> None:
    data = get_dataset("bimodal-1d")
    x = torch.linspace(-10, 10, 200_001, dtype=torch.float64)[:, None]
    density = data.log_prob(x).exp()
    assert float(torch.trapezoid(density, x[:, 0])) == pytest.approx(1.0, abs=1e-9)


def test_mixture_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="std"):
        GaussianMixture([0.0, 1.0], std=0.0)
    with pytest.raises(ValueError, match="weights"):
        GaussianMixture([0.0, 1.0], std=1.0, weights=[1.0, -1.0])


def test_ring_and_square_lie_on_their_curves() -> None:
    ring = Ring(radius=1.0, noise=0.0).sample(1000, _gen(0))
    assert torch.allclose(ring.norm(dim=1), torch.ones(1000), atol=1e-5)
    square = Square(half=1.0, noise=0.0).sample(1000, _gen(0))
    assert torch.allclose(square.abs().max(dim=1).values, torch.ones(1000), atol=1e-6)
    # uniform over the four sides
    sides = (
        torch.stack(
            [
                square[:, 1] < -0.999,
                square[:, 0] > 0.999,
                square[:, 1] > 0.999,
                square[:, 0] < -0.999,
            ]
        )
        .float()
        .mean(dim=1)
    )
    assert torch.allclose(sides, torch.full((4,), 0.25), atol=0.05)


def test_digits_are_8x8_images_in_range_with_a_held_out_split() -> None:
    train, held_out = Digits("train"), Digits("held_out")
    assert train.images.shape == (1497, 1, 8, 8)
    assert held_out.images.shape == (300, 1, 8, 8)
    assert float(train.images.min()) == -1.0 and float(train.images.max()) == 1.0
    inverted = Digits("train", inverted=True)
    assert torch.equal(inverted.images, -train.images)
    # the split is fixed: no held-out image is a training image
    flat_train = {tuple(row) for row in train.images.reshape(-1, 64).tolist()}
    overlap = sum(tuple(row) in flat_train for row in held_out.images.reshape(-1, 64).tolist())
    assert overlap < 10  # the UCI set has a handful of exact duplicates


@pytest.mark.parametrize("weights", [None, [0.7, 0.2, 0.1]])
def test_mixture_draws_components_with_their_weights(weights) -> None:
    # equal weights are drawn with randint, others with multinomial: both must follow the weights
    mixture = GaussianMixture([-10.0, 0.0, 10.0], std=0.1, weights=weights)
    x = mixture.sample(30_000, _gen(0))[:, 0]
    shares = torch.stack(
        [(x < -5).float().mean(), (x.abs() < 5).float().mean(), (x > 5).float().mean()]
    )
    expected = mixture.modes.weights
    # binomial standard error at n = 30000 is below 0.003
    assert torch.allclose(shares, expected, atol=0.012)
