"""Checkpoints that load without running code, written atomically.

A checkpoint is data from disk: a planted or damaged file in a run folder must never execute
code or leave the run half restored (DESIGN.md, "Trust conventions"). So the file holds no pickled
object:

- ``checkpoint.pt`` is a :func:`torch.save` archive of ``{"meta": TEXT, "state": STATE}``,
  read back with :func:`torch.load` ``(weights_only=True)``: torch's restricted unpickler,
  which builds tensors, dicts, lists, tuples, strings, numbers and ``None`` and refuses every
  other global (``os.system``, a NumPy array, a user class ...) before it is called;
- ``TEXT`` is JSON (no NaN or infinity) holding the run's record: ``format``, ``step``,
  ``fingerprint`` (of the configuration), ``world_size``, the metrics ``history`` and the running
  ``losses`` sums;
- ``STATE`` holds the tensors: ``loop`` (the networks' and optimisers' state dicts) and ``rng``
  (every random state of every process, in the layout of :func:`.rng.capture_rng`).

One file, so one :func:`os.replace` swaps the whole checkpoint: record and tensors can never
come from two different saves. :func:`save_atomic` writes to a temporary file in the
destination's directory, flushes and ``fsync``-s it, renames it over the destination (atomic on
POSIX and Windows), then ``fsync``-s the directory so the rename itself is durable. A crash at
any point leaves either the previous checkpoint or the new one, never a torn file; a temporary
file left by a crash is ignored by :func:`load_checkpoint` and removed by the next save.

Both directions check the same schema (:data:`META_SCHEMA`, :data:`STATE_SCHEMA`): a save
refuses a payload it could not load back (and reads its own bytes back with
``weights_only=True`` before touching the disk), and a load refuses, with a
:class:`~.errors.CheckpointError` naming the file and the field, anything missing, of the wrong
type, or of another format -- before the caller restores anything. Loading only reads: the run
folder is left byte for byte as it was.

Format history: 1 (before issue 17) was a plain pickle, read with torch's unrestricted
unpickler; it is refused as unsafe, never loaded. 2 is the layout above.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .errors import CheckpointError

__all__ = [
    "CHECKPOINT_NAME",
    "FORMAT",
    "META_SCHEMA",
    "STATE_SCHEMA",
    "load_checkpoint",
    "save_atomic",
]

CHECKPOINT_NAME = "checkpoint.pt"
#: the layout written and read by this version (see the module docstring for the history)
FORMAT = 2


# -- the schema: what every field must hold --------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """A leaf of the schema: a description and a test."""

    description: str
    test: Callable[[Any], bool]


@dataclass(frozen=True)
class _Each:
    """A list (or tuple) whose every item matches ``item``."""

    item: Any


@dataclass(frozen=True)
class _Values:
    """A dict (any keys) whose every value matches ``value``."""

    value: Any


@dataclass(frozen=True)
class _Optional:
    """A record field that may be absent."""

    spec: Any


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


_INT = _Kind("an integer", _is_int)
_COUNT = _Kind("an integer >= 0", lambda v: _is_int(v) and v >= 0)
_POSITIVE = _Kind("an integer >= 1", lambda v: _is_int(v) and v >= 1)
_NUMBER = _Kind("a finite number", _is_number)
_NUMBER_OR_NONE = _Kind("a finite number or null", lambda v: v is None or _is_number(v))
_TEXT = _Kind("a string", lambda v: isinstance(v, str))
_MAPPING = _Kind("a mapping", lambda v: isinstance(v, dict))
_TENSOR = _Kind("a tensor", lambda v: isinstance(v, torch.Tensor))

#: the run's record, stored as JSON; a plain dict is a record whose keys are all required
META_SCHEMA: dict[str, Any] = {
    "format": _INT,
    "step": _COUNT,
    "fingerprint": _MAPPING,
    "world_size": _POSITIVE,
    "history": _Each(_Values(_NUMBER)),
    "losses": {"sums": _Values(_NUMBER), "count": _COUNT},
}

_RNG_SCHEMA: dict[str, Any] = {
    "streams": {"data": _TENSOR, "noise": _TENSOR, "penalty": _TENSOR},
    "torch": _TENSOR,
    "python": {"version": _INT, "state": _TENSOR, "gauss_next": _NUMBER_OR_NONE},
    "numpy": {
        "bit_generator": _TEXT,
        "key": _TENSOR,
        "pos": _COUNT,
        "has_gauss": _COUNT,
        "gauss": _NUMBER,
    },
    "cuda": _Optional(_Each(_TENSOR)),
}

#: the tensors, stored for ``torch.load(weights_only=True)``
STATE_SCHEMA: dict[str, Any] = {
    "loop": {
        "nets": _Values(_Values(_TENSOR)),
        "optimisers": _Values({"state": _MAPPING, "param_groups": _Each(_MAPPING)}),
    },
    "rng": _Each(_RNG_SCHEMA),
}


class _Mismatch(Exception):
    """A field that is missing or does not match its schema (internal to this module)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field {field!r} {problem}")


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _shown(value: Any) -> str:
    """The type of ``value``, and the value itself when it is a short plain one."""
    if isinstance(value, bool | int | float | str):
        text = repr(value)
        return f"{_type_name(value)} {text if len(text) <= 40 else text[:37] + '...'}"
    return _type_name(value)


