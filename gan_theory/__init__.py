"""gan_theory: the theory of GANs as checked derivations, built on :mod:`divergences`."""

__all__: list[str] = []
