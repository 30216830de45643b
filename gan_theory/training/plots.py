"""Plots of a run, drawn with matplotlib's Agg canvas (no display, no global backend change).

- ``samples.png``: generated samples over the data (1-D: histograms; 2-D: scatter with the
  mixture's modes; images: grids of real and generated digits; CycleGAN: each domain with the
  translations into it, and for images rows x / G(x) / F(G(x)));
- ``losses.png``: the critic and generator losses against the step;
- ``metrics.png``: every other logged metric against the step.

matplotlib is imported on the first plot, not with the package: a run without plots (and every
process of a distributed run but rank 0) never pays for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import Tensor

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_history", "plot_samples"]


def _figure(figsize: tuple[float, float]) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def _image_grid(images: Tensor, columns: int = 8) -> np.ndarray:
    images = images[: columns * columns].reshape(-1, 8, 8).numpy()
    rows = -(-images.shape[0] // columns)
    grid = np.full((rows * 9 - 1, columns * 9 - 1), -1.0)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8] = image
    return grid


def _scatter(ax: Any, data: Tensor, fake: Tensor, labels: tuple[str, str]) -> None:
    ax.scatter(data[:, 0], data[:, 1], s=2, c="0.6", label=labels[0])
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c="tab:red", alpha=0.6, label=labels[1])
    ax.set_aspect("equal")
    ax.legend(loc="upper right", markerscale=4, fontsize="small")


def plot_samples(samples: dict[str, Any], path: Path, title: str = "") -> Path:
    """Draw the output of a loop's ``plot_samples``."""
    fig = _figure((10, 5) if samples["kind"] == "paired" else (6, 5))
    if samples["kind"] == "single":
        _single(fig, samples)
    else:
        _paired(fig, samples)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _single(fig: Figure, samples: dict[str, Any]) -> None:
    real, fake = samples["real"], samples["fake"]
    if real.ndim == 4:  # images
        for i, (name, images) in enumerate((("data", real), ("generated", fake))):
            ax = fig.add_subplot(1, 2, i + 1)
            ax.imshow(_image_grid(images), cmap="gray", vmin=-1, vmax=1)
            ax.set_title(name)
            ax.axis("off")
        return
    ax = fig.add_subplot(1, 1, 1)
    if real.shape[1] == 1:
        low, high = float(min(real.min(), fake.min())), float(max(real.max(), fake.max()))
        bins = np.linspace(low, high, 80)
        for values, colour, label in ((real, "0.5", "data"), (fake, "tab:red", "generated")):
            column = values[:, 0].numpy()
            ax.hist(column, bins=bins, density=True, alpha=0.5, color=colour, label=label)
        ax.legend()
        return
    _scatter(ax, real, fake, ("data", "generated"))
    modes = samples.get("modes")
    if modes is not None and modes.means.shape[1] >= 2:
        ax.scatter(modes.means[:, 0], modes.means[:, 1], marker="x", c="k", s=30, label="modes")


def _paired(fig: Figure, samples: dict[str, Any]) -> None:
    x, y = samples["x"], samples["y"]
    if x.ndim == 4:  # images: rows x, G(x), F(G(x))
        for i, (name, images) in enumerate(
            (("x", x), ("G(x)", samples["g_x"]), ("F(G(x))", samples["f_g_x"]))
        ):
            ax = fig.add_subplot(1, 3, i + 1)
            ax.imshow(_image_grid(images, columns=6), cmap="gray", vmin=-1, vmax=1)
            ax.set_title(name)
            ax.axis("off")
        return
    _scatter(fig.add_subplot(1, 2, 1), x, samples["f_y"], ("X", "F(Y)"))
    _scatter(fig.add_subplot(1, 2, 2), y, samples["g_x"], ("Y", "G(X)"))


def plot_history(rows: Sequence[dict[str, Any]], directory: Path) -> list[Path]:
    """``losses.png`` and ``metrics.png`` from the metrics history."""
    if not rows:
        return []
    steps = [row["step"] for row in rows]
    keys = [k for k in rows[-1] if k != "step"]
    loss_keys = [k for k in keys if k.startswith("loss_")]
    metric_keys = [k for k in keys if not k.startswith("loss_") and k != "modes_total"]
    paths = []
    fig = _figure((6, 4))
    ax = fig.add_subplot(1, 1, 1)
    for key in loss_keys:
        ax.plot(steps, [row.get(key, np.nan) for row in rows], label=key)
    ax.set_xlabel("step")
    ax.legend()
    paths.append(_save(fig, directory / "losses.png"))
    if metric_keys:
        fig = _figure((4 * len(metric_keys), 3.5))
        for i, key in enumerate(metric_keys):
            ax = fig.add_subplot(1, len(metric_keys), i + 1)
            ax.plot(steps, [row.get(key, np.nan) for row in rows])
            ax.set_title(key)
            ax.set_xlabel("step")
        paths.append(_save(fig, directory / "metrics.png"))
    return paths
