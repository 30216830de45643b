"""The JSON serializer (:mod:`divergences.symbolic.serialize`) and the disk cache built on it.

* every registered derivation round-trips exactly (``srepr`` of every SymPy object inside, and
  equality of the dataclasses), also through a warm disk cache in a fresh process;
* unevaluated SymPy objects stay unevaluated (``Eq(dom f^*, Interval(-oo, oo))`` is not ``False``);
* corrupt, foreign, pickled or non-whitelisted cache entries are ignored, rewritten with the right
  value, and never execute anything;
* the fingerprint and the key invalidate entries; a read-only cache directory is harmless.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sympy as sp

import divergences as dv
from divergences import _atomic as atomic_module
from divergences.symbolic import cache as cache_module
from divergences.symbolic import serialize
from divergences.symbolic.cache import cached, source_fingerprint
from divergences.symbolic.derivation import Derivation
from divergences.symbolic.serialize import (
    SerializationError,
    dumps,
    loads,
    register_dataclass,
    register_sympy_class,
)
from divergences.symbolic.steps import Step

ENTRIES: tuple[tuple[str, dict[str, object]], ...] = (
    *((name, {}) for name in dv.names()),
    ("alpha", {"alpha": 2}),
    ("alpha", {"alpha": -1}),
    ("js_weighted", {"pi": sp.Rational(3, 10)}),
)
x = sp.Symbol("x")
y = sp.Symbol("y", positive=True)
DOM_EQ = sp.Eq(sp.Symbol("dom f^*"), sp.Interval(-sp.oo, sp.oo), evaluate=False)
FINGERPRINT = "test-fingerprint"

#: set by code that must never run while reading the cache
FLAGS: dict[str, bool] = {}


def _raise_flag(name: str) -> str:
    """Reached only if a cache entry could execute code (a pickle's ``__reduce__``)."""
    FLAGS[name] = True
    return name


class _Exploit:
    def __reduce__(self):
        return (_raise_flag, ("pickle",))


# --------------------------------------------------------------------------------------------
# Locally registered classes (what the numeric layer registers for its own primitives)
# --------------------------------------------------------------------------------------------


@register_sympy_class
class softplus_test(sp.Function):
    """A custom function, as in ``divergences.numeric``: its ``eval`` must never run on load."""

    nargs = 1

    @classmethod
    def eval(cls, arg):
        FLAGS["softplus_test.eval"] = True
        return None


class canary(sp.Function):
    """Not registered: reading its name from a file must not construct it."""

    nargs = 1

    @classmethod
    def eval(cls, arg):
        FLAGS["canary"] = True
        return None


@register_dataclass
@dataclasses.dataclass(frozen=True)
class FormsLike:
    """The shape of the numeric layer's cached ``_Forms``."""

    pieces: tuple[tuple[sp.Expr, sp.Set], ...]
    scores: tuple[float, ...]
    terms: tuple[sp.Expr, sp.Expr, sp.Expr] | None


@dataclasses.dataclass(frozen=True)
class Unregistered:
    value: int


@pytest.fixture
def cache_directory(tmp_path, monkeypatch) -> Path:
    """A fresh disk cache and an empty memory cache."""
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(tmp_path))
    cache_module.clear_memory_cache()
    FLAGS.clear()
    yield tmp_path
    cache_module.clear_memory_cache()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def sympy_leaves(value: object) -> list[sp.Basic]:
    """Every SymPy object inside a value (through dataclasses, tuples, lists and dicts)."""
    if isinstance(value, sp.Basic):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = [getattr(value, f.name) for f in dataclasses.fields(value)]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in sympy_leaves(item)]
    return []


def assert_same(original: object, back: object) -> None:
    """Same SymPy objects (by ``srepr``) in the same places, same encoding."""
    before, after = sympy_leaves(original), sympy_leaves(back)
    assert [sp.srepr(e) for e in after] == [sp.srepr(e) for e in before]
    assert dumps(back) == dumps(original)


def counting(value: object):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def entry_path(directory: Path, parts: tuple[str, ...], fingerprint: str = FINGERPRINT) -> Path:
    return directory / f"{cache_module._key(parts, fingerprint)}.json"


def stored_value(path: Path) -> object:
    entry = json.loads(path.read_text())
    return serialize.decode(entry["value"])


