"""When a numeric function may read data on the host to pick a cheaper path: plain eager CPU.

Several functions of the library have two paths with the same value (up to the rounding their
docstrings state). The *general* one never reads data on the host and has no data-dependent
control flow: it runs under ``torch.compile``, inside ``torch.func`` transforms (``grad``,
``vmap``), on meta tensors and on accelerators (no host synchronisation). The *direct* one reads
a value on the host (a flag per row, whether a sum overflowed) or hands the data to NumPy, and
does less work; on a CPU tensor such a read is a load from memory, not a device synchronisation.
This module holds the one rule for when the direct path may run; its users:

* the certified fast forms of the discrete divergences
  (:func:`divergences.numeric.kernels.base.fast_form_applies`),
* NumPy's sort in :mod:`divergences.numeric.wasserstein`,
* the fused loss means of :mod:`divergences.losses`.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["reads_on_host"]

#: tensor types taken as plain data (a fake, functional or other subclass tensor is not)
_PLAIN = (Tensor, torch.nn.Parameter)


def reads_on_host(*tensors: Tensor) -> bool:
    """Whether values computed from ``tensors`` may be read on the host at no synchronisation
    cost, and the tensors handed to NumPy.

    True when every tensor is a plain (:class:`torch.Tensor` or :class:`torch.nn.Parameter`,
    no fake, functional or subclass tensor) strided float32/float64 CPU tensor, and the call is
    neither traced by ``torch.compile`` nor inside a ``torch.func`` transform.
    """
    if torch.compiler.is_compiling():
        return False
    return all(
        type(x) in _PLAIN
        and x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and x.layout == torch.strided
        and not torch._C._functorch.is_functorch_wrapped_tensor(x)
        for x in tensors
    )
