"""Tests of the oracles themselves (``divergences.testing.oracles``) against independent values.

The oracles check the library, so they are checked here against what owes nothing to them or to
the library's numerics: closed numbers (KL(N(0,1) || N(1,1)) = 1/2, the Bhattacharyya
coefficient of two normals, ...), scipy (``special``, ``optimize``, ``spatial``), numpy's own
float32/float16 rounding and spacing, and the mathematics of the closed forms (f' by SymPy,
limits, the supremum defining f*). Also: the oracle modules import nothing from
``divergences.numeric`` (read from their source with :mod:`ast`).
"""

from __future__ import annotations

import ast
import itertools
import math
from pathlib import Path

import mpmath
import numpy as np
import pytest
import scipy.optimize
import scipy.spatial.distance
import scipy.special
import sympy as sp

import divergences as dv
from divergences.testing import oracles
from divergences.testing.oracles import (
    ALL_FORMS,
    DEEP_ESCALATION,
    FLOAT64_ESCALATION,
    LE_CAM,
    PAPER_JS,
    ClosedForms,
    closed_forms,
    condition_number,
    escalate,
    exact_value,
    guarded_exp,
    guarded_expm1,
    mixed_error,
    mp_lambdify,
    round_to,
    slope,
    ulp,
    ulps,
)
from divergences.testing.oracles import r as R
from divergences.testing.oracles import t as T
from divergences.testing.oracles import u as U
from divergences.testing.oracles import v as V

ORACLES = Path(oracles.__file__).resolve().parent
FORMS = [*ALL_FORMS, LE_CAM, PAPER_JS]
IDS = [forms.label for forms in FORMS]
REGISTERED = list(ALL_FORMS)
REGISTERED_IDS = [forms.label for forms in REGISTERED]
mp = mpmath

# --------------------------------------------------------------------------------------------
# Independence: the import graph of the oracle modules
# --------------------------------------------------------------------------------------------

ALLOWED_TOP_LEVEL = {
    "__future__", "collections", "dataclasses", "fractions", "functools", "math", "types",
    "typing", "sympy", "mpmath", "numpy", "scipy",
}  # fmt: skip


def _imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_the_oracles_import_nothing_numeric_from_the_library() -> None:
    files = sorted(ORACLES.glob("*.py"))
    assert {f.name for f in files} >= {
        "__init__.py", "fgan_table.py", "closed_forms.py", "mpmath_reference.py",
    }  # fmt: skip
    for path in files:
        for module in _imported_modules(path):
            assert not module.startswith("divergences.numeric"), (path.name, module)
            if module.startswith("."):
                continue  # the oracle package itself
            if module.startswith("divergences"):
                assert module == "divergences.symbolic.symbols", (path.name, module)
            else:
                assert module.split(".")[0] in ALLOWED_TOP_LEVEL, (path.name, module)


def test_the_import_reader_sees_imports() -> None:
    # guards the test above: the reader finds the known imports, relative ones included
    found = _imported_modules(ORACLES / "closed_forms.py")
    assert {"sympy", "mpmath", "divergences.symbolic.symbols", ".fgan_table"} <= found


# --------------------------------------------------------------------------------------------
# The closed forms: the mathematics of each entry
# --------------------------------------------------------------------------------------------


def test_every_registered_name_has_closed_forms() -> None:
    assert {forms.name for forms in ALL_FORMS} == set(dv.names())
    assert set(oracles.CLOSED_FORMS) == set(dv.names())
    assert closed_forms("alpha", alpha=0.7) is closed_forms("alpha", alpha=sp.Rational(7, 10))
    assert closed_forms("js_weighted", pi=0.3).label == "js_weighted(3/10)"
    with pytest.raises(TypeError):
        closed_forms("kl", alpha=2)
    with pytest.raises(TypeError):
        closed_forms("alpha", pi=2)


@pytest.mark.parametrize("forms", FORMS, ids=IDS)
def test_critic_is_the_derivative_and_the_limits_are_the_limits(forms: ClosedForms) -> None:
    f = forms.generator
    fprime = sp.diff(f, U)
    if forms.name == "total_variation":  # sign(u - 1)/2: the derivative away from the kink
        for point in (sp.Rational(1, 3), 3):
            assert fprime.subs(U, point) == forms.optimal_critic.subs(R, point)
    else:
        assert sp.simplify(fprime - forms.optimal_critic.subs(R, U)) == 0
    assert sp.limit(f, U, 0, "+") == forms.f_at_zero
    assert sp.limit(forms.optimal_critic, R, 0, "+") == forms.critic_at_zero
    slope_inf = sp.limit(f / U, U, sp.oo)
    if slope_inf is sp.oo:
        assert forms.slope_at_infinity is sp.oo
        assert forms.domain.right is sp.oo  # sup dom f* = f'(oo) = lim f(u)/u
    else:
        assert sp.simplify(slope_inf - forms.slope_at_infinity) == 0
        assert sp.simplify(forms.domain.right - forms.slope_at_infinity) == 0
    assert forms.domain.left == -sp.oo


