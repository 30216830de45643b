"""A safe, exact JSON encoding of derivation results: SymPy objects, frozen dataclasses, plain data.

:func:`dumps` turns a value into JSON text and :func:`loads` turns the text back into an equal
value. Unlike ``pickle`` nothing in the text can run code: every node names a value kind, and a
class is only ever looked up in a fixed table (never imported, never ``getattr`` on a name read
from the text), and SymPy objects are rebuilt *without evaluation*, so ``Eq(x, Interval(-oo, oo))``
comes back as that equation and not as ``False``. No string is ever parsed as an expression
(no ``eval``, ``exec``, ``sympify`` or ``srepr`` text).

The encoding (every JSON object is a tagged node, identified by its keys)::

    None, true/false, 3, 0.5, "text"                 None, bool, int, finite float, str
    {"float": "inf" | "-inf" | "nan"}                non-finite float (JSON has none)
    {"tuple": [...]}    {"list": [...]}              tuple and list (kept distinct)
    {"dict": {"key": ...}}                           dict with str keys
    {"dataclass": KEY, "fields": {"name": ...}}      registered frozen dataclass
    {"sympy": "Symbol", "name": "u", "assumptions": {"positive": true}}
    {"sympy": "Dummy", "name": "x", "dummy_index": 7, "assumptions": {}}
    {"sympy": "Str", "name": "..."}
    {"sympy": "Integer", "value": 3}
    {"sympy": "Rational", "p": 1, "q": 3}
    {"sympy": "Float", "mpf": [sign, "hex mantissa", exponent, bit count], "prec": 53}
    {"sympy": "AppliedUndef", "name": "f^*", "assumptions": {}, "args": [...]}
    {"sympy": "Infinity"}                            a SymPy singleton (oo, pi, S.Half, true, ...)
    {"sympy": "Add", "args": [...]}                  any other whitelisted SymPy class

``Float`` keeps the exact binary mantissa, exponent and precision of its mpmath value, so it comes
back bit for bit. An undefined function ``f^*(t)`` keeps its name (and assumptions) as data and is
rebuilt with ``sp.Function(name)``.

**Whitelist.** A SymPy class name in ``{"sympy": NAME, "args": [...]}`` is accepted only if it is

* a ``sympy.Basic`` subclass in SymPy's public namespace (``sympy.Add``, ``sympy.Equality``,
  ``sympy.LambertW``, ...) keyed by its ``__name__``, or ``ExprCondPair`` (the pairs inside a
  ``Piecewise``); SymPy singletons (``Infinity``, ``Half``, ``BooleanTrue``, ``Reals``, ...) are
  taken from SymPy's own singleton registry ``S``; or
* registered with :func:`register_sympy_class`, under the key ``cls.__module__ + "." +
  cls.__qualname__`` (e.g. ``"divergences.numeric.emit.primitives.softplus"``). Keys of
  registered classes always contain a dot and SymPy names never do, so the two never collide.

Frozen dataclasses must be registered with :func:`register_dataclass` (same key rule) before
their values can be written or read. Rebuilding a SymPy node calls ``cls(*args, evaluate=False)``
when the class's constructor takes ``evaluate`` (and checks that the result has exactly the
stored class and arguments), else the class's raw construction (``Basic.__new__``, or
``Application.__new__(..., evaluate=False)`` for functions), so no simplification ever runs.

Any unknown, malformed or mistyped node raises :class:`SerializationError`, both when writing
(a value that could not be read back is refused) and when reading.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

import sympy as sp
from sympy.core.assumptions import _assume_defined
from sympy.core.function import Application, UndefinedFunction
from sympy.core.singleton import Singleton
from sympy.core.symbol import Str
from sympy.functions.elementary.piecewise import ExprCondPair

__all__ = [
    "SerializationError",
    "decode",
    "dumps",
    "encode",
    "loads",
    "parse_json",
    "register_dataclass",
    "register_sympy_class",
]

#: a JSON value as produced by :func:`encode` and accepted by :func:`decode`
JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]

C = TypeVar("C", bound=type)


class SerializationError(ValueError):
    """A value cannot be encoded, or a JSON tree is not a valid encoding."""


# --------------------------------------------------------------------------------------------
# Registries and the SymPy whitelist
# --------------------------------------------------------------------------------------------

_DATACLASSES: dict[str, type] = {}
_SYMPY_REGISTERED: dict[str, type[sp.Basic]] = {}
#: SymPy classes outside the public namespace that derivations contain
_SYMPY_EXTRA: tuple[type[sp.Basic], ...] = (ExprCondPair,)
_HEX = re.compile(r"[0-9a-f]+")


def _class_key(cls: type) -> str:
    """The registry key of a class: ``module.qualname`` (always contains a dot)."""
    return f"{cls.__module__}.{cls.__qualname__}"


def register_sympy_class(cls: C) -> C:
    """Allow the ``sympy.Basic`` subclass ``cls`` in encoded trees (usable as a decorator).

    The class is stored under ``cls.__module__ + "." + cls.__qualname__``. It must not be an atom
    (atoms carry data besides their arguments) and is rebuilt like SymPy's own classes, without
    evaluation. Registering a class again under the same key (a reloaded module) replaces it.
    """
    if not (isinstance(cls, type) and issubclass(cls, sp.Basic)):
        raise TypeError(f"register_sympy_class: {cls!r} is not a sympy.Basic subclass")
    if issubclass(cls, sp.Atom) or isinstance(cls, (Singleton, UndefinedFunction)):
        raise TypeError(f"register_sympy_class: {cls!r} is an atom, singleton or undefined")
    _SYMPY_REGISTERED[_class_key(cls)] = cls
    return cls


def register_dataclass(cls: C) -> C:
    """Allow instances of the frozen dataclass ``cls`` in encoded values (usable as a decorator).

    The class is stored under ``cls.__module__ + "." + cls.__qualname__`` and rebuilt by calling it
    with its fields by name, so every field must be an ``__init__`` parameter.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"register_dataclass: {cls!r} is not a dataclass")
    if not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(f"register_dataclass: {cls.__qualname__} is not frozen")
    if not all(field.init for field in dataclasses.fields(cls)):
        raise TypeError(f"register_dataclass: {cls.__qualname__} has fields outside __init__")
    _DATACLASSES[_class_key(cls)] = cls
    return cls


