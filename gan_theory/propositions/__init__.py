r"""The theory of GANs as step-by-step checked derivations.

Each :class:`Proposition` is a claim with a derivation made of checked steps in the form of the
library's certificates (:class:`divergences.symbolic.steps.Step`: statement, relation, how it was
checked, passed). SymPy does the algebra (``method == "symbolic"``); every proposition also has
numeric *witnesses* on concrete distributions, checked against an oracle independent of the
derivation (SciPy, mpmath, POT, torch autograd, Monte Carlo, a numeric supremum or a linear
program), whose method names the oracle, precision and inputs.

>>> from gan_theory import propositions
>>> [p.name for p in propositions.all_propositions()][:3]
['optimal_discriminator', 'global_optimum', 'mle_is_kl']
>>> propositions.get("cross_entropy").passed
True

A step that fails is reported with ``passed=False`` and the reason in ``detail``; nothing raises.
``Proposition.check(**overrides)`` re-runs a derivation with another object in place of the
library's (a discriminator, a constant, a critic, a conjugate, ...), which is how the tests show
that a wrong input is caught.

=========================  ===================================================================
name                       claim
=========================  ===================================================================
optimal_discriminator      D* = p_data / (p_data + p_g) (Goodfellow et al. 2014, Prop. 1)
global_optimum             C(G) = -log 4 + 2 JS, minimal iff p_g = p_data (Thm. 1)
mle_is_kl                  E_data[log p_theta] = -H(p_data) - KL(p_data || p_theta)
cross_entropy              H(P, Q) = H(P) + KL(P || Q)
gibbs                      KL >= 0 (equality iff P = Q) and KL is not symmetric
js_bounds                  JS symmetric, 0 <= JS <= log 2, attained on disjoint supports
fgan_bound                 D_f >= sup_T E_P[T] - E_Q[f*(T)], tight at T* = f'(p/q)
saturation                 minimax generator gradient -> 0 as D(G(z)) -> 0; non-saturating -> -1
disjoint_supports          parallel lines: JS = log 2, KL = oo, W1 = ``|theta|`` (Arjovsky 2017)
kantorovich_rubinstein     sup over 1-Lipschitz f of E_P f - E_Q f = W1 = ``integral |F - G|``
=========================  ===================================================================
"""

from __future__ import annotations

from ._core import Outcome, Proposition, Recorder
from ._fgan import fgan_bound
from ._gan import global_optimum, optimal_discriminator, saturation
from ._information import cross_entropy, gibbs, js_bounds, mle_is_kl
from ._transport import disjoint_supports, kantorovich_rubinstein

__all__ = ["Outcome", "Proposition", "Recorder", "all_propositions", "get", "names"]

_GOODFELLOW = (
    "Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville and Bengio, "
    "Generative Adversarial Nets, NeurIPS 2014"
)