@pytest.mark.parametrize("forms", REGISTERED, ids=REGISTERED_IDS)
def test_generator_and_activation_are_the_registrys(forms: ClosedForms) -> None:
    # the typed generators are the registry's; the typed activations of the families are the
    # library's convention (b - e^{-v} or the identity), checked against the derivation
    d = dv.get(forms.name, **dict(forms.params))
    assert sp.simplify(d.generator(U) - forms.generator) == 0
    assert forms.activation is not None
    assert sp.simplify(sp.expand_log(d.activation(V) - forms.activation, force=True)) == 0


@pytest.mark.parametrize("forms", FORMS, ids=IDS)
def test_conjugate_is_the_supremum(forms: ClosedForms) -> None:
    # f*(t) = sup_{u > 0} (t u - f(u)) by bounded Brent on log u (scipy), from f alone
    f = sp.lambdify(U, forms.generator, "mpmath")
    end = forms.domain.right
    if end is sp.oo:
        ts = [-3.0, -0.5, 0.0, 0.7, 2.0]
    else:
        b = float(end)
        ts = [b - 10.0, b - 2.0, b - 0.5, b - 0.01]

    def objective(s: float, t: float) -> float:
        with mp.workdps(30):
            x = mp.exp(s)
            return -float(t * x - f(x))

    for t in ts:
        best = min(
            (
                scipy.optimize.minimize_scalar(
                    objective, bounds=bounds, args=(t,), method="bounded", options={"xatol": 1e-12}
                )
                for bounds in ((-40.0, 0.0), (0.0, 40.0), (-3.0, 3.0))
            ),
            key=lambda result: result.fun,
        )
        expected = -float(best.fun)
        got = float(exact_value(mp_lambdify(forms.conjugate, T), t))
        assert got == pytest.approx(expected, rel=1e-8, abs=1e-8), (t, got, expected)
    if end is not sp.oo:  # beyond the domain the supremum is +oo
        for t in (float(end) + 0.5, float(end) + 10):
            assert forms.conjugate.subs(T, t) == sp.oo
            assert max(t * x - float(f(x)) for x in (1e10, 1e20)) > 1e9


@pytest.mark.parametrize("forms", REGISTERED, ids=REGISTERED_IDS)
def test_mp_forms_equal_the_sympy_forms(forms: ClosedForms) -> None:
    # the stable mpmath callables and the textbook SymPy expressions are the same functions
    assert forms.mp is not None
    checked = 0
    for quantity in oracles.QUANTITIES:
        expr, var = forms.expression(quantity)
        symbolic = mp_lambdify(expr, var)
        stable = forms.mp.of(quantity)
        if quantity in ("generator", "optimal_critic"):
            points = [1e-8, 0.01, 0.3, 1.0, 1.5, 7.0, 1e3, 1e8]
        else:
            points = [-30.0, -2.5, -0.5, -1e-6, 0.0, 1e-6, 0.3, 0.9, 2.0, 30.0]
        if quantity == "conjugate" and forms.domain.right is not sp.oo:
            b = float(forms.domain.right)
            points = [x for x in points if x < b] + [b - 1e-3, b - 1e-9]
        for x in points:
            if forms.name == "total_variation" and quantity == "optimal_critic" and x == 1:
                # the kink: both are subgradients, sign(0)/2 = 0 and the mpmath form's 1/2
                assert symbolic(mp.mpf(1)) == 0 and stable(mp.mpf(1)) == mp.mpf(1) / 2
                continue
            a = escalate(symbolic, x, DEEP_ESCALATION)
            b_ = escalate(stable, x, FLOAT64_ESCALATION, allow_inf=True)
            assert a is not None and b_ is not None, (quantity, x, a, b_)
            with mp.workdps(60):
                assert abs(a - b_) <= mp.mpf(10) ** -25 * max(1, abs(a)), (quantity, x, a, b_)
            checked += 1
        if quantity in ("generator", "optimal_critic"):  # the limits at 0
            at_zero = forms.f_at_zero if quantity == "generator" else forms.critic_at_zero
            with mp.workdps(50):
                limit = stable(mp.mpf(0))
                if at_zero.is_finite:
                    assert mp.almosteq(limit, mp.mpf(sp.N(at_zero, 60)), rel_eps=1e-45), limit
                else:
                    assert limit == (mp.inf if at_zero is sp.oo else -mp.inf), limit
    assert checked > 30


