"""Check that a loss and its gradient stay free of NaN (and finite) at extreme raw scores."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ._strategies import _logit_specials

__all__ = ["DEFAULT_DTYPES", "check_loss_stability"]

DEFAULT_DTYPES: tuple[torch.dtype, ...] = (
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
)


def _batches(dtype: torch.dtype, num_inputs: int, max_abs: float) -> list[list[torch.Tensor]]:
    """Input tuples: every special score in every input position (rolled so that the inputs
    see different combinations), and each special score alone in a batch of its own."""
    grid = torch.tensor(_logit_specials(dtype, max_abs), dtype=torch.float64)
    tuples = [[grid.roll(k).to(dtype) for k in range(num_inputs)]]
    tuples += [[grid[i : i + 1].to(dtype)] * num_inputs for i in range(grid.numel())]
    return tuples


def check_loss_stability(
    loss_fn: Callable[..., torch.Tensor],
    *,
    num_inputs: int = 1,
    dtypes: Sequence[torch.dtype] = DEFAULT_DTYPES,
    max_abs: float = 1e4,
    require_finite: bool = True,
    check_grad: bool = True,
    preserve_dtype: bool = True,
) -> None:
    r"""Call ``loss_fn`` on raw scores up to ``max_abs`` in every dtype; check value and gradient.

    ``loss_fn(*scores)`` takes ``num_inputs`` 1-D tensors of raw scores (e.g. real and fake
    logits) and returns a scalar tensor. The scores are the special values of
    :func:`~divergences.testing.extreme_logits` (0, :math:`\pm` eps, around the ``exp`` overflow
    threshold of the dtype, :math:`\pm 10^2 \ldots \pm 10^4`), all in one batch and one by one.
    Checked for each dtype:

    * the loss is a tensor of that dtype (if ``preserve_dtype``);
    * the loss and the gradient with respect to every input have no NaN;
    * both are finite (if ``require_finite``; pass ``False`` for losses whose exact value
      overflows, e.g. the KL f-GAN loss :math:`\mathbb E[e^{v - 1}]` at :math:`v = 10^4`).

    Raises:
        AssertionError: naming the dtype, the property and the scores.

    Example:
        >>> import torch.nn.functional as F
        >>> def bce(real, fake):
        ...     return F.softplus(-real).mean() + F.softplus(fake).mean()
        >>> check_loss_stability(bce, num_inputs=2)
    """
    for dtype in dtypes:
        for inputs in _batches(dtype, num_inputs, max_abs):
            leaves = [x.clone().requires_grad_(check_grad) for x in inputs]
            where = ", ".join(str(x.detach().tolist()) for x in leaves)
            loss = loss_fn(*leaves)
            if not isinstance(loss, torch.Tensor):
                raise AssertionError(f"loss stability: [{dtype}] the loss is not a tensor")
            if preserve_dtype and loss.dtype != dtype:
                raise AssertionError(
                    f"loss stability: dtype not preserved: {dtype} inputs gave a {loss.dtype} "
                    f"loss\n  scores: {where}"
                )
            _finite(loss.detach(), "loss", dtype, where, require_finite)
            if check_grad:
                grads = torch.autograd.grad(loss.sum(), leaves, allow_unused=True)
                for k, grad in enumerate(grads):
                    if grad is not None:
                        _finite(grad, f"gradient w.r.t. input {k}", dtype, where, require_finite)


def _finite(value: torch.Tensor, what: str, dtype: torch.dtype, where: str, finite: bool) -> None:
    if bool(torch.isnan(value).any()):
        raise AssertionError(f"loss stability: [{dtype}] {what} is NaN\n  scores: {where}")
    if finite and not bool(torch.isfinite(value).all()):
        raise AssertionError(
            f"loss stability: [{dtype}] {what} is not finite: {value.tolist()}\n  scores: {where}"
        )
