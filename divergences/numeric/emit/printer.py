r"""Print SymPy expressions as torch source code and compile it into element-wise functions.

The printer extends SymPy's :class:`~sympy.printing.pytorch.TorchPrinter`:

* the functions of the primitives' table (:mod:`.primitives`) print as the torch callable of
  their row (``torch.log1p``, ``torch.expm1``, ``torch.xlogy``, and ``softplus``, ``log1mexp``,
  ``log1mexp_negexp``, ``omega_log``, ``lambertw`` of :mod:`divergences.numeric.stable`);
* every number is folded to a Python ``float`` (or ``int``) literal, so a result keeps the dtype
  and device of its tensor input (PyTorch treats Python scalars as weakly typed);
* powers print as ``square``/``sqrt``/``rsqrt``/``reciprocal`` where they apply;
* an exponential nested inside another function is capped below overflow
  (``exp_capped`` of :mod:`divergences.numeric.stable`), so a flat outer function never
  multiplies ``0`` by ``inf`` in the chain rule;
* an additive constant that float64 cannot represent (``log 2``, ``1/3``) is added as two floats,
  ``x + c_hi + c_lo`` (a double-double constant): ``x + c_hi`` is exact when ``x`` is close to
  ``-c_hi`` (Sterbenz), so a zero crossing or a pole at an irrational point keeps its accuracy.

A piecewise function is given as pieces ``(expression, region)`` and printed with the "double
where" pattern: each non-constant branch is evaluated on its input with the points outside its
region replaced by a fixed point inside it,

.. math::
    f(x) = \mathrm{where}\big(x \in R_1,\ f_1(\mathrm{where}(x \in R_1, x, x_1)),\ \ldots\big),

so a branch never sees an argument where it is singular: no ``inf`` or ``NaN`` reaches the
value or, through ``0 * inf``, the gradient (polynomial branches too: they overflow). Points outside
every region (``u < 0`` for a generator) give ``NaN``.

Common subexpressions are shared (``sympy.cse``). Inputs in float16/bfloat16 are computed in
float32 and rounded back once (:func:`divergences.numeric.precision.upcast`), so intermediate
results do not overflow the small formats.
"""

from __future__ import annotations

import linecache
import math
import re
from collections.abc import Callable, Sequence

import sympy as sp
import torch
from sympy.core.symbol import Str
from sympy.printing.pytorch import TorchPrinter
from torch import Tensor

from divergences.errors import DerivationError
from divergences.numeric import stable
from divergences.numeric.precision import upcast
from divergences.symbolic.legendre import ConjugateValue, StationaryPoint, is_numeric

from . import legendre
from .legendre import solver_for
from .primitives import BY_CLASS, exp_capped, expm1, expm1_capped

__all__ = ["Piece", "compile_pieces", "pieces_source"]

Piece = tuple[sp.Expr, sp.Set]


class _legendre_call(sp.Function):
    """A numeric conjugate or stationary point (:mod:`divergences.symbolic.legendre`) reduced to
    its argument and the key of its solver in :data:`.legendre.SOLVERS` (a ``Str``), so that
    ``cse`` and the rewrites below never look inside the generator it carries."""

    nargs = 2