@pytest.mark.parametrize("forms", FORMS, ids=IDS)
def test_activation_maps_into_the_domain(forms: ClosedForms) -> None:
    activation = forms.activation
    if activation is None:  # the user generators: the library's derived one
        activation = dv.FDivergence.from_generator(forms.generator, U, name=forms.name).activation(
            V
        )
    g = mp_lambdify(activation, V)
    with mp.workdps(1100):  # tanh(1000)/2 is 1e-869 below 1/2
        values = [g(mp.mpf(x)) for x in (-1e3, -10.0, -1.0, 0.0, 1.0, 10.0, 1e3)]
        assert all(a < b for a, b in itertools.pairwise(values))
        assert all(mp.isfinite(x) for x in values)
        if forms.domain.right is not sp.oo:  # inside an open end, at most a closed one
            end = mp.mpf(sp.N(forms.domain.right, 1110))
            inside = [x < end or (not forms.domain.right_open and x == end) for x in values]
            assert all(inside), values
    if forms.activation is not None:
        assert forms.conjugate_of_activation == forms.conjugate.subs(T, forms.activation)
        assert forms.expression("conjugate_of_activation")[1] is V
    else:
        assert forms.conjugate_of_activation is None
        with pytest.raises(ValueError, match="activation"):
            forms.expression("activation")
        assert forms.expression("activation", activation) == (activation, V)


# --------------------------------------------------------------------------------------------
# The closed forms against closed numbers and scipy
# --------------------------------------------------------------------------------------------


def _divergence_of_normals(forms: ClosedForms, mu_p: float, mu_q: float) -> mpmath.mpf:
    """D_f(N(mu_p, 1) || N(mu_q, 1)) = int q f(p/q) by mpmath quadrature."""
    f = mp_lambdify(forms.generator, U)
    with mp.workdps(30):
        p = lambda x: mp.npdf(x, mu_p, 1)  # noqa: E731
        q = lambda x: mp.npdf(x, mu_q, 1)  # noqa: E731
        return mp.quad(lambda x: q(x) * f(p(x) / q(x)), [-mp.inf, -5, 0, 1, 6, mp.inf])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("kl", 0.5),  # (mu_p - mu_q)^2 / 2
        ("reverse_kl", 0.5),  # KL(Q || P), symmetric for equal variances
        ("jeffrey", 1.0),  # KL + reverse KL
        ("pearson", math.e - 1),  # chi^2 = exp((mu_p - mu_q)^2) - 1
        ("neyman", math.e - 1),
        ("squared_hellinger", 2 * (1 - math.exp(-1 / 8))),  # 2 (1 - BC), BC = e^{-d^2/8}
    ],
)
def test_closed_numbers_for_two_normals(name: str, expected: float) -> None:
    value = _divergence_of_normals(closed_forms(name), 0.0, 1.0)
    assert float(value) == pytest.approx(expected, rel=1e-12)


P = np.array([0.1, 0.2, 0.3, 0.4])
Q = np.array([0.25, 0.25, 0.4, 0.1])


def _discrete(forms: ClosedForms, p: np.ndarray, q: np.ndarray) -> float:
    f = mp_lambdify(forms.generator, U)
    with mp.workdps(30):
        return float(
            mp.fsum(mp.mpf(b) * f(mp.mpf(a) / mp.mpf(b)) for a, b in zip(p, q, strict=True))
        )


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.sum(scipy.special.rel_entr(p, q)))


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("kl", _kl(P, Q)),
        ("reverse_kl", _kl(Q, P)),
        ("jeffrey", _kl(P, Q) + _kl(Q, P)),
        ("pearson", float(np.sum((P - Q) ** 2 / Q))),
        ("neyman", float(np.sum((P - Q) ** 2 / P))),
        ("squared_hellinger", float(np.sum((np.sqrt(P) - np.sqrt(Q)) ** 2))),
        ("js", scipy.spatial.distance.jensenshannon(P, Q) ** 2),
        ("gan", 2 * scipy.spatial.distance.jensenshannon(P, Q) ** 2 - math.log(4)),
        ("total_variation", float(np.sum(np.abs(P - Q)) / 2)),
        ("alpha(1/2)", float((np.sum(P**0.5 * Q**0.5) - 1) / (0.5 * -0.5))),
        ("alpha(3)", float((np.sum(P**3 * Q**-2) - 1) / 6)),
        ("alpha(-1)", float((np.sum(P**-1 * Q**2) - 1) / 2)),
        (
            "js_weighted(3/10)",
            0.3 * _kl(P, 0.3 * P + 0.7 * Q) + 0.7 * _kl(Q, 0.3 * P + 0.7 * Q),
        ),
    ],
)
def test_discrete_divergences_against_scipy(label: str, expected: float) -> None:
    forms = next(forms for forms in ALL_FORMS if forms.label == label)
    assert _discrete(forms, P, Q) == pytest.approx(expected, rel=1e-12)