def _check(value: Any, spec: Any, field: str) -> None:
    """Raise :class:`_Mismatch` naming the first field of ``value`` that breaks ``spec``."""
    if isinstance(spec, _Kind):
        if not spec.test(value):
            raise _Mismatch(field, f"must be {spec.description}, got {_shown(value)}")
    elif isinstance(spec, _Each):
        if not isinstance(value, list | tuple):
            raise _Mismatch(field, f"must be a list, got {_type_name(value)}")
        for i, item in enumerate(value):
            _check(item, spec.item, f"{field}[{i}]")
    elif isinstance(spec, _Values):
        if not isinstance(value, dict):
            raise _Mismatch(field, f"must be a mapping, got {_type_name(value)}")
        for key, item in value.items():
            _check(item, spec.value, f"{field}[{key!r}]")
    else:  # a record
        if not isinstance(value, dict):
            raise _Mismatch(field, f"must be a mapping, got {_type_name(value)}")
        for key, sub in spec.items():
            name = f"{field}.{key}" if field else key
            if key not in value:
                if isinstance(sub, _Optional):
                    continue
                raise _Mismatch(name, "is missing")
            _check(value[key], sub.spec if isinstance(sub, _Optional) else sub, name)


def _validate(payload: Mapping[str, Any]) -> None:
    """The whole payload (record and tensors) against the schema, then the cross-field rules."""
    _check(payload, {**META_SCHEMA, **STATE_SCHEMA}, "")
    if payload["format"] != FORMAT:
        raise _Mismatch("format", f"is {payload['format']}; this version reads format {FORMAT}")
    if len(payload["rng"]) != payload["world_size"]:
        raise _Mismatch(
            "rng",
            f"holds {len(payload['rng'])} random state(s) for world_size {payload['world_size']}",
        )


# -- writing ---------------------------------------------------------------------------------


