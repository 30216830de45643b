"""The ratio table of ``benchmarks/ratios.py`` on hand-made pytest-benchmark JSON: modes, memory
in pages, peers timed inside a library benchmark, several runs, and the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import ratios


class _Fixture:
    """What :func:`ratios.mark` and :func:`ratios.record_peer` touch of pytest-benchmark's."""

    def __init__(self) -> None:
        self.group = None
        self.extra_info: dict = {}


def _entry(median: float, **mark: object) -> dict:
    fixture = _Fixture()
    ratios.mark(fixture, group="g", **mark)  # type: ignore[arg-type]
    return {"extra_info": fixture.extra_info, "stats": {"median": median}}


def _write(path: Path, entries: list[dict]) -> Path:
    path.write_text(json.dumps({"benchmarks": [*entries, {"extra_info": {}, "stats": {}}]}))
    return path


def _pair(lib_s: float, peer_s: float, mode: str = "eager", **memory: int) -> list[dict]:
    common = {"case": "c", "target": ratios.AT_MOST_1_1X, "mode": mode}
    return [
        _entry(lib_s, side="library", label="lib", peak_bytes=memory.get("lib"), **common),
        _entry(peer_s, side="peer", label="naive", peak_bytes=memory.get("peer"), **common),
    ]


def test_eager_and_compiled_modes_make_one_row(tmp_path: Path) -> None:
    run = _write(tmp_path / "a.json", _pair(1.0, 1.0) + _pair(3.0, 2.0, "compiled"))
    (row,) = ratios.rows([ratios.load(run)])
    assert row.modes["eager"].ratio == 1.0
    assert row.modes["compiled"].ratio == 1.5
    assert row.ratio == 1.0  # the eager one
    assert not row.met  # the compiled ratio misses 1.10
    assert "**no**" in ratios.table([row])


def test_memory_is_compared_in_pages(tmp_path: Path) -> None:
    # a few bytes more (scalars) is the same number of pages; a page more is a miss
    same = _write(tmp_path / "a.json", _pair(1.0, 1.0, lib=8192 + 16, peer=8192 + 8))
    (row,) = ratios.rows([ratios.load(same)])
    assert row.modes["eager"].memory_ratio == 1.0 and row.met
    more = _write(tmp_path / "b.json", _pair(1.0, 1.0, lib=3 * 4096, peer=2 * 4096))
    (row,) = ratios.rows([ratios.load(more)])
    assert row.modes["eager"].memory_ratio == 1.5 and not row.met


def test_a_peer_recorded_inside_the_library_benchmark(tmp_path: Path) -> None:
    library = _entry(2.0, case="c", side="library", label="lib", target=ratios.AT_MOST_1_1X)
    fixture = _Fixture()
    fixture.extra_info = library["extra_info"]
    ratios.record_peer(fixture, label="naive", seconds=[1.0, 4.0, 2.0], peak_bytes=4096)
    (row,) = ratios.rows([ratios.load(_write(tmp_path / "a.json", [library]))])
    assert row.peer == "naive"
    assert row.modes["eager"].ratio == 1.0  # 2.0 / median(1, 4, 2)
    with pytest.raises(ValueError, match="side='library'"):
        peer_fixture = _Fixture()
        peer_fixture.extra_info = {"side": "peer"}
        ratios.record_peer(peer_fixture, label="x", seconds=[1.0])


def test_several_runs_give_the_median_and_range(tmp_path: Path) -> None:
    runs = [
        ratios.load(_write(tmp_path / f"{i}.json", _pair(lib, 1.0)))
        for i, lib in enumerate((1.0, 1.2, 0.9))
    ]
    (row,) = ratios.rows(runs)
    assert row.ratios == (1.0, 1.2, 0.9)
    assert row.ratio == 1.0 and row.met
    assert "[0.90, 1.20] (n=3)" in ratios.table([row])


def test_bad_marks_are_refused() -> None:
    with pytest.raises(ValueError, match="side"):
        ratios.mark(_Fixture(), case="c", side="x", label="l", target=ratios.FASTER, group="g")
    with pytest.raises(ValueError, match="mode"):
        ratios.mark(
            _Fixture(),
            case="c",
            side="peer",
            label="l",
            target=ratios.FASTER,
            group="g",
            mode="jit",
        )