def test_jeffrey_conjugate_against_scipy_lambertw() -> None:
    stable = closed_forms("jeffrey").mp.conjugate
    for t in (-20.0, -1.0, 0.0, 0.5, 3.0, 30.0):
        w = scipy.special.lambertw(math.exp(1 - t)).real
        expected = w + 1 / w + t - 2
        with mp.workdps(40):
            assert float(stable(mp.mpf(t))) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_stable_helpers_against_numpy_and_scipy() -> None:
    xs = [-800.0, -30.0, -1.0, -1e-10, 0.0, 1e-10, 1.0, 30.0, 800.0]
    with mp.workdps(40):
        for x in xs:
            assert float(oracles.softplus(mp.mpf(x))) == pytest.approx(np.logaddexp(0.0, x))
            if x < 0:
                expected = float(np.log(-np.expm1(x)))
                assert float(oracles.log1mexp(mp.mpf(x))) == pytest.approx(expected, rel=1e-14)
            if x >= 0:
                assert float(oracles.xlogx(mp.mpf(x))) == pytest.approx(scipy.special.xlogy(x, x))


# --------------------------------------------------------------------------------------------
# mpmath_reference: escalation, guarded exponentials, ulps, conditioning
# --------------------------------------------------------------------------------------------


def test_escalation_resolves_a_cancellation() -> None:
    # (1 + x) - 1 at x = 1e-300 is 0 at 50 digits: only 400 and 800 agree on the true value
    value = escalate(lambda x: (1 + x) - 1, 1e-300)
    assert value is not None and abs(value - mp.mpf(1e-300)) < mp.mpf(10) ** -330
    assert exact_value(lambda x: (1 + x) - 1, 1e-300) == value


def test_escalation_refuses_what_never_settles() -> None:
    def drifting(x: mpmath.mpf) -> mpmath.mpf:
        return x + mp.mpf(1) / mp.mp.dps

    assert escalate(drifting, 1.0) is None
    with pytest.raises(AssertionError, match="did not converge"):
        exact_value(drifting, 1.0)
    assert escalate(lambda x: 1 / (x - x), 1.0) is None  # ZeroDivisionError: no value
    assert escalate(lambda x: mp.sqrt(-x), 2.0) is None  # complex: no real value


def test_escalation_zeros_and_infinities() -> None:
    assert escalate(lambda x: x - x, 3.0) == 0
    assert mp.mpf(DEEP_ESCALATION.tiny) > 0 and mp.mpf(FLOAT64_ESCALATION.far[0]) > 0
    # a rounding residue of zero (sin(pi) ~ 10^-dps) is zero only with a tiny threshold
    assert escalate(lambda x: mp.sin(mp.pi * x), 1.0, DEEP_ESCALATION) == 0
    assert escalate(lambda x: mp.sin(mp.pi * x), 1.0, FLOAT64_ESCALATION) is None
    assert escalate(lambda x: mp.inf, 1.0) == mp.inf
    assert escalate(lambda x: mp.inf, 1.0, allow_inf=False) is None
    assert escalate(lambda x: -mp.log(x), 0.0, DEEP_ESCALATION) == mp.inf
    # far beyond float64's range: accepted at the first precision (sign and size only)
    huge = escalate(mp.exp, 1e4)
    assert huge is not None and huge > mp.mpf(10) ** 4000
    assert FLOAT64_ESCALATION.with_levels((50, 200)).levels == (50, 200)


def test_guarded_exponentials() -> None:
    with mp.workdps(50):
        assert guarded_exp(-(mp.mpf(2) ** 1200)) == 0
        with pytest.raises(OverflowError):
            guarded_exp(mp.mpf(2) ** 1200)
        with pytest.raises(OverflowError):
            guarded_exp(-(mp.mpf(2) ** 1200), underflow="raise")
        for x in (1e3, -1e5, 2.0**70, -(2.0**70), 0.5, -1e-20):
            assert mp.almosteq(guarded_exp(mp.mpf(x)), mp.exp(x), rel_eps=mp.mpf(10) ** -45)
        assert mp.almosteq(guarded_expm1(mp.mpf(1e-30)), mp.mpf(1e-30), rel_eps=1e-45)
        assert guarded_expm1(mp.mpf(-1e30)) == -1
    with mp.workdps(5000):  # exp(-exp(9984)) takes seconds unguarded
        assert guarded_exp(-guarded_exp(mp.mpf(9984))) < mp.mpf(10) ** -4000
    # through a lambdified expression: exp(-exp(1e300)) is 0 (or no value with "raise")
    expr = sp.exp(-sp.exp(U))
    assert escalate(mp_lambdify(expr, U), 1e300, DEEP_ESCALATION) == 0
    assert escalate(mp_lambdify(expr, U, "raise"), 1e300) is None