def save_atomic(payload: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write the checkpoint ``payload`` to ``path`` atomically and durably; return the path.

    ``payload`` holds the fields of :data:`META_SCHEMA` (``format`` must be :data:`FORMAT`) and
    of :data:`STATE_SCHEMA`. Everything is checked and serialised in memory first -- schema,
    JSON encoding, and a ``weights_only`` read-back of the bytes -- so a payload that could not
    be loaded again never touches the disk.

    Raises:
        CheckpointError: ``payload`` misses a field, has one of the wrong type, holds a value
            JSON cannot hold (NaN, infinity, an object), or a state ``torch.load`` would refuse
            with ``weights_only=True``. The previous checkpoint is then left as it was.
    """
    path = Path(path)
    unknown = sorted(set(payload) - set(META_SCHEMA) - set(STATE_SCHEMA))
    try:
        if unknown:
            raise _Mismatch(unknown[0], "is not a checkpoint field")
        _validate(payload)
        meta = json.dumps({key: payload[key] for key in META_SCHEMA}, allow_nan=False)
    except (_Mismatch, TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc}") from None
    buffer = io.BytesIO()
    torch.save({"meta": meta, "state": {key: payload[key] for key in STATE_SCHEMA}}, buffer)
    try:
        _read(io.BytesIO(buffer.getvalue()))
    except Exception as exc:  # what the weights_only unpickler refuses
        raise CheckpointError(
            f"cannot write checkpoint {path}: its tensors would not load with "
            f"weights_only=True ({_reason(exc)})"
        ) from None
    _write_atomic(buffer.getbuffer(), path)
    return path


def _write_atomic(data: memoryview, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(path.parent)
    for stale in path.parent.glob(f".{path.name}.tmp-*"):
        with contextlib.suppress(OSError):
            stale.unlink()


# -- reading ---------------------------------------------------------------------------------


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a checkpoint written by :func:`save_atomic`; return its payload.

    Nothing in the file is executed (``weights_only=True``, JSON) and nothing on disk changes.

    Raises:
        CheckpointError: naming ``path``: the file is missing or unreadable; it needs code to
            load (a pickle: a format-1 checkpoint of an older version, or a planted file); it is
            of another format; or a field is missing or of the wrong type (naming the field).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        outer = _read(path)
    except Exception as exc:  # torch raises several types for a damaged archive
        if not _is_unpickling_error(exc):
            raise CheckpointError(f"cannot read checkpoint {path}: {_reason(exc)}") from None
        raise CheckpointError(
            f"{path} is not a safe checkpoint: it cannot be loaded without running code from "
            f"the file ({_reason(exc)}). A checkpoint written by an older version of gan-theory "
            f"(format 1, a pickle) or a planted or damaged file looks like this; it was not "
            f"loaded. Start the run afresh in another --out folder"
        ) from None
    try:
        payload = _unpack(outer)
        _validate(payload)
    except _Mismatch as exc:
        raise CheckpointError(f"{path} is not a usable checkpoint: {exc}") from None
    return payload


def _read(source: Path | io.BytesIO) -> Any:
    """``torch.load`` with ``weights_only=True`` on the CPU (its warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.load(source, map_location="cpu", weights_only=True)


def _unpack(outer: Any) -> dict[str, Any]:
    """The payload of the archive's ``{"meta": JSON text, "state": tensors}``.

    Only the fields of the schema are taken (the record's from the JSON, the tensors' from the
    state), so neither part can stand in for the other.
    """
    if isinstance(outer, dict) and "meta" not in outer and outer.get("format", FORMAT) != FORMAT:
        raise _Mismatch(
            "format",
            f"is {outer['format']!r}: written by an older version of gan-theory; this version "
            f"reads format {FORMAT}",
        )
    _check(outer, {"meta": _TEXT, "state": _MAPPING}, "")
    try:
        meta = json.loads(outer["meta"], parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise _Mismatch("meta", f"is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise _Mismatch("meta", f"must be a JSON object, got {_type_name(meta)}")
    if "format" in meta and meta["format"] != FORMAT:  # name the format before other fields
        _check(meta["format"], _INT, "format")
        raise _Mismatch("format", f"is {meta['format']}; this version reads format {FORMAT}")
    state = outer["state"]
    return {
        **{key: meta[key] for key in META_SCHEMA if key in meta},
        **{key: state[key] for key in STATE_SCHEMA if key in state},
    }


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def _is_unpickling_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a ``pickle.UnpicklingError`` (what the weights-only unpickler raises
    for anything but tensors and plain values), told by name: this package imports no pickle
    module at all (``tests/test_no_code_from_data.py`` scans for it)."""
    return any(cls.__name__ == "UnpicklingError" for cls in type(exc).__mro__)


def _reason(exc: BaseException) -> str:
    """A one-line reason from torch's (long, multi-line) loading error."""
    text = str(exc)
    refused = re.search(r"GLOBAL (\S+)", text)
    if refused:
        return f"it asks for {refused.group(1)}, which is not a tensor or plain value"
    if _is_unpickling_error(exc):
        return "it is not a weights-only torch archive"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:300]


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