# --------------------------------------------------------------------------------------------
# The serializer
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "params"), ENTRIES, ids=lambda e: str(e))
def test_every_derivation_round_trips(name, params):
    derivation = dv.get(name, **params)._derivation
    assert isinstance(derivation, Derivation)
    back = loads(dumps(derivation))
    assert back == derivation
    assert_same(derivation, back)
    assert [s.passed for s in back.steps] == [s.passed for s in derivation.steps]


PLAIN_VALUES = [
    None,
    True,
    False,
    0,
    -(10**40),
    1.5,
    -0.0,
    5e-324,
    math.inf,
    -math.inf,
    'f\'_1 ∑ "quoted"',
    (),
    (1, [2, (3,)]),
    [1, (2,)],
    {"a": (1.0, None), "b": {"c": [math.inf]}},
]


@pytest.mark.parametrize("value", PLAIN_VALUES, ids=repr)
def test_plain_values_round_trip(value):
    back = loads(dumps(value))
    assert back == value
    assert repr(back) == repr(value)  # tuple vs list, int vs float, -0.0 all kept


def test_nan_round_trips_and_json_has_no_nan_literal():
    text = dumps((math.nan, -math.inf))
    assert "NaN" not in text and "Infinity" not in text
    back = loads(text)
    assert math.isnan(back[0]) and back[1] == -math.inf


a, b = sp.symbols("a b")
LAMBERT_E = sp.Function.__new__(sp.LambertW, sp.E, evaluate=False)  # LambertW(E) would be 1
SYMPY_VALUES = [
    DOM_EQ,
    sp.Ge(sp.Integer(2), 1, evaluate=False),
    sp.Add(1, 2, evaluate=False),
    sp.Mul(2, 3, x, evaluate=False),
    sp.Pow(4, sp.S.Half, evaluate=False),
    sp.Contains(x, sp.Interval(0, 1), evaluate=False),
    sp.Contains(sp.Integer(2), sp.Interval(0, 1), evaluate=False),
    sp.Piecewise((x, x < 0), (x**2, sp.true), evaluate=False),
    sp.Piecewise((1, sp.true), evaluate=False),
    sp.Lambda(x, x**2 + 1),
    sp.Lambda((a, b), a * b),
    LAMBERT_E,
    sp.LambertW(y, -1),
    sp.exp(sp.log(x), evaluate=False),
    sp.Abs(-3, evaluate=False),
    sp.sign(x) + sp.Max(x, 1, y) + sp.Min(x, 2),
    sp.tanh(x) + sp.sqrt(y) + sp.log(y, 3),
    sp.Derivative(sp.Function("f")(y), (y, 2)),
    sp.Function("f^*")(sp.Function("f'_1")(x)),
    sp.Function("g", real=True)(x),
    sp.Limit(sp.Function("f")(y) / y, y, sp.oo),
    sp.Limit(sp.Function("f")(y), y, 0, "+"),
    sp.And(x > 0, sp.Or(x < 3, sp.Not(sp.Eq(x, 5, evaluate=False)))),
    sp.Ne(x, 1),
    sp.Tuple(sp.oo, -sp.oo, sp.zoo, sp.nan, sp.pi, sp.E, sp.I, sp.EulerGamma),
    sp.Tuple(sp.S.Half, sp.S.One, sp.S.Zero, sp.S.NegativeOne, sp.Rational(-3, 7)),
    sp.Tuple(sp.S.Reals, sp.S.EmptySet, sp.true, sp.false, sp.S.Naturals0),
    sp.Integer(10**60),
    sp.Interval(0, 1),
    sp.Interval.open(-sp.oo, sp.log(2)),
    sp.Interval.Lopen(0, 1),
    sp.Interval.Ropen(0, 1),
    sp.Interval(-sp.oo, sp.oo),
    sp.FiniteSet(1, x, sp.pi),
    sp.Union(sp.Interval(0, 1), sp.Interval(2, 3), evaluate=False),
    sp.Complement(sp.S.Reals, sp.FiniteSet(0), evaluate=False),
    sp.Dummy("d", positive=True) + 1,
    sp.Symbol("u", positive=True, integer=False),
]


@pytest.mark.parametrize("expr", SYMPY_VALUES, ids=sp.srepr)
def test_sympy_objects_come_back_exactly_and_unevaluated(expr):
    back = loads(dumps(expr))
    assert sp.srepr(back) == sp.srepr(expr)
    assert back.func == expr.func
    assert back == expr