def _numeric_calls(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every numeric conjugate / stationary point replaced by a solver call."""
    if not is_numeric(expr):
        return expr
    return expr.replace(
        lambda e: isinstance(e, (ConjugateValue, StationaryPoint)),
        lambda e: _legendre_call(_numeric_calls(e.args[0]), Str(solver_for(e, compile_pieces))),
    )


class _reciprocal(sp.Function):
    """``1/x``, printed as ``torch.reciprocal`` (see :func:`_reciprocal_powers`)."""

    nargs = 1


#: elementary functions a generator may use (the safe parser's whitelist) that the primitives'
#: table does not cover: printed as the torch function of the same name, never as a bare name
_ELEMENTARY = {
    sp.sin: "torch.sin",
    sp.cos: "torch.cos",
    sp.tan: "torch.tan",
    sp.atan: "torch.atan",
    sp.sinh: "torch.sinh",
    sp.cosh: "torch.cosh",
    sp.asinh: "torch.asinh",
    sp.acosh: "torch.acosh",
    sp.atanh: "torch.atanh",
    sp.sign: "torch.sign",
}

#: SymPy function class -> the torch callable printed for it (the primitives' table, the
#: elementary functions and the printer's own ``_reciprocal``)
_FUNCTIONS = {
    **_ELEMENTARY,
    **{cls: row.torch for cls, row in BY_CLASS.items()},
    _reciprocal: "torch.reciprocal",
}


def _float_literal(x: sp.Expr) -> str:
    if x is sp.oo:
        return "_inf"
    if x is sp.S.NegativeInfinity:
        return "(-_inf)"
    if x is sp.nan or x is sp.zoo:
        return "_nan"
    if x.is_Integer:
        return str(int(x))
    value = float(sp.N(x, 40))
    if math.isinf(value):
        return "_inf" if value > 0 else "(-_inf)"
    return repr(value) if value >= 0 else f"({value!r})"


#: the names emitted source may use for a variable: identifiers, never dunder ones
_SAFE_NAME = re.compile(r"(?!__)[A-Za-z_][A-Za-z0-9_]*")


def _safe_name(name: str) -> str:
    """``name`` when it can be printed as a variable in executed source, else DerivationError.

    Generator names from users never get here (the engine refuses foreign symbols first,
    :func:`divergences.symbolic.parse.check_expression`); this is the printer's own guard, so
    no text can become code even if an expression slipped past that check.
    """
    if not _SAFE_NAME.fullmatch(name):
        raise DerivationError(f"refusing to emit a variable named {name!r}: not a plain identifier")
    return name


class _Printer(TorchPrinter):
    """TorchPrinter with float literals, the stable primitives and tensor-friendly powers."""

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return _safe_name(expr.name)

    _print_Dummy = _print_Symbol

    def _print_Function(self, expr: sp.Expr) -> str:
        name = _FUNCTIONS.get(type(expr))
        if name is None:
            if type(expr) in self.mapping:
                return super()._print_Function(expr)
            raise DerivationError(f"no torch emission for the function {expr.func} in {expr}")
        return f"{name}({', '.join(self._print(a) for a in expr.args)})"

    _print_exp = _print_Function
    _print_log = _print_Function
    _print_sin = _print_cos = _print_tan = _print_atan = _print_Function
    _print_sinh = _print_cosh = _print_asinh = _print_acosh = _print_atanh = _print_Function
    _print_sign = _print_Function
    _print_tanh = _print_Function
    _print_Abs = _print_Function
    _print_LambertW = _print_Function

    def _print__legendre_call(self, expr: sp.Expr) -> str:
        arg, key = expr.args
        method = "conjugate" if key.name.startswith("ConjugateValue") else "stationary_point"
        return f"_legendre[{key.name!r}].{method}({self._print(arg)})"

    def _print__scaled(self, expr: sp.Expr) -> str:
        k, inner = expr.args
        return f"({self._print(k)})*({self._print(inner)})"

    def _print_Add(self, expr: sp.Expr, order: str | None = None) -> str:
        const, rest = expr.as_independent(*expr.free_symbols, as_Add=True)
        if const == 0 or not expr.free_symbols:
            return super()._print_Add(expr, order)
        rest_source = self._print(rest)
        value = sp.N(const, 40)
        hi = float(value)
        lo = float(value - sp.Float(hi, 60)) if math.isfinite(hi) else 0.0
        out = f"{rest_source} + {_float_literal(sp.Float(hi, 40))}"
        if lo != 0.0:
            # the constant in double-double: x + hi is exact when x is close to -hi
            out += f" + {lo!r}" if lo > 0 else f" - {-lo!r}"
        return out

    def _print_Piecewise(self, expr: sp.Expr) -> str:
        raise DerivationError(f"nested piecewise expression in {expr}: fold it to the top level")

    def _print_Number(self, expr: sp.Expr) -> str:
        return _float_literal(expr)

    _print_Float = _print_Number
    _print_Rational = _print_Number
    _print_Integer = _print_Number
    _print_Half = _print_Number
    _print_NumberSymbol = _print_Number
    _print_Exp1 = _print_Number
    _print_Pi = _print_Number
    _print_Infinity = _print_Number
    _print_NegativeInfinity = _print_Number

    def _print_Pow(self, expr: sp.Pow) -> str:
        base, e = expr.args
        if base is sp.E:
            return f"torch.exp({self._print(e)})"
        b = self._print(base)
        if e == 2:
            return f"torch.square({b})"
        if e == sp.S.Half:
            return f"torch.sqrt({b})"
        if e == -sp.S.Half:
            return f"torch.rsqrt({b})"
        if e == -1:
            return f"torch.reciprocal({b})"
        if e.is_Integer and e < 0:
            return f"torch.reciprocal(torch.pow({b}, {int(-e)}))"
        return f"torch.pow({b}, {self._print(e)})"

    def _print_Relational(self, expr: sp.Expr) -> str:
        ops = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}
        return f"({self._print(expr.lhs)} {ops[expr.rel_op]} {self._print(expr.rhs)})"

    def _print_And(self, expr: sp.Expr) -> str:
        return "(" + " & ".join(self._print(a) for a in expr.args) + ")"

    def _print_Or(self, expr: sp.Expr) -> str:
        return "(" + " | ".join(self._print(a) for a in expr.args) + ")"

    def _print_Not(self, expr: sp.Expr) -> str:
        return f"(~{self._print(expr.args[0])})"


_PRINTER = _Printer({"fully_qualified_modules": False})


def _fold_numbers(expr: sp.Expr) -> sp.Expr:
    """Evaluate numeric subexpressions such as ``log(2)/2`` once (40 digits, then to float)."""
    if expr.is_number:
        return expr if expr.is_Rational or expr.is_infinite else sp.Float(sp.N(expr, 40), 40)
    if expr.is_Atom or isinstance(expr, sp.Piecewise):
        return expr
    numeric = [a for a in expr.args if isinstance(a, sp.Expr) and a.is_number]
    if isinstance(expr, (sp.Add, sp.Mul)) and len(numeric) > 1:
        folded = sp.Float(sp.N(expr.func(*numeric), 40), 40)
        rest = [_fold_numbers(a) for a in expr.args if not (isinstance(a, sp.Expr) and a.is_number)]
        return expr.func(folded, *rest, evaluate=False)
    args = [_fold_numbers(a) if isinstance(a, sp.Expr) else a for a in expr.args]
    if isinstance(expr, sp.Pow):
        return sp.Pow(*args, evaluate=False)
    return expr.func(*args, evaluate=False)


def _cap_nested_exponentials(expr: sp.Expr, inside: bool = False) -> sp.Expr:
    """``exp``/``expm1`` whose value feeds a function (not just sums and products) -> capped.

    See :func:`divergences.numeric.stable.exp_capped`: it keeps ``0 * inf`` out of the chain
    rule where the outer function is flat. Exponentials at the top of the expression keep their
    overflow to ``inf``.
    """
    if expr.is_Atom or isinstance(expr, sp.Piecewise):
        return expr
    if isinstance(expr, (sp.exp, expm1)):
        arg = _cap_nested_exponentials(expr.args[0], True)
        if inside:
            return (exp_capped if isinstance(expr, sp.exp) else expm1_capped)(arg)
        return expr.func(arg)
    if isinstance(expr, sp.Pow):
        nested = inside or not (expr.exp.is_Integer and expr.exp > 0)
        base = _cap_nested_exponentials(expr.base, nested)
        return sp.Pow(base, _cap_nested_exponentials(expr.exp, True), evaluate=False)
    # k * (x + m) (_scaled) is a product of a sum, not a function: its exponentials may overflow
    nested = inside or not isinstance(expr, (sp.Add, sp.Mul, _scaled))
    args = [_cap_nested_exponentials(a, nested) if isinstance(a, sp.Expr) else a for a in expr.args]
    return (
        expr.func(*args, evaluate=False) if isinstance(expr, (sp.Add, sp.Mul)) else expr.func(*args)
    )


def _comparison(
    end: sp.Expr, *, lower: bool, strict: bool, dtype: torch.dtype = torch.float64
) -> tuple[str, str]:
    """``(operator, float literal)`` deciding ``x > end`` (``lower``) or ``x < end`` exactly for
    an ``x`` of ``dtype`` (``>=``/``<=`` when not ``strict``).

    An end that the dtype cannot represent (``log(2)/2``, ``1/3``) lies strictly between two of
    its numbers, so ``x < end`` is ``x <= round(end)`` when ``end`` rounded down and
    ``x < round(end)`` when it rounded up; comparing with the rounded end under the original
    operator would put the number next to the end on the wrong side (``f*(t)`` is finite at
    ``t = float(log(2)/2)``, and infinite at the float32 number above ``log(2)/2``).
    """
    value = torch.tensor(float(sp.N(end, 40)), dtype=torch.float64).to(dtype).item()
    exact = math.isinf(value) or sp.Rational(value) == end
    literal = _float_literal(end if exact or dtype == torch.float64 else sp.Float(value))
    if exact:
        if lower:
            return (">" if strict else ">="), literal
        return ("<" if strict else "<="), literal
    rounded_up = bool(sp.Rational(value) > end)
    if lower:
        return (">=" if rounded_up else ">"), literal
    return ("<" if rounded_up else "<="), literal


def _bound_source(name: str, end: sp.Expr, lower: bool, strict: bool) -> str:
    """``x`` against one end of an interval, exact in float64 and in float32 (the working
    precision of float32, float16 and bfloat16 inputs); see :func:`_comparison`."""
    op64, literal64 = _comparison(end, lower=lower, strict=strict)
    op32, literal32 = _comparison(end, lower=lower, strict=strict, dtype=torch.float32)
    if (op64, literal64) == (op32, literal32):
        return f"({name} {op64} {literal64})"
    return (
        f"(({name} {op64} {literal64}) if {name}.dtype == torch.float64 "
        f"else ({name} {op32} {literal32}))"
    )


def _mask_source(region: sp.Set, name: str) -> str:
    """A boolean expression for ``x in region`` (``x`` printed as ``name``)."""
    if isinstance(region, sp.Union):
        return "(" + " | ".join(_mask_source(part, name) for part in region.args) + ")"
    if isinstance(region, sp.FiniteSet):
        return "(" + " | ".join(f"({name} == {_float_literal(p)})" for p in region) + ")"
    if not isinstance(region, sp.Interval):
        raise DerivationError(f"cannot print the region {region} of a piecewise expression")
    parts = []
    if region.start is not sp.S.NegativeInfinity:
        parts.append(_bound_source(name, region.start, True, bool(region.left_open)))
    if region.end is not sp.oo:
        parts.append(_bound_source(name, region.end, False, bool(region.right_open)))
    if not parts:
        return f"torch.ones_like({name}, dtype=torch.bool)"
    return "(" + " & ".join(parts) + ")"


def _inside(region: sp.Set) -> float:
    """A float64 point strictly inside ``region`` (a safe argument for the branch)."""
    part = region.args[0] if isinstance(region, sp.Union) else region
    if isinstance(part, sp.FiniteSet):
        return float(next(iter(part)))
    lo, hi = part.start, part.end
    if lo is sp.S.NegativeInfinity and hi is sp.oo:
        return 0.0
    if lo is sp.S.NegativeInfinity:
        point = hi - 1
    elif hi is sp.oo:
        point = lo + 1
    else:
        point = (lo + hi) / 2
    return float(sp.N(point, 30))


def _reciprocal_powers(expr: sp.Expr) -> sp.Expr:
    """``x**-n`` (``n >= 2``) as ``(1/x)**n``: ``1/x**n`` overflows in ``x**n`` for large ``x``
    (``r > 1e154`` in float64, ``1.8e19`` in float32), and its gradient is then ``0 * inf``."""
    return expr.replace(
        lambda e: (
            isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp <= -2 and bool(e.base.free_symbols)
        ),
        lambda e: sp.Pow(_reciprocal(e.base), -e.exp, evaluate=False),
    )


def _dyadic(x: sp.Expr) -> bool:
    """``x`` is (to 30 digits) an integer over a power of two up to 2**20: exact in float64."""
    scaled = sp.N(x * 2**20, 40)
    return bool(abs(scaled - sp.Integer(round(scaled))) < 1e-20 and abs(x) < 2**30)


def _power_of_two(x: sp.Expr) -> bool:
    value = abs(float(x))
    return value > 0 and math.frexp(value)[0] == 0.5


class _scaled(sp.Function):
    """``k * (x + m)``, printed as such (SymPy would distribute the number ``k`` over the sum)."""

    nargs = 2


def _factor_constants(expr: sp.Expr) -> sp.Expr:
    """``k x + c`` with ``c = k m`` for a float64-exact ``m`` (``0.3 u - 0.3``) as
    ``k (x + m)`` when ``k`` is not a power of two.

    ``x + m`` is exact next to ``x = -m`` (Sterbenz) and the product rounds once, so the result
    keeps its relative accuracy there; ``fl(k) x + c`` cancels two rounded numbers instead (the
    generator of ``js_weighted(3/10)`` was 7.8e-18 at ``u = 1`` and 70 % off at ``1 - 1.5e-8``).
    """
    if expr.is_Atom or isinstance(expr, sp.Piecewise):
        return expr
    args = [_factor_constants(a) if isinstance(a, sp.Expr) else a for a in expr.args]
    if isinstance(expr, sp.Add):
        const = [a for a in args if a.is_number]
        rest = [a for a in args if not a.is_number]
        if len(const) == 1 and len(rest) == 1 and const[0] != 0:
            k, x = rest[0].as_coeff_Mul()
            if k.is_number and k != 0 and not _power_of_two(k) and _dyadic(const[0] / k):
                m = sp.Rational(round(float(sp.N(const[0] / k * 2**20, 40))), 2**20)
                return _scaled(k, sp.Add(x, m))
        return sp.Add(*args, evaluate=False)
    if isinstance(expr, sp.Mul):
        return sp.Mul(*args, evaluate=False)
    if isinstance(expr, sp.Pow):
        return sp.Pow(*args, evaluate=False)
    return expr.func(*args)


def _expr_lines(expr: sp.Expr, target: str, prefix: str) -> list[str]:
    """Assignments computing ``expr`` into ``target`` with shared subexpressions."""
    symbols = sp.numbered_symbols(prefix)
    expr = _numeric_calls(expr)
    prepared = _reciprocal_powers(_cap_nested_exponentials(_factor_constants(_fold_numbers(expr))))
    replacements, (reduced,) = sp.cse(prepared, symbols=symbols, optimizations=None)
    lines = [f"    {sym} = {_PRINTER.doprint(value)}" for sym, value in replacements]
    lines.append(f"    {target} = {_PRINTER.doprint(reduced)}")
    return lines


def _clamped(pieces: Sequence[Piece], var: sp.Symbol) -> tuple[sp.Expr, str, sp.Expr] | None:
    r"""``(h, "clamp_min" or "clamp_max", a)`` when the function is :math:`h(\max(x, a))` or
    :math:`h(\min(x, a))`: two pieces covering the real line, a constant ``c`` on the half-line
    beyond ``a`` and ``h`` on the other side, continuous at the join (:math:`h(a) = c`, finite).

    ``pearson``'s :math:`f^*(t) = t^2/4 + t` for ``t > -2`` and ``-1`` below is then
    :math:`h(\max(t, -2))`: one clamp instead of a mask, a masked argument and a ``where`` (three
    passes over the data and their backward). The clamped argument is always inside ``h``'s
    closed region, so no ``inf`` or ``NaN`` reaches the gradient, which is ``0`` on the constant
    side (``torch.clamp`` passes the gradient at ``x = a`` itself, where ``h'(a)`` is a one-sided
    derivative).
    """
    if len(pieces) != 2:
        return None
    (e1, r1), (e2, r2) = pieces
    if e1.free_symbols and not e2.free_symbols:
        (e1, r1), (e2, r2) = (e2, r2), (e1, r1)
    constant, h = e1, e2
    if constant.free_symbols or not h.free_symbols or not constant.is_finite:
        return None
    if not (isinstance(r1, sp.Interval) and isinstance(r2, sp.Interval)):
        return None
    if sp.Union(r1, r2) != sp.Reals:
        return None
    if r1.start is sp.S.NegativeInfinity and r2.end is sp.oo and r1.end == r2.start:
        side, end = "clamp_min", r1.end
    elif r1.end is sp.oo and r2.start is sp.S.NegativeInfinity and r1.start == r2.end:
        side, end = "clamp_max", r1.start
    else:
        return None
    at_end = h.subs(var, end)
    if not at_end.is_finite or sp.simplify(at_end - constant) != 0:
        return None
    return h, side, end


def pieces_source(pieces: Sequence[Piece], var: sp.Symbol, name: str) -> str:
    """Source of ``def name(x)`` computing the piecewise function (regions must be disjoint).

    Points outside every region (``u < 0`` for a generator defined on ``u >= 0``) give ``NaN``.
    A constant piece continuous with the other one is printed as a clamp (:func:`_clamped`).
    """
    x = _safe_name(var.name)
    _safe_name(name)
    pieces = list(pieces)
    clamped = _clamped(pieces, var)
    if clamped is not None:
        h, side, end = clamped
        lines = [f"def {name}({x}):", f"    _x0 = {x}.{side}({_float_literal(end)})"]
        lines += _expr_lines(h.subs(var, sp.Symbol("_x0", real=True)), "_b0", "_c0_")
        lines.append("    return _b0")
        return "\n".join(lines) + "\n"
    outside = sp.Complement(sp.Reals, sp.Union(*[region for _, region in pieces]))
    if outside != sp.S.EmptySet:
        pieces.append((sp.nan, outside))
    lines = [f"def {name}({x}):"]
    results: list[tuple[str, str | None, bool]] = []
    for index, (expr, region) in enumerate(pieces):
        mask = None if len(pieces) == 1 else f"_m{index}"
        if mask is not None and index < len(pieces) - 1:
            lines.append(f"    {mask} = {_mask_source(region, x)}")
        if not expr.free_symbols:
            results.append((_float_literal(expr), mask, True))
            continue
        body = expr
        if mask is not None:
            # also for polynomials: t**2 / 4 + t is inf - inf = NaN at t = -inf, and its
            # gradient 0 * inf = NaN off its region where it overflows
            safe = f"_x{index}"
            member = mask if index < len(pieces) - 1 else _mask_source(region, x)
            lines.append(f"    {safe} = torch.where({member}, {x}, {_inside(region)!r})")
            body = expr.subs(var, sp.Symbol(safe, real=True))
        target = f"_b{index}"
        lines += _expr_lines(body, target, f"_c{index}_")
        results.append((target, mask, False))
    value, _, constant = results[-1]
    if constant:
        value = f"torch.full_like({x}, {value})"
    for branch, mask, _ in reversed(results[:-1]):
        value = f"torch.where({mask}, {branch}, {value})"
    lines.append(f"    return {value}")
    return "\n".join(lines) + "\n"


_COUNTER = [0]


def compile_pieces(
    pieces: Sequence[Piece], var: sp.Symbol, name: str
) -> tuple[str, Callable[[Tensor], Tensor]]:
    """``(source, function)`` for the piecewise function; see :func:`pieces_source`."""
    source = pieces_source(pieces, var, name)
    _COUNTER[0] += 1
    filename = f"<divergences-emitted-{name}-{_COUNTER[0]}>"
    # registered with linecache so tracebacks and torch.compile can show the emitted source
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, object] = {
        "torch": torch,
        "_s": stable,
        "_inf": math.inf,
        "_nan": math.nan,
        "_legendre": legendre.SOLVERS,
    }
    # the source was printed by this module from a SymPy expression, not taken from a user
    exec(compile(source, filename, "exec"), namespace)
    # float16/bfloat16 computed in float32 and rounded once (the numeric layer's dtype policy)
    function = upcast(namespace[name])  # type: ignore[arg-type]
    return source, function
