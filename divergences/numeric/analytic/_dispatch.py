"""Closed forms between two univariate normals, attached to the registry entries.

Each closed form is registered on its entry with
:meth:`~divergences.registry.Entry.register_closed_form` for the family :class:`NormalParameters`
(a univariate normal given by NumPy parameters), in the style of
``torch.distributions.kl.register_kl``. :func:`normal_closed_form` finds it through the entry an
:class:`~divergences.FDivergence` carries, so a user's generator never receives a registered
entry's formula because of its name or expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from divergences.registry import builtin as entries

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
    from collections.abc import Callable

    from divergences.fdivergence import FDivergence

__all__ = ["NormalParameters", "has_normal_closed_form", "normal_closed_form"]


@dataclass(frozen=True)
class NormalParameters:
    """:math:`\\mathcal N(\\text{loc}, \\text{scale}^2)` with array-like parameters (broadcast)."""

    loc: ArrayLike
    scale: ArrayLike


def _register(entry: object, closed: Callable[..., NDArray[np.float64]]) -> None:
    def between(p: NormalParameters, q: NormalParameters) -> NDArray[np.float64]:
        return closed(p.loc, p.scale, q.loc, q.scale)

    between.__doc__ = closed.__doc__
    entry.register_closed_form(NormalParameters, NormalParameters)(between)  # type: ignore[attr-defined]


for _entry, _closed in (
    (entries.KL, kl_normal),
    (entries.REVERSE_KL, reverse_kl_normal),
    (entries.PEARSON, pearson_chi2_normal),
    (entries.NEYMAN, neyman_chi2_normal),
    (entries.SQUARED_HELLINGER, squared_hellinger_normal),
    (entries.JEFFREY, jeffrey_normal),
    (entries.TOTAL_VARIATION, total_variation_normal),
):
    _register(_entry, _closed)


@entries.ALPHA.register_closed_form(NormalParameters, NormalParameters)
def _alpha_normal(
    p: NormalParameters, q: NormalParameters, *, alpha: object
) -> NDArray[np.float64]:
    return alpha_divergence_normal(float(alpha), p.loc, p.scale, q.loc, q.scale)  # type: ignore[arg-type]


def _closed_form(d: FDivergence) -> Callable[..., NDArray[np.float64]] | None:
    return d.entry.closed_form(NormalParameters, NormalParameters)


def has_normal_closed_form(d: FDivergence | str, **parameters: object) -> bool:
    """Whether :func:`normal_closed_form` knows ``d`` (``js``, ``gan``, ``js_weighted``: no)."""
    return _closed_form(as_divergence(d, parameters)) is not None


def normal_closed_form(
    d: FDivergence | str,
    loc1: ArrayLike,
    scale1: ArrayLike,
    loc2: ArrayLike,
    scale2: ArrayLike,
    **parameters: object,
) -> NDArray[np.float64]:
    """The closed form of ``D_f(N(loc1, scale1^2) || N(loc2, scale2^2))`` for a registered ``d``.

    Dispatches through ``d.entry`` to :func:`kl_normal`, :func:`reverse_kl_normal`,
    :func:`pearson_chi2_normal`, :func:`neyman_chi2_normal`, :func:`squared_hellinger_normal`,
    :func:`jeffrey_normal`, :func:`total_variation_normal` or :func:`alpha_divergence_normal`
    (each cites its source).

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
    return closed(NormalParameters(loc1, scale1), NormalParameters(loc2, scale2), **div.parameters)