def test_dom_eq_is_not_evaluated_to_false():
    back = loads(dumps(DOM_EQ))
    assert isinstance(back, sp.Equality)
    assert back is not sp.false
    assert back.rhs == sp.Interval(-sp.oo, sp.oo)


@pytest.mark.parametrize(
    "value",
    [
        sp.Float("0.1", 50),
        sp.Float(1.5),
        sp.Float(-(2.0**-1074)),
        sp.Float("1e-400", 200),
        sp.Float(0.0),
        sp.Float("3.14159265358979323846264338327950288419716939937510582097494459", 212),
    ],
    ids=str,
)
def test_floats_round_trip_bit_for_bit(value):
    back = loads(dumps(value))
    assert type(back) is sp.Float
    assert back._mpf_ == value._mpf_ and back._prec == value._prec
    assert sp.srepr(back) == sp.srepr(value)


def test_registered_function_and_dataclass_round_trip_without_evaluation():
    expr = softplus_test(x) - sp.log(1 + sp.exp(x))
    forms = FormsLike(
        pieces=((expr, sp.Interval.open(-sp.oo, 0)), (softplus_test(2 * x), sp.S.Reals)),
        scores=(0.5, math.nan, math.inf),
        terms=(sp.S.Zero, sp.Integer(2), softplus_test(x)),
    )
    FLAGS.clear()
    back = loads(dumps(forms))
    assert not FLAGS, "a custom function's eval ran while reading"
    assert type(back) is FormsLike
    assert_same(forms, back)
    assert math.isnan(back.scores[1])
    assert loads(dumps(dataclasses.replace(forms, terms=None))).terms is None
    key = f"{softplus_test.__module__}.{softplus_test.__qualname__}"
    assert f'"sympy":"{key}"' in dumps(expr)


@pytest.mark.parametrize(
    "value",
    [
        canary(x),  # a SymPy class that is not whitelisted
        Unregistered(1),  # a dataclass that is not registered
        {1: 2},  # dict keys must be str
        {"a", "b"},
        b"bytes",
        object(),
        sp.Wild("w"),
        sp.Function("f", nargs=1)(x),  # undefined functions carry assumptions only
        sp.Matrix([[1, 2]]),
    ],
    ids=repr,
)
def test_unsupported_values_are_refused_when_writing(value):
    with pytest.raises(SerializationError):
        dumps(value)


def test_registration_checks_its_argument():
    with pytest.raises(TypeError):
        register_dataclass(int)  # not a dataclass

    @dataclasses.dataclass
    class Mutable:
        value: int

    with pytest.raises(TypeError):
        register_dataclass(Mutable)
    with pytest.raises(TypeError):
        register_sympy_class(int)
    with pytest.raises(TypeError):
        register_sympy_class(sp.Symbol)


