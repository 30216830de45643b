r"""The one safe parser for mathematics given as text (a generator, an activation, a bound).

A string from a user is data. ``sympy.sympify`` and ``parse_expr`` evaluate Python, so
``"__import__('os').system('...')"`` would run; this module never hands text to them. It parses
the string with :func:`ast.parse` (which only builds a syntax tree, it runs nothing), checks every
node against a whitelist and builds the SymPy expression itself from the tree:

* numbers: integer literals (at most 300 digits) and float literals, the latter taken as the
  simplest fraction that rounds to the same double (``0.3`` is ``3/10``,
  ``0.3333333333333333`` is ``1/3``: :func:`simplest_fraction`, as
  :func:`divergences.registry.exact_parameter` does for parameters);
* names: the caller's variables and the constants ``pi``, ``E``;
* ``+ - * / **``, unary ``-`` and ``+``;
* calls of whitelisted functions by plain name, positional arguments only (:data:`FUNCTIONS`);
* for ``Piecewise`` only: tuples, one comparison ``< <= > >=`` between expressions, and ``True``.

Everything else is refused with :class:`~divergences.errors.InvalidGeneratorError` naming the
offending construct: attribute access, subscripts, dunder or unknown names, keyword arguments,
``*args``, lambdas, comprehensions, f-strings, strings, ``==``, boolean operators, walrus, ... The
work is bounded: at most :data:`MAX_LENGTH` characters, :data:`MAX_DEPTH` levels of nesting,
integer literals of at most :data:`MAX_DIGITS` digits, and a power of two rational numbers whose
exact value would exceed :data:`MAX_POWER_BITS` bits is refused before SymPy computes it
(``9**9**9``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from fractions import Fraction

import sympy as sp

from ..errors import InvalidGeneratorError

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_LENGTH",
    "MAX_POWER_BITS",
    "as_expression",
    "check_expression",
    "parse_expression",
    "simplest_fraction",
]

#: longest accepted text, in characters
MAX_LENGTH = 2000
#: deepest accepted nesting of the syntax tree
MAX_DEPTH = 60
#: largest exact power of two rational numbers, in bits of its value (2**4096 is fine)
MAX_POWER_BITS = 100_000
#: longest integer literal, in digits
MAX_DIGITS = 300

#: the functions a text may call, by the name it uses
FUNCTIONS: Mapping[str, Callable[..., sp.Basic]] = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "Abs": sp.Abs,
    "abs": sp.Abs,
    "Max": sp.Max,
    "Min": sp.Min,
    "sign": sp.sign,
    "Piecewise": sp.Piecewise,
    "Heaviside": sp.Heaviside,
    "LambertW": sp.LambertW,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "atan": sp.atan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "tanh": sp.tanh,
    "asinh": sp.asinh,
    "acosh": sp.acosh,
    "atanh": sp.atanh,
}

#: named constants a text may use
CONSTANTS: Mapping[str, sp.Expr] = {"pi": sp.pi, "E": sp.E}

_BINARY: Mapping[type, Callable[[sp.Expr, sp.Expr], sp.Expr]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}

_COMPARISONS: Mapping[type, Callable[[sp.Expr, sp.Expr], sp.Basic]] = {
    ast.Lt: sp.Lt,
    ast.LtE: sp.Le,
    ast.Gt: sp.Gt,
    ast.GtE: sp.Ge,
}


def as_expression(
    value: object, variables: Mapping[str, sp.Symbol] | None = None, *, what: str = "expression"
) -> sp.Basic:
    """``value`` as a SymPy object: text through :func:`parse_expression`, numbers and SymPy
    objects through ``sympify(strict=True)`` (which never parses text); anything else refused.

    Raises:
        InvalidGeneratorError: refused text, or a value that is neither a number nor SymPy.
    """
    if isinstance(value, str):
        return parse_expression(value, variables or {}, what=what)
    try:
        expression = sp.sympify(value, strict=True)
    except (sp.SympifyError, TypeError) as exc:
        raise InvalidGeneratorError(f"{what}: not a number or SymPy expression ({exc})") from None
    return check_expression(expression, (variables or {}).values(), what=what)


#: SymPy classes a checked expression may contain besides numbers, the whitelisted functions
#: and its variables: arithmetic, and what a ``Piecewise`` condition is made of
_STRUCTURE: tuple[type, ...] = (
    sp.Add,
    sp.Mul,
    sp.Pow,
    sp.Number,
    sp.NumberSymbol,
    sp.core.numbers.ImaginaryUnit,
    sp.functions.elementary.piecewise.ExprCondPair,
    sp.core.relational.Relational,
    sp.logic.boolalg.BooleanAtom,
    sp.And,
    sp.Or,
    sp.Not,
)


def _function_classes() -> tuple[type, ...]:
    """The SymPy classes of :data:`FUNCTIONS` (``sqrt`` and ``abs`` are spellings of ``Pow``
    and ``Abs``)."""
    return tuple({f for f in FUNCTIONS.values() if isinstance(f, type)})


def check_expression(
    expression: sp.Basic, variables: object = (), *, what: str = "expression"
) -> sp.Basic:
    """``expression`` itself, once every node in it is known to be data the library can handle.

    A SymPy object built in Python can hold things text cannot: an undefined function whose
    name is Python source (``sp.Function("__import__('os')...")``), a symbol with such a name, an
    integral or sum with a bound variable. Their names would reach code that SymPy's
    ``lambdify`` or the emitter prints and executes, so they are refused here, before anything
    is derived, lambdified or printed. Allowed: numbers and named constants, ``+ * **``, calls
    of the classes in :data:`FUNCTIONS`, ``Piecewise`` conditions (comparisons, ``And``,
    ``Or``, ``Not``, ``True``/``False``), and the symbols in ``variables``, whose names must be
    plain identifiers.

    Raises:
        InvalidGeneratorError: naming the first node outside the whitelist.
    """
    allowed_symbols = set(variables)  # type: ignore[call-overload]
    for symbol in allowed_symbols:
        name = getattr(symbol, "name", None)
        if not isinstance(symbol, sp.Symbol) or not _plain_identifier(name):
            raise InvalidGeneratorError(
                f"{what}: the variable {name or symbol!r} is not a symbol with a plain name"
            )
    functions = _function_classes()
    for node in sp.preorder_traversal(expression):
        if isinstance(node, sp.Symbol):
            if node not in allowed_symbols:
                known = ", ".join(sorted(s.name for s in allowed_symbols)) or "none"
                raise InvalidGeneratorError(
                    f"{what}: the symbol {node.name!r} is not a variable here (allowed: {known})"
                )
        elif isinstance(node, sp.core.function.AppliedUndef):
            raise InvalidGeneratorError(
                f"{what}: the undefined function {type(node).__name__!r} is not allowed "
                f"(allowed functions: {', '.join(sorted(FUNCTIONS))})"
            )
        elif not isinstance(node, functions + _STRUCTURE):
            raise InvalidGeneratorError(
                f"{what}: {type(node).__name__} is not allowed (allowed functions: "
                f"{', '.join(sorted(FUNCTIONS))})"
            )
    return expression


def _plain_identifier(name: object) -> bool:
    """A name that is a Python identifier and neither private nor dunder."""
    return isinstance(name, str) and name.isidentifier() and not name.startswith("_")


class _Refused(Exception):
    """Internal: the reason a text is refused (turned into InvalidGeneratorError)."""


def parse_expression(
    text: str, variables: Mapping[str, sp.Symbol], *, what: str = "expression"
) -> sp.Expr:
    """The SymPy expression written in ``text``, built from a whitelisted syntax tree.

    Args:
        text: e.g. ``"(u - 1)**2 / (u + 1)"``.
        variables: the names the text may use as variables, with their symbols.
        what: how the text is called in error messages (``"generator"``).

    Raises:
        InvalidGeneratorError: the text is not a string, too long, not an expression, or uses
            anything outside the whitelist; the message names the offending construct.

    Example:
        >>> import sympy as sp
        >>> u = sp.Symbol("u", positive=True)
        >>> parse_expression("0.3*u*log(u) - abs(u - 1)", {"u": u})
        3*u*log(u)/10 - Abs(u - 1)
    """
    if not isinstance(text, str):
        raise InvalidGeneratorError(f"{what}: expected a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise InvalidGeneratorError(f"{what}: longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise InvalidGeneratorError(f"{what} {text!r} is not an expression: {exc.msg}") from None
    try:
        result = _Builder(variables).build(tree.body, 0, in_piecewise=False)
    except _Refused as exc:
        raise InvalidGeneratorError(f"{what} {text!r} refused: {exc}") from None
    except RecursionError:
        raise InvalidGeneratorError(f"{what}: nested too deeply") from None
    if not isinstance(result, sp.Expr):
        raise InvalidGeneratorError(f"{what} {text!r} is not an arithmetic expression")
    return result


class _Builder:
    """Builds SymPy objects from a syntax tree, refusing any node outside the whitelist."""

    def __init__(self, variables: Mapping[str, sp.Symbol]) -> None:
        for name in variables:
            if not _plain_identifier(name):
                raise InvalidGeneratorError(f"variable name {name!r} is not a plain identifier")
        self.names: dict[str, sp.Basic] = {**CONSTANTS, **variables}

    def build(self, node: ast.AST, depth: int, *, in_piecewise: bool) -> sp.Basic | tuple:
        if depth > MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels")
        deeper = depth + 1
        if isinstance(node, ast.Constant):
            return self._constant(node.value, in_piecewise)
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                known = ", ".join(sorted(self.names))
                raise _Refused(f"unknown name {node.id!r} (allowed: {known} and function calls)")
            return self.names[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self._expr(node.operand, deeper)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = self._expr(node.left, deeper), self._expr(node.right, deeper)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return _power(self._expr(node.left, deeper), self._expr(node.right, deeper))
        if isinstance(node, ast.Call):
            return self._call(node, deeper)
        if in_piecewise and isinstance(node, ast.Tuple):
            return tuple(self.build(item, deeper, in_piecewise=True) for item in node.elts)
        if in_piecewise and isinstance(node, ast.Compare):
            return self._comparison(node, deeper)
        raise _Refused(f"{_describe(node)} is not allowed")

    def _expr(self, node: ast.AST, depth: int) -> sp.Expr:
        value = self.build(node, depth, in_piecewise=False)
        if not isinstance(value, sp.Expr):
            raise _Refused(f"{_describe(node)} is not an arithmetic expression")
        return value

    def _constant(self, value: object, in_piecewise: bool) -> sp.Basic:
        if value is True and in_piecewise:
            return sp.true
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Refused(f"the constant {value!r} is not a number")
        if isinstance(value, int):
            if len(str(abs(value))) > MAX_DIGITS:
                raise _Refused(f"an integer literal longer than {MAX_DIGITS} digits")
            return sp.Integer(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise _Refused(f"the constant {value!r} is not finite")
        return simplest_fraction(value)

    def _call(self, node: ast.Call, depth: int) -> sp.Basic:
        if not isinstance(node.func, ast.Name):
            raise _Refused(f"a call of {_describe(node.func)} (only plain function names)")
        name = node.func.id
        function = FUNCTIONS.get(name)
        if function is None:
            raise _Refused(f"unknown function {name!r} (allowed: {', '.join(sorted(FUNCTIONS))})")
        if node.keywords:
            raise _Refused(f"keyword arguments in the call of {name}")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            raise _Refused(f"*arguments in the call of {name}")
        piecewise = function is sp.Piecewise
        args = [self.build(arg, depth, in_piecewise=piecewise) for arg in node.args]
        if not piecewise and not all(isinstance(arg, sp.Expr) for arg in args):
            raise _Refused(f"the arguments of {name} must be arithmetic expressions")
        try:
            return function(*args)
        except (TypeError, ValueError) as exc:
            raise _Refused(f"{name}(...): {exc}") from None

    def _comparison(self, node: ast.Compare, depth: int) -> sp.Basic:
        if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARISONS:
            raise _Refused("only one comparison < <= > >= per condition")
        left = self._expr(node.left, depth)
        right = self._expr(node.comparators[0], depth)
        return _COMPARISONS[type(node.ops[0])](left, right)


def simplest_fraction(value: float) -> sp.Rational:
    """The fraction ``p/q`` with the smallest ``q <= 10**k`` (``k = 1 ... 17``) whose nearest
    double is ``value``; the float's shortest decimal representation if none is.

    The result always converts back to ``value`` exactly, and its denominator is never larger
    than that of the decimal representation: ``0.1 -> 1/10``, ``1/3 -> 1/3``,
    ``0.7 -> 7/10``, ``2/7 -> 2/7``, ``1e-300 -> 10**-300``, ``1.5e300 -> 15 * 10**299``.
    """
    decimal = sp.Rational(repr(value))
    exact = Fraction(value)
    for digits in range(1, 18):
        candidate = exact.limit_denominator(10**digits)
        if float(candidate) == value:
            if candidate.denominator < decimal.q:
                return sp.Rational(candidate.numerator, candidate.denominator)
            break
    return decimal


def _power(base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
    """``base**exponent``, refusing a rational number raised to a power whose exact value would
    have more than :data:`MAX_POWER_BITS` bits (SymPy computes such a power eagerly: ``9**9**9``
    would not return); other powers stay symbolic or are small."""
    if base.is_Rational and exponent.is_Rational and base not in (0, 1, -1):
        bits = max(abs(int(base.p)).bit_length(), int(base.q).bit_length())
        if abs(exponent) * bits > MAX_POWER_BITS:
            raise _Refused(f"the power {base}**{exponent} is too large to compute")
    return base**exponent


def _describe(node: ast.AST) -> str:
    """A short name for a syntax node in a message (``attribute access .__class__``)."""
    if isinstance(node, ast.Attribute):
        return f"attribute access .{node.attr}"
    if isinstance(node, ast.Subscript):
        return "a subscript [...]"
    if isinstance(node, ast.Lambda):
        return "a lambda"
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        return "a comprehension"
    if isinstance(node, ast.JoinedStr):
        return "an f-string"
    if isinstance(node, ast.NamedExpr):
        return "an assignment expression :="
    if isinstance(node, ast.BoolOp):
        return "a boolean operator (and/or)"
    if isinstance(node, ast.Compare):
        return "a comparison"
    if isinstance(node, ast.BinOp):
        return f"the operator {type(node.op).__name__}"
    if isinstance(node, ast.UnaryOp):
        return f"the unary operator {type(node.op).__name__}"
    return f"a {type(node).__name__} node"
