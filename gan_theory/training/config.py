"""The training configuration: one frozen dataclass, validated, with per-model defaults.

Defaults follow the papers: GAN and f-GAN use Adam (lr 2e-4, betas (0.5, 0.999), Radford et al.
2016); WGAN uses RMSProp with lr 5e-5, 5 critic steps and clipping at 0.01 (Arjovsky et al.
2017, Algorithm 1); WGAN-GP uses Adam with lr 1e-4, betas (0, 0.9), 5 critic steps and
lambda = 10 (Gulrajani et al. 2017, Algorithm 1); CycleGAN uses Adam with lr 2e-4, betas
(0.5, 0.999) and a cycle weight of 10 (Zhu et al. 2017, Section 4).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import divergences as dv

from .data import Dataset, PairedDomains, get_dataset
from .errors import ConfigError

__all__ = ["GENERATORS", "MODELS", "OptimiserSpec", "TrainConfig"]

MODELS = ("gan", "gan-ns", "fgan", "wgan", "wgan-gp", "cyclegan")
GENERATORS = ("auto", "mlp", "conv", "gaussian")


@dataclass(frozen=True)
class OptimiserSpec:
    """Which optimiser, its learning rates and (for Adam) betas."""

    kind: str  # "adam" or "rmsprop"
    lr_g: float
    lr_d: float
    betas: tuple[float, float] = (0.5, 0.999)


_OPTIMISERS = {
    "gan": OptimiserSpec("adam", 2e-4, 2e-4, (0.5, 0.999)),
    "gan-ns": OptimiserSpec("adam", 2e-4, 2e-4, (0.5, 0.999)),
    "fgan": OptimiserSpec("adam", 2e-4, 2e-4, (0.5, 0.999)),
    "wgan": OptimiserSpec("rmsprop", 5e-5, 5e-5),
    "wgan-gp": OptimiserSpec("adam", 1e-4, 1e-4, (0.0, 0.9)),
    "cyclegan": OptimiserSpec("adam", 2e-4, 2e-4, (0.5, 0.999)),
}
_CRITIC_STEPS = {"wgan": 5, "wgan-gp": 5}

# Fields that do not change the parameters' trajectory: a run may resume with other values.
_RUN_ONLY = frozenset(
    {
        "steps",
        "progress",
        "plots",
        "checkpoint_every",
        "device",
        "threads",
        "log_every",
        "eval_samples",
        "coverage_fraction",
    }
)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run.

    Attributes:
        model: one of :data:`MODELS`.
        data: a registered data-set name or a :class:`Dataset` / :class:`PairedDomains` object.
        steps: number of generator steps (each preceded by ``d_steps`` critic steps).
        seed: seeds the model initialisation and the run's random streams.
        divergence: f-GAN only: a registered name or a :class:`divergences.FDivergence`.
        divergence_params: parameters of a registered divergence (e.g. ``{"alpha": 0.5}``).
        fgan_alternative: f-GAN generator objective: ``False`` the saddle-point form,
            ``True`` the paper's alternative :math:`-\\mathbb E_Q[g_f(v)]`.
        generator: ``"auto"`` (MLP for points, conv for images), ``"mlp"``, ``"conv"`` or
            ``"gaussian"`` (a single Gaussian with learned mean and scale).
        gaussian_init: initial ``(mean, scale)`` of the ``"gaussian"`` generator (the same in
            every coordinate). The default ``(0, 1)`` is symmetric for symmetric data: a
            gradient method started there cannot break the symmetry, and for reverse KL on
            ``bimodal-1d`` the symmetric wide Gaussian is a local minimum (see
            ``benchmarks/training_targets.py``).
        batch_size: samples per batch and per process.
        latent_dim: generator input dimension (default: 2 for points, 16 for images).
        hidden, depth: width and number of hidden layers of the MLPs; channels of the conv nets.
        d_steps: critic steps per generator step (default 5 for WGAN and WGAN-GP, else 1).
        lr_g, lr_d, betas: optimiser settings (default: the model's, see the module docstring).
            ``lr_g=0`` freezes the generator (translators for CycleGAN): only the critic is
            trained, which turns a run into a variational estimate of the divergence between
            the data and the initial generator (Nowozin et al. 2016, Section 3).
        lr_decay_steps: decay both learning rates linearly to 0 over this many generator steps
            (:math:`\\eta_t = \\eta_0 \\max(0, 1 - (t - 1)/T)`, the schedule of the WGAN-GP
            reference code); ``None`` keeps them constant.
        clip: WGAN weight-clipping threshold.
        gp_weight: WGAN-GP penalty weight lambda.
        cycle_weight: CycleGAN cycle-consistency weight lambda.
        log_every: evaluate metrics and record a row every this many steps (and at the end).
        checkpoint_every: write a checkpoint every this many steps (0: only at the end).
        eval_samples: samples used by the metrics.
        coverage_fraction: a mode counts as covered when it receives at least this fraction of
            its expected share of samples (as high-quality samples).
        progress: show a tqdm progress bar.
        plots: write matplotlib plots at the end.
        deterministic: run under ``torch.use_deterministic_algorithms(True)``.
        device: ``"cpu"``, ``"cuda"`` (DDP: each process uses ``cuda:LOCAL_RANK``).
        threads: intra-op threads during the run (``None``: leave torch's setting). Small models
            on a shared CPU run fastest with 1.
    """

    model: str
    data: str | Dataset | PairedDomains = "ring-8"
    steps: int = 1000
    seed: int = 0
    divergence: str | dv.FDivergence | None = None
    divergence_params: dict[str, Any] = field(default_factory=dict)
    fgan_alternative: bool = False
    generator: str = "auto"
    gaussian_init: tuple[float, float] = (0.0, 1.0)
    batch_size: int = 256
    latent_dim: int | None = None
    hidden: int = 128
    depth: int = 3
    channels: int = 32
    d_steps: int | None = None
    lr_g: float | None = None
    lr_d: float | None = None
    betas: tuple[float, float] | None = None
    lr_decay_steps: int | None = None
    clip: float = 0.01
    gp_weight: float = 10.0
    cycle_weight: float = 10.0
    log_every: int = 100
    checkpoint_every: int = 0
    eval_samples: int = 2000
    coverage_fraction: float = 0.25
    progress: bool = True
    plots: bool = True
    deterministic: bool = True
    device: str = "cpu"
    threads: int | None = None

    # -- resolution --
    def dataset(self) -> Dataset | PairedDomains:
        """The data-set object (a fresh registry instance for a name)."""
        if isinstance(self.data, Dataset | PairedDomains):
            return self.data
        try:
            return get_dataset(self.data)
        except KeyError as exc:
            raise ConfigError(exc.args[0]) from None

    def fdivergence(self) -> dv.FDivergence:
        """The f-GAN divergence (f-GAN only)."""
        if isinstance(self.divergence, dv.FDivergence):
            return self.divergence
        if self.divergence is None:
            raise ConfigError("model 'fgan' needs a divergence (e.g. divergence='kl')")
        try:
            return dv.get(self.divergence, **self.divergence_params)
        except KeyError as exc:
            raise ConfigError(exc.args[0]) from None
        except dv.InvalidGeneratorError as exc:
            raise ConfigError(str(exc)) from None

    def optimiser(self) -> OptimiserSpec:
        """The optimiser settings with the model's defaults filled in."""
        base = _OPTIMISERS[self.model]
        return OptimiserSpec(
            base.kind,
            base.lr_g if self.lr_g is None else self.lr_g,
            base.lr_d if self.lr_d is None else self.lr_d,
            base.betas if self.betas is None else tuple(self.betas),
        )

    @property
    def trains_generator(self) -> bool:
        """Whether the generator is updated (``lr_g > 0``); ``False`` freezes it."""
        return self.optimiser().lr_g > 0

    @property
    def critic_steps(self) -> int:
        return _CRITIC_STEPS.get(self.model, 1) if self.d_steps is None else self.d_steps

    def resolved_latent_dim(self, data: Dataset | PairedDomains) -> int:
        if self.generator == "gaussian":
            return data.shape[0]
        if self.latent_dim is not None:
            return self.latent_dim
        return 16 if data.is_image else 2

    # -- validation --
    def validate(self) -> TrainConfig:
        """Check every field; return ``self``.

        Raises:
            ConfigError: the first problem found, named.
        """
        if self.model not in MODELS:
            raise ConfigError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        _positive_int("steps", self.steps)
        _positive_int("batch_size", self.batch_size)
        _positive_int("log_every", self.log_every)
        _positive_int("eval_samples", self.eval_samples)
        _positive_int("hidden", self.hidden)
        _positive_int("depth", self.depth)
        _positive_int("channels", self.channels)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.checkpoint_every, int) or self.checkpoint_every < 0:
            raise ConfigError(
                f"checkpoint_every must be an integer >= 0, got {self.checkpoint_every!r}"
            )
        if self.d_steps is not None:
            _positive_int("d_steps", self.d_steps)
        if self.threads is not None:
            _positive_int("threads", self.threads)
        if self.lr_decay_steps is not None:
            _positive_int("lr_decay_steps", self.lr_decay_steps)
        if self.latent_dim is not None:
            _positive_int("latent_dim", self.latent_dim)
        if self.lr_g is not None and not (_finite(self.lr_g) and self.lr_g >= 0):
            raise ConfigError(
                f"lr_g must be a finite number >= 0 (0 freezes the generator), got {self.lr_g!r}"
            )
        if self.lr_d is not None and not (_finite(self.lr_d) and self.lr_d > 0):
            raise ConfigError(f"lr_d must be a finite number > 0, got {self.lr_d!r}")
        if self.betas is not None and (
            len(self.betas) != 2 or not all(_finite(b) and 0 <= b < 1 for b in self.betas)
        ):
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if not (_finite(self.clip) and self.clip > 0):
            raise ConfigError(f"clip must be a finite number > 0, got {self.clip!r}")
        for name in ("gp_weight", "cycle_weight"):
            value = getattr(self, name)
            if not (_finite(value) and value >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (_finite(self.coverage_fraction) and 0 < self.coverage_fraction <= 1):
            raise ConfigError(
                f"coverage_fraction must be in (0, 1], got {self.coverage_fraction!r}"
            )
        if self.generator not in GENERATORS:
            raise ConfigError(
                f"unknown generator {self.generator!r}; choose one of {', '.join(GENERATORS)}"
            )
        self._validate_gaussian_init()
        self._validate_divergence()
        self._validate_data()
        return self

    def _validate_gaussian_init(self) -> None:
        init = self.gaussian_init
        if not (
            isinstance(init, tuple | list)
            and len(init) == 2
            and all(_finite(x) for x in init)
            and init[1] > 0
        ):
            raise ConfigError(
                f"gaussian_init must be (mean, scale) with finite mean and scale > 0, got {init!r}"
            )
        if tuple(init) != (0.0, 1.0) and self.generator != "gaussian":
            raise ConfigError("gaussian_init is only used by generator 'gaussian'")

    def _validate_divergence(self) -> None:
        if self.model == "fgan":
            self.fdivergence()
        elif self.divergence is not None or self.divergence_params:
            raise ConfigError(
                f"a divergence is only used by model 'fgan'; model {self.model!r} does not take one"
            )
        if self.fgan_alternative and self.model != "fgan":
            raise ConfigError("fgan_alternative is only used by model 'fgan'")

    def _validate_data(self) -> None:
        data = self.dataset()
        paired = isinstance(data, PairedDomains)
        if self.model == "cyclegan" and not paired:
            raise ConfigError(
                f"model 'cyclegan' needs a paired data set (two domains), got {_data_name(data)!r}"
            )
        if self.model != "cyclegan" and paired:
            raise ConfigError(
                f"data set {_data_name(data)!r} has two domains: it is for model 'cyclegan' only"
            )
        if self.model == "cyclegan" and self.generator not in ("auto", "mlp", "conv"):
            raise ConfigError("model 'cyclegan' uses translators: generator must be auto/mlp/conv")
        if self.generator == "conv" and not data.is_image:
            raise ConfigError(f"generator 'conv' needs image data, got {_data_name(data)!r}")
        if self.generator == "gaussian" and data.is_image:
            raise ConfigError(f"generator 'gaussian' needs point data, got {_data_name(data)!r}")

    # -- identity of a trajectory --
    def fingerprint(self) -> dict[str, Any]:
        """The fields that determine the trajectory, as plain values (stored in checkpoints).

        A run resumes only from a checkpoint with the same fingerprint. The fields that only
        change how long the run is, what it reports or where it runs may differ: ``steps``,
        ``progress``, ``plots``, ``checkpoint_every``, ``device``, ``threads``, ``log_every``,
        ``eval_samples`` and ``coverage_fraction`` (the metrics history then mixes settings).
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in _RUN_ONLY:
                continue
            value = getattr(self, f.name)
            if f.name == "data":
                value = _data_name(value) if isinstance(value, str) else repr(value)
            elif f.name == "divergence" and isinstance(value, dv.FDivergence):
                value = f"{value.name}: f(u) = {value.generator.expr}"
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, dict):
                value = {k: str(v) for k, v in sorted(value.items())}
            out[f.name] = value
        return out


def _data_name(data: object) -> str:
    return data if isinstance(data, str) else getattr(data, "name", repr(data))


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _positive_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{name} must be an integer > 0, got {value!r}")
