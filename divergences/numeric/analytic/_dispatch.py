"""Which registered divergences have a closed form between two univariate normals.

A small table from registry name to closed-form function, in the spirit of
``torch.distributions.kl.register_kl``; an :class:`FDivergence` is matched by its registry name
and checked to have that entry's generator (so a user's divergence that merely reuses a name is
not given someone else's formula).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import sympy as sp
from numpy.typing import ArrayLike, NDArray

from divergences.symbolic.registry import REGISTRY

from ._kl import kl_normal
from ._normal import (
    alpha_divergence_normal,
    jeffrey_normal,
    neyman_chi2_normal,
    pearson_chi2_normal,
    reverse_kl_normal,
    squared_hellinger_normal,
    total_variation_normal,
)
from ._quadrature import as_divergence

if TYPE_CHECKING:
    from divergences.fdivergence import FDivergence

__all__ = ["has_normal_closed_form", "normal_closed_form"]

_Closed = Callable[..., NDArray[np.float64]]

_CLOSED_FORMS: dict[str, _Closed] = {
    "kl": kl_normal,
    "reverse_kl": reverse_kl_normal,
    "pearson": pearson_chi2_normal,
    "neyman": neyman_chi2_normal,
    "squared_hellinger": squared_hellinger_normal,
    "jeffrey": jeffrey_normal,
    "total_variation": total_variation_normal,
}


def _registry_name(d: FDivergence) -> str | None:
    """The registry entry whose generator (at ``d``'s parameters) is ``d``'s generator."""
    base = d.name.split("(", 1)[0]
    entry = REGISTRY.get(base)
    if entry is None:
        return None
    if not _same_generator(d.generator.expr, base, tuple(sorted(d.parameters.items()))):
        return None
    return base


@functools.lru_cache(maxsize=128)
def _same_generator(expr: sp.Expr, base: str, parameters: tuple) -> bool:
    reference = REGISTRY[base].generator(**dict(parameters))
    return sp.simplify(expr - reference) == 0


def _closed_form(d: FDivergence) -> _Closed | None:
    name = _registry_name(d)
    if name == "alpha":
        alpha = float(d.parameters["alpha"])
        return functools.partial(alpha_divergence_normal, alpha)
    return _CLOSED_FORMS.get(name) if name else None


def has_normal_closed_form(d: FDivergence | str, **parameters: object) -> bool:
    """Whether :func:`normal_closed_form` knows ``d`` (``js``, ``gan``, ``js_weighted``: no)."""
    div = as_divergence(d, parameters)
    return _closed_form(div) is not None


def normal_closed_form(
    d: FDivergence | str,
    loc1: ArrayLike,
    scale1: ArrayLike,
    loc2: ArrayLike,
    scale2: ArrayLike,
    **parameters: object,
) -> NDArray[np.float64]:
    """The closed form of ``D_f(N(loc1, scale1^2) || N(loc2, scale2^2))`` for a registered ``d``.

    Dispatches to :func:`kl_normal`, :func:`reverse_kl_normal`, :func:`pearson_chi2_normal`,
    :func:`neyman_chi2_normal`, :func:`squared_hellinger_normal`, :func:`jeffrey_normal`,
    :func:`total_variation_normal` or :func:`alpha_divergence_normal` (each cites its source).

    Raises:
        NotImplementedError: no closed form is known here (``js``, ``gan``, ``js_weighted``,
            user-defined generators); use :func:`f_divergence_normal_quad`.
    """
    div = as_divergence(d, parameters)
    closed = _closed_form(div)
    if closed is None:
        raise NotImplementedError(
            f"no closed form of {div.name} between normals; use f_divergence_normal_quad"
        )
    return closed(loc1, scale1, loc2, scale2)
