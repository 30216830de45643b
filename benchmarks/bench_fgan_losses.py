r"""f-GAN and GAN losses, forward + backward on 10^6 scores, against naive torch one-liners.

Run: ``.venv/bin/pytest benchmarks/bench_fgan_losses.py --benchmark-only -q -o
python_files='bench_*.py' --benchmark-json=b.json && .venv/bin/python -m benchmarks.ratios
b.json``; target (:mod:`benchmarks.ratios`): the library at most 1.10x the naive expression's
time, eager *and* under ``torch.compile``, and a peak memory no larger than the naive one's.

Every case is measured in float32 and float64, at one and two intra-op threads (``torch
.set_num_threads``, restored after each case), eager and compiled (``torch.compile(fullgraph
=True)`` of each side's loss, so that AOTAutograd compiles the backward too; each loss is
compiled once, before it is timed, with Inductor's ``cpp.dynamic_threads`` so that the same
kernels serve both thread counts). The library and the naive side of one case are timed in one
test, round after round in turn (:func:`run`), so they see the same machine load; the naive
side's times go into the library's entry (:func:`benchmarks.ratios.record_peer`). The clock is
the CPU time of the process at one thread and the wall time at two (:func:`timer_for`).

For every registered divergence (``alpha`` at its default 1/2, ``js_weighted`` at pi = 1/2) the
library's ``fgan_critic_loss`` and ``fgan_generator_loss`` (saddle-point form) are timed against
the same formula typed here as a one-line torch expression,

.. math::

    L_{\text{critic}} = \overline{f^*(g_f(v_{\text{fake}}))} - \overline{g_f(v_{\text{real}})},
    \qquad L_G = -\overline{f^*(g_f(v_{\text{fake}}))},

with :math:`g_f` and :math:`f^*` from Nowozin, Cseke and Tomioka, *f-GAN*, NeurIPS 2016, Table 6,
and :math:`f^* \circ g_f` simplified by hand (e.g. ``kl``: :math:`e^{v-1}`; ``reverse_kl``:
:math:`-1 - \log e^{-v} = v - 1`): the naive side gets the algebra a careful person would do, so
it is the harder peer. Where the library's convention differs from the paper's table, the naive
formula follows the library (read from ``d.activation`` and ``d.conjugate``):

* ``js`` is the standard Jensen-Shannon divergence, half the paper's: :math:`g_f(v) =
  \tfrac12(\log 2 - \operatorname{softplus}(-v))` and :math:`f^*(t) = -\tfrac12 \log(2 - e^{2t})`,
  so :math:`f^*(g_f(v)) = \tfrac12(\operatorname{softplus}(v) - \log 2)`;
* ``pearson``: :math:`f = (u-1)^2` on :math:`u \ge 0` has :math:`f^*(t) = t^2/4 + t` for
  :math:`t > -2` and :math:`-1` below (the paper's table omits the branch);
* ``alpha`` (a = 1/2, :math:`f = 2(\sqrt u - 1)^2`, not in the paper's table): :math:`g_f(v) = 2 -
  e^{-v}`, :math:`f^*(t) = 4/(2 - t) - 2`, so :math:`f^*(g_f(v)) = 4 e^v - 2`;
* ``js_weighted`` (pi = 1/2): :math:`g_f(v) = \tfrac12 \log 2 - e^{-v}`, :math:`f^*` as ``js``;
* ``jeffrey``: :math:`f^*(t) = W(e^{1-t}) + 1/W(e^{1-t}) + t - 2`. torch has no Lambert W, so the
  naive side computes it once with six Newton steps from :math:`\log(1 + x)` (the fewest that
  reach float32 accuracy for :math:`|v| \le 12`; not float64's); this row is informative rather
  than a like-for-like one-liner.

``log(1 + exp(x))`` is written ``F.softplus(x)``, the one-liner a torch user types. The GAN
discriminator and non-saturating generator losses are timed against
``F.binary_cross_entropy_with_logits`` with the labels built outside the timed call.

Before timing, each pair is checked to give the same loss and the same gradients.

Memory: the peak number of bytes allocated during one forward+backward call above what was
allocated when it started (:func:`peak_memory`: on CPU from the allocation events of
``torch.profiler`` with ``profile_memory=True``, each carrying the allocator's running total; on
CUDA ``torch.cuda.max_memory_allocated``). Inputs allocated before the call are not counted;
the loss and the gradients it returns are. ``DIVERGENCES_BENCH_DEVICE=cuda`` runs the same cases
on the GPU (one thread row; the timed call ends with ``torch.cuda.synchronize()``).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor
from torch._C._profiler import _EventType
from torch.profiler import ProfilerActivity, profile

import divergences as dv
from benchmarks.ratios import AT_MOST_1_1X, mark, record_peer
from divergences.losses import (
    fgan_critic_loss,
    fgan_generator_loss,
    gan_discriminator_loss,
    gan_generator_loss,
)

N_SCORES = 1_000_000
DEVICE = os.environ.get("DIVERGENCES_BENCH_DEVICE", "cpu")
DTYPES = (torch.float32, torch.float64)
THREADS = (1, 2) if DEVICE == "cpu" else (1,)
MODES = ("eager", "compiled")
TIMER_VARIABLE = "DIVERGENCES_BENCH_TIMER"
# Each call takes a few ms (tens for jeffrey's naive Lambert W): after the warm-up (which also
# compiles), as many rounds (one call of each side) as fit in ROUND_BUDGET_S, between
# MIN_ROUNDS and MAX_ROUNDS; the medians of those are what the ratio compares.
ROUND_BUDGET_S = 0.25
MIN_ROUNDS = 5
MAX_ROUNDS = 11
LN2 = math.log(2.0)

Elementwise = Callable[[Tensor], Tensor]
Loss = Callable[..., Tensor]


def _lambertw(x: Tensor, steps: int = 6) -> Tensor:
    """Principal Lambert W for ``x >= 0`` by Newton's method from ``log(1 + x)`` (six steps:
    relative error 1.5e-7 against mpmath for ``x = exp(1 - v)``, ``|v| <= 12``)."""
    w = torch.log1p(x)
    for _ in range(steps):
        ew = torch.exp(w)
        w = w - (w * ew - x) / (ew * (w + 1))
    return w


#: name -> (g_f(v), f*(g_f(v))), typed from Nowozin et al. 2016, Table 6 (see the module docstring)
NAIVE: dict[str, tuple[Elementwise, Elementwise]] = {
    "kl": (lambda v: v, lambda v: torch.exp(v - 1)),
    "reverse_kl": (lambda v: -torch.exp(-v), lambda v: v - 1),
    "pearson": (lambda v: v, lambda v: torch.where(v > -2, v * v / 4 + v, -1.0)),
    "neyman": (lambda v: 1 - torch.exp(-v), lambda v: 2 - 2 * torch.exp(-v / 2)),
    "squared_hellinger": (lambda v: 1 - torch.exp(-v), lambda v: torch.exp(v) - 1),
    "jeffrey": (lambda v: v, lambda v: (w := _lambertw(torch.exp(1 - v))) + 1 / w + v - 2),
    "js": (lambda v: (LN2 - F.softplus(-v)) / 2, lambda v: (F.softplus(v) - LN2) / 2),
    "gan": (lambda v: -F.softplus(-v), lambda v: F.softplus(v)),
    "total_variation": (lambda v: torch.tanh(v) / 2, lambda v: torch.tanh(v) / 2),
    "alpha": (lambda v: 2 - torch.exp(-v), lambda v: 4 * torch.exp(v) - 2),
    "js_weighted": (
        lambda v: LN2 / 2 - torch.exp(-v),
        lambda v: -torch.log(2 - 2 * torch.exp(-2 * torch.exp(-v))) / 2,
    ),
}

NAMES = dv.names()
assert set(NAIVE) == set(NAMES), f"a naive formula is needed for each of {NAMES}"


# --------------------------------------------------------------------------------------------
# The losses of each case
# --------------------------------------------------------------------------------------------


def _fgan_losses(name: str, kind: str) -> tuple[Loss, Loss, int]:
    """``(library loss, naive loss, number of score tensors)`` of an f-GAN case."""
    d = dv.get(name)
    g, conj = NAIVE[name]
    if kind == "critic":
        return (
            lambda v_real, v_fake: fgan_critic_loss(d, v_real, v_fake),
            lambda v_real, v_fake: conj(v_fake).mean() - g(v_real).mean(),
            2,
        )
    return (
        lambda v_fake: fgan_generator_loss(d, v_fake),
        lambda v_fake: -conj(v_fake).mean(),
        1,
    )


def _gan_losses(kind: str, dtype: torch.dtype) -> tuple[Loss, Loss, int]:
    """``(library loss, naive BCE loss, number of score tensors)`` of a GAN case; the labels
    are made here, outside the timed call."""
    ones = torch.ones(N_SCORES, dtype=dtype, device=DEVICE)
    zeros = torch.zeros(N_SCORES, dtype=dtype, device=DEVICE)
    if kind == "discriminator":

        def naive_discriminator(real: Tensor, fake: Tensor) -> Tensor:
            return 0.5 * (
                F.binary_cross_entropy_with_logits(real, ones)
                + F.binary_cross_entropy_with_logits(fake, zeros)
            )

        return gan_discriminator_loss, naive_discriminator, 2

    def naive_generator(fake: Tensor) -> Tensor:  # non-saturating: -log D(G(z))
        return F.binary_cross_entropy_with_logits(fake, ones)

    return gan_generator_loss, naive_generator, 1


# --------------------------------------------------------------------------------------------
# Measuring one call
# --------------------------------------------------------------------------------------------


def forward_backward(loss: Loss, *scores: Tensor) -> tuple[Tensor, ...]:
    """The loss and its gradients (``autograd.grad``: nothing accumulates between rounds)."""
    value = loss(*scores)
    out = (value.detach(), *torch.autograd.grad(value, scores))
    if DEVICE != "cpu":
        torch.cuda.synchronize()
    return out


def check_same(library: Loss, naive: Loss, *scores: Tensor) -> None:
    """The library's loss and gradients against the naive formula evaluated in float64 (the
    float32 one-liner is itself off by up to 4e-4 in some gradients, e.g. ``js_weighted`` at
    ``v = 10``: the library is the more accurate side); ``naive`` must accept float64 scores."""
    ours = forward_backward(library, *scores)
    wide = tuple(s.detach().double().requires_grad_() for s in scores)
    theirs = forward_backward(naive, *wide)
    torch.testing.assert_close(ours[0].double(), theirs[0], rtol=1e-5, atol=1e-6)
    for got, expected in zip(ours[1:], theirs[1:], strict=True):
        scale = float(expected.abs().max())
        torch.testing.assert_close(got.double(), expected, rtol=1e-4, atol=1e-5 * scale)


def peak_memory(loss: Loss, *scores: Tensor) -> int:
    """Peak bytes allocated during one forward+backward call, above the start of the call.

    CPU: ``torch.profiler`` with ``profile_memory=True`` records every allocation and free of the
    CPU allocator with its size; their running sum from the start of the call is the memory
    the call holds, and its maximum the peak (a free of memory allocated before the call makes
    the sum go below zero, never above the peak). CUDA: ``max_memory_allocated`` after a reset,
    less ``memory_allocated`` at the start.
    """
    if DEVICE != "cpu":
        torch.cuda.synchronize()
        start = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        forward_backward(loss, *scores)
        return torch.cuda.max_memory_allocated() - start
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        forward_backward(loss, *scores)
    events = sorted(_allocations(prof.profiler.kineto_results.experimental_event_tree()))
    held = peak = 0
    for _, size in events:
        held += size
        peak = max(peak, held)
    return peak


def _allocations(nodes) -> Iterator[tuple[int, int]]:
    """``(time in ns, bytes)`` of the CPU allocation events (negative: frees) in a profiler
    event tree."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        kind, payload = node.typed
        if kind == _EventType.Allocation and payload.device.type == "cpu":
            yield node.start_time_ns, payload.alloc_size
        stack.extend(node.children)