CANARY_KEY = f"{canary.__module__}.{canary.__qualname__}"
MALFORMED = [
    "",
    "not json",
    "NaN",
    '{"float": Infinity}',
    "[1, 2]",  # bare JSON arrays are not an encoding
    '{"list": [1], "tuple": [2]}',
    '{"set": [1]}',
    '{"tuple": 1}',
    '{"float": "1.0"}',
    '{"dict": [["a", 1]]}',
    '{"sympy": "os.system", "args": [{"sympy": "Str", "name": "echo hacked"}]}',
    '{"sympy": "eval", "args": []}',
    '{"sympy": "__import__", "args": []}',
    '{"sympy": "sympify", "args": [{"sympy": "Str", "name": "x"}]}',
    f'{{"sympy": "{CANARY_KEY}", "args": [{{"sympy": "Integer", "value": 1}}]}}',
    '{"sympy": "Add"}',  # not a singleton
    '{"sympy": "Infinity", "args": []}',  # a singleton has no arguments
    '{"sympy": "Symbol", "args": []}',
    '{"sympy": "Add", "args": [1, 2]}',  # arguments must be SymPy objects
    '{"sympy": "Add", "args": [{"sympy": "Symbol", "name": "x", "assumptions": {}}], "x": 1}',
    '{"sympy": "Symbol", "name": 1, "assumptions": {}}',
    '{"sympy": "Symbol", "name": "x", "assumptions": {"__class__": true}}',
    '{"sympy": "Symbol", "name": "x", "assumptions": {"positive": 1}}',
    '{"sympy": "Symbol", "name": "x", "assumptions": {"positive": true, "negative": true}}',
    '{"sympy": "Integer", "value": "1"}',
    '{"sympy": "Integer", "value": true}',
    '{"sympy": "Rational", "p": 2, "q": 4}',
    '{"sympy": "Rational", "p": 1, "q": 0}',
    '{"sympy": "Float", "mpf": [0, "zz", 0, 1], "prec": 53}',
    '{"sympy": "Float", "mpf": [2, "1", 0, 1], "prec": 53}',
    '{"sympy": "Float", "mpf": [0, "1", 0, 1], "prec": 0}',
    '{"sympy": "Float", "mpf": [0, "3", 0, 5], "prec": 53}',  # bit count of 3 is 2
    '{"sympy": "Float", "mpf": [0, "0", -456, -2], "prec": 53}',  # mpmath's inf
    '{"sympy": "AppliedUndef", "name": ["f"], "assumptions": {}, "args": []}',
    # names that are Python source: refused, so they can never reach printed code
    '{"sympy": "AppliedUndef", "name": "__import__(\'os\').system(\'x\') or exp", '
    '"assumptions": {}, "args": []}',
    '{"sympy": "AppliedUndef", "name": "exec", "assumptions": {}, "args": [{"sympy": "Str", '
    '"name": "1"}], "x": 1}',
    '{"sympy": "Symbol", "name": "u.__class__", "assumptions": {}}',
    '{"sympy": "Symbol", "name": "open(1)", "assumptions": {}}',
    '{"sympy": "Dummy", "name": "__builtins__", "dummy_index": 1, "assumptions": {}}',
    '{"sympy": "Symbol", "name": "", "assumptions": {}}',
    '{"sympy": "Symbol", "name": "' + "x" * 41 + '", "assumptions": {}}',
    '{"sympy": "Interval", "args": [{"sympy": "Integer", "value": 2}]}',
    '{"sympy": "Function", "args": [{"sympy": "Symbol", "name": "f", "assumptions": {}}]}',
    '{"dataclass": "builtins.object", "fields": {}}',
    '{"dataclass": "tests.symbolic.test_cache.Unregistered", "fields": {"value": 1}}',
    '{"dataclass": "divergences.symbolic.steps.Step", "fields": {"description": "x"}}',
    "[" * 100_000 + "]" * 100_000,
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_text_raises_serialization_error_and_runs_nothing(text):
    FLAGS.clear()
    with pytest.raises(SerializationError):
        loads(text)
    assert not FLAGS


def test_loads_wants_text():
    with pytest.raises(SerializationError):
        loads(b'{"tuple": []}')  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# The cache
# --------------------------------------------------------------------------------------------


def test_hits_memory_then_disk(cache_directory):
    parts = ("test", "hit")
    compute, calls = counting((DOM_EQ, 1.0, None))
    first = cached(parts, compute, fingerprint=FINGERPRINT)
    assert cached(parts, compute, fingerprint=FINGERPRINT) is first
    assert len(calls) == 1
    path = entry_path(cache_directory, parts)
    entry = json.loads(path.read_text())
    assert entry["format"] == cache_module.FORMAT
    assert entry["key"] == path.stem and entry["parts"] == list(parts)
    cache_module.clear_memory_cache()
    again = cached(parts, compute, fingerprint=FINGERPRINT)
    assert len(calls) == 1, "recomputed despite the disk entry"
    assert_same(first, again)
    assert isinstance(again[0], sp.Equality)


def test_a_cached_none_is_a_hit(cache_directory):
    compute, calls = counting(None)
    for _ in range(2):
        assert cached(("test", "none"), compute, fingerprint=FINGERPRINT) is None
        cache_module.clear_memory_cache()
    assert len(calls) == 1


def test_fingerprint_and_parts_change_the_key(cache_directory):
    compute, calls = counting("value")
    cached(("test", "a"), compute, fingerprint="one")
    cached(("test", "a"), compute, fingerprint="two")
    cached(("test", "b"), compute, fingerprint="one")
    cached(("test", "a", ""), compute, fingerprint="one")
    assert len(calls) == 4
    assert len(list(cache_directory.glob("*.json"))) == 4


def test_fingerprint_is_required():
    with pytest.raises(TypeError):
        cached(("test",), lambda: 1)  # type: ignore[call-arg]


def _pickle_exploit() -> bytes:
    return pickle.dumps(_Exploit())


def _foreign(directory: Path) -> bytes:
    """A valid entry, but for other parts (copied onto this key's file)."""
    cached(("test", "foreign"), lambda: "other value", fingerprint=FINGERPRINT)
    return entry_path(directory, ("test", "foreign")).read_bytes()


def _envelope(value: object, **changes: object) -> bytes:
    parts = ("test", "victim")
    entry = {
        "format": cache_module.FORMAT,
        "key": cache_module._key(parts, FINGERPRINT),
        "parts": list(parts),
        "value": value,
    }
    entry.update(changes)
    return json.dumps(entry).encode()


BAD_ENTRIES = {
    "garbage": lambda d: b"\x00\xff not json at all",
    "truncated": lambda d: _envelope({"tuple": []})[:-5],
    "pickle": lambda d: _pickle_exploit(),
    "foreign": _foreign,
    "other key": lambda d: _envelope("x", key="0" * 64),
    "other parts": lambda d: _envelope("x", parts=["test", "other"]),
    "other format": lambda d: _envelope("x", format=cache_module.FORMAT + 1),
    "format as bool": lambda d: _envelope("x", format=True),
    "missing value": lambda d: json.dumps({"format": cache_module.FORMAT}).encode(),
    "os.system": lambda d: _envelope({"sympy": "os.system", "args": []}),
    "code as a function name": lambda d: _envelope(
        {
            "sympy": "AppliedUndef",
            "name": "__import__('tests.symbolic.test_cache')._raise_flag('x')",
            "assumptions": {},
            "args": [],
        }
    ),
    "unregistered class": lambda d: _envelope(
        {"sympy": CANARY_KEY, "args": [{"sympy": "Integer", "value": 1}]}
    ),
    "unregistered dataclass": lambda d: _envelope(
        {"dataclass": "tests.symbolic.test_cache.Unregistered", "fields": {"value": 1}}
    ),
    "NaN literal": lambda d: _envelope("x").replace(b'"x"', b"NaN"),
}


@pytest.mark.parametrize("kind", list(BAD_ENTRIES))
def test_bad_entries_are_ignored_and_rewritten(cache_directory, kind):
    parts = ("test", "victim")
    path = entry_path(cache_directory, parts)
    right = (DOM_EQ, softplus_test(x), "right value")  # (building it runs eval: before the reset)
    path.write_bytes(BAD_ENTRIES[kind](cache_directory))
    cache_module.clear_memory_cache()
    FLAGS.clear()
    compute, calls = counting(right)
    value = cached(parts, compute, fingerprint=FINGERPRINT)
    assert not FLAGS, "reading the entry executed code"
    assert len(calls) == 1
    assert_same(right, value)
    entry = json.loads(path.read_text())  # rewritten whole, as a valid entry
    assert entry["key"] == path.stem and entry["parts"] == list(parts)
    assert_same(right, stored_value(path))


def test_values_that_cannot_be_encoded_stay_in_memory(cache_directory):
    value = object()
    assert cached(("test", "object"), lambda: value, fingerprint=FINGERPRINT) is value
    assert cached(("test", "object"), lambda: None, fingerprint=FINGERPRINT) is value
    assert list(cache_directory.iterdir()) == []


def test_compute_errors_reach_the_caller_and_store_nothing(cache_directory):
    def fail():
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError):
        cached(("test", "error"), fail, fingerprint=FINGERPRINT)
    assert list(cache_directory.iterdir()) == []