@functools.lru_cache(maxsize=1)
def _sympy_classes() -> dict[str, type[sp.Basic]]:
    """SymPy's public ``Basic`` subclasses (and :data:`_SYMPY_EXTRA`) by ``__name__``."""
    table: dict[str, type[sp.Basic]] = {}
    for value in (*vars(sp).values(), *_SYMPY_EXTRA):
        if isinstance(value, type) and issubclass(value, sp.Basic):
            table.setdefault(value.__name__, value)
    return table


@functools.lru_cache(maxsize=1)
def _singletons() -> dict[str, sp.Basic]:
    """SymPy's singletons (``S.Infinity``, ``S.Half``, ``S.true``, ...) by class name."""
    table: dict[str, sp.Basic] = {}
    for name in dir(sp.S):
        if name.startswith("_") or name == "register":
            continue
        value = getattr(sp.S, name)  # names from SymPy's own registry, never from a file
        if isinstance(value, sp.Basic):
            table[type(value).__name__] = value
    return table


def _sympy_name(cls: type) -> str | None:
    """The node name of a whitelisted non-atom class, or ``None`` when it is not allowed."""
    if _sympy_classes().get(cls.__name__) is cls:
        return cls.__name__
    key = _class_key(cls)
    return key if _SYMPY_REGISTERED.get(key) is cls else None


def _sympy_class(name: str) -> type[sp.Basic]:
    """The class for a generic node name: registered (dotted) or SymPy's own, else an error."""
    cls = _SYMPY_REGISTERED.get(name) if "." in name else _sympy_classes().get(name)
    if cls is None:
        raise SerializationError(f"SymPy class {name!r} is not whitelisted")
    if issubclass(cls, sp.Atom) or isinstance(cls, Singleton):
        raise SerializationError(f"SymPy class {name!r} cannot be built from arguments")
    return cls


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def encode(value: object) -> JSONValue:
    """The JSON tree of ``value`` (see the module docstring); raises :class:`SerializationError`."""
    try:
        return _encode(value)
    except RecursionError as exc:
        raise SerializationError("value nested too deeply") from exc


