"""Caching of pure derivations, in memory and on disk.

A derivation is a pure function of the generator expression and a few options, so its result is
cached under ``sha256(ENGINE_VERSION, srepr(inputs))``. The disk cache holds one pickle per key,
written atomically (temporary file + ``os.replace``) so a crashed writer never leaves a torn entry;
an unreadable entry is treated as a miss and rewritten.

The directory is ``$DIVERGENCES_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/divergences`` or
``~/.cache/divergences``. ``DIVERGENCES_CACHE_DIR=off`` disables the disk cache. Entries are only
read from this user-owned directory (pickles must come from a trusted place).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = ["ENGINE_VERSION", "cache_dir", "cached", "clear_memory_cache"]

#: bump whenever the engine's output for the same input may change
ENGINE_VERSION = "2"

T = TypeVar("T")
_MEMORY: dict[str, object] = {}


def cache_dir() -> Path | None:
    """The disk cache directory, or ``None`` when disabled."""
    configured = os.environ.get("DIVERGENCES_CACHE_DIR")
    if configured is not None:
        return None if configured.lower() in {"", "off", "0", "none"} else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "divergences"


def clear_memory_cache() -> None:
    """Forget in-memory results (the disk cache is kept)."""
    _MEMORY.clear()


def _key(parts: tuple[str, ...]) -> str:
    digest = hashlib.sha256("\x1f".join((ENGINE_VERSION, *parts)).encode())
    return digest.hexdigest()


def _read(path: Path) -> object | None:
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None


def _write(path: Path, value: object) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError:
        pass  # a read-only or full disk only costs a re-derivation next time


def cached(parts: tuple[str, ...], compute: Callable[[], T]) -> T:
    """Return the cached value for ``parts`` or compute, store and return it."""
    key = _key(parts)
    if key in _MEMORY:
        return _MEMORY[key]  # type: ignore[return-value]
    directory = cache_dir()
    path = directory / f"{key}.pkl" if directory is not None else None
    value = _read(path) if path is not None and path.exists() else None
    if value is None:
        value = compute()
        if path is not None:
            _write(path, value)
    _MEMORY[key] = value
    return value  # type: ignore[return-value]
