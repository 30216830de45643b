"""The registry of named generators: what each divergence is, not what its conjugate is.

Each entry gives the generator ``f`` (DESIGN.md conventions: natural log, ``D_f(P||Q) =
E_Q[f(p/q)]``), a one-line description, the divergence formula, symmetry and range facts (both
re-checked by the certificates), a literature reference and, where the f-GAN paper's output
activation is valid for the conjugate domain over ``u > 0``, that activation. Conjugates are never
listed here: the engine derives them.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from ..symbolic.symbols import u, v
from .entry import Entry, Parameter, register_entry

__all__ = [
    "ALPHA",
    "GAN",
    "JEFFREY",
    "JS",
    "JS_WEIGHTED",
    "KL",
    "NEYMAN",
    "PEARSON",
    "REVERSE_KL",
    "SQUARED_HELLINGER",
    "TOTAL_VARIATION",
]

_FGAN = "Nowozin, Cseke and Tomioka, f-GAN, NeurIPS 2016, Table 2"


def _alpha_check(a: sp.Expr) -> str | None:
    return "alpha must not be 0 or 1 (the limits are reverse KL and KL)" if a in (0, 1) else None


def _pi_check(p: sp.Expr) -> str | None:
    return None if bool(0 < p < 1) else f"pi must lie in (0, 1), got {p}"


def _alpha_generator(alpha: sp.Expr) -> sp.Expr:
    return (u**alpha - 1 - alpha * (u - 1)) / (alpha * (alpha - 1))


def _alpha_range(alpha: sp.Expr) -> sp.Interval:
    # D_max = f(0+) + lim f(u)/u: 1/(alpha (1 - alpha)) for 0 < alpha < 1, infinite otherwise
    if 0 < alpha < 1:
        return sp.Interval(0, 1 / (alpha * (1 - alpha)))
    return sp.Interval(0, sp.oo)


def _js_weighted(pi: sp.Expr) -> sp.Expr:
    return pi * u * sp.log(u) - (1 - pi + pi * u) * sp.log(1 - pi + pi * u)


def _no(**_: object) -> bool:
    return False


def _yes(**_: object) -> bool:
    return True


def _zero_to(upper: sp.Expr) -> Callable[..., sp.Interval]:
    return lambda **_: sp.Interval(0, upper)


KL = register_entry(
    Entry(
        name="kl",
        generator=lambda: u * sp.log(u),
        description="Kullback-Leibler divergence KL(P||Q)",
        formula=r"\sum_x p(x) \log \frac{p(x)}{q(x)}",
        symmetric=_no,
        value_range=_zero_to(sp.oo),
        reference="Kullback and Leibler, On Information and Sufficiency, Ann. Math. Stat. 1951",
        activation=lambda: v,
        activation_source=_FGAN,
    )
)

REVERSE_KL = register_entry(
    Entry(
        name="reverse_kl",
        generator=lambda: -sp.log(u),
        description="reverse Kullback-Leibler divergence KL(Q||P)",
        formula=r"\sum_x q(x) \log \frac{q(x)}{p(x)}",
        symmetric=_no,
        value_range=_zero_to(sp.oo),
        reference="Kullback and Leibler 1951; as an f-divergence: Nowozin et al. 2016, Table 1",
        activation=lambda: -sp.exp(-v),
        activation_source=_FGAN,
    )
)

PEARSON = register_entry(
    Entry(
        name="pearson",
        generator=lambda: (u - 1) ** 2,
        description="Pearson chi-square divergence",
        formula=r"\sum_x \frac{(p(x) - q(x))^2}{q(x)}",
        symmetric=_no,
        value_range=_zero_to(sp.oo),
        reference="Pearson, Philosophical Magazine 1900; Nowozin et al. 2016, Table 1",
        activation=lambda: v,
        activation_source=_FGAN,
    )
)

NEYMAN = register_entry(
    Entry(
        name="neyman",
        generator=lambda: (1 - u) ** 2 / u,
        description="Neyman chi-square divergence",
        formula=r"\sum_x \frac{(p(x) - q(x))^2}{p(x)}",
        symmetric=_no,
        value_range=_zero_to(sp.oo),
        reference="Neyman, Contribution to the theory of the chi^2 test, 1949; Nowozin et al. 2016",
        activation=lambda: 1 - sp.exp(-v),
        activation_source=_FGAN,
    )
)

SQUARED_HELLINGER = register_entry(
    Entry(
        name="squared_hellinger",
        generator=lambda: (sp.sqrt(u) - 1) ** 2,
        description="squared Hellinger distance (without the 1/2, so D is in [0, 2])",
        formula=r"\sum_x \left(\sqrt{p(x)} - \sqrt{q(x)}\right)^2",
        symmetric=_yes,
        value_range=_zero_to(2),
        reference="Hellinger, J. reine angew. Math. 1909; Nowozin et al. 2016, Table 1",
        activation=lambda: 1 - sp.exp(-v),
        activation_source=_FGAN,
    )
)

JEFFREY = register_entry(
    Entry(
        name="jeffrey",
        generator=lambda: (u - 1) * sp.log(u),
        description="Jeffreys divergence KL(P||Q) + KL(Q||P)",
        formula=r"\sum_x (p(x) - q(x)) \log \frac{p(x)}{q(x)}",
        symmetric=_yes,
        value_range=_zero_to(sp.oo),
        reference="Jeffreys, Proc. R. Soc. Lond. A 1946; Nowozin et al. 2016, Table 1",
        activation=lambda: v,
        activation_source=_FGAN,
    )
)

JS = register_entry(
    Entry(
        name="js",
        generator=lambda: (u * sp.log(u) - (u + 1) * sp.log((u + 1) / 2)) / 2,
        description="Jensen-Shannon divergence KL(P||M)/2 + KL(Q||M)/2, M = (P+Q)/2",
        formula=r"\frac12 \sum_x p(x) \log \frac{2 p(x)}{p(x) + q(x)} + "
        r"\frac12 \sum_x q(x) \log \frac{2 q(x)}{p(x) + q(x)}",
        symmetric=_yes,
        value_range=_zero_to(sp.log(2)),
        reference="Lin, Divergence measures based on the Shannon entropy, IEEE T-IT 1991",
        activation=lambda: (sp.log(2) - sp.log(1 + sp.exp(-v))) / 2,
        activation_source=_FGAN
        + " row 'Jensen-Shannon', halved: the paper's generator lacks the 1/2 and gives 2 JS",
        allow_offset=False,
    )
)

GAN = register_entry(
    Entry(
        name="gan",
        generator=lambda: u * sp.log(u) - (u + 1) * sp.log(u + 1),
        description="GAN divergence 2 JS - log 4 (the GAN game's value at the optimal D)",
        formula=r"\sum_x p(x) \log \frac{p(x)}{p(x) + q(x)} + "
        r"\sum_x q(x) \log \frac{q(x)}{p(x) + q(x)}",
        symmetric=_yes,
        value_range=lambda: sp.Interval(-sp.log(4), 0),
        reference="Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014, Thm. 1",
        activation=lambda: -sp.log(1 + sp.exp(-v)),
        activation_source=_FGAN,
        allow_offset=True,
    )
)

TOTAL_VARIATION = register_entry(
    Entry(
        name="total_variation",
        generator=lambda: sp.Abs(u - 1) / 2,
        description="total variation distance (with the 1/2, so D is in [0, 1])",
        formula=r"\frac12 \sum_x |p(x) - q(x)|",
        symmetric=_yes,
        value_range=_zero_to(1),
        reference="Nowozin et al. 2016, Table 1 (generator |u-1|/2)",
        activation=lambda: sp.tanh(v) / 2,
        activation_source=_FGAN,
    )
)

ALPHA = register_entry(
    Entry(
        name="alpha",
        generator=_alpha_generator,
        description="alpha-divergence (Amari / Cressie-Read family), alpha not in {0, 1}",
        formula=r"\frac{1}{\alpha(\alpha - 1)} \sum_x \left(p(x)^{\alpha} q(x)^{1 - \alpha} - 1"
        r"\right)",
        symmetric=lambda alpha: alpha == sp.Rational(1, 2),
        value_range=_alpha_range,
        reference="Amari, alpha-divergence is unique, IEEE T-IT 2009; Cichocki and Amari, "
        "Entropy 2010",
        parameters=(Parameter("alpha", sp.Rational(1, 2), _alpha_check, "real, not 0 or 1"),),
    )
)

JS_WEIGHTED = register_entry(
    Entry(
        name="js_weighted",
        generator=_js_weighted,
        description="weighted Jensen-Shannon divergence with weight pi in (0, 1)",
        formula=r"\sum_x \pi p(x) \log \frac{p(x)}{\pi p(x) + (1-\pi) q(x)} + "
        r"(1-\pi) q(x) \log \frac{q(x)}{\pi p(x) + (1-\pi) q(x)}",
        symmetric=lambda pi: pi == sp.Rational(1, 2),
        value_range=lambda pi: sp.Interval(
            0, sp.simplify(-pi * sp.log(pi) - (1 - pi) * sp.log(1 - pi))
        ),
        reference="Nowozin et al. 2016, Table 1 (Jensen-Shannon-weighted); Huszar 2015",
        parameters=(Parameter("pi", sp.Rational(1, 2), _pi_check, "in (0, 1)"),),
    )
)