def timer_for(threads: int) -> Callable[[], float]:
    """The clock of the timed rounds: the CPU time of the process for one thread on the CPU
    (``time.process_time``), the wall time otherwise (``time.perf_counter``).

    On a shared machine the wall time of a single-threaded call also counts the time other
    processes hold its core; its CPU time does not, and it is what the call costs. With two
    threads the CPU time would add the second thread's waiting at each barrier, so the wall time
    is measured there (and swings more with the machine's load). ``DIVERGENCES_BENCH_TIMER=wall``
    uses the wall time everywhere.
    """
    if threads == 1 and DEVICE == "cpu" and os.environ.get(TIMER_VARIABLE, "cpu") != "wall":
        return time.process_time
    return time.perf_counter


def run(
    benchmark, library: Callable[[], object], peer: Callable[[], object], threads: int
) -> list[float]:
    """Warm both sides up (compiling, if compiled), then time as many rounds as
    :data:`ROUND_BUDGET_S` allows (between :data:`MIN_ROUNDS` and :data:`MAX_ROUNDS`) with
    :func:`timer_for`, interleaved: before each library round (timed by pytest-benchmark) one
    peer round, timed with the same clock, whose times are returned. Both sides then see the
    same machine load, round by round."""
    clock = timer_for(threads)
    library(), peer()
    start = clock()
    library(), peer()
    once = clock() - start
    rounds = min(MAX_ROUNDS, max(MIN_ROUNDS, round(ROUND_BUDGET_S / max(once, 1e-9))))
    peer_seconds: list[float] = []

    def peer_round() -> None:
        begin = clock()
        peer()
        peer_seconds.append(clock() - begin)

    benchmark._timer = clock  # pytest-benchmark's clock for the pedantic rounds
    benchmark.extra_info["timer"] = clock.__name__
    benchmark.pedantic(library, setup=peer_round, rounds=rounds, iterations=1, warmup_rounds=0)
    return peer_seconds