def dumps(value: object) -> str:
    """``value`` as JSON text; :func:`loads` gives it back."""
    return json.dumps(encode(value), allow_nan=False, separators=(",", ":"))


def _encode(value: object) -> JSONValue:
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value  # type: ignore[return-value]
    if kind is float:
        return _encode_float(value)  # type: ignore[arg-type]
    if kind is tuple or kind is list:
        return {kind.__name__: [_encode(item) for item in value]}  # type: ignore[attr-defined]
    if kind is dict:
        return {"dict": _encode_dict(value)}  # type: ignore[arg-type]
    if isinstance(value, sp.Basic):
        return _encode_sympy(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode_dataclass(value)
    raise SerializationError(f"cannot encode a value of type {kind.__qualname__}")


def _encode_float(x: float) -> JSONValue:
    if math.isfinite(x):
        return x
    return {"float": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


def _encode_dict(mapping: dict[object, object]) -> dict[str, JSONValue]:
    if not all(type(key) is str for key in mapping):
        raise SerializationError("only dicts with str keys can be encoded")
    return {key: _encode(item) for key, item in mapping.items()}  # type: ignore[misc]


def _encode_dataclass(value: Any) -> JSONValue:
    key = _class_key(type(value))
    if _DATACLASSES.get(key) is not type(value):
        raise SerializationError(f"dataclass {key} is not registered")
    fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return {"dataclass": key, "fields": fields}


def _encode_sympy(expr: sp.Basic) -> JSONValue:
    cls = type(expr)
    if isinstance(cls, Singleton):
        if _singletons().get(cls.__name__) is not expr:
            raise SerializationError(f"unknown SymPy singleton {cls.__name__}")
        return {"sympy": cls.__name__}
    if isinstance(cls, UndefinedFunction):
        return _encode_undefined(expr)
    encoder = _ATOM_ENCODERS.get(cls)
    if encoder is not None:
        return encoder(expr)
    name = _sympy_name(cls) if not issubclass(cls, sp.Atom) else None
    if name is None:
        raise SerializationError(f"SymPy class {_class_key(cls)} is not whitelisted")
    return {"sympy": name, "args": [_encode_sympy(arg) for arg in _basic_args(expr)]}


def _basic_args(expr: sp.Basic) -> tuple[sp.Basic, ...]:
    if not all(isinstance(arg, sp.Basic) for arg in expr.args):
        raise SerializationError(f"{type(expr).__name__} has arguments that are not SymPy objects")
    return expr.args


def _assumptions(stored: dict[str, object]) -> dict[str, JSONValue]:
    if not all(key in _assume_defined and type(v) is bool for key, v in stored.items()):
        raise SerializationError(f"unsupported assumptions {stored!r}")
    return dict(stored)  # type: ignore[arg-type]


def _symbol_assumptions(symbol: sp.Symbol) -> dict[str, JSONValue]:
    """The assumptions the symbol was created with (what ``srepr`` prints)."""
    original = getattr(symbol, "_assumptions_orig", None)
    return _assumptions(dict(original if original is not None else symbol.assumptions0))


def _encode_symbol(symbol: sp.Symbol) -> JSONValue:
    return {"sympy": "Symbol", "name": symbol.name, "assumptions": _symbol_assumptions(symbol)}


def _encode_dummy(dummy: sp.Dummy) -> JSONValue:
    return {
        "sympy": "Dummy",
        "name": dummy.name,
        "dummy_index": dummy.dummy_index,
        "assumptions": _symbol_assumptions(dummy),
    }


def _encode_str(text: Str) -> JSONValue:
    return {"sympy": "Str", "name": text.name}


def _encode_integer(n: sp.Integer) -> JSONValue:
    return {"sympy": "Integer", "value": int(n.p)}


def _encode_rational(q: sp.Rational) -> JSONValue:
    return {"sympy": "Rational", "p": int(q.p), "q": int(q.q)}


def _encode_float_atom(x: sp.Float) -> JSONValue:
    sign, man, exp, bc = x._mpf_
    mpf = [int(sign), format(int(man), "x"), int(exp), int(bc)]
    return {"sympy": "Float", "mpf": mpf, "prec": int(x._prec)}


def _encode_undefined(expr: sp.Basic) -> JSONValue:
    cls = type(expr)
    return {
        "sympy": "AppliedUndef",
        "name": cls.__name__,
        "assumptions": _assumptions(dict(cls._kwargs)),  # type: ignore[attr-defined]
        "args": [_encode_sympy(arg) for arg in _basic_args(expr)],
    }


_ATOM_ENCODERS: dict[type, Callable[[Any], JSONValue]] = {
    sp.Symbol: _encode_symbol,
    sp.Dummy: _encode_dummy,
    Str: _encode_str,
    sp.Integer: _encode_integer,
    sp.Rational: _encode_rational,
    sp.Float: _encode_float_atom,
}


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> float:
    raise SerializationError(f"JSON constant {name} is not allowed (floats use {{'float': ...}})")


def parse_json(text: str) -> JSONValue:
    """Parse strict JSON (no ``NaN``/``Infinity``); raises :class:`SerializationError`."""
    if not isinstance(text, str):
        raise SerializationError(f"expected JSON text, got {type(text).__qualname__}")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, SerializationError):
            raise
        raise SerializationError(f"not valid JSON: {exc}") from exc


def loads(text: str) -> object:
    """The value encoded by :func:`dumps` in ``text``; raises :class:`SerializationError`."""
    return decode(parse_json(text))


def decode(tree: JSONValue) -> object:
    """The value of a JSON tree produced by :func:`encode`; raises :class:`SerializationError`."""
    try:
        return _decode(tree)
    except SerializationError:
        raise
    except RecursionError as exc:
        raise SerializationError("tree nested too deeply") from exc


def _decode(tree: JSONValue) -> object:
    kind = type(tree)
    if tree is None or kind in (bool, int, str):
        return tree
    if kind is float:
        return tree
    if kind is not dict:
        raise SerializationError(f"unexpected JSON {kind.__name__} (containers are tagged)")
    node: dict[str, JSONValue] = tree  # type: ignore[assignment]
    if "sympy" in node:
        return _decode_sympy(node)
    if "dataclass" in node:
        return _decode_dataclass(node)
    if len(node) != 1:
        raise SerializationError(f"unknown node with keys {sorted(node)}")
    ((tag, body),) = node.items()
    decoder = _CONTAINER_DECODERS.get(tag)
    if decoder is None:
        raise SerializationError(f"unknown node tag {tag!r}")
    return decoder(body)


def _expect(node: dict[str, JSONValue], keys: set[str]) -> None:
    if set(node) != keys:
        raise SerializationError(f"node {node.get('sympy', '?')!r}: keys {sorted(node)}")


def _typed(value: JSONValue, kind: type, what: str) -> Any:
    if type(value) is not kind:
        raise SerializationError(f"{what}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _decode_float(body: JSONValue) -> float:
    if body not in ("inf", "-inf", "nan"):
        raise SerializationError(f"bad float {body!r}")
    return float(body)  # type: ignore[arg-type]


def _decode_tuple(body: JSONValue) -> tuple[object, ...]:
    return tuple(_decode(item) for item in _typed(body, list, "tuple"))


def _decode_list(body: JSONValue) -> list[object]:
    return [_decode(item) for item in _typed(body, list, "list")]


def _decode_dict(body: JSONValue) -> dict[str, object]:
    return {key: _decode(item) for key, item in _typed(body, dict, "dict").items()}


_CONTAINER_DECODERS: dict[str, Callable[[JSONValue], object]] = {
    "float": _decode_float,
    "tuple": _decode_tuple,
    "list": _decode_list,
    "dict": _decode_dict,
}


def _decode_dataclass(node: dict[str, JSONValue]) -> object:
    _expect(node, {"dataclass", "fields"})
    key = _typed(node["dataclass"], str, "dataclass key")
    cls = _DATACLASSES.get(key)
    if cls is None:
        raise SerializationError(f"dataclass {key!r} is not registered")
    fields = _typed(node["fields"], dict, "dataclass fields")
    if set(fields) != {f.name for f in dataclasses.fields(cls)}:
        raise SerializationError(f"dataclass {key}: fields {sorted(fields)} do not match")
    values = {name: _decode(item) for name, item in fields.items()}
    try:
        return cls(**values)
    except Exception as exc:  # a registered class's own validation rejected the values
        raise SerializationError(f"dataclass {key}: {exc}") from exc


def _decode_sympy(node: dict[str, JSONValue]) -> sp.Basic:
    name = _typed(node["sympy"], str, "SymPy class name")
    decoder = _ATOM_DECODERS.get(name)
    if decoder is not None:
        try:
            return decoder(node)
        except SerializationError:
            raise
        except Exception as exc:  # e.g. inconsistent assumptions, a malformed mantissa
            raise SerializationError(f"cannot build {name}: {exc}") from exc
    if set(node) == {"sympy"}:
        singleton = _singletons().get(name)
        if singleton is None:
            raise SerializationError(f"unknown SymPy singleton {name!r}")
        return singleton
    _expect(node, {"sympy", "args"})
    cls = _sympy_class(name)
    return _construct(cls, _decode_args(node["args"]))


def _decode_args(body: JSONValue) -> tuple[sp.Basic, ...]:
    args = tuple(_decode(item) for item in _typed(body, list, "args"))
    if not all(isinstance(arg, sp.Basic) for arg in args):
        raise SerializationError("the arguments of a SymPy node must be SymPy objects")
    return args  # type: ignore[return-value]


@functools.cache
def _constructor(cls: type) -> inspect.Signature | None:
    """The signature of ``cls.__new__`` (``None`` when Python cannot tell)."""
    try:
        return inspect.signature(cls.__new__)
    except (TypeError, ValueError):
        return None


def _takes_evaluate(cls: type) -> bool:
    """Whether ``cls(..., evaluate=False)`` is accepted (an ``evaluate`` or ``**`` parameter)."""
    signature = _constructor(cls)
    return signature is not None and any(
        p.name == "evaluate" or p.kind is p.VAR_KEYWORD for p in signature.parameters.values()
    )


def _check_arity(cls: type, args: tuple[sp.Basic, ...]) -> None:
    """Raw construction skips the constructor, so check that it would accept ``args``."""
    signature = _constructor(cls)
    try:
        if signature is not None:
            signature.bind(cls, *args)
    except TypeError as exc:
        raise SerializationError(f"{cls.__name__} does not take {len(args)} arguments") from exc


def _construct(cls: type[sp.Basic], args: tuple[sp.Basic, ...]) -> sp.Basic:
    """``cls`` with exactly ``args``, without evaluation (see the module docstring)."""
    try:
        if not _takes_evaluate(cls):
            _check_arity(cls, args)
            if issubclass(cls, Application):
                return Application.__new__(cls, *args, evaluate=False)
            return sp.Basic.__new__(cls, *args)
        obj = cls(*args, evaluate=False)  # type: ignore[call-arg]
    except SerializationError:
        raise
    except Exception as exc:  # a whitelisted constructor rejected malformed arguments
        raise SerializationError(f"cannot build {cls.__name__}: {exc}") from exc
    if type(obj) is not cls or obj.args != args:
        raise SerializationError(f"{cls.__name__}{args} does not rebuild unevaluated")
    return obj


def _decode_assumptions(body: JSONValue) -> dict[str, bool]:
    stored = _typed(body, dict, "assumptions")
    if not all(key in _assume_defined and type(v) is bool for key, v in stored.items()):
        raise SerializationError(f"bad assumptions {stored!r}")
    return stored


#: names a decoded symbol or undefined function may have: letters, digits, ``_``, spaces and
#: the display marks ``^ * ' + -`` (``f^*``, ``dom f^*``, ``f'_1``), at most 40 characters, no
#: ``__``. Without brackets or dots such a name cannot call or reach anything, so no name
#: read from disk can become code if an expression is ever printed into source.
_NAME = re.compile(r"(?!.*__)[A-Za-z0-9_ ^*'+\-]{1,40}")


def _decoded_name(value: JSONValue, what: str) -> str:
    name = _typed(value, str, what)
    if not _NAME.fullmatch(name):
        raise SerializationError(f"{what} {name[:40]!r} is not a plain name")
    return name


def _decode_symbol(node: dict[str, JSONValue]) -> sp.Basic:
    _expect(node, {"sympy", "name", "assumptions"})
    name = _decoded_name(node["name"], "Symbol name")
    return sp.Symbol(name, **_decode_assumptions(node["assumptions"]))


def _decode_dummy(node: dict[str, JSONValue]) -> sp.Basic:
    _expect(node, {"sympy", "name", "dummy_index", "assumptions"})
    name = _decoded_name(node["name"], "Dummy name")
    index = _typed(node["dummy_index"], int, "dummy_index")
    return sp.Dummy(name, dummy_index=index, **_decode_assumptions(node["assumptions"]))


def _decode_str(node: dict[str, JSONValue]) -> sp.Basic:
    _expect(node, {"sympy", "name"})
    return Str(_typed(node["name"], str, "Str name"))


def _decode_integer(node: dict[str, JSONValue]) -> sp.Basic:
    _expect(node, {"sympy", "value"})
    return sp.Integer(_typed(node["value"], int, "Integer value"))


def _decode_rational(node: dict[str, JSONValue]) -> sp.Basic:
    _expect(node, {"sympy", "p", "q"})
    p = _typed(node["p"], int, "Rational p")
    q = _typed(node["q"], int, "Rational q")
    if q < 2 or math.gcd(p, q) != 1:
        raise SerializationError(f"Rational {p}/{q} is not in lowest terms")
    return sp.Rational(p, q)


def _decode_float_atom(node: dict[str, JSONValue]) -> sp.Basic:
    _expect(node, {"sympy", "mpf", "prec"})
    mpf = _typed(node["mpf"], list, "Float mpf")
    if len(mpf) != 4:
        raise SerializationError("Float mpf must be [sign, hex mantissa, exponent, bit count]")
    sign, man, exp, bc = mpf
    _typed(sign, int, "Float sign")
    _typed(exp, int, "Float exponent")
    _typed(bc, int, "Float bit count")
    prec = _typed(node["prec"], int, "Float prec")
    if not _HEX.fullmatch(_typed(man, str, "Float mantissa")) or not _is_finite_mpf(
        sign, int(man, 16), exp, bc
    ):
        raise SerializationError(f"bad Float mpf {mpf!r}")
    if prec < 1:
        raise SerializationError(f"bad Float precision {prec}")
    # SymPy's own (pickle) form: the mantissa as a hex string, taken bit for bit
    return sp.Float((sign, man, exp, bc), precision=prec)


def _is_finite_mpf(sign: int, man: int, exp: int, bc: int) -> bool:
    """A normalised finite mpmath value: zero is ``(0, 0, 0, 0)``, else an odd mantissa."""
    if man == 0:
        return (sign, exp, bc) == (0, 0, 0)
    return sign in (0, 1) and man % 2 == 1 and bc == man.bit_length()


def _decode_undefined(node: dict[str, JSONValue]) -> sp.Basic:
    _expect(node, {"sympy", "name", "assumptions", "args"})
    name = _decoded_name(node["name"], "function name")
    function = sp.Function(name, **_decode_assumptions(node["assumptions"]))  # name kept as data
    return function(*_decode_args(node["args"]), evaluate=False)


_ATOM_DECODERS: dict[str, Callable[[dict[str, JSONValue]], sp.Basic]] = {
    "Symbol": _decode_symbol,
    "Dummy": _decode_dummy,
    "Str": _decode_str,
    "Integer": _decode_integer,
    "Rational": _decode_rational,
    "Float": _decode_float_atom,
    "AppliedUndef": _decode_undefined,
}
