r"""Property checks of a divergence ``fn(p, q)`` on discrete distributions.

:func:`check_divergence_at` checks one pair; :func:`check_divergence_properties` searches many
pairs with hypothesis (and shrinks a failure to a small counterexample). The properties are those
every f-divergence :math:`D_f(P\|Q) = \sum_x q(x) f(p(x)/q(x))` has (Csiszár 1967; Liese &
Vajda, *On divergences and informations in statistics and information theory*, IEEE T-IT 52(10),
2006): never NaN; :math:`D(P\|P) = f(1)` (zero for a divergence); :math:`D \ge f(1)`
(non-negativity); :math:`D(P\|Q) > f(1)` for :math:`P \ne Q` when ``f`` is strictly convex at 1;
symmetry when claimed; a claimed upper bound; the data processing inequality under merging of
outcomes; and (for batched functions) batch results equal to one-by-one results.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import torch
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from ._convert import BackendName, as_dtype, eps_of, make_input, to_numpy
from ._strategies import default_min_positive, distribution_pairs

__all__ = ["check_divergence_at", "check_divergence_properties"]

Finite = Literal["always", "shared_support", "no_nan"]


def _fmt(x: Any) -> str:
    return np.array2string(to_numpy(x), precision=17, separator=", ")


class _Pair:
    """One pair under test with the options; every failure message names the property."""

    def __init__(self, fn: Callable, p: Any, q: Any, options: dict[str, Any]) -> None:
        self.fn = fn
        self.p64 = to_numpy(p)
        self.q64 = to_numpy(q)
        if self.p64.shape != self.q64.shape or self.p64.ndim != 1:
            raise ValueError(
                f"need two 1-D arrays of equal size, got {self.p64.shape}, {self.q64.shape}"
            )
        self.o = options
        self.dtype = options["dtype"]
        self.p = make_input(self.p64, self.dtype)
        self.q = make_input(self.q64, self.dtype)

    def fail(self, prop: str, detail: str) -> None:
        raise AssertionError(
            f"divergence property violated: {prop}\n  {detail}\n"
            f"  p = {_fmt(self.p)}\n  q = {_fmt(self.q)}"
        )

    def call(self, p: Any, q: Any) -> np.ndarray:
        return to_numpy(self.fn(p, q))

    def value(self, p: Any, q: Any, what: str) -> float:
        out = self.call(p, q)
        if out.size != 1:
            self.fail("scalar output", f"{what} has shape {out.shape}, expected a scalar")
        value = float(out.reshape(()))
        if math.isnan(value):
            self.fail("no NaN", f"{what} = nan")
        return value

    def tol(self, *values: float) -> float:
        finite = [abs(v) for v in values if math.isfinite(v)]
        return self.o["atol"] + self.o["rtol"] * max(finite, default=0.0)

    def run(self) -> None:
        o = self.o
        v0 = o["value_at_equal"]
        d_pq = self.value(self.p, self.q, "D(p, q)")
        d_qp = self.value(self.q, self.p, "D(q, p)")
        d_pp = self.value(self.p, self.p, "D(p, p)")
        d_qq = self.value(self.q, self.q, "D(q, q)")

        same_support = bool(np.all((self.p64 > 0) == (self.q64 > 0)))
        must_be_finite = [("D(p, p)", d_pp, True), ("D(q, q)", d_qq, True)]
        must_be_finite += [("D(p, q)", d_pq, same_support), ("D(q, p)", d_qp, same_support)]
        for name, val, shared in must_be_finite:
            required = o["finite"] == "always" or (o["finite"] == "shared_support" and shared)
            if required and not math.isfinite(val):
                why = "" if o["finite"] == "always" else " (the two arguments share their support)"
                self.fail("finite", f"{name} = {val}{why}")
        for name, val in (("D(p, p)", d_pp), ("D(q, q)", d_qq)):
            if not abs(val - v0) <= self.tol(v0):
                self.fail("zero iff equal (value at P = Q)", f"{name} = {val!r}, expected {v0!r}")

        for name, val in (("D(p, q)", d_pq), ("D(q, p)", d_qp)):
            if not val >= v0 - self.tol(v0):
                self.fail("non-negativity", f"{name} = {val!r} < {v0!r}")

        if o["zero_iff_equal"]:
            gap = float(np.max(np.abs(self.p64 - self.q64)))
            if gap >= o["separation"] and not d_pq > v0:
                self.fail(
                    "zero iff equal (positive for P != Q)",
                    f"D(p, q) = {d_pq!r} but max|p - q| = {gap:.3g}",
                )

        if o["symmetric"]:
            same = d_pq == d_qp or abs(d_pq - d_qp) <= self.tol(d_pq, d_qp)
            if not same:
                self.fail("symmetry", f"D(p, q) = {d_pq!r} != D(q, p) = {d_qp!r}")

        bound = o["upper_bound"]
        if bound is not None:
            for name, val in (("D(p, q)", d_pq), ("D(q, p)", d_qp)):
                if not val <= bound + self.tol(bound):
                    self.fail("upper bound", f"{name} = {val!r} > {bound!r}")

        if o["data_processing"]:
            self.data_processing(d_pq)
        if o["batched"]:
            self.batching({"D(p, q)": d_pq, "D(q, p)": d_qp, "D(p, p)": d_pp})

    def data_processing(self, d_pq: float) -> None:
        """Merging outcomes i and i+1 (a deterministic channel) never increases D."""
        n = self.p64.size
        for i in range(n - 1):
            p_m = np.concatenate([self.p64[:i], [self.p64[i] + self.p64[i + 1]], self.p64[i + 2 :]])
            q_m = np.concatenate([self.q64[:i], [self.q64[i] + self.q64[i + 1]], self.q64[i + 2 :]])
            merged = self.value(
                make_input(p_m, self.dtype), make_input(q_m, self.dtype), "D(merged p, merged q)"
            )
            if not merged <= d_pq + self.tol(d_pq):
                self.fail(
                    "data processing inequality",
                    f"merging outcomes {i} and {i + 1} increased D from {d_pq!r} to {merged!r}",
                )

    def batching(self, singles: dict[str, float]) -> None:
        """``fn`` on a stacked batch equals ``fn`` on each pair."""
        ps = np.stack([self.p64, self.q64, self.p64])
        qs = np.stack([self.q64, self.p64, self.p64])
        out = self.call(make_input(ps, self.dtype), make_input(qs, self.dtype))
        if out.shape != (3,):
            self.fail("batching", f"a batch of 3 pairs gave shape {out.shape}, expected (3,)")
        for (name, single), batched in zip(singles.items(), out, strict=True):
            same = single == batched or abs(single - batched) <= self.tol(single)
            if not same:
                self.fail("batching", f"{name} = {single!r} alone but {batched!r} in a batch")


def _options(
    *,
    symmetric: bool | None,
    upper_bound: float | None,
    value_at_equal: float,
    zero_iff_equal: bool,
    data_processing: bool,
    batched: bool,
    finite: Finite,
    dtype: Any,
    atol: float | None,
    rtol: float | None,
) -> dict[str, Any]:
    dt = as_dtype(dtype)
    eps = eps_of(dt)
    if finite not in ("always", "shared_support", "no_nan"):
        raise ValueError(f"finite must be 'always', 'shared_support' or 'no_nan', got {finite!r}")
    return {
        "symmetric": bool(symmetric),
        "upper_bound": None if upper_bound is None else float(upper_bound),
        "value_at_equal": float(value_at_equal),
        "zero_iff_equal": zero_iff_equal,
        "data_processing": data_processing,
        "batched": batched,
        "finite": finite,
        "dtype": dt,
        "atol": math.sqrt(eps) if atol is None else float(atol),
        "rtol": math.sqrt(eps) if rtol is None else float(rtol),
        "separation": eps**0.25,
    }


def check_divergence_at(
    fn: Callable[[Any, Any], Any],
    p: Any,
    q: Any,
    *,
    symmetric: bool | None = None,
    upper_bound: float | None = None,
    value_at_equal: float = 0.0,
    zero_iff_equal: bool = True,
    data_processing: bool = True,
    batched: bool = True,
    finite: Finite = "shared_support",
    dtype: Any = torch.float64,
    atol: float | None = None,
    rtol: float | None = None,
) -> None:
    """Check the divergence properties of ``fn`` at one pair of distributions ``p``, ``q``.

    ``p`` and ``q`` are 1-D probability vectors (any array-like); ``fn`` receives them (and the
    merged and stacked variants) in ``dtype``: a ``torch.dtype`` gives tensors, a NumPy dtype
    gives arrays. Options as :func:`check_divergence_properties`. Useful to keep a counterexample
    as a plain regression test.

    Raises:
        AssertionError: naming the violated property, the values and the pair.
    """
    options = _options(
        symmetric=symmetric,
        upper_bound=upper_bound,
        value_at_equal=value_at_equal,
        zero_iff_equal=zero_iff_equal,
        data_processing=data_processing,
        batched=batched,
        finite=finite,
        dtype=dtype,
        atol=atol,
        rtol=rtol,
    )
    _Pair(fn, p, q, options).run()


def check_divergence_properties(
    fn: Callable[[Any, Any], Any],
    *,
    symmetric: bool | None = None,
    upper_bound: float | None = None,
    value_at_equal: float = 0.0,
    zero_iff_equal: bool = True,
    data_processing: bool = True,
    batched: bool = True,
    finite: Finite = "shared_support",
    allow_zeros: bool = True,
    max_outcomes: int = 6,
    dtype: Any = torch.float64,
    backend: BackendName | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    max_examples: int = 100,
) -> None:
    r"""Search for a pair of distributions on which ``fn`` is not a divergence.

    ``fn(p, q)`` takes two probability vectors on the last dimension and returns
    :math:`D(P\|Q)`, a scalar (or, if ``batched``, one value per leading index). Pairs come from
    :func:`~divergences.testing.distribution_pairs` (1 to ``max_outcomes`` outcomes, zeros when
    ``allow_zeros``, probabilities over all orders of magnitude); on each pair these are checked:

    * **no NaN** for any input, merged or batched;
    * **finite**: ``"shared_support"`` (default) when ``p > 0`` exactly where ``q > 0``,
      ``"always"`` (e.g. for JS, TV, Hellinger), ``"no_nan"`` (no finiteness requirement);
    * **zero iff equal**: :math:`D(P\|P) = ` ``value_at_equal`` and, if ``zero_iff_equal``,
      :math:`D(P\|Q) >` ``value_at_equal`` whenever :math:`\max|p - q| \ge \varepsilon^{1/4}`;
    * **non-negativity**: :math:`D \ge` ``value_at_equal`` (``-log 4`` for the ``gan`` entry);
    * **symmetry** if ``symmetric``;
    * **upper bound** if ``upper_bound`` is given (e.g. ``log 2`` for JS, ``1`` for TV);
    * **data processing**: merging two outcomes (in both distributions) never increases D;
    * **batching** if ``batched``: a stacked batch gives the one-by-one values.

    Comparisons allow ``atol + rtol * |value|``; both default to :math:`\sqrt{\varepsilon}` of
    ``dtype`` (1.5e-8 in float64), loose enough for rounding, far tighter than a wrong sign,
    factor or bound.

    Args:
        fn: the function under test.
        dtype: a ``torch.dtype`` (inputs are tensors) or a NumPy dtype (inputs are arrays).
        backend: ``"numpy"`` is shorthand for ``dtype=numpy.float64``; ``"torch"`` for
            ``torch.float64``; ``None`` uses ``dtype``.
        max_examples: hypothesis examples to try.

    Raises:
        AssertionError: the first violated property, on a shrunk counterexample.

    Example:
        >>> import torch
        >>> def tv(p, q):
        ...     return 0.5 * (p - q).abs().sum(-1)
        >>> check_divergence_properties(tv, symmetric=True, upper_bound=1.0, max_examples=20)
    """
    if backend == "numpy":
        dtype = np.float64
    elif backend == "torch":
        dtype = torch.float64
    elif backend is not None:
        raise ValueError(f"backend must be 'torch', 'numpy' or None, got {backend!r}")
    options = _options(
        symmetric=symmetric,
        upper_bound=upper_bound,
        value_at_equal=value_at_equal,
        zero_iff_equal=zero_iff_equal,
        data_processing=data_processing,
        batched=batched,
        finite=finite,
        dtype=dtype,
        atol=atol,
        rtol=rtol,
    )
    if max_outcomes < 1:
        raise ValueError(f"max_outcomes must be >= 1, got {max_outcomes}")
    pairs = distribution_pairs(
        st.integers(1, max_outcomes),
        allow_zeros=allow_zeros,
        dtype=np.float64,
        min_positive=default_min_positive(options["dtype"]),
    )

    # no example database (results must not depend on earlier runs) and no "explain" phase (it
    # traces coverage, slow, and its report is about this module, not the user's function)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )
    @given(pairs)
    def search(pair: tuple[np.ndarray, np.ndarray]) -> None:
        _Pair(fn, pair[0], pair[1], options).run()

    search()