def test_ulps_of_known_pairs() -> None:
    one = mp.mpf(1)
    assert ulps(1.0, one) == 0
    assert ulps(1.0 + 2.0**-52, one) == 1
    with mp.workdps(40):
        half_ulp_above, just_below_2 = one + mp.mpf(2) ** -53, 2 - mp.mpf(2) ** -60
    assert ulps(1.0, half_ulp_above) == 0.5
    assert ulps(2.0, just_below_2) == pytest.approx(2.0**-9)  # fl(exact) = 2: ulp 2^-51
    assert ulps(5e-324, mp.mpf(0)) == 1  # the subnormal spacing
    assert ulps(math.nan, one) == ulps(math.inf, one) == math.inf
    assert ulps(1.0 + 2.0**-23, one, "float32") == 1
    assert ulps(1.0 + 2.0**-10, one, "float16") == 1
    assert ulps(1.0 + 2.0**-7, one, "bfloat16") == 1
    assert ulps(2.0**-24, mp.mpf(0), "float16") == 1  # float16's smallest subnormal
    assert oracles.representable(mp.mpf(70000)) and not oracles.representable(
        mp.mpf(70000), "float16"
    )
    assert not oracles.representable(mp.inf)


def test_rounding_and_spacing_match_numpy() -> None:
    rng = np.random.default_rng(7)
    xs = np.concatenate(
        [
            rng.standard_normal(200) * 10.0 ** rng.integers(-40, 38, 200),
            rng.standard_normal(50) * 1e-6,
            [2.0**-149, 3 * 2.0**-150, 65504.0, 65520.0, 1.0 + 2.0**-24, 1.0 + 3 * 2.0**-24],
        ]
    )
    for x in xs.tolist():
        exact = mp.mpf(x)
        for dtype in (np.float32, np.float16):
            name = np.dtype(dtype).name
            with np.errstate(over="ignore"):
                rounded = dtype(x)  # numpy rounds float64 -> float32/16 to nearest even, once
            got = round_to(exact, name)
            if np.isinf(rounded):
                assert mp.isinf(got) and (got > 0) == (rounded > 0), (x, name)
                continue
            assert got == mp.mpf(float(rounded)), (x, name, got, rounded)
            if abs(rounded) == np.finfo(dtype).max:
                continue  # numpy's spacing overflows at the largest number
            assert ulp(got, name) == mp.mpf(float(np.spacing(np.abs(rounded)))), (x, name)
        assert round_to(exact) == mp.mpf(x)
        with mp.workdps(60):  # float64: the same as math.ulp of the nearest float
            near = exact * (1 + mp.mpf(2) ** -60)
            assert round_to(near) == mp.mpf(float(near))
            assert ulp(x) == mp.mpf(math.ulp(x))


def test_conditioning_and_mixed_error() -> None:
    with mp.workdps(30):
        assert condition_number(math.e, mp.mpf(1), mp.mpf(1) / mp.e) == pytest.approx(1.0)
    assert condition_number(1.0, mp.mpf(0), mp.mpf(1)) == math.inf
    assert math.isnan(condition_number(1.0, mp.mpf(1), None))
    d = slope(mp.sin, 1.0)
    with mp.workdps(40):
        assert d is not None and abs(d - mp.cos(1)) < mp.mpf(10) ** -20
    # a result one ulp off in a constant function: one ulp of the result
    exact = mp.mpf(1.5)
    assert mixed_error(1.5 + 2.0**-52, exact, [(3.0, mp.mpf(0))]) == pytest.approx(1.0)
    # a result off by the rounding of the input of exp near 700: within one unit
    x = 700.0
    fx = mp.exp(mp.mpf(x))
    got = float(mp.exp(mp.mpf(x) + math.ulp(x)))
    assert mixed_error(got, fx, [(x, fx)]) <= 1.0 + 1e-9
    assert ulps(got, fx) > 100  # though far off in ulps
    assert math.isnan(mixed_error(1.0, mp.mpf(1), [(1.0, None)]))
