"""Training throughput: the library's loop against a plain hand-written PyTorch loop, one run.

Run: ``.venv/bin/pytest benchmarks/bench_training_throughput.py --benchmark-only``
(add ``-s`` to see the ratio line).

Both sides train the same non-saturating GAN on the 8-Gaussian ring for ``STEPS`` generator
steps: the same architecture (2 -> 128 -> 128 -> 128 -> 2 ReLU generator, 2 -> 128 -> 128 -> 128
-> 1 LeakyReLU(0.2) critic), batch 256, Adam (lr 2e-4, betas (0.5, 0.999)) on each network, one
critic step per generator step, one intra-op thread, the same initial parameters. The plain loop
is what one writes by hand with nothing but torch: it samples the ring itself, scores real and
generated points in one critic call, uses the same (halved) cross-entropy, and backpropagates the
generator loss into the generator's parameters only (``backward(inputs=...)``), as the library
does, so both sides do the same arithmetic and the difference is the library's overhead (its
configuration, random streams, data-set object, loss checks, non-finite check with a host read of
every loss, running loss means, learning-rate handling, progress and metrics bookkeeping).

The library runs with ``progress=False, plots=False`` and no output directory (no checkpoints);
its metrics are evaluated at step 0 and at the end only (``log_every=STEPS``) on 256 samples, a
cost included in its time. Construction (networks, optimisers) is excluded on both sides.

``test_library_loop`` and ``test_plain_loop`` give pytest-benchmark's table (wall time per
``STEPS`` steps) and a row of :mod:`benchmarks.ratios` (time ratio <= 1/0.95).
``test_throughput_ratio`` runs both sides alternately, round after round, in the same process
(so both see the same machine load), and reports the ratio of steps per second (library / plain)
from each side's fastest run by CPU time (``time.process_time``; asserted >= 0.95, issue 4's
target), the same by wall time, and the median of the per-round ratios. On a shared machine a
single run's CPU time varies by +-15% with the other processes' load (measured: per-round
ratios from 0.84 to 1.30 for these two loops); the fastest run is the least disturbed.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.ratios import Target, mark
from gan_theory.training import TrainConfig, Trainer

STEPS = 500
BATCH = 256
HIDDEN = 128
LR = 2e-4
BETAS = (0.5, 0.999)
ROUNDS = 5
RATIO_ROUNDS = 11
TARGET_RATIO = 0.95
GROUP = f"gan-ns on ring-8, {STEPS} steps, batch {BATCH}, hidden {HIDDEN}, 1 thread"


def library_config() -> TrainConfig:
    return TrainConfig(
        model="gan-ns",
        data="ring-8",
        steps=STEPS,
        batch_size=BATCH,
        hidden=HIDDEN,
        depth=3,
        lr_g=LR,
        lr_d=LR,
        betas=BETAS,
        log_every=STEPS,
        eval_samples=BATCH,
        progress=False,
        plots=False,
        threads=1,
    )


def library_side() -> Callable[[], None]:
    """A ready :class:`Trainer`; the returned callable runs it."""
    trainer = Trainer(library_config())
    return lambda: trainer.run()


# -- the plain loop ---------------------------------------------------------------------------


def _mlp(sizes: list[int], activation: Callable[[], nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def plain_networks() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    generator = _mlp([2, HIDDEN, HIDDEN, HIDDEN, 2], nn.ReLU)
    critic = _mlp([2, HIDDEN, HIDDEN, HIDDEN, 1], lambda: nn.LeakyReLU(0.2))
    return generator, critic


def plain_side() -> Callable[[], None]:
    """Hand-written networks, optimisers and loop; the returned callable runs ``STEPS`` steps."""
    generator, critic = plain_networks()
    opt_g = torch.optim.Adam(generator.parameters(), lr=LR, betas=BETAS)
    opt_d = torch.optim.Adam(critic.parameters(), lr=LR, betas=BETAS)
    g_params = list(generator.parameters())
    angles = torch.arange(8) * (2 * math.pi / 8)
    centres = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    rng = torch.Generator().manual_seed(0)

    def real_batch() -> torch.Tensor:
        index = torch.randint(8, (BATCH,), generator=rng)
        return centres[index] + 0.02 * torch.randn((BATCH, 2), generator=rng)

    def run() -> None:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for _ in range(STEPS):
                real = real_batch()
                with torch.no_grad():
                    fake = generator(torch.randn((BATCH, 2), generator=rng))
                logits = critic(torch.cat([real, fake])).squeeze(-1)
                loss_d = (
                    0.5 * F.softplus(-logits[:BATCH]).mean()
                    + 0.5 * F.softplus(logits[BATCH:]).mean()
                )
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()

                logits = critic(generator(torch.randn((BATCH, 2), generator=rng))).squeeze(-1)
                loss_g = F.softplus(-logits).mean()
                opt_g.zero_grad(set_to_none=True)
                torch.autograd.backward(loss_g, inputs=g_params)
                opt_g.step()
        finally:
            torch.set_num_threads(previous)

    return run


# -- benchmarks -------------------------------------------------------------------------------


# time ratio library / plain <= 1 / 0.95, i.e. >= 0.95x the plain loop's steps per second
THROUGHPUT = Target(1 / TARGET_RATIO, strict=False, text=f"<= {1 / TARGET_RATIO:.3f}x time")
CASE = "training loop, gan-ns on ring-8"


def _pedantic(benchmark, make: Callable[[], Callable[[], None]], side: str, label: str) -> None:
    mark(benchmark, case=CASE, side=side, label=label, target=THROUGHPUT, group=GROUP)

    def setup():
        return (make(),), {}

    benchmark.pedantic(lambda run: run(), setup=setup, rounds=ROUNDS, warmup_rounds=1)


def test_library_loop(benchmark) -> None:
    _pedantic(benchmark, library_side, "library", "gan_theory.training.train")


def test_plain_loop(benchmark) -> None:
    _pedantic(benchmark, plain_side, "peer", "hand-written torch loop")


def _timed(run: Callable[[], None]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def test_throughput_ratio(benchmark) -> None:
    """Alternate library and plain rounds; the ratio of steps/s, paired round by round."""
    times: dict[str, list[tuple[float, float]]] = {"library": [], "plain": []}
    sides = {"library": library_side, "plain": plain_side}
    for make in sides.values():  # warm-up: first calls, allocator, lazy imports
        make()()

    def one_round(runs: dict[str, Callable[[], None]]) -> None:
        for name, run in runs.items():
            times[name].append(_timed(run))

    def setup():
        order = ("library", "plain") if len(times["library"]) % 2 == 0 else ("plain", "library")
        return ({name: sides[name]() for name in order},), {}

    benchmark.group = GROUP + " (library + plain, alternating)"
    benchmark.pedantic(one_round, setup=setup, rounds=RATIO_ROUNDS)

    # steps/s ratio = plain time / library time. Other processes only ever add time to a run,
    # so the fastest of many runs is the best estimate of a loop's own cost: the headline ratio
    # is that of the minimum CPU times. The median over rounds of the ratio of a round's two
    # adjacent runs is shown too (it pairs runs that saw the same load, but keeps its noise).
    def fastest(name: str, index: int) -> float:
        return min(t[index] for t in times[name])

    def paired(index: int) -> float:
        pairs = zip(times["plain"], times["library"], strict=True)
        return statistics.median(p[index] / lib[index] for p, lib in pairs)

    ratio_cpu = fastest("plain", 1) / fastest("library", 1)
    ratio_paired, ratio_wall = paired(1), fastest("plain", 0) / fastest("library", 0)
    rates = {name: STEPS / fastest(name, 1) for name in sides}
    benchmark.extra_info.update(
        {
            "library_steps_per_cpu_s": rates["library"],
            "plain_steps_per_cpu_s": rates["plain"],
            "ratio_cpu": ratio_cpu,
            "ratio_cpu_paired_median": ratio_paired,
            "ratio_wall": ratio_wall,
        }
    )
    print(
        f"\nlibrary {rates['library']:.1f} steps/CPU-s, plain {rates['plain']:.1f} steps/CPU-s "
        f"(fastest of {RATIO_ROUNDS} alternating runs of {STEPS} steps each): library/plain "
        f"steps per second {ratio_cpu:.3f} by CPU time ({ratio_wall:.3f} by wall time; median "
        f"of the per-round CPU ratios {ratio_paired:.3f})"
    )
    assert ratio_cpu >= TARGET_RATIO, f"library/plain throughput {ratio_cpu:.3f} < {TARGET_RATIO}"


def test_same_networks_and_initialisation() -> None:
    """Both sides start from the same parameters (so they do the same arithmetic)."""
    library = Trainer(library_config()).loop.nets
    plain = dict(zip(("generator", "critic"), plain_networks(), strict=True))
    for name in ("generator", "critic"):
        a = [p.detach() for p in library[name].parameters()]
        b = [p.detach() for p in plain[name].parameters()]
        assert len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