# --------------------------------------------------------------------------------------------
# Cases: threads, dtype, loss, mode, side
# --------------------------------------------------------------------------------------------

LOSSES = [("fgan", kind, name) for name in NAMES for kind in ("critic", "generator")]
LOSSES += [("gan", kind, "") for kind in ("discriminator", "generator")]

# threads outermost: the checks, the compilations and the memory of the first thread count serve
# the second
CASES = [
    pytest.param(
        threads,
        dtype,
        family,
        kind,
        name,
        mode,
        id=f"{threads}t-{str(dtype)[6:]}-{family}-{kind}{'-' + name if name else ''}-{mode}",
    )
    for threads in THREADS
    for dtype in DTYPES
    for family, kind, name in LOSSES
    for mode in MODES
]


@pytest.fixture(scope="module")
def base_scores() -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(0)
    v_real = torch.randn(N_SCORES, generator=generator, dtype=torch.float64) * 2 + 0.5
    v_fake = torch.randn(N_SCORES, generator=generator, dtype=torch.float64) * 2 - 0.5
    return v_real, v_fake


@pytest.fixture(scope="module", autouse=True)
def _compile_every_variant() -> Iterator[None]:
    """Every (loss, dtype) pair compiles (the losses share code objects, so the default
    recompile limit would fall back to eager without a word): raise the limits, and fail
    rather than fall back. Inductor's C++ kernels read the thread count when they run
    (``cpp.dynamic_threads``) instead of being specialised on it, so one compilation serves both
    thread counts (for both sides alike)."""
    with (
        torch._dynamo.config.patch(
            recompile_limit=4096,
            accumulated_recompile_limit=65536,
            fail_on_recompile_limit_hit=True,
        ),
        torch._inductor.config.patch({"cpp.dynamic_threads": True}),
    ):
        yield
    _COMPILED.clear()
    _MEASURED.clear()
    torch._dynamo.reset()