def test_disabled_disk_cache_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", "off")
    cache_module.clear_memory_cache()
    assert cache_module.cache_dir() is None
    assert cached(("test", "off"), lambda: 3, fingerprint=FINGERPRINT) == 3
    assert list(tmp_path.iterdir()) == []


def test_unwritable_directory_does_not_raise(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(blocker / "cache"))  # parent is a file
    cache_module.clear_memory_cache()
    assert cached(("test", "unwritable"), lambda: (1, 2), fingerprint=FINGERPRINT) == (1, 2)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores modes")
def test_read_only_directory_does_not_raise(tmp_path, monkeypatch):
    monkeypatch.setenv("DIVERGENCES_CACHE_DIR", str(tmp_path))
    cache_module.clear_memory_cache()
    tmp_path.chmod(0o500)
    try:
        assert cached(("test", "read-only"), lambda: "v", fingerprint=FINGERPRINT) == "v"
        assert list(tmp_path.iterdir()) == []
    finally:
        tmp_path.chmod(0o700)


@pytest.mark.parametrize("failing", ["mkstemp", "replace"])
def test_disk_errors_while_writing_do_not_raise(cache_directory, monkeypatch, failing):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    # the cache writes through divergences._atomic.write_text_atomic
    if failing == "mkstemp":
        monkeypatch.setattr(atomic_module.tempfile, "mkstemp", read_only)
    else:
        monkeypatch.setattr(atomic_module.os, "replace", read_only)
    assert cached(("test", failing), lambda: "v", fingerprint=FINGERPRINT) == "v"
    assert list(cache_directory.iterdir()) == []  # no entry and no temporary file left


