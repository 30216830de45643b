"""Metrics: W1 against scipy, the mode definitions on hand-made samples, cycle error."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import wasserstein_distance

from gan_theory.training.data import GaussianMixture
from gan_theory.training.metrics import cycle_error, distance_to_data, mode_report


def test_w1_of_1d_samples_matches_scipy() -> None:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(500, 1, generator=g), 2 + torch.randn(300, 1, generator=g)
    expected = wasserstein_distance(x[:, 0].numpy(), y[:, 0].numpy())
    assert distance_to_data(x, y, g) == pytest.approx(expected, rel=1e-9)


def test_sliced_w1_of_a_translation_is_its_mean_projected_length() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 2, generator=g)
    shift = torch.tensor([3.0, 0.0])
    # Sliced W1 of a translation by t is E|<theta, t>| = |t| * 2 / pi for theta uniform on S^1.
    estimate = distance_to_data(x + shift, x, g, n_projections=4000)
    assert estimate == pytest.approx(3.0 * 2 / torch.pi, rel=0.03)


def test_mode_report_counts_by_the_stated_definition() -> None:
    modes = GaussianMixture([[0.0, 0.0], [10.0, 0.0]], std=1.0).modes
    samples = torch.tensor(
        [[0.0, 0.0], [2.9, 0.0], [0.0, -3.0], [3.1, 0.0], [10.0, 1.0], [6.0, 0.0]]
    )
    report = mode_report(samples, modes, coverage_fraction=0.25)
    # within 3 std: 3 samples at mode 0 (2.9 and exactly 3.0 count), 1 at mode 1
    assert report.counts == (3, 1)
    assert report.high_quality == pytest.approx(4 / 6)
    # needed per mode: 0.25 * 0.5 * 6 = 0.75 samples -> both covered
    assert report.covered == 2 and report.total == 2
    # with a stricter fraction (needs 0.5 * 0.5 * 6 = 1.5), mode 1 is no longer covered
    assert mode_report(samples, modes, coverage_fraction=0.5).covered == 1


def test_collapsed_samples_cover_one_mode() -> None:
    modes = GaussianMixture([[0.0], [5.0]], std=0.1).modes
    report = mode_report(torch.zeros(100, 1), modes)
    assert (report.covered, report.high_quality) == (1, 1.0)


def test_cycle_error_is_the_mean_absolute_error() -> None:
    x = torch.zeros(2, 2)
    assert cycle_error(x, torch.tensor([[1.0, -1.0], [0.0, 2.0]])) == 1.0