#: (family, kind, name, dtype, side) -> the compiled loss
_COMPILED: dict[tuple, Loss] = {}
#: (family, kind, name, dtype, side, mode) -> peak memory of one call (measured once)
_MEASURED: dict[tuple, int] = {}


def _compiled(key: tuple, loss: Loss) -> Loss:
    """``torch.compile(loss, fullgraph=True)``, once per loss, dtype and side."""
    if key not in _COMPILED:
        _COMPILED[key] = torch.compile(loss, fullgraph=True)
    return _COMPILED[key]


def _peak(key: tuple, loss: Loss, *args: Tensor) -> int:
    """:func:`peak_memory` of ``loss`` (after one call that compiles it), measured once."""
    if key not in _MEASURED:
        forward_backward(loss, *args)
        _MEASURED[key] = peak_memory(loss, *args)
    return _MEASURED[key]


@pytest.mark.parametrize(("threads", "dtype", "family", "kind", "name", "mode"), CASES)
def test_loss(benchmark, base_scores, threads, dtype, family, kind, name, mode) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _measure(benchmark, base_scores, threads, dtype, family, kind, name, mode)
    finally:
        torch.set_num_threads(before)


def _measure(benchmark, base_scores, threads, dtype, family, kind, name, mode) -> None:
    if family == "fgan":
        library, naive, n_args = _fgan_losses(name, kind)
        reference = naive
        case, label, peer = f"fgan {kind} / {name}", f"fgan_{kind}_loss", "naive torch"
    else:
        library, naive, n_args = _gan_losses(kind, dtype)
        reference = _gan_losses(kind, torch.float64)[1]  # labels in float64
        case, label = f"gan {kind}", f"gan_{kind}_loss"
        peer = "F.binary_cross_entropy_with_logits"
    scores = tuple(s.to(dtype=dtype, device=DEVICE).requires_grad_() for s in base_scores)
    args = scores if n_args == 2 else scores[1:]
    if mode == "eager" and threads == THREADS[0]:
        check_same(library, reference, *args)
    key = (family, kind, name, str(dtype))
    if mode == "compiled":
        library = _compiled((*key, "library"), library)
        naive = _compiled((*key, "naive"), naive)
    precision = str(dtype).removeprefix("torch.")
    where = f"{threads} thread{'s' if threads > 1 else ''}" if DEVICE == "cpu" else DEVICE
    full_case = f"{case}, {precision}, {where}"
    mark(
        benchmark,
        case=full_case,
        side="library",
        label=label,
        target=AT_MOST_1_1X,
        group=f"{full_case}, {mode}: fwd+bwd, 1e6 scores",
        mode=mode,
        peak_bytes=_peak((*key, "library", mode), library, *args),
    )
    benchmark.extra_info["torch_threads"] = threads
    peer_seconds = run(
        benchmark,
        lambda: forward_backward(library, *args),
        lambda: forward_backward(naive, *args),
        threads,
    )
    record_peer(
        benchmark,
        label=peer,
        seconds=peer_seconds,
        peak_bytes=_peak((*key, "naive", mode), naive, *args),
    )
