"""The cold-cache schedule of the report (``gan_theory/report/_warm.py``).

What is checked: the order in which the workers take the entries (defaults first, largest first,
the perspective where the propositions need it), that waiting for the defaults does not wait for
the rest, that the command can start the fork server before it imports the library (the package
imports nothing heavy, the cache directory rule is the library's), and when it does not.
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import gan_theory.report as report_package
from divergences.symbolic.cache import cache_dir
from gan_theory.report import _warm
from gan_theory.report.markdown import REPORTED

ROOT = Path(__file__).resolve().parents[2]


def test_with_propositions_defaults_come_first_then_the_variants_each_largest_first():
    tasks = _warm.schedule(REPORTED, propositions=True)
    assert sorted((n, sorted(p.items())) for n, p, _ in tasks) == sorted(
        (n, sorted(p.items())) for n, p in REPORTED
    )
    defaults = [task for task in tasks if not task[1]]
    assert tasks[: len(defaults)] == defaults
    for group in (tasks[: len(defaults)], tasks[len(defaults) :]):
        costs = [_warm.estimated_cost(*task) for task in group]
        assert costs == sorted(costs, reverse=True)


def test_without_propositions_the_largest_go_first():
    tasks = _warm.schedule(REPORTED, propositions=False)
    costs = [_warm.estimated_cost(*task) for task in tasks]
    assert costs == sorted(costs, reverse=True)
    assert tasks[0][:2] == ("js_weighted", {"pi": 0.3})


def test_only_the_defaults_get_the_perspective_and_only_with_propositions():
    assert all(
        perspective == (not params) for _, params, perspective in _warm.schedule(REPORTED, True)
    )
    assert not any(perspective for *_, perspective in _warm.schedule(REPORTED, False))


def test_the_cost_counts_the_generator_and_the_perspective_search():
    # js_weighted has no hand kernel: its perspective is searched (twice the work); kl has one
    assert _warm.estimated_cost("js_weighted", {}, True) == 2 * _warm.estimated_cost(
        "js_weighted", {}
    )
    assert _warm.estimated_cost("kl", {}, True) == _warm.estimated_cost("kl", {}) > 0
    assert _warm.estimated_cost("js_weighted", {"pi": 0.3}) > _warm.estimated_cost("kl", {})


@pytest.mark.parametrize(
    ("name", "params"), [("no_such_divergence", {}), ("alpha", {"alpha": 1}), ("kl", {"x": 2})]
)
def test_a_refused_entry_costs_nothing_and_is_left_to_the_main_process(name, params):
    assert _warm.estimated_cost(name, params, True) == 0


class _Immediate(concurrent.futures.Executor):
    """Runs nothing: the test resolves the futures itself."""

    def __init__(self) -> None:
        self.shut = False

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.shut = True


def test_waiting_for_the_defaults_does_not_wait_for_the_variants():
    executor = _Immediate()
    default, variant = concurrent.futures.Future(), concurrent.futures.Future()
    warmup = _warm.Warmup(executor, [(True, default), (False, variant)])
    threading.Timer(0.05, default.set_result, ("kl",)).start()
    warmup.wait(defaults_only=True)
    assert default.done() and not variant.done()
    assert warmup.active and not executor.shut
    threading.Timer(0.05, variant.set_result, ("alpha",)).start()
    warmup.wait()
    assert variant.done() and executor.shut and not warmup.active


@pytest.mark.parametrize(
    "env",
    [
        {"DIVERGENCES_CACHE_DIR": "/somewhere/cache"},
        {"DIVERGENCES_CACHE_DIR": "off"},
        {"DIVERGENCES_CACHE_DIR": ""},
        {"DIVERGENCES_CACHE_DIR": "None"},
        {"DIVERGENCES_CACHE_DIR": "0"},
        {"XDG_CACHE_HOME": "/xdg"},
        {"HOME": "/home/someone"},
    ],
)
def test_the_cache_directory_rule_is_the_librarys(monkeypatch, env):
    for name in ("DIVERGENCES_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _warm.cache_directory() == cache_dir()


def test_the_package_and_the_schedule_module_import_nothing_heavy():
    code = (
        "import sys, json; import gan_theory.report, gan_theory.report._warm; "
        "print(json.dumps([m for m in ('divergences', 'torch', 'sympy', 'matplotlib') "
        "if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_package_exports_its_names_lazily():
    assert set(report_package.__all__) == set(report_package._EXPORTS)
    for name in report_package.__all__:
        assert getattr(report_package, name) is not None
    with pytest.raises(AttributeError):
        report_package.no_such_name  # noqa: B018


@pytest.fixture
def no_server(monkeypatch):
    """Record instead of starting a fork server."""
    from multiprocessing import forkserver

    started = []
    monkeypatch.setattr(forkserver, "ensure_running", lambda: started.append(True))
    monkeypatch.setattr(_warm, "_cpus", lambda: 2)
    return started


def test_prestart_starts_the_server_for_a_cold_cache(monkeypatch, tmp_path, no_server):
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(tmp_path))
    assert _warm.prestart() is True
    assert no_server == [True]


def test_prestart_does_nothing_for_a_warm_cache(monkeypatch, tmp_path, no_server):
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(tmp_path))
    (tmp_path / "report-warm-0123.marker").write_text("warm\n")
    assert _warm.prestart() is False
    assert no_server == []


def test_prestart_does_nothing_without_a_cache_or_a_second_cpu(monkeypatch, tmp_path, no_server):
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", "off")
    assert _warm.prestart() is False
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_warm, "_cpus", lambda: 1)
    assert _warm.prestart() is False
    assert no_server == []


def test_the_command_prestarts_only_for_enough_entries_as_html(monkeypatch, tmp_path):
    from gan_theory.cli import main

    calls: list[bool] = []
    monkeypatch.setattr(_warm, "prestart", lambda: calls.append(True) or True)
    monkeypatch.setattr(report_package, "write_report", lambda out, **options: [])
    assert main(["report", "--out", str(tmp_path / "all")]) == 0
    four = ["--only", "kl", "js", "gan", "alpha"]
    assert main(["report", "--out", str(tmp_path / "four"), *four]) == 0
    assert calls == [True, True]
    for words in (["--only", "kl", "js"], ["--format", "md,json"], ["--generator", "u**2 - 1"]):
        assert main(["report", "--out", str(tmp_path / "some"), *words]) == 0
    assert calls == [True, True]


def test_the_command_leaves_its_objects_to_the_os_at_exit(monkeypatch, tmp_path):
    import gc

    from gan_theory import cli

    registered: list[object] = []
    monkeypatch.setattr(cli, "_FREEZE_AT_EXIT", [])
    monkeypatch.setattr(cli.atexit, "register", registered.append)
    monkeypatch.setattr(report_package, "write_report", lambda out, **options: [])
    for _ in range(2):
        assert cli.main(["report", "--out", str(tmp_path / "r"), "--format", "md"]) == 0
    assert registered == [gc.freeze]  # once per process


def test_a_worker_draws_a_propositions_plot_into_the_cache(monkeypatch, tmp_path):
    from divergences.symbolic import cache

    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(tmp_path))
    cache.clear_memory_cache()
    assert _warm.warm_proposition_plot("saturation") == "saturation"
    assert _warm.warm_proposition_plot("gibbs") == "gibbs"  # no plot: nothing to draw
    stored = [json.loads(p.read_text())["parts"] for p in tmp_path.glob("*.json")]
    assert [parts[:2] for parts in stored] == [["report-proposition-plot", "saturation"]]
    cache.clear_memory_cache()


def test_prestart_gives_up_quietly_when_the_server_cannot_start(monkeypatch, tmp_path, no_server):
    from multiprocessing import forkserver

    def refuse() -> None:
        raise OSError("no sockets here")

    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(forkserver, "ensure_running", refuse)
    assert _warm.prestart() is False


def test_a_pool_that_cannot_start_leaves_the_work_to_the_main_process(monkeypatch, tmp_path):
    def refuse(self, *args, **kwargs):
        raise OSError("no processes here")

    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(concurrent.futures.ProcessPoolExecutor, "submit", refuse)
    warmup = _warm.start(REPORTED, 2)
    assert not warmup.active
    warmup.wait()  # nothing to wait for
