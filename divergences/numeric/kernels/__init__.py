"""Hand-written numeric kernels: fused perspectives attached to registry entries, one-pass means.

* :class:`Kernel` and :func:`register_kernel` (:mod:`.base`): the perspective
  :math:`q f(p/q)` of a divergence in closed form in ``p`` and ``q``, attached to its entry;
  the built-in ones (:mod:`.builtin`) are registered when this package is imported.
* :class:`AffineTerm` (:mod:`.means`): the one-pass means of the f-GAN losses.
"""

from . import builtin as builtin
from .base import Kernel as Kernel
from .base import register_kernel as register_kernel
from .means import AffineTerm as AffineTerm

__all__ = ["AffineTerm", "Kernel", "builtin", "register_kernel"]
