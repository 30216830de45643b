r"""One function per registered divergence: ``dv.kl(p, q)`` is ``dv.get("kl").divergence(p, q)``.

Each shortcut takes discrete distributions on the last dimension (batched, differentiable) and
``validate=True`` as :meth:`divergences.FDivergence.divergence`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from .fdivergence import get

__all__ = [
    "jeffrey",
    "js",
    "kl",
    "neyman",
    "pearson",
    "reverse_kl",
    "squared_hellinger",
    "total_variation",
]


def _shortcut(name: str, formula: str, note: str) -> Callable[..., Tensor]:
    def function(p: Tensor, q: Tensor, *, validate: bool = True) -> Tensor:
        return get(name).divergence(p, q, validate=validate)  # one object per name

    function.__name__ = function.__qualname__ = name
    function.__doc__ = (
        f"{note}\n\n    .. math::\n\n        {formula}\n\n"
        f"    Same as ``divergences.get({name!r}).divergence(p, q, validate=validate)``: "
        "distributions on the last\n    dimension, batched, differentiable, "
        "``0 log 0 = 0``, ``+inf`` where infinite, never NaN.\n"
    )
    return function


kl = _shortcut(
    "kl",
    r"\mathrm{KL}(P \| Q) = \sum_x p(x) \log \frac{p(x)}{q(x)}",
    "Kullback-Leibler divergence.",
)
reverse_kl = _shortcut(
    "reverse_kl",
    r"\mathrm{KL}(Q \| P) = \sum_x q(x) \log \frac{q(x)}{p(x)}",
    "Reverse Kullback-Leibler divergence.",
)
pearson = _shortcut(
    "pearson", r"\chi^2(P \| Q) = \sum_x \frac{(p(x) - q(x))^2}{q(x)}", "Pearson chi-square."
)
neyman = _shortcut(
    "neyman", r"\chi^2_N(P \| Q) = \sum_x \frac{(p(x) - q(x))^2}{p(x)}", "Neyman chi-square."
)
squared_hellinger = _shortcut(
    "squared_hellinger",
    r"H^2(P, Q) = \sum_x \big(\sqrt{p(x)} - \sqrt{q(x)}\big)^2 \in [0, 2]",
    "Squared Hellinger distance (without the 1/2).",
)
jeffrey = _shortcut(
    "jeffrey",
    r"J(P, Q) = \sum_x (p(x) - q(x)) \log \frac{p(x)}{q(x)}",
    "Jeffreys divergence KL(P||Q) + KL(Q||P).",
)
js = _shortcut(
    "js",
    r"\mathrm{JS}(P, Q) = \tfrac12 \mathrm{KL}(P \| M) + \tfrac12 \mathrm{KL}(Q \| M), "
    r"\ M = \tfrac{P + Q}{2}, \ \in [0, \log 2]",
    "Jensen-Shannon divergence (natural log).",
)
total_variation = _shortcut(
    "total_variation",
    r"\mathrm{TV}(P, Q) = \tfrac12 \sum_x |p(x) - q(x)| \in [0, 1]",
    "Total variation distance.",
)
