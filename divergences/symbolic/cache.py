"""Caching of pure derivations, in memory and on disk, as safe self-invalidating JSON.

A derivation is a pure function of its inputs and of the engine's source code, so its result is
cached under ``key = sha256(FORMAT, fingerprint, parts)``: ``parts`` describe the inputs (e.g.
``srepr`` of the generator) and ``fingerprint`` is :func:`source_fingerprint` of the code that
computes the value. Editing any file of that code changes the fingerprint, so stale results are
never served and no version number has to be bumped by hand.

**What is stored.** One file ``<cache_dir>/<key>.json`` per key::

    {"format": 1, "key": "<key>", "parts": ["derive", "kl", ...], "value": <tree>}

where ``<tree>`` is the :mod:`.serialize` encoding of the value (SymPy objects as explicit trees,
registered frozen dataclasses by field, plain data).

**Why reading it is safe.** Decoding never runs code named by the file: classes are only looked
up in a whitelist (SymPy's own public classes and explicitly registered ones), strings are never
evaluated or parsed as expressions, and SymPy objects are rebuilt without evaluation, so they come
back exactly as stored; an entry is only served if its decoded value encodes back to the very
tree that was stored (and a value is only written if it does), and if the caller's ``check``
accepts it. An entry whose format, key or parts differ from what was asked, that is not valid
JSON, that does not decode or fails those checks, is treated as a miss: the value is recomputed
and the file rewritten; the caller never sees an error from the cache. Old ``.pkl`` files from
earlier versions are simply ignored.

Writes are atomic (temporary file + ``os.replace``), so a crashed writer never leaves a torn
entry; a read-only or full disk only costs a recomputation next time.

The directory is ``$DIVERGENCES_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/divergences`` or
``~/.cache/divergences``. ``DIVERGENCES_CACHE_DIR=off`` (or ``""``, ``0``, ``none``) disables the
disk cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .._atomic import write_text_atomic
from .serialize import JSONValue, SerializationError, decode, encode, parse_json

__all__ = ["FORMAT", "cache_dir", "cached", "clear_memory_cache", "source_fingerprint"]

#: the layout of a cache file (bump when the envelope or the key derivation changes)
FORMAT = 1

T = TypeVar("T")
_MEMORY: dict[str, object] = {}
_FINGERPRINTS: dict[tuple[str, ...], str] = {}
_MISS = object()


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


# --------------------------------------------------------------------------------------------
# Source fingerprints
# --------------------------------------------------------------------------------------------


def source_fingerprint(*paths: str | os.PathLike[str]) -> str:
    """A sha256 hex digest of the Python sources under ``paths`` (files or directories).

    Each directory contributes every ``.py`` file below it (recursively, sorted by path relative
    to the directory); a file contributes itself. The hash covers each root's name, each file's
    relative path and its bytes, so renaming, adding, removing or editing a file changes the
    fingerprint, while the location of the installation does not. A missing path is hashed as
    missing. Memoised per process: the fingerprint describes the code that was imported.
    """
    roots = tuple(str(Path(p).resolve()) for p in paths)
    fingerprint = _FINGERPRINTS.get(roots)
    if fingerprint is None:
        fingerprint = _FINGERPRINTS.setdefault(roots, _hash_sources(roots))
    return fingerprint


def _hash_sources(roots: tuple[str, ...]) -> str:
    digest = hashlib.sha256()

    def field(data: bytes) -> None:  # length-prefixed: different sequences never hash alike
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)

    for root in map(Path, roots):
        field(f"root:{root.name}".encode())
        for relative, path in _source_files(root):
            field(relative.encode())
            field(_read_bytes(path))
    return digest.hexdigest()


def _source_files(root: Path) -> list[tuple[str, Path]]:
    """``(relative path, path)`` of the sources under ``root``, sorted by relative path."""
    if root.is_file():
        return [(root.name, root)]
    if not root.is_dir():
        return [("<missing>", root)]
    files = [(p.relative_to(root).as_posix(), p) for p in root.rglob("*.py") if p.is_file()]
    return sorted(files)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"<unreadable>"


# --------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------


def _key(parts: tuple[str, ...], fingerprint: str) -> str:
    if not (isinstance(fingerprint, str) and all(isinstance(p, str) for p in parts)):
        raise TypeError("cached(): parts must be strings and fingerprint a string")
    text = json.dumps([FORMAT, fingerprint, list(parts)], ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _envelope(key: str, parts: tuple[str, ...], value: JSONValue) -> dict[str, JSONValue]:
    return {"format": FORMAT, "key": key, "parts": list(parts), "value": value}


def _read(
    path: Path, key: str, parts: tuple[str, ...], check: Callable[[object], bool] | None
) -> object:
    """The value stored for ``key`` at ``path``, or ``_MISS`` for anything but a valid entry.

    Valid means: the envelope is for this key and these parts, the tree decodes, the decoded
    objects encode back to exactly the stored tree (so nothing was evaluated, dropped or changed
    on the way in: ``Eq(dom f^*, Interval(-oo, oo))`` can never come back as ``False``), and
    ``check`` accepts the value.
    """
    try:
        entry = parse_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SerializationError):
        return _MISS
    if not _is_entry_for(entry, key, parts):
        return _MISS
    tree = entry["value"]  # type: ignore[index]
    try:
        value = decode(tree)
        if encode(value) != tree:
            return _MISS
    except (SerializationError, RecursionError):
        return _MISS
    if check is not None and not check(value):
        return _MISS
    return value


def _is_entry_for(entry: JSONValue, key: str, parts: tuple[str, ...]) -> bool:
    """Whether ``entry`` is an envelope of this format, for exactly this key and these parts."""
    return (
        isinstance(entry, dict)
        and set(entry) == {"format", "key", "parts", "value"}
        and type(entry["format"]) is int
        and entry["format"] == FORMAT
        and entry["key"] == key
        and entry["parts"] == list(parts)
    )


def _write(path: Path, key: str, parts: tuple[str, ...], value: object) -> None:
    """Store ``value`` atomically; values that cannot be encoded, or whose encoding does not
    decode and encode back to itself, are kept in memory only, and disk errors are skipped."""
    try:
        tree = encode(value)
        if encode(decode(tree)) != tree:
            return  # it would not come back as it is: never served from disk
        text = json.dumps(_envelope(key, parts, tree), allow_nan=False)
    except (SerializationError, ValueError, RecursionError):
        return  # kept in memory only
    # a read-only or full disk only costs a recomputation next time
    with contextlib.suppress(OSError):
        write_text_atomic(path, text)


def cached(
    parts: tuple[str, ...],
    compute: Callable[[], T],
    *,
    fingerprint: str,
    check: Callable[[object], bool] | None = None,
) -> T:
    """The value for ``parts`` under ``fingerprint``: from memory, from disk, or ``compute()``.

    Args:
        parts: strings describing the inputs of ``compute`` (e.g. ``srepr`` of expressions).
        compute: the pure computation; called only on a miss, its result is stored.
        fingerprint: identifies the code of ``compute``, usually :func:`source_fingerprint` of
            its modules; a different fingerprint never sees another's entries.
        check: what a value read from disk must satisfy (its type, invariants); a value it
            refuses is a miss.

    A corrupt, foreign or undecodable disk entry is a miss and is rewritten; errors of the disk
    cache never reach the caller (exceptions of ``compute`` do, and nothing is stored then).
    """
    key = _key(parts, fingerprint)
    if key in _MEMORY:
        return _MEMORY[key]  # type: ignore[return-value]
    directory = cache_dir()
    path = directory / f"{key}.json" if directory is not None else None
    value = _read(path, key, parts, check) if path is not None else _MISS
    if value is _MISS:
        value = compute()
        if path is not None:
            _write(path, key, parts, value)
    _MEMORY[key] = value
    return value  # type: ignore[return-value]