_PROPOSITIONS: tuple[Proposition, ...] = (
    Proposition(
        "optimal_discriminator",
        "For fixed G, the optimal discriminator is D* = p_data / (p_data + p_g)",
        _GOODFELLOW + ", Proposition 1",
        r"D^*_G(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)}",
        optimal_discriminator,
    ),
    Proposition(
        "global_optimum",
        "The virtual training criterion is C(G) = -log 4 + 2 JS(p_data || p_g); its global "
        "minimum -log 4 is attained iff p_g = p_data, where D* = 1/2",
        _GOODFELLOW + ", Theorem 1",
        r"C(G) = \max_D V(G, D) = -\log 4 + 2\,\mathrm{JS}(p_{data} \,\|\, p_g) \ge -\log 4,"
        r"\ \text{equality iff } p_g = p_{data}",
        global_optimum,
    ),
    Proposition(
        "mle_is_kl",
        "Maximum likelihood is KL minimisation: argmax E_data[log p_theta] = "
        "argmin KL(p_data || p_theta)",
        "Goodfellow, NIPS 2016 Tutorial: Generative Adversarial Networks, arXiv:1701.00160, "
        "Section 2.1; Goodfellow, Bengio and Courville, Deep Learning, 2016, Section 5.5",
        r"\mathbb E_{p_{data}}[\log p_\theta] = -H(p_{data}) - "
        r"\mathrm{KL}(p_{data} \,\|\, p_\theta)",
        mle_is_kl,
    ),
    Proposition(
        "cross_entropy",
        "Cross-entropy is entropy plus KL",
        "Cover and Thomas, Elements of Information Theory, 2nd ed., 2006, Section 2.3",
        r"H(P, Q) = H(P) + \mathrm{KL}(P \,\|\, Q)",
        cross_entropy,
    ),
    Proposition(
        "gibbs",
        "KL(P || Q) >= 0 with equality iff P = Q (Gibbs), and KL is not symmetric",
        "Cover and Thomas, Elements of Information Theory, 2006, Theorem 2.6.3",
        r"\mathrm{KL}(P \,\|\, Q) \ge 0, \qquad "
        r"\mathrm{KL}(P \,\|\, Q) \ne \mathrm{KL}(Q \,\|\, P) \text{ in general}",
        gibbs,
    ),
    Proposition(
        "js_bounds",
        "The Jensen-Shannon divergence is symmetric and lies in [0, log 2], log 2 exactly on "
        "disjoint supports",
        "Lin, Divergence measures based on the Shannon entropy, IEEE T-IT 37(1), 1991, Theorem 4",
        r"\mathrm{JS}(P, Q) = \mathrm{JS}(Q, P) \in [0, \log 2]",
        js_bounds,
    ),
    Proposition(
        "fgan_bound",
        "f-GAN variational bound D_f(P || Q) >= sup_T E_P[T] - E_Q[f*(T)], tight at "
        "T* = f'(p/q), for every registered divergence",
        "Nowozin, Cseke and Tomioka, f-GAN, NeurIPS 2016, Eq. (4)-(5); Nguyen, Wainwright and "
        "Jordan, IEEE T-IT 56(11), 2010",
        r"D_f(P \,\|\, Q) \ge \sup_T \mathbb E_P[T] - \mathbb E_Q[f^*(T)], \quad "
        r"T^* = f'\!\left(\tfrac{p}{q}\right)",
        fgan_bound,
    ),
    Proposition(
        "saturation",
        "The minimax generator gradient vanishes as D(G(z)) -> 0; the non-saturating one "
        "tends to -1",
        _GOODFELLOW + ", Section 3; Goodfellow, arXiv:1701.00160, Section 3.2.3",
        r"\frac{d}{dv}\log(1 - \sigma(v)) = -\sigma(v) \to 0, \quad "
        r"\frac{d}{dv}\left[-\log \sigma(v)\right] = \sigma(v) - 1 \to -1 \quad (v \to -\infty)",
        saturation,
    ),
    Proposition(
        "disjoint_supports",
        "On parallel lines JS is log 2 for every theta != 0 (and KL is infinite) while "
        "W1 = |theta|",
        "Arjovsky, Chintala and Bottou, Wasserstein GAN, ICML 2017, Example 1",
        r"\mathrm{JS}(P, Q_\theta) = \log 2\ (\theta \ne 0), \quad W_1(P, Q_\theta) = |\theta|",
        disjoint_supports,
    ),
    Proposition(
        "kantorovich_rubinstein",
        "Kantorovich-Rubinstein duality in 1-D: the supremum over 1-Lipschitz critics is W1 = "
        "integral |F - G|",
        "Villani, Optimal Transport: Old and New, 2009, Remark 6.5; Arjovsky et al. 2017, "
        "Eq. (3); Vallender, Theory Probab. Appl. 18, 1974",
        r"\sup_{\|f\|_L \le 1} \mathbb E_P[f] - \mathbb E_Q[f] = W_1(P, Q) = "
        r"\int_{\mathbb R} |F(x) - G(x)|\,dx",
        kantorovich_rubinstein,
    ),
)

_BY_NAME = {p.name: p for p in _PROPOSITIONS}


def all_propositions() -> tuple[Proposition, ...]:
    """Every proposition, in the order of the theory (the steps are computed on first access)."""
    return _PROPOSITIONS


def names() -> tuple[str, ...]:
    """The propositions' names."""
    return tuple(_BY_NAME)


def get(name: str) -> Proposition:
    """The proposition called ``name``.

    Raises:
        KeyError: unknown name; the message lists the known names.
    """
    if name not in _BY_NAME:
        raise KeyError(f"unknown proposition {name!r}; known: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]
