"""The GPU check: the CUDA tests and a timing sweep on the GPU, written to one JSON file.

Run: ``make gpu-check`` (or ``.venv/bin/python -m benchmarks.gpu_check [--out FILE]``).

On a machine without CUDA it prints ``no CUDA device: nothing was checked`` and exits 0: it
never pretends. With a CUDA device it

1. runs ``pytest -m cuda`` (every device-parametrised test: discrete divergences, W1 and sliced
   W, every loss, the gradient penalty, one training step of each model, float16/bfloat16 cases,
   and the host-synchronisation checks under ``torch.cuda.set_sync_debug_mode("error")``);
2. times forward+backward of the f-GAN losses, the discrete divergences and W1 on the GPU,
   eager and ``torch.compile``-d, in float32 and bfloat16, each against its naive torch one-liner
   in the same run (ratio = library / naive), with ``torch.cuda.max_memory_allocated`` of each;
3. writes everything (test outcome, timings, memory, device name, versions) to one JSON file,
   ``.benchmarks/gpu-check.json`` by default, and prints a table.

The whole check is sized to finish in under 5 minutes on one GPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

N = 1_000_000
REPEATS = 20


def _time(function: Callable[[], torch.Tensor]) -> tuple[float, int]:
    """Median seconds of forward+backward and the peak memory (bytes) of one call."""
    for _ in range(3):  # warm-up (compilation, allocator)
        function()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2], torch.cuda.max_memory_allocated()


def _cases(dtype: torch.dtype) -> dict[str, tuple[Callable, Callable, tuple[torch.Tensor, ...]]]:
    """name -> (library function, naive one-liner, inputs on the GPU)."""
    import divergences as dv
    from divergences import losses
    from divergences.numeric import wasserstein_1d

    device = "cuda"
    g = torch.Generator(device=device).manual_seed(0)
    logits = [torch.randn(N, device=device, dtype=dtype, generator=g) for _ in range(2)]
    p, q = (torch.softmax(torch.randn(64, N // 64, device=device, generator=g), -1) for _ in "pq")
    kl = dv.get("kl")
    return {
        "gan_discriminator_loss": (
            losses.gan_discriminator_loss,
            lambda a, b: torch.nn.functional.softplus(-a).mean()
            + torch.nn.functional.softplus(b).mean(),
            tuple(logits),
        ),
        "fgan_critic_loss kl": (
            lambda a, b: losses.fgan_critic_loss(kl, a, b),
            lambda a, b: -(a.mean() - torch.exp(b - 1).mean()),
            tuple(logits),
        ),
        "discrete kl": (
            lambda a, b: kl.divergence(a, b, validate=False).sum(),
            lambda a, b: (a * (a.log() - b.log())).sum(),
            (p.to(dtype), q.to(dtype)),
        ),
        "wasserstein_1d": (
            lambda a, b: wasserstein_1d(a, b, validate=False),
            lambda a, b: (torch.sort(a).values - torch.sort(b).values).abs().mean(),
            tuple(logits),
        ),
    }  # fmt: skip


def _sweep() -> list[dict[str, object]]:
    rows = []
    for dtype in (torch.float32, torch.bfloat16):
        for name, (library, naive, inputs) in _cases(dtype).items():
            inputs = tuple(x.detach().requires_grad_() for x in inputs)
            for mode in ("eager", "compiled"):
                lib = torch.compile(library) if mode == "compiled" else library
                ref = torch.compile(naive) if mode == "compiled" else naive
                lib_s, lib_mem = _time(lambda f=lib, x=inputs: f(*x).backward())
                ref_s, ref_mem = _time(lambda f=ref, x=inputs: f(*x).backward())
                rows.append({
                    "case": name, "dtype": str(dtype).removeprefix("torch."), "mode": mode,
                    "library_ms": lib_s * 1e3, "naive_ms": ref_s * 1e3,
                    "ratio": lib_s / ref_s, "library_peak_bytes": lib_mem,
                    "naive_peak_bytes": ref_mem, "memory_ratio": lib_mem / max(ref_mem, 1),
                })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".benchmarks/gpu-check.json", help="the JSON file")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print(
            f"no CUDA device: nothing was checked (torch {torch.__version__}, "
            f"CUDA build: {torch.version.cuda or 'none'})"
        )
        return 0
    started = time.perf_counter()
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider"],
        check=False,
    )
    rows = _sweep()
    report = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "cuda_tests_exit_status": tests.returncode,
        "timings": rows,
        "seconds": time.perf_counter() - started,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"{'case':28} {'dtype':9} {'mode':9} {'ratio':>6} {'memory':>7}")
    for row in rows:
        print(
            f"{row['case']:28} {row['dtype']:9} {row['mode']:9} {row['ratio']:6.2f} "
            f"{row['memory_ratio']:7.2f}"
        )
    print(f"CUDA tests: exit status {tests.returncode}; figures written to {out}")
    return 0 if tests.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
