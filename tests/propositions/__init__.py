"""The checked propositions of GAN theory (gan_theory.propositions)."""