def test_old_pickle_files_are_ignored(cache_directory):
    (cache_directory / "0123.pkl").write_bytes(_pickle_exploit())
    compute, calls = counting(1)
    assert cached(("test", "pkl"), compute, fingerprint=FINGERPRINT) == 1
    assert calls == [1] and not FLAGS


# --------------------------------------------------------------------------------------------
# Source fingerprints
# --------------------------------------------------------------------------------------------


def test_source_fingerprint_follows_the_sources(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("A = 1\n")
    (package / "sub" / "b.py").write_text("B = 2\n")
    (package / "notes.txt").write_text("ignored")
    extra = tmp_path / "extra.py"
    extra.write_text("E = 3\n")

    def fingerprint() -> str:
        cache_module._FINGERPRINTS.clear()  # the memo is per process; the test edits files
        return source_fingerprint(package, extra)

    first = fingerprint()
    assert len(first) == 64 and fingerprint() == first
    (package / "notes.txt").write_text("still ignored")
    assert fingerprint() == first
    (package / "sub" / "b.py").write_text("B = 3\n")
    second = fingerprint()
    assert second != first
    (package / "sub" / "b.py").rename(package / "sub" / "c.py")
    assert fingerprint() != second
    extra.write_text("E = 4\n")
    assert fingerprint() not in {first, second}


def test_source_fingerprint_is_memoised(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("X = 1\n")
    first = source_fingerprint(source)
    source.write_text("X = 2\n")
    assert source_fingerprint(source) == first  # describes the code that was loaded


def test_engine_fingerprint_covers_the_engine():
    from divergences.symbolic import derivation

    symbolic, errors = derivation.ENGINE_SOURCES
    assert (symbolic / "conjugate.py").is_file() and errors.name == "errors.py"


# --------------------------------------------------------------------------------------------
# Derivations through the disk cache
# --------------------------------------------------------------------------------------------

STEPS_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import sympy as sp
    import divergences as dv
    from divergences.symbolic import derivation

    if sys.argv[1] == "warm":
        def must_not_run(*args, **kwargs):
            raise AssertionError("derived again despite the disk cache")
        derivation._derive = must_not_run
    steps = dv.get("kl").steps
    print(json.dumps([
        [sp.srepr(s.relation), s.description, s.method, s.passed, s.detail] for s in steps
    ]))
    """
)


def _steps_in_fresh_process(directory: Path, mode: str) -> list[list[object]]:
    env = {**os.environ, "DIVERGENCES_CACHE_DIR": str(directory)}
    done = subprocess.run(
        [sys.executable, "-c", STEPS_SCRIPT, mode],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_kl_steps_from_a_warm_disk_cache_match_a_cold_run(tmp_path):
    cold = _steps_in_fresh_process(tmp_path, "cold")
    assert list(tmp_path.glob("*.json")), "the cold run stored nothing"
    warm = _steps_in_fresh_process(tmp_path, "warm")
    assert warm == cold
    domain = [relation for relation, *_ in warm if "dom f^*" in relation]
    assert domain and all(r.startswith("Equality(Symbol('dom f^*')") for r in domain)
    assert all(passed for *_, passed, _ in warm)


def test_certificate_step_survives_the_disk_unevaluated(cache_directory):
    step = Step("dom f* = R", DOM_EQ, "symbolic", True, "")
    cached(("test", "step"), lambda: step, fingerprint=FINGERPRINT)
    cache_module.clear_memory_cache()
    back = cached(("test", "step"), lambda: None, fingerprint=FINGERPRINT)
    assert back == step and type(back) is Step
    assert isinstance(back.relation, sp.Equality)
    assert sp.srepr(back.relation) == sp.srepr(DOM_EQ)


# --------------------------------------------------------------------------------------------
# Certificates are never trusted from disk (issue 15)
# --------------------------------------------------------------------------------------------


def _steps_record(d: dv.FDivergence) -> list[tuple[str, str, str, bool, str]]:
    return [(sp.srepr(s.relation), s.description, s.method, s.passed, s.detail) for s in d.steps]


def test_the_whole_registry_certificate_is_identical_cold_and_warm(cache_directory, monkeypatch):
    from divergences import fdivergence
    from divergences.symbolic import derivation

    monkeypatch.setattr(fdivergence, "_INSTANCES", {})
    cold = {(n, repr(p)): _steps_record(dv.get(n, **p)) for n, p in ENTRIES}
    assert len(list(cache_directory.glob("*.json"))) >= len(ENTRIES)
    cache_module.clear_memory_cache()
    monkeypatch.setattr(fdivergence, "_INSTANCES", {})

    def must_not_run(*args, **kwargs):
        raise AssertionError("derived again despite the disk cache")

    monkeypatch.setattr(derivation, "_derive", must_not_run)
    warm = {(n, repr(p)): _steps_record(dv.get(n, **p)) for n, p in ENTRIES}
    assert warm == cold
    assert all(passed for steps in warm.values() for _, _, _, passed, _ in steps)
    assert not any(relation == "false" for steps in warm.values() for relation, *_ in steps)


def test_a_decoder_that_changes_a_relation_is_caught(cache_directory, monkeypatch):
    """The failure of issue 15: a decoder that evaluates ``Eq(dom f^*, Interval(-oo, oo))`` to
    ``False``. The value no longer encodes back to the stored tree, so it is recomputed."""
    parts = ("test", "evaluating decoder")
    step = Step("dom f* = R", DOM_EQ, "symbolic", True, "")
    cached(parts, lambda: step, fingerprint=FINGERPRINT)
    cache_module.clear_memory_cache()
    real_decode = cache_module.decode

    def evaluating_decode(tree):
        value = real_decode(tree)
        return dataclasses.replace(value, relation=sp.Eq(*value.relation.args))  # -> False

    monkeypatch.setattr(cache_module, "decode", evaluating_decode)
    assert sp.Eq(*DOM_EQ.args) is sp.false
    compute, calls = counting(step)
    back = cached(parts, compute, fingerprint=FINGERPRINT)
    assert len(calls) == 1, "the changed value was served from disk"
    assert back.relation == DOM_EQ


def test_a_value_that_would_not_come_back_is_not_written(cache_directory, monkeypatch):
    parts = ("test", "lossy")
    real_decode = cache_module.decode
    monkeypatch.setattr(cache_module, "decode", lambda tree: ("changed", real_decode(tree)))
    cached(parts, lambda: (1, 2), fingerprint=FINGERPRINT)
    assert not entry_path(cache_directory, parts).exists()


@pytest.mark.parametrize("forgery", ["relation False", "step failed", "not a derivation"])
def test_a_planted_derivation_that_does_not_certify_is_derived_again(
    cache_directory, monkeypatch, forgery
):
    from divergences import fdivergence
    from divergences.symbolic import derivation

    monkeypatch.setattr(fdivergence, "_INSTANCES", {})
    good = dv.get("kl")._derivation
    (path,) = cache_directory.glob("*.json")
    steps = list(good.steps)
    if forgery == "relation False":
        steps[2] = dataclasses.replace(steps[2], relation=sp.false)
        planted: object = dataclasses.replace(good, steps=tuple(steps))
    elif forgery == "step failed":
        steps[0] = dataclasses.replace(steps[0], passed=False)
        planted = dataclasses.replace(good, steps=tuple(steps))
    else:
        planted = ("kl", 1)
    entry = json.loads(path.read_text())
    entry["value"] = serialize.encode(planted)
    path.write_text(json.dumps(entry))
    cache_module.clear_memory_cache()
    monkeypatch.setattr(fdivergence, "_INSTANCES", {})
    calls = []
    real = derivation._derive
    monkeypatch.setattr(derivation, "_derive", lambda *a: calls.append(a) or real(*a))
    again = dv.get("kl")._derivation
    assert len(calls) == 1
    assert _steps_record(dv.get("kl")) == [
        (sp.srepr(s.relation), s.description, s.method, s.passed, s.detail) for s in good.steps
    ]
    assert again.verified
