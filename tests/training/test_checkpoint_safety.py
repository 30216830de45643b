"""Checkpoints are data, never code (issue 17, items 3 and 6).

A checkpoint loads with ``torch.load(weights_only=True)`` plus JSON; a planted pickle, an
old-format (pickled) checkpoint, a damaged file or one missing any field or holding a wrong type
is refused with :class:`CheckpointError` naming the file (and the field), executes nothing, and
leaves the run folder byte for byte as it was -- through the library, ``train(resume=True)`` and
``gan-theory train --resume``.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import random
import re
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gan_theory.cli import main
from gan_theory.training import CheckpointError, train
from gan_theory.training.checkpoint import (
    FORMAT,
    META_SCHEMA,
    STATE_SCHEMA,
    _Each,
    _Optional,
    load_checkpoint,
    save_atomic,
)

from .conftest import TINY_CLI, tiny

ROOT = Path(__file__).resolve().parents[2]
CONFIG = {"model": "gan-ns", "steps": 1}
CLI = ["train", "--model", "gan-ns", "--steps", "2", *TINY_CLI]


@pytest.fixture(scope="module")
def payload(tmp_path_factory) -> dict[str, Any]:
    """The payload of a real one-step checkpoint (``tiny("gan-ns", steps=1)``)."""
    out = tmp_path_factory.mktemp("good")
    train(tiny(**CONFIG), out=out)
    return load_checkpoint(out / "checkpoint.pt")


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _write_raw(path: Path, meta: Any, state: Any) -> None:
    """A checkpoint file as an attacker or an old/buggy writer could make it (no checks)."""
    text = meta if isinstance(meta, str) else json.dumps(meta)
    torch.save({"meta": text, "state": state}, path)


def _split(payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    meta = {k: copy.deepcopy(payload[k]) for k in META_SCHEMA if k in payload}
    state = {k: _copy_containers(payload[k]) for k in STATE_SCHEMA if k in payload}
    return meta, state


def _copy_containers(value: Any) -> Any:
    """A copy of the dicts and lists (tensors shared: no test mutates one)."""
    if isinstance(value, dict):
        return {k: _copy_containers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_copy_containers(v) for v in value)
    return value


def _refused(path: Path, *patterns: str) -> str:
    """Load ``path``; assert a CheckpointError naming it and matching ``patterns``."""
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert str(path) in message, message
    for pattern in patterns:
        assert re.search(pattern, message), (pattern, message)
    return message


# -- the format ------------------------------------------------------------------------------


def test_a_checkpoint_is_json_plus_weights_only_tensors(tmp_path, payload) -> None:
    path = save_atomic(payload, tmp_path / "checkpoint.pt")
    outer = torch.load(path, weights_only=True)  # torch's restricted unpickler: no code runs
    assert set(outer) == {"meta", "state"}
    meta = json.loads(outer["meta"])
    assert set(meta) == set(META_SCHEMA) and meta["format"] == FORMAT == 2
    assert set(outer["state"]) == set(STATE_SCHEMA)

    def leaves(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [leaf for v in value.values() for leaf in leaves(v)]
        if isinstance(value, list | tuple):
            return [leaf for v in value for leaf in leaves(v)]
        return [value]

    allowed = (torch.Tensor, str, int, float, bool, type(None))
    assert all(isinstance(leaf, allowed) for leaf in leaves(outer["state"]))
    assert load_checkpoint(path)["step"] == 1


def test_the_training_package_never_unpickles() -> None:
    # issue 17 item 3: no pickle.load, weights_only=False or eval/exec of data in training
    sources = sorted((ROOT / "gan_theory" / "training").rglob("*.py"))
    assert sources
    forbidden = re.compile(r"pickle\.loads?\(|weights_only\s*=\s*False|\beval\(|\bexec\(")
    hits = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in sources
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if forbidden.search(line)
    ]
    assert hits == []


# -- planted and old-format pickles ----------------------------------------------------------


class _Plant:
    """Unpickling this runs ``os.system("touch MARKER")`` or ``open(MARKER, "w")``."""

    def __init__(self, action: str, marker: Path) -> None:
        self.action, self.marker = action, marker

    def __reduce__(self):
        if self.action == "system":
            return (os.system, (f"touch {shlex.quote(str(self.marker))}",))
        return (open, (str(self.marker), "w"))


def _plant(path: Path, action: str, container: str, marker: Path) -> None:
    bait = {"format": FORMAT, "step": 1, "x": _Plant(action, marker)}
    if container == "pickle":
        path.write_bytes(pickle.dumps(bait))
    else:
        torch.save(bait, path)  # the zip archive torch itself writes


@pytest.mark.parametrize("container", ["pickle", "torch-archive"])
@pytest.mark.parametrize("action", ["system", "open"])
def test_a_planted_pickle_never_runs(tmp_path, capsys, action: str, container: str) -> None:
    # control: the plant is live -- an ordinary unpickler runs it
    control = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(_Plant(action, control)))
    assert control.exists()

    run = tmp_path / "run"
    run.mkdir()
    marker = tmp_path / "MARKER"
    path = run / "checkpoint.pt"
    _plant(path, action, container, marker)
    before = _snapshot(run)

    _refused(path, "is not a safe checkpoint", "cannot be loaded without running code")
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        train(tiny(**CONFIG), out=run, resume=True)
    with pytest.raises(SystemExit) as info:
        main([*CLI, "--out", str(run), "--resume"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--resume:" in err and str(path) in err and "not a safe checkpoint" in err
    assert "Traceback" not in err

    assert not marker.exists()
    assert _snapshot(run) == before


def test_a_format_1_checkpoint_is_refused_not_loaded(tmp_path) -> None:
    # what the version before issue 17 wrote: one pickle, NumPy's random state inside
    old = tmp_path / "old"
    old.mkdir()
    path = old / "checkpoint.pt"
    torch.save(
        {
            "format": 1,
            "step": 3,
            "fingerprint": {"model": "gan-ns"},
            "rng": [{"python": random.getstate(), "numpy": np.random.get_state()}],
        },
        path,
    )
    before = _snapshot(old)
    message = _refused(path, "not a safe checkpoint", r"older version of gan-theory \(format 1")
    assert "weights_only=False" not in message  # no advice to load it unsafely
    assert _snapshot(old) == before

    # a format-1 dict that happens to hold only plain values: refused by its format
    plain = tmp_path / "plain.pt"
    torch.save({"format": 1, "step": 3, "fingerprint": {}}, plain)
    _refused(plain, "field 'format' is 1: written by an older version", "reads format 2")


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"", "cannot read checkpoint|not a safe checkpoint"),
        (b"\x00\xff not a checkpoint", "not a safe checkpoint"),
        (b"PK\x03\x04 truncated zip", "cannot read checkpoint"),
    ],
    ids=["empty", "garbage", "truncated-zip"],
)
def test_a_damaged_file_is_refused(tmp_path, content: bytes, pattern: str) -> None:
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(content)
    before = _snapshot(tmp_path)
    _refused(path, pattern)
    assert _snapshot(tmp_path) == before


def test_a_truncated_checkpoint_is_refused(tmp_path, payload) -> None:
    path = save_atomic(payload, tmp_path / "checkpoint.pt")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    _refused(path, "cannot read checkpoint")


# -- every field required, every type checked ------------------------------------------------


def _required_fields(spec: Any, prefix: str = "") -> list[str]:
    """Every required field of a schema record, as the error message names it."""
    out = []
    for key, sub in spec.items():
        if isinstance(sub, _Optional):
            continue
        name = f"{prefix}.{key}" if prefix else key
        out.append(name)
        if isinstance(sub, dict):
            out.extend(_required_fields(sub, name))
        elif isinstance(sub, _Each) and isinstance(sub.item, dict):
            out.extend(_required_fields(sub.item, f"{name}[0]"))
    return out


REQUIRED = _required_fields(META_SCHEMA) + _required_fields(STATE_SCHEMA)


def test_the_required_fields_cover_what_resume_reads() -> None:
    for field in ("format", "step", "fingerprint", "world_size", "history", "losses", "loop"):
        assert field in REQUIRED
    for field in ("losses.sums", "loop.nets", "rng[0].streams.noise", "rng[0].numpy.key"):
        assert field in REQUIRED


def _remove(part: dict[str, Any], field: str) -> None:
    """Delete the dotted ``field`` (``a.b[0].c``) from ``part``."""
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", field)]
    for key in keys[:-1]:
        part = part[key]
    del part[keys[-1]]


@pytest.mark.parametrize("field", REQUIRED)
def test_a_missing_field_is_named(tmp_path, payload, field: str) -> None:
    meta, state = _split(payload)
    top = re.split(r"[.\[]", field)[0]
    _remove(meta if top in META_SCHEMA else state, field)
    path = tmp_path / "checkpoint.pt"
    _write_raw(path, meta, state)
    before = _snapshot(tmp_path)
    _refused(path, re.escape(f"field '{field}' is missing"))
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("outer", "pattern"),
    [
        ({"format": FORMAT}, "field 'meta' is missing"),
        ({"meta": json.dumps({"format": FORMAT}), "state": {}}, "field 'step' is missing"),
        ({"meta": json.dumps({"format": FORMAT})}, "field 'state' is missing"),
        ({"meta": 5, "state": {}}, "field 'meta' must be a string, got int 5"),
        ({"meta": "{", "state": {}}, "field 'meta' is not valid JSON"),
        ({"meta": "[1]", "state": {}}, "field 'meta' must be a JSON object, got list"),
        ({"meta": "{}", "state": []}, "field 'state' must be a mapping, got list"),
        ([1, 2], "must be a mapping, got list"),
    ],
    ids=[
        "only-format",
        "only-format-in-meta",
        "no-state",
        "meta-not-text",
        "meta-not-json",
        "meta-not-object",
        "state-not-mapping",
        "a-list",
    ],
)
def test_a_checkpoint_of_the_wrong_shape_is_refused(tmp_path, outer: Any, pattern: str) -> None:
    path = tmp_path / "checkpoint.pt"
    torch.save(outer, path)
    before = _snapshot(tmp_path)
    _refused(path, re.escape(pattern))
    assert _snapshot(tmp_path) == before


_WRONG_TYPES = [
    ("step", "5", "field 'step' must be an integer >= 0, got str '5'"),
    ("step", -1, "field 'step' must be an integer >= 0, got int -1"),
    ("step", 1.5, "field 'step' must be an integer >= 0, got float 1.5"),
    ("step", True, "field 'step' must be an integer >= 0, got bool True"),
    ("format", "2", "field 'format' must be an integer, got str '2'"),
    ("format", 3, "field 'format' is 3; this version reads format 2"),
    ("world_size", 0, "field 'world_size' must be an integer >= 1"),
    ("world_size", 2, "field 'rng' holds 1 random state(s) for world_size 2"),
    ("fingerprint", [], "field 'fingerprint' must be a mapping, got list"),
    ("history", {}, "field 'history' must be a list, got dict"),
    ("history", [{"w1": "x"}], "field \"history[0]['w1']\" must be a finite number, got str"),
    ("losses", [], "field 'losses' must be a mapping, got list"),
    ("losses.count", -2, "field 'losses.count' must be an integer >= 0"),
    ("losses.sums", {"loss_d": None}, "must be a finite number, got null"),
    ("loop.nets", [], "field 'loop.nets' must be a mapping, got list"),
    ("loop.nets.generator", torch.zeros(1), "\"loop.nets['generator']\" must be a mapping"),
    (
        "loop.optimisers.critic.param_groups",
        {},
        "field \"loop.optimisers['critic'].param_groups\" must be a list, got dict",
    ),
    ("rng", {}, "field 'rng' must be a list, got dict"),
    ("rng[0].torch", [1, 2], "field 'rng[0].torch' must be a tensor, got list"),
    ("rng[0].python.gauss_next", "x", "must be a finite number or null, got str 'x'"),
    ("rng[0].numpy.bit_generator", 7, "field 'rng[0].numpy.bit_generator' must be a string"),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), _WRONG_TYPES, ids=[f"{f}={v!r}" for f, v, _ in _WRONG_TYPES]
)
def test_a_wrong_type_is_named(tmp_path, payload, field: str, value: Any, message: str) -> None:
    meta, state = _split(payload)
    top = re.split(r"[.\[]", field)[0]
    part = meta if top in META_SCHEMA else state
    keys = [int(k) if k.isdigit() else k for k in re.findall(r"[^.\[\]]+", field)]
    for key in keys[:-1]:
        part = part[key]
    part[keys[-1]] = value
    path = tmp_path / "checkpoint.pt"
    _write_raw(path, meta, state)
    before = _snapshot(tmp_path)
    _refused(path, re.escape(message))
    assert _snapshot(tmp_path) == before


def test_a_non_finite_number_in_the_record_is_refused(tmp_path, payload) -> None:
    meta, state = _split(payload)
    text = json.dumps(meta).replace('"count": 0', '"count": NaN')
    assert "NaN" in text
    path = tmp_path / "checkpoint.pt"
    _write_raw(path, text, state)
    _refused(path, "field 'meta' is not valid JSON", "NaN is not a finite number")


# -- refused by the run it would resume ------------------------------------------------------


def test_tensors_that_do_not_fit_the_run_are_refused(tmp_path, payload) -> None:
    meta, state = _split(payload)
    state["loop"]["nets"]["generator"] = {"net.0.weight": torch.zeros(3, 3)}
    _write_raw(tmp_path / "checkpoint.pt", meta, state)
    before = _snapshot(tmp_path)
    with pytest.raises(CheckpointError, match="does not fit this run: RuntimeError"):
        train(tiny("gan-ns", steps=2), out=tmp_path, resume=True)
    assert _snapshot(tmp_path) == before

    meta, state = _split(payload)
    state["loop"]["nets"]["extra"] = {}
    _write_raw(tmp_path / "checkpoint.pt", meta, state)
    before = _snapshot(tmp_path)
    with pytest.raises(CheckpointError, match=r"field 'loop.nets' holds \['critic', 'extra'"):
        train(tiny("gan-ns", steps=2), out=tmp_path, resume=True)
    assert _snapshot(tmp_path) == before


def test_the_cli_names_the_missing_field_and_changes_nothing(tmp_path, capsys, payload) -> None:
    assert main([*CLI, "--out", str(tmp_path)]) == 0
    path = tmp_path / "checkpoint.pt"
    meta, state = _split(load_checkpoint(path))
    del meta["fingerprint"]
    _write_raw(path, meta, state)
    before = _snapshot(tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main([*CLI, "--steps", "3", "--out", str(tmp_path), "--resume"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert str(path) in err and "field 'fingerprint' is missing" in err
    assert "Traceback" not in err and "KeyError" not in err
    assert _snapshot(tmp_path) == before


# -- what a save refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"history": [{"step": 1, "w1": float("nan")}]}, "NaN|not JSON compliant|finite number"),
        ({"step": -1}, "field 'step' must be an integer >= 0"),
        ({"format": 1}, "field 'format' is 1; this version reads format 2"),
        ({"extra": 1}, "field 'extra' is not a checkpoint field"),
    ],
    ids=["nan-metric", "negative-step", "old-format", "unknown-field"],
)
def test_a_save_refuses_what_a_load_would(tmp_path, payload, change: dict, pattern: str) -> None:
    path = save_atomic(payload, tmp_path / "checkpoint.pt")
    before = _snapshot(tmp_path)
    with pytest.raises(CheckpointError, match=f"cannot write checkpoint {re.escape(str(path))}"):
        save_atomic({**payload, **change}, path)
    with pytest.raises(CheckpointError, match=pattern):
        save_atomic({**payload, **change}, path)
    assert _snapshot(tmp_path) == before


def test_a_save_refuses_a_state_weights_only_cannot_load(tmp_path, payload) -> None:
    _, state = _split(payload)
    state["loop"]["optimisers"]["critic"]["param_groups"][0]["custom"] = _Plant("open", tmp_path)
    path = tmp_path / "checkpoint.pt"
    with pytest.raises(CheckpointError, match="would not load with weights_only=True"):
        save_atomic({**payload, **state}, path)
    assert not path.exists() and list(tmp_path.iterdir()) == []
